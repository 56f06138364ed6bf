// Benchmarks' configurations go through decode and compile as the gateway's do.
import { compileSnapshot } from "../../src/compile/index.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";

/** An HTTP Gateway on port 80 for every host (name `gw`), mapped to `listenPort` on 127.0.0.1. */
export const HTTP_GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;

/** Decodes and compiles `yaml` as the gateway would (istio-system, port 80 → listenPort); throws on any error. */
export function compileYaml(yaml: string, listenPort: number): Snapshot {
  const { resources, errors } = decodeFiles([{ path: "bench.yaml", text: yaml }]);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return compileSnapshot(resources, { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map([[80, listenPort]]), bindAddress: "127.0.0.1" }, 1);
}

/** grpc-proxy.sh's configuration: every request to `grpc.internal`, a STATIC GRPC ServiceEntry (h2c) on upstreamPort. */
export function grpcBenchSnapshot(listenPort: number, upstreamPort: number): Snapshot {
  return compileYaml(`${HTTP_GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: istio-system}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: grpc.internal, port: {number: 50051}}}]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: grpc, namespace: istio-system}
spec:
  hosts: [grpc.internal]
  ports: [{number: 50051, name: grpc, protocol: GRPC, targetPort: ${upstreamPort}}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`, listenPort);
}

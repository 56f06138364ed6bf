// gangway's side of the gRPC unary benchmark (grpc-proxy.sh): N workers on
// LISTEN_PORT (an HTTP server, clients speak h2c with prior knowledge), one
// route to `grpc.internal` (a STATIC ServiceEntry, port protocol GRPC, so the
// upstream is HTTP/2 cleartext) on UPSTREAM_PORT. The configuration goes
// through decode and compile as the gateway's does.
// Usage: bun bench/grpc-proxy-gangway.ts [listenPort=18191] [upstreamPort=18190] [workers=2]
import { compileSnapshot } from "../src/compile/index.ts";
import { decodeFiles } from "../src/decode/index.ts";
import { startWorkers } from "./lib/workers.ts";

const listenPort = Number(process.argv[2] ?? 18191);
const upstreamPort = Number(process.argv[3] ?? 18190);
const workers = Number(process.argv[4] ?? 2);
const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
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
`;
const { resources, errors } = decodeFiles([{ path: "bench.yaml", text: yaml }]);
if (errors.length > 0) throw new Error(JSON.stringify(errors));
const snapshot = compileSnapshot(resources, { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map([[80, listenPort]]), bindAddress: "127.0.0.1" }, 1);
startWorkers(snapshot, workers, `gangway on ${listenPort} (${workers} workers) → h2c gRPC ${upstreamPort}`);

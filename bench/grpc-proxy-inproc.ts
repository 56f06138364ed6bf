// Profiling aid: grpc-proxy-gangway.ts's data plane in the main thread (no Worker),
// for `bun --cpu-prof-md bench/grpc-proxy-inproc.ts` while h2load runs. Exits after SECONDS.
// Usage: bun bench/grpc-proxy-inproc.ts [listenPort=18191] [upstreamPort=18190] [seconds=12]
import { compileSnapshot } from "../src/compile/index.ts";
import { decodeFiles } from "../src/decode/index.ts";
import { setPost, startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { applyListeners } from "../workers/listeners.ts";

const listenPort = Number(process.argv[2] ?? 18191);
const upstreamPort = Number(process.argv[3] ?? 18190);
const seconds = Number(process.argv[4] ?? 12);
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
setPost((m) => console.error(JSON.stringify(m)));
startClock();
console.log(JSON.stringify(applyListeners(applyClusters(snapshot))));
setTimeout(() => process.exit(0), seconds * 1000);

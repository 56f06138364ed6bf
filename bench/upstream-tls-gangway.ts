// gangway's side of the upstream-TLS benchmark: N workers on LISTEN_PORT, one
// route to `hello.internal` (a STATIC ServiceEntry on UPSTREAM_PORT) with a
// DestinationRule `tls: SIMPLE` whose CA is DIR/ca.pem: the configuration goes
// through decode and compile as the gateway's does.
// Usage: bun bench/upstream-tls-gangway.ts [listenPort=18091] [upstreamPort=18090] [workers=2] [dir=/tmp/up-tls-bench]
import { readFileSync } from "node:fs";
import { compileYaml, HTTP_GATEWAY } from "./lib/compile-yaml.ts";
import { startWorkers } from "./lib/workers.ts";

const listenPort = Number(process.argv[2] ?? 18091);
const upstreamPort = Number(process.argv[3] ?? 18090);
const workers = Number(process.argv[4] ?? 2);
const dir = process.argv[5] ?? "/tmp/up-tls-bench";
const ca = Buffer.from(readFileSync(`${dir}/ca.pem`, "utf8")).toString("base64");
const yaml = `${HTTP_GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: istio-system}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: hello.internal, port: {number: 443}}}], rewrite: {authority: hello.internal}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: hello, namespace: istio-system}
spec:
  hosts: [hello.internal]
  ports: [{number: 443, name: https, protocol: TLS, targetPort: ${upstreamPort}}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: hello, namespace: istio-system}
spec:
  host: hello.internal
  trafficPolicy: {tls: {mode: SIMPLE, credentialName: hello-ca}}
---
apiVersion: v1
kind: Secret
metadata: {name: hello-ca, namespace: istio-system}
data: {ca.crt: ${ca}}
`;
const snapshot = compileYaml(yaml, listenPort);
startWorkers(snapshot, workers, `gangway on ${listenPort} (${workers} workers) → tls ${upstreamPort}`);

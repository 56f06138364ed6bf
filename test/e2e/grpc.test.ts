// gRPC end to end through the real gateway process: a client on h2 over TLS
// (ALPN h2, the gateway's certificate) → gangway → an h2c gRPC backend
// (node:http2, gRPC framing). Unary with trailers, server streaming, a
// non-zero grpc-status, and a deadline.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { secretYaml } from "../../src/cli/certs.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { call, grpcBackend, type GrpcBackend } from "../workers/grpc-backend.ts";

const HOST = "httpbin.example.com";
let pki: WalkthroughPki;
let backend: GrpcBackend;
let gw: GatewayProcess;
let client: http2.ClientHttp2Session;

beforeAll(async () => {
  pki = await walkthroughPki();
  backend = await grpcBackend();
  const dir = writeTree({
    "secret.yaml": secretYaml("cred", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key),
    "config.yaml": `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo}
spec:
  hosts: [echo.internal]
  ports: [{number: 50051, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: ${backend.port}}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [${HOST}]
    tls: {mode: SIMPLE, credentialName: cred}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo}
spec:
  hosts: [${HOST}]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /test.Echo/}}]
    route: [{destination: {host: echo.internal, port: {number: 50051}}}]
`,
  });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [443] });
  client = http2.connect(`https://127.0.0.1:${gw.ports.get(443)!}`, { servername: HOST, ca: pki.ca.cert });
  client.on("error", () => {});
});

afterAll(async () => {
  client?.close();
  await gw?.stop();
  backend?.close();
});

test("unary over h2 (TLS, ALPN) to an h2c upstream: message and trailers", async () => {
  const r = await call(client, "/test.Echo/Unary", ["over tls"]);
  expect(r.messages.map(String)).toEqual(["over tls"]);
  expect([r.trailers["grpc-status"], r.trailers["x-trailer"]]).toEqual(["0", "t1"]);
});

test("server streaming: 1000 messages and the trailers", async () => {
  const r = await call(client, "/test.Echo/ServerStream", ["1000"]);
  expect(r.messages.length).toBe(1000);
  expect(r.trailers["x-count"]).toBe("1000");
});

test("grpc-status and grpc-message from the upstream; a deadline from the gateway", async () => {
  const fail = await call(client, "/test.Echo/Fail", []);
  expect([fail.headers["grpc-status"], fail.headers["grpc-message"]]).toEqual(["5", "no such thing"]);
  const slow = await call(client, "/test.Echo/Slow", ["x"], { "grpc-timeout": "100m" });
  // Istio's max_grpc_timeout: grpc-timeout is the route timeout, its expiry 504 UT → UNAVAILABLE
  expect([slow.headers["grpc-status"], slow.headers["grpc-message"]]).toEqual(["14", "upstream request timeout"]);
});

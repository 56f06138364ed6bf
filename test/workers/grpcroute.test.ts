// A Gateway API GRPCRoute end to end: Gateway + GRPCRoute + a Service with
// appProtocol kubernetes.io/h2c (its EndpointSlice on loopback) → a real
// worker → the node:http2 gRPC backend, over h2c from a node:http2 client.
// Method matches pick the backend; a call no route matches is UNIMPLEMENTED.
import { afterAll, beforeAll, expect, test } from "bun:test";
import http2 from "node:http2";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { call, grpcBackend, type GrpcBackend } from "./grpc-backend.ts";
import { WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";
import { ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";

let w: WorkerHarness;
let echo: GrpcBackend;
let other: GrpcBackend;
let client: http2.ClientHttp2Session;
let status: string[] = [];

function service(name: string, port: number): string {
  return `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec: {ports: [{name: grpc-port, port: 9000, appProtocol: kubernetes.io/h2c}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1]}]
ports: [{name: grpc-port, port: ${port}}]
`;
}

beforeAll(async () => {
  echo = await grpcBackend();
  other = await grpcBackend();
  const gw = freePort();
  const yaml = `${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{method: {service: test.Echo, method: Fail}}]
    backendRefs: [{name: other, port: 9000}]
  - matches: [{method: {service: test.Echo}}]
    filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-route, value: echo}]}}]
    backendRefs: [{name: echo, port: 9000}]
${service("echo", echo.port)}${service("other", other.port)}`;
  const snap = compileYaml(yaml, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" });
  status = (snap.gatewayStatus ?? []).filter((i) => i.kind === "GRPCRoute").flatMap((i) => i.status.parents![0]!.conditions.map((c) => `${c.type}=${c.status}`));
  w = new WorkerHarness();
  await w.apply(snap);
  client = http2.connect(`http://127.0.0.1:${gw}`);
  client.on("error", () => {});
});

afterAll(() => {
  client?.close();
  w?.stop();
  echo?.close();
  other?.close();
});

test("status: Accepted and ResolvedRefs True (appProtocol kubernetes.io/h2c is served)", () => {
  expect(status).toEqual(["Accepted=True", "ResolvedRefs=True"]);
});

test("a service match forwards over h2c; the rule's filter applies; trailers come back", async () => {
  const r = await call(client, "/test.Echo/Unary", ["via grpcroute"]);
  expect(r.messages.map(String)).toEqual(["via grpcroute"]);
  expect([r.headers["x-route"], r.trailers["grpc-status"]]).toEqual(["echo", "0"]);
  expect(echo.sessions).toBe(1);
});

test("an exact service/method match goes to its own backend, whose grpc-status passes through", async () => {
  const r = await call(client, "/test.Echo/Fail", []);
  expect([r.headers["grpc-status"], r.headers["grpc-message"]]).toEqual(["5", "no such thing"]);
  expect(other.sessions).toBe(1);
});

test("a call no route matches ends UNIMPLEMENTED (12)", async () => {
  const r = await call(client, "/other.Svc/Method", ["x"]);
  expect([r.headers[":status"], r.headers["grpc-status"]]).toEqual([200, "12"]);
});

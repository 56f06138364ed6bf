// HTTPRoute RequestMirror, CORS, timeouts and retry through the real gateway
// process on real backends (Services whose EndpointSlices point at loopback
// echo servers): the mirror gets a copy while the client gets the backend's
// answer; a preflight from an allowed (also wildcard) origin is answered by
// the gateway, another origin's goes upstream; timeouts.request and
// timeouts.backendRequest answer 504 for a slow backend; retry.codes retries.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { forgetAttempts, startTrafficBackend, until, type TrafficBackend } from "../helpers/traffic-backends.ts";
import { ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";

let app: TrafficBackend;
let mirror: TrafficBackend;
let gw: GatewayProcess;

function service(name: string, port: number): string {
  return `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1]}]
ports: [{name: http, port: ${port}}]
`;
}

const rule = (prefix: string, more: string) => `  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
${more}    backendRefs: [{name: app, port: 8080}]
`;

/** `/slow-x/<ms>` → the backend's `/slow/<ms>` (answers after <ms>). */
const TO_SLOW = "    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /slow}}}]\n";

beforeAll(async () => {
  forgetAttempts(); // the /fail/ ids below count from 0 on every run of this file
  app = startTrafficBackend("app");
  mirror = startTrafficBackend("mirror");
  const config = `${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
${service("app", app.port)}${service("mirror", mirror.port)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: traffic, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
${rule("/mirrored", "    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: mirror, port: 8080}}}]\n")}${rule(
    "/cors",
    `    filters:
    - type: CORS
      cors: {allowOrigins: ["https://www.foo.com", "https://*.bar.com"], allowMethods: [GET, OPTIONS], allowHeaders: [x-header-1], exposeHeaders: [x-backend], allowCredentials: true, maxAge: 3600}
`,
  )}${rule("/slow-request", `${TO_SLOW}    timeouts: {request: 1s}\n`)}${rule("/slow-backend", `${TO_SLOW}    timeouts: {backendRequest: 1s}\n`)}${rule("/fail", "    retry: {codes: [503], attempts: 2, backoff: 10ms}\n")}`;
  gw = await startGateway({ configDirs: [writeTree({ "config.yaml": config })], workers: 1, args: ["--gateway", "default/gw", "--access-log", "off"] });
});

afterAll(async () => {
  await gw?.stop();
  app?.stop();
  mirror?.stop();
});

const get = (path: string, init: RequestInit = {}) => fetch(gw.url(80, path), { ...init, headers: { host: "example.com", ...(init.headers ?? {}) } });

describe("Gateway API traffic filters through the gateway", () => {
  test("RequestMirror: the mirror gets a copy (method, body), the client gets the backend's answer", async () => {
    const r = await get("/mirrored/a?id=gm1", { method: "POST", body: "hello mirror" });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { backend: string }).backend).toBe("app");
    expect(await until(() => mirror.seen.some((s) => s.id === "gm1"))).toBe(true);
    const copy = mirror.seen.find((s) => s.id === "gm1")!;
    expect([copy.method, copy.path, copy.bodyBytes]).toEqual(["POST", "/mirrored/a?id=gm1", 12]);
    expect(app.seen.filter((s) => s.id === "gm1").length).toBe(1);
  });

  test("CORS: a preflight from an allowed origin (exact or wildcard) is answered by the gateway with the filter's headers", async () => {
    for (const origin of ["https://www.foo.com", "https://xpto.www.bar.com"]) {
      const before = app.seen.length;
      const r = await get("/cors/x", { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "x-header-1" } });
      await r.text();
      expect([origin, r.status, r.headers.get("access-control-allow-origin"), r.headers.get("access-control-allow-methods"), r.headers.get("access-control-max-age"), r.headers.get("access-control-allow-credentials")]).toEqual([
        origin, 200, origin, "GET,OPTIONS", "3600", "true",
      ]);
      expect(app.seen.length).toBe(before);
    }
  });

  test("CORS: a simple request from an allowed origin gets the headers; another origin's preflight goes upstream and gets none", async () => {
    const r = await get("/cors/y", { headers: { origin: "https://www.foo.com" } });
    expect([r.status, r.headers.get("access-control-allow-origin"), r.headers.get("access-control-expose-headers")]).toEqual([200, "https://www.foo.com", "x-backend"]);
    await r.text();
    const pre = await get("/cors/z", { method: "OPTIONS", headers: { origin: "https://foobar.com", "access-control-request-method": "GET" } });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(((await pre.json()) as { backend: string; method: string }).method).toBe("OPTIONS");
  });

  test("timeouts.request and timeouts.backendRequest: a backend slower than them gets 504; a fast one answers", async () => {
    for (const prefix of ["/slow-request", "/slow-backend"]) {
      const slow = await get(`${prefix}/3000`);
      const fast = await get(`${prefix}/0`);
      expect([prefix, slow.status, fast.status]).toEqual([prefix, 504, 200]);
      await slow.text();
      await fast.text();
    }
  });

  test("retry.codes: a 503 is retried (x-envoy-attempt-count 2 reaches the backend), the client gets 200", async () => {
    const r = await get("/fail/1/503?id=gr1");
    expect(r.status).toBe(200);
    await r.text();
    expect(app.seen.filter((s) => s.id === "gr1").map((s) => s.attemptCount)).toEqual(["1", "2"]);
  });
});

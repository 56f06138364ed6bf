// Fault injection, CORS and mirroring through the real gateway process on
// real backends: a delay and an abort (flags DI/FI in the access log), a
// browser-shaped preflight with curl answered by the gateway, a simple CORS
// request getting its headers, copies to a mirror with the request's Host, and
// a slow or dead mirror that never delays or fails the client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { gatewayWith, startBlackHole, startTrafficBackend, staticService, until, type TrafficBackend } from "../helpers/traffic-backends.ts";

let app: TrafficBackend;
let mirror: TrafficBackend;
let hole: ReturnType<typeof startBlackHole>;
let gw: GatewayProcess;

beforeAll(async () => {
  app = startTrafficBackend("app");
  mirror = startTrafficBackend("mirror");
  hole = startBlackHole();
  const dead = await freePort();
  const config = writeTree({
    "config.yaml":
      staticService("app", [app.port]) +
      staticService("mirror", [mirror.port]) +
      staticService("hole", [hole.port]) +
      staticService("dead", [dead]) +
      gatewayWith(`  - match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
    route: [{destination: {host: app.test}}]
  - match: [{uri: {prefix: /delay}}]
    fault: {delay: {fixedDelay: 400ms, percentage: {value: 100}}}
    route: [{destination: {host: app.test}}]
  - match: [{uri: {prefix: /cors}}]
    corsPolicy:
      allowOrigins: [{exact: "https://app.example.com"}, {regex: "https://.*\\\\.test"}]
      allowMethods: [GET, PUT]
      allowHeaders: [content-type, x-token]
      exposeHeaders: [x-backend]
      maxAge: 10m
      allowCredentials: true
    route: [{destination: {host: app.test}}]
  - match: [{uri: {prefix: /mirrored}}]
    mirror: {host: mirror.test}
    route: [{destination: {host: app.test}}]
  - match: [{uri: {prefix: /to-hole}}]
    mirrors: [{destination: {host: hole.test}}, {destination: {host: dead.test}}]
    route: [{destination: {host: app.test}}]`),
  });
  gw = await startGateway({ configDirs: [config], args: ["--access-log", "stdout"] });
});

afterAll(async () => {
  expect(await gw.stop()).toBe(0);
  app.stop();
  mirror.stop();
  hole.stop();
});

const get = (path: string, init: RequestInit = {}) => fetch(gw.url(80, path), { ...init, headers: { host: "shop.example.com", ...(init.headers ?? {}) } });

describe("fault", () => {
  test("abort: the gateway answers 418 `fault filter abort`, the backend sees nothing, the log says FI", async () => {
    const before = app.seen.length;
    const r = await get("/abort/x");
    expect([r.status, await r.text()]).toEqual([418, "fault filter abort"]);
    expect(r.headers.get("content-type")).toBe("text/plain");
    expect(app.seen.length).toBe(before);
    await gw.waitForOutput(/"GET \/abort\/x HTTP\/1\.1" 418 FI fault_filter_abort/);
  });

  test("delay: the request reaches the backend after the delay, the log says DI", async () => {
    const t0 = Date.now();
    const r = await get("/delay/y");
    expect(r.status).toBe(200);
    await r.text();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    await gw.waitForOutput(/"GET \/delay\/y HTTP\/1\.1" 200 DI /);
  });
});

describe("CORS", () => {
  test("a browser-shaped preflight (curl) is answered by the gateway", async () => {
    const before = app.seen.length;
    const p = Bun.spawn(
      [
        "curl", "-s", "-i", "-X", "OPTIONS", gw.url(80, "/cors/items"),
        "-H", "Host: shop.example.com",
        "-H", "Origin: https://app.example.com",
        "-H", "Access-Control-Request-Method: PUT",
        "-H", "Access-Control-Request-Headers: content-type,x-token",
        "-H", "Sec-Fetch-Mode: cors",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    const lines = out.split("\r\n").map((l) => l.toLowerCase());
    expect(lines[0]).toBe("http/1.1 200 ok");
    expect(lines).toContain("access-control-allow-origin: https://app.example.com");
    expect(lines).toContain("access-control-allow-methods: get,put");
    expect(lines).toContain("access-control-allow-headers: content-type,x-token");
    expect(lines).toContain("access-control-max-age: 600");
    expect(lines).toContain("access-control-allow-credentials: true");
    expect(lines).toContain("server: istio-envoy");
    expect(app.seen.length).toBe(before);
  });

  test("a simple request from an allowed origin goes upstream and gets the CORS headers", async () => {
    const r = await get("/cors/items", { headers: { origin: "https://x.test" } });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe("https://x.test");
    expect(r.headers.get("access-control-allow-credentials")).toBe("true");
    expect(r.headers.get("access-control-expose-headers")).toBe("x-backend");
    await r.text();
  });

  test("another origin: a preflight goes upstream (unmatchedPreflights FORWARD), a simple request gets no CORS headers", async () => {
    const pre = await get("/cors/items", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "PUT" } });
    expect(((await pre.json()) as { backend: string }).backend).toBe("app");
    const r = await get("/cors/items", { headers: { origin: "https://evil.example" } });
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    await r.text();
  });
});

describe("mirror", () => {
  test("the mirror gets a copy with the request's Host (no -shadow) and body; the client gets the app's answer", async () => {
    const r = await get("/mirrored/a?id=m1", { method: "POST", body: "hello mirror" });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { backend: string }).backend).toBe("app");
    expect(await until(() => mirror.seen.some((s) => s.id === "m1"))).toBe(true);
    const copy = mirror.seen.find((s) => s.id === "m1")!;
    expect([copy.method, copy.host, copy.bodyBytes]).toEqual(["POST", "shop.example.com", 12]);
  });

  test("a mirror that never answers and one that refuses never delay or fail the client", async () => {
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) {
      const r = await get(`/to-hole/${i}`);
      expect(r.status).toBe(200);
      await r.text();
    }
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await until(() => hole.connections() > 0)).toBe(true);
  });
});

// Retries and the route timeout through the real gateway process on real
// backends: Istio's default policy (connect failures go to another endpoint),
// a VirtualService policy retrying 503s of a backend that fails the first N
// attempts of each request, x-envoy-attempt-count, attempts: 0, per-try
// timeout, and the route timeout over the whole response (504 UT, or a reset
// once the response streams).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { forgetAttempts, gatewayWith, startTrafficBackend, staticService, type TrafficBackend } from "../helpers/traffic-backends.ts";

let a: TrafficBackend;
let b: TrafficBackend;
let gw: GatewayProcess;

beforeAll(async () => {
  forgetAttempts(); // the /fail/ ids below count from 0 on every run of this file
  a = startTrafficBackend("a");
  b = startTrafficBackend("b");
  const dead = await freePort();
  const config = writeTree({
    "config.yaml":
      staticService("pair", [a.port, b.port]) +
      staticService("halfdead", [dead, a.port]) +
      staticService("one", [a.port]) +
      gatewayWith(`  - match: [{uri: {prefix: /default/}}]
    rewrite: {uri: /}
    route: [{destination: {host: halfdead.test}}]
  - match: [{uri: {prefix: /fail/}}, {uri: {prefix: /post/}}]
    retries: {attempts: 3, retryOn: gateway-error}
    route: [{destination: {host: pair.test}}]
  - match: [{uri: {prefix: /codes/}}]
    rewrite: {uri: /fail/}
    retries: {attempts: 2, retryOn: "429"}
    route: [{destination: {host: one.test}}]
  - match: [{uri: {prefix: /noretry/}}]
    rewrite: {uri: /fail/}
    retries: {attempts: 0}
    route: [{destination: {host: one.test}}]
  - match: [{uri: {prefix: /pertry/}}]
    rewrite: {uri: /slow/}
    retries: {attempts: 1, perTryTimeout: 300ms, retryOn: 5xx}
    route: [{destination: {host: one.test}}]
  - match: [{uri: {prefix: /slow/}}, {uri: {prefix: /stream/}}]
    timeout: 1500ms
    route: [{destination: {host: one.test}}]`),
  });
  gw = await startGateway({ configDirs: [config] });
});

afterAll(async () => {
  expect(await gw.stop()).toBe(0);
  a.stop();
  b.stop();
});

const get = (path: string, init: RequestInit = {}) => fetch(gw.url(80, path), { ...init, headers: { host: "shop.example.com", ...(init.headers ?? {}) } });

describe("retries", () => {
  test("Istio's default policy: a refused connection is retried on the other endpoint, the client sees 200", async () => {
    for (let i = 0; i < 6; i++) {
      const r = await get(`/default/echo?i=${i}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("x-backend")).toBe("a");
      await r.text();
    }
  });

  test("gateway-error: the first two 503s of a request are retried; x-envoy-attempt-count counts the tries", async () => {
    const before = a.seen.length + b.seen.length;
    const r = await get("/fail/2/503?id=r1");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("attempt 3 ok");
    const tries = [...a.seen, ...b.seen].slice(0).filter((s) => s.id === "r1");
    expect(tries.map((s) => s.attemptCount).sort()).toEqual(["1", "2", "3"]);
    expect(a.seen.length + b.seen.length - before).toBe(3);
  });

  test("more failures than attempts: the last upstream answer goes to the client", async () => {
    const r = await get("/fail/9/503?id=r2");
    expect(r.status).toBe(503);
    expect(await r.text()).toBe("attempt 4 failed");
  });

  test("a 500 is not a gateway-error: not retried", async () => {
    const r = await get("/fail/1/500?id=r3");
    expect(r.status).toBe(500);
  });

  test("retryOn numeric code 429", async () => {
    const r = await get("/codes/1/429?id=r4");
    expect([r.status, await r.text()]).toEqual([200, "attempt 2 ok"]);
  });

  test("attempts: 0 disables retries (and the default policy)", async () => {
    const r = await get("/noretry/1/503?id=r5");
    expect(r.status).toBe(503);
    expect(a.seen.filter((s) => s.id === "r5")).toHaveLength(1);
  });

  test("a buffered request body is sent again on the retry", async () => {
    const body = "x".repeat(5000);
    const r = await get("/fail/1/502?id=r6", { method: "POST", body });
    expect(r.status).toBe(200);
    const tries = [...a.seen, ...b.seen].filter((s) => s.id === "r6");
    expect(tries.map((s) => s.bodyBytes)).toEqual([5000, 5000]);
  });

  test("HTTP/2 (h2c) streams are retried the same way", async () => {
    const p = Bun.spawn(["curl", "-s", "--http2-prior-knowledge", "-H", "Host: shop.example.com", "-o", "-", "-w", "\n%{http_version} %{http_code}", gw.url(80, "/fail/1/503?id=h2")], { stdout: "pipe" });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    expect(out).toBe("attempt 2 ok\n2 200");
  });

  test("perTryTimeout: a try slower than it is cut and retried; both slow: 504", async () => {
    const t0 = Date.now();
    const r = await get("/pertry/5000");
    expect(r.status).toBe(504);
    expect(await r.text()).toBe("upstream request timeout");
    expect(Date.now() - t0).toBeLessThan(4500); // two tries cut at 300 ms each, not one waited out (5 s)
    expect(a.seen.filter((s) => s.path === "/slow/5000").length).toBeGreaterThanOrEqual(2);
  });
});

describe("route timeout covers the whole response", () => {
  test("no response head in time: 504 upstream request timeout", async () => {
    const r = await get("/slow/3000");
    expect([r.status, await r.text()]).toEqual([504, "upstream request timeout"]);
  });

  test("a body still streaming when it fires: the response is cut (reset), not completed", async () => {
    const r = await get("/stream/30/100");
    expect(r.status).toBe(200);
    let failed = false;
    try {
      await r.text();
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
  });

  test("a response that finishes in time is untouched", async () => {
    const r = await get("/stream/3/50");
    expect([r.status, await r.text()]).toEqual([200, "chunk 0\nchunk 1\nchunk 2\n"]);
  });
});

// End to end through a real worker: routing, forwarding, local replies.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startBackend } from "./backend.ts";
import { headerOf, raw, WorkerHarness } from "./harness.ts";
import { cluster, dest, exact, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "./snapshot-fixture.ts";

const backend = startBackend("b1");
let w: WorkerHarness;
let port = 0;
const base = () => `http://127.0.0.1:${port}`;

beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  const deadPort = freePort();
  const s = snapshot(
    [
      listener(port, [
        virtualHost(
          ["app.example.com"],
          [
            { name: "echo", match: [uriMatch(prefix("/echo"))], action: forward([dest("backend")]) },
            { name: "rewrite", match: [uriMatch(prefix("/api/"))], action: forward([dest("backend")], { rewriteUri: "/echo/", rewriteAuthority: "internal.svc" }) },
            { name: "none", match: [uriMatch(prefix("/none"))], action: forward([dest("empty")]) },
            { name: "missing", match: [uriMatch(prefix("/missing"))], action: forward([dest("no-such-cluster")]) },
            { name: "dead", match: [uriMatch(prefix("/dead"))], action: forward([dest("dead")]) },
            { name: "slow", match: [uriMatch(prefix("/delay/"))], action: forward([dest("backend")]), timeoutMs: 300 },
            { name: "redirect", match: [uriMatch(exact("/old"))], action: { kind: "redirect", status: 301, scheme: "https", authority: null, port: 0, uri: "/new" } },
            { name: "direct", match: [uriMatch(exact("/direct"))], action: { kind: "direct", status: 200, body: "hello direct" } },
            {
              name: "all",
              action: forward([dest("backend")]),
              requestHeaders: { set: [["x-set", "1"]], add: [["x-add", "2"]], remove: ["x-drop"] },
              responseHeaders: { set: [["x-resp", "yes"]], add: [], remove: ["etag"] },
            },
          ],
        ),
        virtualHost(["*.wild.example.com"], [{ name: "wild", action: forward([dest("backend")]) }]),
      ]),
    ],
    [
      cluster("backend", [["127.0.0.1", backend.port!]]),
      cluster("empty", []),
      cluster("dead", [["127.0.0.1", deadPort]]),
    ],
  );
  const st = await w.apply(s);
  expect(st).toEqual([{ name: "0.0.0.0_80", port: 80, bindPort: port, error: "" }]);
});

afterAll(() => {
  w.stop();
  backend.stop(true);
});

describe("forwarding", () => {
  test("200 proxied: server replaced, service time added, x-forwarded-*, x-request-id, Host kept", async () => {
    const r = await fetch(`${base()}/echo?q=1`, { headers: { host: "app.example.com:31194", "x-forwarded-for": "10.0.0.1" } });
    expect(r.status).toBe(200);
    expect(r.headers.get("server")).toBe("istio-envoy");
    expect(Number(r.headers.get("x-envoy-upstream-service-time"))).toBeGreaterThanOrEqual(0);
    expect(r.headers.get("x-backend")).toBe("b1");
    const body = (await r.json()) as { url: string; headers: Record<string, string> };
    expect(body.url).toBe("/echo?q=1");
    expect(body.headers.host).toBe("app.example.com:31194");
    expect(body.headers["x-forwarded-for"]).toBe("10.0.0.1, 127.0.0.1");
    expect(body.headers["x-forwarded-proto"]).toBe("http");
    expect(body.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("an incoming x-request-id is kept", async () => {
    const r = await fetch(`${base()}/echo`, { headers: { host: "app.example.com", "x-request-id": "abc-123" } });
    expect(((await r.json()) as { headers: Record<string, string> }).headers["x-request-id"]).toBe("abc-123");
  });

  test("hop-by-hop headers are not forwarded", async () => {
    const res = await raw(
      port,
      "GET /echo HTTP/1.1\r\nHost: app.example.com\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: x\r\n\r\n",
      (b) => b.includes("}"),
    );
    const body = JSON.parse(res.text.slice(res.text.indexOf("\r\n\r\n") + 4)) as { headers: Record<string, string> };
    for (const h of ["x-secret", "keep-alive", "proxy-connection"]) expect(body.headers[h]).toBeUndefined();
    // te is hop-by-hop, but Envoy (1.29.2 on) forwards its trailers element as te: trailers
    expect(body.headers.te).toBe("trailers");
  });

  test("te: only trailers is forwarded, whatever else the client lists; no te without it", async () => {
    for (const [te, want] of [["gzip;q=0.5, TRAILERS", "trailers"], ["gzip, trailersx", undefined]] as const) {
      const res = await raw(port, `GET /echo HTTP/1.1\r\nHost: app.example.com\r\nConnection: TE, close\r\nTE: ${te}\r\n\r\n`, (b) => b.includes("}"));
      const body = JSON.parse(res.text.slice(res.text.indexOf("\r\n\r\n") + 4)) as { headers: Record<string, string> };
      expect(body.headers.te as string | undefined).toBe(want);
    }
  });

  test("rewrite uri prefix and authority", async () => {
    const r = await fetch(`${base()}/api/items?x=1`, { headers: { host: "app.example.com" } });
    const body = (await r.json()) as { url: string; headers: Record<string, string> };
    expect(body.url).toBe("/echo/items?x=1");
    expect(body.headers.host).toBe("internal.svc");
    expect(body.headers["x-envoy-original-path"]).toBe("/api/items?x=1");
  });

  test("request and response header operations", async () => {
    const r = await fetch(`${base()}/other`, { headers: { host: "app.example.com", "x-drop": "1", "x-set": "old" } });
    expect(r.headers.get("x-resp")).toBe("yes");
    const body = (await r.json()) as { headers: Record<string, string> };
    expect(body.headers["x-set"]).toBe("1");
    expect(body.headers["x-add"]).toBe("2");
    expect(body.headers["x-drop"]).toBeUndefined();
  });

  test("wildcard virtual host", async () => {
    const r = await fetch(`${base()}/echo`, { headers: { host: "a.wild.example.com" } });
    expect(r.status).toBe(200);
  });
});

describe("local replies", () => {
  test("bytes that cannot start a request (binary, a TLS hello) get 400 at once, not after a timeout", async () => {
    for (const junk of [new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]), new Uint8Array(2000).fill(0xff)]) {
      // without an answer the client gives up after 3 s with nothing read
      const r = await raw(port, junk, (b) => b.includes("\r\n\r\n"), 3000);
      expect(r.text.startsWith("HTTP/1.1 400 ")).toBe(true);
    }
  });

  test("404 for an unknown host, with server and date, empty body", async () => {
    const r = await fetch(`${base()}/echo`, { headers: { host: "nope.example.com" } });
    expect(r.status).toBe(404);
    expect(r.headers.get("server")).toBe("istio-envoy");
    expect(r.headers.get("date")).toBeTruthy();
    expect(await r.text()).toBe("");
  });

  test("404 for an unknown path on a known host", async () => {
    const r = await fetch(`${base()}/anything`, { headers: { host: "b.wild.example.com" } });
    expect(r.status).toBe(200);
    const r2 = await fetch(`${base()}/x`, { headers: { host: "wild.example.com" } });
    expect(r2.status).toBe(404);
  });

  test("503: a cluster without endpoints is UH 'no healthy upstream'; a missing one is NC with no body (Envoy's cluster_not_found)", async () => {
    const none = await fetch(`${base()}/none`, { headers: { host: "app.example.com" } });
    expect(none.status).toBe(503);
    expect(await none.text()).toBe("no healthy upstream");
    const missing = await fetch(`${base()}/missing`, { headers: { host: "app.example.com" } });
    expect(missing.status).toBe(503);
    expect(await missing.text()).toBe("");
  });

  test("503 when the upstream refuses", async () => {
    const r = await fetch(`${base()}/dead`, { headers: { host: "app.example.com" } });
    expect(r.status).toBe(503);
    expect(await r.text()).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure");
  });

  test("504 after the route timeout; a fast request on the same route is fine", async () => {
    const t0 = Date.now();
    const r = await fetch(`${base()}/delay/2000`, { headers: { host: "app.example.com" } });
    expect(r.status).toBe(504);
    expect(await r.text()).toBe("upstream request timeout");
    expect(Date.now() - t0).toBeLessThan(1500);
    const ok = await fetch(`${base()}/delay/10`, { headers: { host: "app.example.com" } });
    expect(ok.status).toBe(200);
  });

  test("a slow upstream's wait shows in x-envoy-upstream-service-time and in the request duration", async () => {
    const sumOf = async () => {
      const st = await w.stats();
      let sum = 0;
      for (const [k, v] of Object.entries(st)) if (k.startsWith("istio_request_duration_milliseconds_sum{") && k.includes('route="slow"')) sum += v as number;
      return sum;
    };
    const before = await sumOf();
    const r = await fetch(`${base()}/delay/120`, { headers: { host: "app.example.com" } });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("late");
    expect(Number(r.headers.get("x-envoy-upstream-service-time"))).toBeGreaterThanOrEqual(115);
    expect((await sumOf()) - before).toBeGreaterThanOrEqual(115);
  });

  test("redirect", async () => {
    const r = await fetch(`${base()}/old?a=1`, { headers: { host: "app.example.com:8080" }, redirect: "manual" });
    expect(r.status).toBe(301);
    // Envoy's newUri: a scheme change keeps a port that is not the old scheme's default
    expect(r.headers.get("location")).toBe("https://app.example.com:8080/new?a=1");
  });

  test("direct response", async () => {
    const r = await fetch(`${base()}/direct`, { headers: { host: "app.example.com" } });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("hello direct");
  });

  test("malformed requests get 400 and the connection closes", async () => {
    const bad = [
      "POST /echo HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET /echo HTTP/1.1\r\nHost: app.example.com\r\nX : y\r\n\r\n",
      "GET /echo HTTP/1.1\nHost: app.example.com\n\n",
    ];
    for (const b of bad) {
      const res = await raw(port, b);
      expect(res.text.startsWith("HTTP/1.1 400 ")).toBe(true);
      expect(res.closed).toBe(true);
    }
  });

  test("an oversized head gets 431", async () => {
    const res = await raw(port, "GET /echo HTTP/1.1\r\nHost: app.example.com\r\nX-Big: " + "a".repeat(70_000) + "\r\n\r\n");
    expect(res.text.startsWith("HTTP/1.1 431 ")).toBe(true);
  });

  test("HTTP/1.0 without Host goes to the catch-all-less table: 404, then closes", async () => {
    const res = await raw(port, "GET /echo HTTP/1.0\r\n\r\n");
    expect(res.text.startsWith("HTTP/1.1 404 ")).toBe(true);
    expect(headerOf(res.text, "connection")).toBe("close");
    expect(res.closed).toBe(true);
  });
});

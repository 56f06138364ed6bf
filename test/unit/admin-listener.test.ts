// The admin, status and metrics listeners on a real socket: requests pipelined
// on one connection are answered in order, also when `/stats/prometheus`
// awaits the workers (Bun.serve closed such a connection without an answer);
// and the connection's edges (HTTP/1.0, Connection: close, a body, malformed or
// oversize heads, methods other than GET and HEAD).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAdmin, type AdminState } from "../../src/admin/server.ts";
import { serveAdminHttp1, type AdminServer } from "../../src/admin/http1.ts";

let scrapes = 0;
const state: AdminState = {
  ready: () => true,
  snapshot: () => null,
  // as the primary's: the workers answer by message, a macrotask later
  metrics: async () => {
    await Bun.sleep(20);
    return `gangway_scrapes ${++scrapes}\n`;
  },
};

let admin: AdminServer;
let metrics: AdminServer;
let status: AdminServer;
beforeAll(() => {
  admin = startAdmin("127.0.0.1", 0, state, "admin");
  metrics = startAdmin("127.0.0.1", 0, state, "metrics");
  status = startAdmin("127.0.0.1", 0, state, "status");
});
afterAll(() => {
  for (const s of [admin, metrics, status]) s.stop(true);
});

/** Write `send` in one go; read until `n` responses have come or the server closed (3 s at most). */
async function exchange(port: number, send: string, n: number) {
  let text = "";
  let closed = false;
  const count = () => (text.match(/^HTTP\/1\.1 \d{3} /gm) ?? []).length;
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, d) => void (text += d.toString("latin1")),
      close: () => void (closed = true),
    },
  });
  s.write(send);
  const end = Date.now() + 3000;
  while (!closed && count() < n && Date.now() < end) await Bun.sleep(10);
  const grace = Math.min(end, Date.now() + 200);
  while (!closed && Date.now() < grace) await Bun.sleep(10);
  const byServer = closed;
  s.end();
  const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
  return { statuses, closed: byServer, text };
}

const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

describe("pipelined requests are answered in order", () => {
  test("two /stats/prometheus in one write, on the metrics port: both answered, the connection kept", async () => {
    const before = scrapes;
    const r = await exchange(metrics.port, GET("/stats/prometheus").repeat(2), 2);
    expect(r.statuses).toEqual([200, 200]);
    expect(r.closed).toBe(false);
    expect(r.text).toContain(`gangway_scrapes ${before + 1}\n`);
    expect(r.text.indexOf(`gangway_scrapes ${before + 1}\n`)).toBeLessThan(r.text.indexOf(`gangway_scrapes ${before + 2}\n`));
  });

  test("on the admin port, scrapes mixed with other paths: every answer in its request's order", async () => {
    const send = GET("/stats/prometheus") + GET("/ready") + GET("/stats/prometheus") + GET("/nope") + GET("/healthz/live");
    const r = await exchange(admin.port, send, 5);
    expect(r.statuses).toEqual([200, 200, 200, 404, 200]);
    const at = (s: string, from = 0) => r.text.indexOf(s, from);
    expect(at("gangway_scrapes")).toBeLessThan(at("LIVE\n"));
    expect(at("LIVE\n")).toBeLessThan(at("gangway_scrapes", at("LIVE\n")));
    expect(at("not found\n")).toBeLessThan(at("ALIVE\n"));
    expect(r.closed).toBe(false);
  });

  test("2000 readiness probes in one write on the status port", async () => {
    const r = await exchange(status.port, GET("/healthz/ready").repeat(2000), 2000);
    expect(r.statuses.length).toBe(2000);
    expect(r.statuses.every((s) => s === 200)).toBe(true);
  });

  test("Connection: close in the middle: the answers up to it, then closed; what follows is not read", async () => {
    const before = scrapes;
    const r = await exchange(metrics.port, GET("/stats/prometheus") + GET("/stats/prometheus", "Connection: close\r\n") + GET("/stats/prometheus"), 3);
    expect(r.statuses).toEqual([200, 200]);
    expect(r.closed).toBe(true);
    expect(scrapes).toBe(before + 2);
    expect(r.text).toContain("connection: close");
  });

  test("HTTP/1.0: one answer, then closed (keep-alive when asked)", async () => {
    const one = await exchange(status.port, "GET /healthz/ready HTTP/1.0\r\n\r\n" + GET("/healthz/ready"), 2);
    expect(one.statuses).toEqual([200]);
    expect(one.closed).toBe(true);
    const kept = await exchange(status.port, "GET /healthz/ready HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + GET("/healthz/ready"), 2);
    expect(kept.statuses).toEqual([200, 200]);
  });
});

describe("what the listeners refuse", () => {
  test.each([
    ["POST with a body, then a GET: 405, the body skipped, the GET answered", "POST /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + GET("/ready"), [405, 200], false],
    ["a method Bun's Request would turn into GET: 405", "FOO /ready HTTP/1.1\r\nHost: x\r\n\r\n", [405], false],
    ["lower-case get: 405 (methods are case-sensitive)", "get /ready HTTP/1.1\r\nHost: x\r\n\r\n", [405], false],
    ["not HTTP: 400, closed", "hello there\r\n\r\n", [400], true],
    ["a space before the colon: 400, closed", "GET /ready HTTP/1.1\r\nHost : x\r\n\r\n", [400], true],
    ["a chunked body: 400, closed", "POST /ready HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400], true],
    ["a head over 64 KiB: 431, closed", "GET /ready HTTP/1.1\r\nX: " + "a".repeat(70_000) + "\r\n\r\n", [431], true],
    ["a target neither origin- nor absolute-form: 400", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", [400], false],
  ])("%s", async (_name, send, want, closes) => {
    const r = await exchange(admin.port, send, want.length);
    expect(r.statuses).toEqual(want);
    if (closes) expect(r.closed).toBe(true);
  });

  test("HEAD: the length of the body it would have, no body", async () => {
    const r = await exchange(admin.port, "HEAD /ready HTTP/1.1\r\nHost: x\r\n\r\n" + GET("/ready"), 2);
    expect(r.statuses).toEqual([200, 200]);
    expect(r.text).toContain("content-length: 5\r\n\r\nHTTP/1.1 200 OK");
  });

  test("an absolute-form target is served by its path", async () => {
    const r = await exchange(admin.port, "GET http://x/healthz/live HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    expect(r.statuses).toEqual([200]);
    expect(r.text).toContain("ALIVE\n");
  });
});

test("the port is not shared: a second listener on it fails", () => {
  expect(() => startAdmin("127.0.0.1", metrics.port, state, "metrics")).toThrow();
});

describe("a request that does not come whole in time: 408, closed (as the data plane's request-headers timeout)", () => {
  // the listeners' own deadline is ADMIN_REQUEST_TIMEOUT_MS (10 s); here 300 ms, so a drip shows it soon
  let slow: AdminServer;
  beforeAll(() => {
    slow = serveAdminHttp1("127.0.0.1", 0, async (req) => {
      if (new URL(req.url).pathname === "/slow") await Bun.sleep(600);
      return new Response("ok\n");
    }, 30, 300);
  });
  afterAll(() => slow.stop(true));

  /** Write `parts` `gapMs` apart (stopping when the server closes); what came back, and whether the server closed (5 s at most). */
  async function drip(parts: string[], gapMs: number) {
    let text = "";
    let closed = false;
    const s = await Bun.connect({
      hostname: "127.0.0.1",
      port: slow.port,
      socket: { data: (_s, d) => void (text += d.toString("latin1")), close: () => void (closed = true), error: () => void (closed = true) },
    });
    const end = Date.now() + 5000;
    let sent = 0;
    for (const p of parts) {
      if (closed || Date.now() > end) break;
      s.write(p);
      sent++;
      await Bun.sleep(gapMs);
    }
    while (!closed && Date.now() < end && (text.match(/^HTTP\/1\.1 /gm) ?? []).length < 1) await Bun.sleep(10);
    const grace = Math.min(end, Date.now() + 200);
    while (!closed && Date.now() < grace) await Bun.sleep(10);
    const byServer = closed;
    s.end();
    return { statuses: [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1])), closed: byServer, text, sent, of: parts.length };
  }

  test("a head dripped a byte every 20 ms (2 s in all) gets 408 `request header timeout` and is closed before its end", async () => {
    const r = await drip(GET("/ready", "X-Pad: " + "a".repeat(60) + "\r\n").split(""), 20);
    expect(r.statuses).toEqual([408]);
    expect(r.text).toContain("request header timeout\n");
    expect(r.text).toContain("connection: close");
    expect(r.closed).toBe(true);
    expect(r.sent).toBeLessThan(r.of);
  });

  test("a body that stops short gets 408 too", async () => {
    const r = await drip(["POST /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"], 0);
    expect(r.statuses).toEqual([408]);
    expect(r.closed).toBe(true);
  });

  test("the deadline is not the answer's: a handler slower than it answers, and the pipelined request behind it too", async () => {
    const r = await drip([GET("/slow") + GET("/ready")], 0);
    expect(r.statuses[0]).toBe(200);
    expect(r.closed).toBe(false);
  });

  test("a kept-alive connection idle longer than the deadline between requests is served", async () => {
    const r = await drip([GET("/ready"), GET("/ready")], 600);
    expect(r.statuses).toEqual([200, 200]);
    expect(r.closed).toBe(false);
  });
});

// Issue 13 B4: Envoy-shaped timeouts (small values here; the defaults are in
// the README): a slowloris head → 408, a silent slow POST → 408 SI, a silent
// upstream → 504 SI, a stalled or unread response → reset, SI; max connection
// duration closes kept-alive connections. Each ends with an access-log line.
// No timing assertions: each must end with the right status before a generous bound.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { h2Request, logLines, rawUpstream, tempLog } from "./helpers.ts";

const BIG = 32 * 1024 * 1024;
const up = rawUpstream((s, req) => {
  if (req.startsWith("GET /stall")) s.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc");
  else if (req.startsWith("GET /big")) {
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${BIG}\r\n\r\n`);
    // as much as the socket takes; the rest is never sent (the gateway pauses us anyway)
    s.write(Buffer.alloc(4 * 1024 * 1024, 120));
  } else if (req.startsWith("GET /ok")) s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  else if (req.startsWith("GET /interim") || req.startsWith("GET /drip")) {
    // 100 Continue every 100 ms, or a head one byte every 100 ms, for 20 s (longer than any bound below)
    const head = "HTTP/1.1 200 OK\r\nx-pad: " + "a".repeat(400);
    let i = 0;
    const t = setInterval(() => {
      if (++i > 200 || s.write(req.startsWith("GET /interim") ? "HTTP/1.1 100 Continue\r\n\r\n" : head[(i - 1) % head.length]!) < 0) clearInterval(t);
    }, 100);
  }
  // anything else: silence
});

const log = tempLog();
let w: WorkerHarness;
let port = 0;

function table() {
  const r = (p: string) => ({ name: p, match: [uriMatch(prefix("/" + p))], action: forward([dest("up")]) });
  return [virtualHost(["*"], [r("stall"), r("big"), r("ok"), r("interim"), r("drip"), { name: "silent", action: forward([dest("up")]) }])];
}

beforeAll(async () => {
  w = new WorkerHarness({ accessLog: log, requestHeadersTimeoutMs: 800, streamIdleTimeoutMs: 800 });
  port = freePort();
  await w.apply(snapshot([listener(port, table())], [cluster("up", [["127.0.0.1", up.port]])]));
});

afterAll(() => {
  w.stop();
  up.stop(true);
});

interface Outcome {
  text: string;
  closed: boolean;
}

/** Write `first`, then each of `drip` every `everyMs`; resolve when the server closes or after `boundMs`. */
async function converse(p: number, first: string, drip: string | string[] = "", everyMs = 300, boundMs = 8000): Promise<Outcome> {
  let text = "";
  let closed = false;
  let done: () => void = () => {};
  const over = new Promise<void>((r) => (done = r));
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port: p,
    socket: {
      data: (_s, d) => void (text += d.toString("latin1")),
      close: () => {
        closed = true;
        done();
      },
    },
  });
  s.write(first);
  let i = 0;
  const t = setInterval(() => {
    if (i < drip.length && !closed) s.write(drip[i++]!);
  }, everyMs);
  await Promise.race([over, Bun.sleep(boundMs)]);
  clearInterval(t);
  s.end();
  return { text, closed };
}

describe("timeouts (HTTP/1.1)", () => {
  test("slowloris: a head dripping one byte at a time → 408 and closed", async () => {
    const r = await converse(port, "GET /slowloris HTTP/1.1\r\nHost: x\r\nx-a: ", "abcdefghijklmnopqrstuvwxyz0123456789");
    expect(r.text.startsWith("HTTP/1.1 408 ")).toBe(true);
    expect(r.text.endsWith("request header timeout")).toBe(true);
    expect(r.closed).toBe(true);
    const lines = await logLines(log, (l) => l.includes("request_header_timeout"));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(" 408 - request_header_timeout ");
  });

  test("empty lines dripping, never a request line → closed at the head timeout, no answer, no log line (they were dropped: the connection lived on)", async () => {
    const before = (await logLines(log, () => true, 0)).length;
    const r = await converse(port, "\r\n", Array<string>(12).fill("\r\n"), 300, 4000);
    expect(r.text).toBe("");
    expect(r.closed).toBe(true);
    await Bun.sleep(400); // the access log is flushed every 100 ms
    expect((await logLines(log, () => true, 0)).length).toBe(before);
  });

  test("empty lines before a request are skipped, a CRLF split across reads too (a lone CR was a 400)", async () => {
    const r = await converse(port, "\r\n\r\n\r", ["\n\r\n", "GET /ok HTTP/1.1\r\nHost: x\r\n", "connection: close\r\n\r\n"], 50, 3000);
    expect(r.text.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(r.closed).toBe(true);
  });

  test("a silent slow POST (body never completes) → 408 SI and closed", async () => {
    const r = await converse(port, "POST /post HTTP/1.1\r\nHost: x\r\ncontent-length: 100\r\n\r\nabc");
    expect(r.text.startsWith("HTTP/1.1 408 ")).toBe(true);
    expect(r.text.endsWith("stream timeout")).toBe(true);
    expect(r.closed).toBe(true);
    const lines = await logLines(log, (l) => l.includes('"POST /post '));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(" 408 SI stream_idle_timeout ");
  });

  test("a silent upstream, the route has no timeout → 504 SI", async () => {
    const r = await converse(port, "GET /silent HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n");
    expect(r.text.startsWith("HTTP/1.1 504 ")).toBe(true);
    expect(r.text.endsWith("stream timeout")).toBe(true);
    const lines = await logLines(log, (l) => l.includes('"GET /silent '));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(" 504 SI stream_idle_timeout ");
  });

  test("an upstream sending 100 Continue for ever, or dripping its head, the route has no timeout → 504 SI (neither is activity)", async () => {
    for (const p of ["/interim", "/drip"]) {
      const r = await converse(port, `GET ${p} HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n`);
      expect([p, r.text.slice(0, 13)]).toEqual([p, "HTTP/1.1 504 "]);
      expect(r.text.endsWith("stream timeout")).toBe(true);
    }
    const lines = await logLines(log, (l) => l.includes('"GET /interim ') || l.includes('"GET /drip '), 2);
    expect(lines.length).toBe(2);
    for (const l of lines) expect(l).toContain(" 504 SI stream_idle_timeout ");
  });

  test("an upstream stalling mid-body → the client connection is reset, 200 SI logged", async () => {
    const r = await converse(port, "GET /stall HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(r.text.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(r.closed).toBe(true);
    const lines = await logLines(log, (l) => l.includes('"GET /stall '));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(" 200 SI stream_idle_timeout ");
  });

  test("a client that never reads a big response → reset, 200 SI logged (send timeout)", async () => {
    const s = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (sock) => sock.pause(),
        data() {},
      },
    });
    s.pause();
    s.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    const lines = await logLines(log, (l) => l.includes('"GET /big '), 1, 8000);
    s.terminate();
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(" 200 SI stream_idle_timeout ");
  });

  test("a kept-alive idle connection is not a stream: requests keep working", async () => {
    const r = await converse(port, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", "", 300, 1200);
    expect(r.text.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(r.text).not.toContain("408");
  });
});

describe("timeouts (HTTP/2 stream)", () => {
  test("a silent upstream → 504 on the stream", async () => {
    const r = await h2Request(port, "/silent-h2", 8000);
    expect(r.status).toBe(504);
    expect(r.body).toBe("stream timeout");
    const lines = await logLines(log, (l) => l.includes('"GET /silent-h2 '));
    expect(lines[0]).toContain(" 504 SI stream_idle_timeout ");
  });
});

describe("max connection duration and drain timeout", () => {
  const log2 = tempLog();
  let w2: WorkerHarness;
  let port2 = 0;
  beforeAll(async () => {
    w2 = new WorkerHarness({ accessLog: log2, maxConnectionDurationMs: 600, drainTimeoutMs: 600 });
    port2 = freePort();
    await w2.apply(snapshot([listener(port2, table())], [cluster("up", [["127.0.0.1", up.port]])]));
  });
  afterAll(() => w2.stop());

  test("a kept-alive connection is closed once it reached its maximum duration", async () => {
    const r = await converse(port2, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(r.text.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(r.closed).toBe(true);
  });

  test("a busy one is reset after the drain timeout, and logged", async () => {
    const r = await converse(port2, "GET /silent-drain HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(r.closed).toBe(true);
    const lines = await logLines(log2, (l) => l.includes('"GET /silent-drain '));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(" 0 - max_connection_duration ");
  });
});

// What the client sees when the upstream misbehaves: garbage (502), a stale
// pooled connection (retried once, no error), a reset mid-body (connection
// closed), a non-replayable request on a dead reused connection (503).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { headerOf, raw, WorkerHarness } from "./harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "./snapshot-fixture.ts";
import { blackhole, type Blackhole } from "../helpers/blackhole.ts";

type Behaviour = (s: Socket<{ n: number }>, req: string) => void;

/** A raw TCP upstream: `behave` decides what to send for each request head received. */
function rawUpstream(behave: Behaviour): TCPSocketListener<{ n: number }> {
  return Bun.listen<{ n: number }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { n: 0 };
      },
      data(s, d) {
        const text = d.toString("latin1");
        for (const req of text.split("\r\n\r\n").slice(0, -1)) {
          s.data.n++;
          behave(s, req);
        }
      },
    },
  });
}

const ok = (body: string) => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

const garbage = rawUpstream((s) => s.write("HELLO THERE\r\n\r\n"));
const badHeader = rawUpstream((s) => s.write("HTTP/1.1 200 OK\r\nX Bad: y\r\ncontent-length: 0\r\n\r\n"));
// answers the first request of each connection, then closes on the second without answering
const stale = rawUpstream((s) => (s.data.n === 1 ? s.write(ok("first")) : s.end()));
const midBody = rawUpstream((s) => {
  s.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789");
  setTimeout(() => s.end(), 20);
});
// HTTP/1.0 with keep-alive, framed chunked: counts the connections it is asked on
let http10Conns = 0;
const http10Chunked = rawUpstream((s) => {
  if (s.data.n === 1) http10Conns++;
  s.write("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
});
// never ends a head: what it sends first is chosen by the request path (/unended/<i>, PARTIAL[i])
const PARTIAL = [
  "hello, this is HTTP/0.9\n",
  "HTTP/2.0 200 OK\r\n",
  "HTTP/1.1 20x OK\r\n",
  "ICY 200 OK\r\n",
  "HTTP/1.1 600 Odd\r\n",
  "HTTP/1.1 200\tOK\r\n",
  "HTTP/1.1 200 OK\r\nx-a: a\x00b",
  "HTTP/1.1 200 OK\r\nx-a: a\rb",
  "HTTP/1.1 200 OK\nx-a: b",
  "HTTP/1.1 200 OK\r\nx-a: a\r\n folded",
  "HTTP/1.1 100 Continue\r\n\r\nhello",
];
const unended = rawUpstream((s, req) => {
  const i = Number(/\/unended\/(\d+)/.exec(req)?.[1] ?? 0);
  s.write(PARTIAL[i]!);
});
// a well-formed head in pieces: its first bytes alone, the rest later
const pieces = rawUpstream((s) => {
  s.write("HTTP/1.");
  setTimeout(() => s.write("1 200 OK\r"), 30);
  setTimeout(() => s.write("\ncontent-length: 2\r\nx-a: a\tb\xe9\r"), 60);
  setTimeout(() => s.write("\n\r\nok"), 90);
});
const interim = rawUpstream((s) => s.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + ok("after-1xx")));

let w: WorkerHarness;
let port = 0;
let hole: Blackhole;

beforeAll(async () => {
  hole = await blackhole(); // connects never complete
  w = new WorkerHarness();
  port = freePort();
  const r = (p: string, c: string) => ({ name: c, match: [uriMatch(prefix(p))], action: forward([dest(c)]) });
  await w.apply(
    snapshot(
      [listener(port, [virtualHost(["*"], [r("/garbage", "garbage"), r("/badheader", "badHeader"), r("/stale", "stale"), r("/midbody", "midBody"), r("/interim", "interim"), r("/http10chunked", "http10Chunked"), r("/hole", "hole"), r("/unended", "unended"), r("/pieces", "pieces")])])],
      [
        cluster("garbage", [["127.0.0.1", garbage.port]]),
        cluster("badHeader", [["127.0.0.1", badHeader.port]]),
        cluster("stale", [["127.0.0.1", stale.port]]),
        cluster("midBody", [["127.0.0.1", midBody.port]]),
        cluster("interim", [["127.0.0.1", interim.port]]),
        cluster("http10Chunked", [["127.0.0.1", http10Chunked.port]]),
        cluster("hole", [["127.0.0.1", hole.port]], "LEAST_REQUEST", 300),
        cluster("unended", [["127.0.0.1", unended.port]]),
        cluster("pieces", [["127.0.0.1", pieces.port]]),
      ],
    ),
  );
});

afterAll(() => {
  w.stop();
  for (const l of [garbage, badHeader, stale, midBody, interim, http10Chunked, unended, pieces]) l.stop(true);
  hole.close();
});

describe("upstream failures", () => {
  test("garbage instead of a response head → 502", async () => {
    for (const p of ["/garbage", "/badheader"]) {
      const r = await fetch(`http://127.0.0.1:${port}${p}`);
      expect(r.status).toBe(502);
      expect(await r.text()).toBe("upstream connect error or disconnect/reset before headers. reset reason: protocol error");
    }
  });

  test("a head never ended whose bytes already cannot be one (HTTP/0.9, HTTP/2.0, a bad status, a NUL, a bare CR or LF, obs-fold) → 502 at once, not at the stream idle timeout", async () => {
    const body = "upstream connect error or disconnect/reset before headers. reset reason: protocol error";
    for (let i = 0; i < PARTIAL.length; i++) {
      const r = await raw(port, `GET /unended/${i} HTTP/1.1\r\nHost: x\r\n\r\n`, (b) => b.toString().endsWith(body), 3000);
      expect([i, r.text.slice(0, 12)]).toEqual([i, "HTTP/1.1 502"]);
      expect(r.text).toEndWith(body);
    }
  });

  test("a well-formed head in pieces (cut inside the status line and between CR and LF) is served", async () => {
    const r = await raw(port, "GET /pieces HTTP/1.1\r\nHost: x\r\n\r\n", (b) => b.toString().endsWith("\r\n\r\nok"), 3000);
    expect(r.text).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(r.text).toEndWith("\r\n\r\nok");
  });

  test("a pooled connection closed under the next request is retried once on a fresh one", async () => {
    const results: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/stale`);
      results.push(r.status);
      expect(await r.text()).toBe("first");
    }
    expect(results).toEqual([200, 200, 200, 200]);
    const s = await w.stats();
    expect(s['gangway_upstream_cx_total{cluster="stale"}']).toBe(4);
  });

  test("a request too big to replay on a dead reused connection gets 503, not a hang", async () => {
    await fetch(`http://127.0.0.1:${port}/stale`); // leaves one pooled connection that dies on next use
    const big = "x".repeat(200_000);
    const r = await fetch(`http://127.0.0.1:${port}/stale`, { method: "POST", body: big });
    expect([200, 503]).toContain(r.status); // 200 only if the pooled connection was already gone
    if (r.status === 503) expect(await r.text()).toContain("reset reason: connection termination");
    // the 503 came before the upload ended: the connection closed, so fetch's next request goes on
    // a new one (kept open, it waited 5 s, 1 run in 3: fetch had stopped the upload and reused it)
    for (let i = 0; i < 3; i++) expect((await fetch(`http://127.0.0.1:${port}/garbage`)).status).toBe(502);
  });

  test("upstream closing mid-body closes the client connection", async () => {
    const res = await raw(port, "GET /midbody HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(res.text.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(headerOf(res.text, "content-length")).toBe("100");
    expect(res.text.endsWith("0123456789")).toBe(true);
    expect(res.closed).toBe(true);
  });

  test("an upstream that never answers the connect: 504 UF after the cluster's connectTimeout (INTERFACE: timeouts end in 408 or 504; Envoy answers 503)", async () => {
    const body = "upstream connect error or disconnect/reset before headers. reset reason: connection timeout";
    const r = await raw(port, "GET /hole HTTP/1.1\r\nHost: x\r\n\r\n", (b) => b.toString().endsWith(body), 4000);
    expect(r.text).toStartWith("HTTP/1.1 504 ");
    expect(r.text).toEndWith(body);
    const s = await w.stats();
    expect(s['istio_requests_total{response_code="504",response_flags="UF",route="hole",destination_service="hole"}']).toBe(1);
  });

  test("1xx interim responses from the upstream are not forwarded", async () => {
    const res = await raw(port, "GET /interim HTTP/1.1\r\nHost: x\r\n\r\n", (b) => b.toString().endsWith("after-1xx"));
    expect(res.text.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(res.text).not.toContain(" 103 ");
  });

  test("an HTTP/1.0 response framed chunked is passed on, and its connection is not used again, keep-alive or not (RFC 9112 §6.1)", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/http10chunked`);
      expect([r.status, await r.text()]).toEqual([200, "ok"]);
    }
    expect(http10Conns).toBe(3);
  });
});

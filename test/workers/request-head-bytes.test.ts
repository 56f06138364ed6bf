// The upstream request head built as bytes (request-head-bytes.ts) against the
// string head it replaced (request-head-string.ts, the oracle): the same bytes
// for every head × route action below, but x-envoy-attempt-count: 1 before the
// blank line (upstream-request.ts used to append it). Where they differ on
// purpose (configured text beyond ASCII goes as UTF-8, the client's obs-text
// bytes as received), the expected bytes are spelled out.
import { describe, expect, test } from "bun:test";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { fieldKindsScratch, fieldSpansScratch } from "../../workers/http/fields.ts";
import type { ForwardIds } from "../../workers/http/heads-out.ts";
import { parseRequestHead, RequestHead } from "../../workers/http/parse-request.ts";
import { ATTEMPT_LINE, intoFrom, upstreamHeadAgain, upstreamHeadBytes, upstreamHeadInto } from "../../workers/http/request-head-bytes.ts";
import { UpstreamConn } from "../../workers/http/upstream-conn.ts";
import { type HeadMaker, UpstreamRequest } from "../../workers/http/upstream-request.ts";
import { upstreamRequestHead } from "./request-head-string.ts";

const NONE: HeaderOperations = { set: [], add: [], remove: [] };

/** Parse `text` (latin1), placed after some unrelated bytes, as the connection's buffer holds it. */
function parse(text: string, scheme = "http"): RequestHead {
  const pre = "xx\r\n";
  const b = Buffer.from(pre + text + "body", "latin1");
  const h = new RequestHead();
  const status = parseRequestHead(b, pre.length, pre.length + text.length, h, fieldSpansScratch(), fieldKindsScratch());
  expect(status).toBe(0);
  h.scheme = scheme;
  return h;
}

interface Action {
  name: string;
  target?: string;
  authority?: string;
  originalPath?: string;
  ops?: HeaderOperations;
  xfcc?: string;
  scheme?: string;
}

const HEADS: [string, string][] = [
  ["minimal", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"],
  [
    "browser-like",
    "GET /api/v1/items?page=2 HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
      "Accept: text/html,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: keep-alive\r\nCookie: a=1; b=2\r\nCache-Control: no-cache\r\n\r\n",
  ],
  ["duplicates", "GET /d HTTP/1.1\r\nX-A: 1\r\nHost: a.example\r\nx-a: 2\r\nCookie: c=1\r\nCOOKIE: d=2\r\nX-A:3\r\n\r\n"],
  [
    "forwarding headers from the client",
    "GET /f HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 1.1.1.1\r\nX-Request-Id: client-id-1\r\nx-forwarded-for: 2.2.2.2, 3.3.3.3\r\n" +
      "X-Forwarded-Proto: https\r\nX-Envoy-Original-Path: /evil\r\nX-Envoy-Attempt-Count: 7\r\nX-Forwarded-Client-Cert: By=evil\r\nx-request-id: second\r\nAfter: 1\r\n\r\n",
  ],
  ["obs-text", "GET /o HTTP/1.1\r\nHost: a.example\r\nX-Name: caf\xe9 \xff\x80\r\nX-Forwarded-For: 10.0.0.1 \xe9\r\nX-Request-Id: id-\xe9\r\n\r\n"],
  [
    "hop-by-hop and nominated",
    "GET /h HTTP/1.1\r\nHost: a.example\r\nConnection: close, X-Secret, keep-alive\r\nX-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\nTrailer: x\r\n" +
      "Proxy-Connection: keep-alive\r\nX-Kept: k\r\n\r\n",
  ],
  ["te with trailers among codings", "POST /g HTTP/1.1\r\nHost: a.example\r\nConnection: TE\r\nTE: gzip;q=0.5, Trailers\r\nContent-Length: 0\r\n\r\n"],
  ["te without trailers", "GET /g HTTP/1.1\r\nHost: a.example\r\nTE: gzip, trailersx, deflate;trailers\r\n\r\n"],
  ["content-length", "POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"],
  ["chunked", "POST /p HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nX-After: 1\r\n\r\n"],
  ["HTTP/1.0 without Host", "GET /old HTTP/1.0\r\nUser-Agent: ancient\r\n\r\n"],
  // the request line goes as HTTP/1.1 (the client's line is not copied), the rest as with HTTP/1.1
  ["HTTP/1.0 with Host", "GET /old HTTP/1.0\r\nHost: a.example\r\nConnection: keep-alive\r\nX-Z: z\r\n\r\n"],
  // the line copied as received, without the field after it
  ["first field not forwarded", "GET /c HTTP/1.1\r\nConnection: keep-alive\r\nHost: a.example\r\n\r\n"],
  ["websocket", "GET /ws HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n"],
  ["absolute-form", "GET http://b.example:8080/abs?q HTTP/1.1\r\nHost: a.example\r\nX-Y: y\r\n\r\n"],
  ["expect", "PUT /e HTTP/1.1\r\nHost: a.example\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"],
  ["no fields but Host, odd spacing", "DELETE /x?y=1 HTTP/1.1\r\nhost:a.example   \r\nX-Tab:\tv\t\r\n\r\n"],
];

const ACTIONS: Action[] = [
  { name: "as received" },
  { name: "https", scheme: "https" },
  { name: "host rewrite", authority: "backend.internal:8080" },
  { name: "path rewrite", target: "/new/path?q=1", originalPath: "/original" },
  {
    name: "header operations",
    ops: {
      set: [["X-A", "set-a"], ["host", "ignored"], [":authority", "ignored"]],
      add: [["x-added", "v1"], ["Cookie", "added=1"]],
      remove: ["USER-AGENT", "x-secret", "x-name"],
    },
  },
  { name: "remove only", ops: { set: [], add: [], remove: ["x-kept", "accept"] } },
  { name: "xfcc", xfcc: 'By=spiffe://cluster.local/ns/a/sa/b;Hash=abc;Subject="CN=c"' },
];

const RID = /x-request-id: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\r\n/;

function build(h: RequestHead, a: Action, ids: ForwardIds): Buffer {
  return upstreamHeadBytes(h, a.target ?? h.path + (h.query === "" ? "" : "?" + h.query), a.authority ?? h.authority, "192.0.2.7", a.originalPath ?? "", a.ops ?? NONE, ids, a.xfcc ?? "");
}

function oracle(h: RequestHead, a: Action, ids: ForwardIds): string {
  const s = upstreamRequestHead(h, a.target ?? h.path + (h.query === "" ? "" : "?" + h.query), a.authority ?? h.authority, "192.0.2.7", a.originalPath ?? "", a.ops ?? NONE, ids, a.xfcc ?? "");
  return s.slice(0, -2) + ATTEMPT_LINE + "\r\n";
}

describe("upstream head as bytes = the string head (latin1) + x-envoy-attempt-count", () => {
  for (const [hn, text] of HEADS) {
    for (const a of ACTIONS) {
      test(`${hn} × ${a.name}`, () => {
        const h = parse(text, a.scheme);
        const bi: ForwardIds = { xff: "", requestId: "" };
        const si: ForwardIds = { xff: "", requestId: "" };
        const got = build(h, a, bi).toString("latin1");
        const want = oracle(h, a, si);
        expect(got.replace(RID, "x-request-id: ID\r\n")).toBe(want.replace(RID, "x-request-id: ID\r\n"));
        expect(bi.xff).toBe(si.xff);
        if (RID.test(want)) expect(RID.test(got)).toBe(true);
        else expect(bi.requestId).toBe(si.requestId);
        // what the gateway owns appears once, what it drops does not
        const lower = got.toLowerCase();
        expect(lower.split("\r\nx-forwarded-for:").length).toBe(2);
        expect(lower.split("\r\nx-request-id:").length).toBe(2);
        expect(lower.split("\r\nx-envoy-attempt-count:").length).toBe(2);
        expect(lower).not.toContain("\r\nconnection: close");
        expect(lower).not.toContain("keep-alive");
        expect(got.endsWith(ATTEMPT_LINE + "\r\n")).toBe(true);
      });
    }
  }
});

describe("encoding", () => {
  test("the client's obs-text bytes go upstream as received, in copied lines and in x-forwarded-for / x-request-id", () => {
    const h = parse("GET /o HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\xff\r\nX-Forwarded-For: 10.0.0.1\xe9\r\nX-Request-Id: id-\x80\r\n\r\n");
    const out = upstreamHeadBytes(h, "/o", "a", "192.0.2.7", "", NONE, { xff: "", requestId: "" });
    expect(out.includes(Buffer.from("X-Name: caf\xe9\xff\r\n", "latin1"))).toBe(true);
    expect(out.includes(Buffer.from("x-forwarded-for: 10.0.0.1\xe9, 192.0.2.7\r\n", "latin1"))).toBe(true);
    expect(out.includes(Buffer.from("x-request-id: id-\x80\r\n", "latin1"))).toBe(true);
  });

  test("configured values beyond ASCII are UTF-8 (0x80–0xFF too), and the client's bytes beside them stay as received", () => {
    const h = parse("GET /o HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n");
    const ops: HeaderOperations = { set: [["x-city", "Zürich"]], add: [["x-jp", "日本"]], remove: [] };
    const out = upstreamHeadBytes(h, "/o", "a", "192.0.2.7", "", ops, { xff: "", requestId: "" });
    expect(out.includes(Buffer.from("X-Name: caf\xe9\r\n", "latin1"))).toBe(true);
    expect(out.includes(Buffer.from("x-city: Z\xc3\xbcrich\r\n", "latin1"))).toBe(true);
    expect(out.includes(Buffer.from("x-jp: \xe6\x97\xa5\xe6\x9c\xac\r\n", "latin1"))).toBe(true);
  });

  test("a rewritten path or authority from configuration is UTF-8", () => {
    const h = parse("GET /o HTTP/1.1\r\nHost: a\r\n\r\n");
    const out = upstreamHeadBytes(h, "/café", "bücher.example", "192.0.2.7", "/o", NONE, { xff: "", requestId: "" });
    expect(out.toString("utf8").startsWith("GET /café HTTP/1.1\r\nhost: bücher.example\r\n")).toBe(true);
  });

  test("a long head (many fields, long values) fits and is copied whole", () => {
    let text = "GET /l HTTP/1.1\r\nHost: a\r\n";
    for (let i = 0; i < 90; i++) text += `X-Field-${i}: ${"v".repeat(500)}\r\n`;
    const h = parse(text + "\r\n");
    const out = upstreamHeadBytes(h, "/l", "a", "192.0.2.7", "", NONE, { xff: "", requestId: "" });
    const s = out.toString("latin1");
    expect(s.startsWith(text)).toBe(true);
    expect(s.endsWith(ATTEMPT_LINE + "\r\n")).toBe(true);
  });

  test("heads built one after another do not share bytes", () => {
    const a = upstreamHeadBytes(parse("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"), "/1", "a", "192.0.2.7", "", NONE, { xff: "", requestId: "" });
    const copy = Buffer.from(a);
    for (let i = 0; i < 2000; i++) upstreamHeadBytes(parse("GET /2 HTTP/1.1\r\nHost: b\r\n\r\n"), "/2", "b", "192.0.2.8", "", NONE, { xff: "", requestId: "" });
    expect(a.equals(copy)).toBe(true);
  });
});

describe("the gateway's lines written in pieces", () => {
  test("a generated x-request-id's bytes are the id the access log gets, across the id prefix's renewal", () => {
    const h = parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    for (let i = 0; i < 70_000; i++) {
      const ids: ForwardIds = { xff: "", requestId: "" };
      const got = upstreamHeadBytes(h, "/", "a", "192.0.2.7", "", NONE, ids).toString("latin1");
      if (i % 997 === 0 || (i > 65_000 && i < 66_100)) {
        expect(ids.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(got).toBe(`GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-for: 192.0.2.7\r\nx-forwarded-proto: http\r\nx-request-id: ${ids.requestId}\r\n${ATTEMPT_LINE}\r\n`);
      }
    }
  });

  test("a head made again (scratch or Buffer) writes the request's own id, whether or not other ids were made since, across the prefix's renewal", () => {
    const h = parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const scratch = Buffer.alloc(1024);
    let held: ForwardIds[] = [];
    for (let i = 0; i < 70_000; i++) {
      const ids: ForwardIds = { xff: "", requestId: "" };
      const first = upstreamHeadBytes(h, "/", "a", "192.0.2.7", "", NONE, ids).toString("latin1");
      if (i % 997 === 0 || (i > 65_500 && i < 65_600)) {
        // made again at once (the id is the last one made), and after later requests made theirs
        const n = upstreamHeadInto(scratch, h, "/", "a", "192.0.2.7", "", NONE, ids, "");
        expect(scratch.toString("latin1", intoFrom, intoFrom + n)).toBe(first);
        held.push(ids);
      }
      if (held.length > 3) {
        const old = held.shift()!;
        const want = `GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-for: 192.0.2.7\r\nx-forwarded-proto: http\r\nx-request-id: ${old.requestId}\r\n${ATTEMPT_LINE}\r\n`;
        const n = upstreamHeadInto(scratch, h, "/", "a", "192.0.2.7", "", NONE, old, "");
        expect(scratch.toString("latin1", intoFrom, intoFrom + n)).toBe(want);
        expect(upstreamHeadAgain(h, "/", "a", "192.0.2.7", "", NONE, old, "").toString("latin1")).toBe(want);
      }
    }
    held = [];
  });

  test("request lines repeated and taking turns (the last one seen twice is kept as bytes) are each the request's own", () => {
    const seq: [string, string][] = [
      ["GET", "/a"],
      ["GET", "/a"],
      ["GET", "/a"],
      ["POST", "/a"],
      ["POST", "/a"],
      ["GET", "/a"],
      ["GET", "/b?x=1"],
      ["GET", "/b?x=1"],
      ["GET", "/café"],
      ["GET", "/café"],
      ["GET", "/caf"],
      ["HEAD", "/café"],
      ["GET", "/a"],
    ];
    const scratch = Buffer.alloc(1024);
    for (let round = 0; round < 2; round++) {
      for (const [method, target] of seq) {
        const h = parse(`${method} /orig HTTP/1.1\r\nHost: a\r\nX-K: v\r\n\r\n`);
        const ids: ForwardIds = { xff: "", requestId: "" };
        const want = `${method} ${target} HTTP/1.1\r\nHost: a\r\nX-K: v\r\nx-forwarded-for: 192.0.2.7\r\nx-forwarded-proto: http\r\nx-request-id: `;
        const got = upstreamHeadBytes(h, target, "a", "192.0.2.7", "", NONE, ids).toString("utf8");
        expect(got).toBe(`${want}${ids.requestId}\r\n${ATTEMPT_LINE}\r\n`);
        const n = upstreamHeadInto(scratch, h, target, "a", "192.0.2.7", "", NONE, ids, "");
        expect(scratch.toString("utf8", intoFrom, intoFrom + n)).toBe(got);
      }
    }
  });

  test("clients and schemes taking turns each get their own x-forwarded-for and x-forwarded-proto", () => {
    const cases: [string, string, string][] = [
      ["192.0.2.7", "http", ""],
      ["192.0.2.8", "http", ""],
      ["192.0.2.8", "https", ""],
      ["192.0.2.7", "https", "X-Forwarded-For: 10.1.1.1\r\n"],
      ["192.0.2.7", "http", "X-Forwarded-For: 10.1.1.1\r\n"],
      ["2001:db8::1", "http", "X-Request-Id: mine\r\n"],
      ["192.0.2.7", "http", ""],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [ip, scheme, extra] of cases) {
        const h = parse(`GET /p?q=1 HTTP/1.1\r\nHost: a\r\n${extra}\r\n`, scheme);
        const ids: ForwardIds = { xff: "", requestId: "" };
        const got = upstreamHeadBytes(h, "/p?q=1", "a", ip, "", NONE, ids).toString("latin1");
        const xff = extra.startsWith("X-Forwarded-For") ? "10.1.1.1, " + ip : ip;
        const rid = extra.startsWith("X-Request-Id") ? "mine" : ids.requestId;
        expect(got).toBe(`GET /p?q=1 HTTP/1.1\r\nHost: a\r\nx-forwarded-for: ${xff}\r\nx-forwarded-proto: ${scheme}\r\nx-request-id: ${rid}\r\n${ATTEMPT_LINE}\r\n`);
        expect(ids.xff).toBe(xff);
        expect(ids.requestId).toBe(rid);
      }
    }
  });
});

describe("heads taking turns in one scratch", () => {
  test("the id tail left in its middle, heads written over it and new tails: each head is its own bytes", () => {
    const scratch = Buffer.alloc(1024, 0x7e);
    const many = Array.from({ length: 30 }, (_, i) => `X-F${i}: ${"v".repeat(10)}\r\n`).join(""); // > 512 B: written from the start, over the middle
    const heads: [string, string][] = [
      ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "192.0.2.7"],
      ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "192.0.2.7"],
      [`GET /big HTTP/1.1\r\nHost: a\r\n${many}\r\n`, "192.0.2.7"],
      ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "192.0.2.7"],
      ["POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "192.0.2.7"],
      ["GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\n", "192.0.2.7"],
      ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "192.0.2.8"],
      ["GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: mine\r\n\r\n", "192.0.2.8"],
      ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "192.0.2.7"],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [text, ip] of heads) {
        const h = parse(text);
        const target = h.path + (h.query === "" ? "" : "?" + h.query);
        const ids: ForwardIds = { xff: "", requestId: "" };
        const want = upstreamHeadBytes(h, target, "a", ip, "", NONE, ids).toString("latin1");
        const n = upstreamHeadInto(scratch, h, target, "a", ip, "", NONE, ids, "");
        expect(scratch.toString("latin1", intoFrom, intoFrom + n)).toBe(want);
      }
    }
  });
});

describe("UpstreamRequest", () => {
  test("a retry's head carries its attempt count; the first try's is unchanged", () => {
    const up = new UpstreamRequest();
    up.setHead(upstreamHeadBytes(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), "/", "a", "192.0.2.7", "", NONE, { xff: "", requestId: "" }));
    expect(up.headOf(1).toString("latin1").endsWith("\r\nx-envoy-attempt-count: 1\r\n\r\n")).toBe(true);
    expect(up.headOf(2).toString("latin1").endsWith("\r\nx-envoy-attempt-count: 2\r\n\r\n")).toBe(true);
    expect(up.headOf(12).toString("latin1").endsWith("\r\nx-envoy-attempt-count: 12\r\n\r\n")).toBe(true);
    expect(up.headText().endsWith("\r\nx-envoy-attempt-count: 1\r\n\r\n")).toBe(true);
  });

  test("a gRPC retry's head carries the grpc-timeout left since the request ended (Envoy's doRetry); the first try's is unchanged", async () => {
    const up = new UpstreamRequest();
    const ops = { set: [["grpc-timeout", "20000m"]], add: [], remove: [] } as unknown as typeof NONE;
    up.setHead(upstreamHeadBytes(parse("POST /s.S/M HTTP/1.1\r\nHost: a\r\nGrpc-Timeout: 20S\r\nContent-Type: application/grpc\r\n\r\n"), "/s.S/M", "a", "192.0.2.7", "", ops, { xff: "", requestId: "" }));
    up.routeMs = 20_000;
    up.grpcTimeout = true;
    up.endedAt = performance.now();
    await Bun.sleep(50); // the first try's time
    const first = up.headOf(1).toString("latin1");
    const second = up.headOf(2).toString("latin1");
    expect(first.match(/grpc-timeout: [^\r]*/gi)).toEqual(["grpc-timeout: 20000m"]);
    const left = second.match(/grpc-timeout: [^\r]*/gi)!;
    expect(left.length).toBe(1);
    expect(parseInt(left[0]!.slice("grpc-timeout: ".length), 10)).toBeLessThanOrEqual(19_960);
    expect(second.endsWith("\r\nx-envoy-attempt-count: 2\r\n\r\n")).toBe(true);
    expect(second.replace(/grpc-timeout: \d+m/i, "")).toBe(first.replace(/grpc-timeout: \d+m/i, "").replace("count: 1\r\n", "count: 2\r\n"));
  });
});

describe("x-envoy-expected-rq-timeout-ms", () => {
  const text = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nX-Y: y\r\n\r\n";
  test("right before the attempt count, the same bytes however the head is written", () => {
    const h = parse(text);
    const ids: ForwardIds = { xff: "", requestId: "" };
    const first = upstreamHeadBytes(h, "/p", "a", "192.0.2.7", "", NONE, ids, "", 3000).toString("latin1");
    expect(first).toEndWith("\r\ncontent-length: 2\r\nx-envoy-expected-rq-timeout-ms: 3000\r\n" + ATTEMPT_LINE + "\r\n");
    const scratch = Buffer.alloc(4096);
    const n = upstreamHeadInto(scratch, h, "/p", "a", "192.0.2.7", "", NONE, ids, "", 3000);
    expect(scratch.toString("latin1", intoFrom, intoFrom + n)).toBe(first);
    expect(upstreamHeadAgain(h, "/p", "a", "192.0.2.7", "", NONE, ids, "", 3000).toString("latin1")).toBe(first);
    // and without: no line
    expect(upstreamHeadBytes(h, "/p", "a", "192.0.2.7", "", NONE, ids).toString("latin1")).not.toContain("expected-rq-timeout");
  });

  test("configured text in the head (the slow path) puts it at the same place", () => {
    const ops = { set: [["x-café", "é"]], add: [], remove: [] } as unknown as typeof NONE;
    const out = upstreamHeadBytes(parse(text), "/p", "b", "192.0.2.7", "", ops, { xff: "", requestId: "" }, "", 1500).toString("latin1");
    expect(out).toEndWith("\r\nx-envoy-expected-rq-timeout-ms: 1500\r\n" + ATTEMPT_LINE + "\r\n");
  });

  test("a retry's head is told what is left since the request ended, once; the rest is the first try's", async () => {
    const up = new UpstreamRequest();
    up.setHead(upstreamHeadBytes(parse(text), "/p", "a", "192.0.2.7", "", NONE, { xff: "", requestId: "" }, "", 3000));
    up.routeMs = 3000;
    up.expectedMs = 3000;
    up.endedAt = performance.now();
    await Bun.sleep(50);
    const first = up.headOf(1).toString("latin1");
    const second = up.headOf(12).toString("latin1");
    const left = second.match(/x-envoy-expected-rq-timeout-ms: (\d+)/g)!;
    expect(left.length).toBe(1);
    expect(Number(left[0]!.split(": ")[1])).toBeLessThanOrEqual(2950);
    expect(second).toEndWith("\r\nx-envoy-attempt-count: 12\r\n\r\n");
    expect(second.replace(/expected-rq-timeout-ms: \d+\r\nx-envoy-attempt-count: 12/, "")).toBe(first.replace(/expected-rq-timeout-ms: \d+\r\nx-envoy-attempt-count: 1/, ""));
  });
});

describe("the head written into a scratch, and made again, is the same bytes", () => {
  for (const [hn, text] of HEADS) {
    for (const a of ACTIONS) {
      test(`${hn} × ${a.name}`, () => {
        const h = parse(text, a.scheme);
        const ids: ForwardIds = { xff: "", requestId: "" };
        const first = build(h, a, ids); // sets the ids (a generated x-request-id when the client sent none)
        const args = [h, a.target ?? h.path + (h.query === "" ? "" : "?" + h.query), a.authority ?? h.authority, "192.0.2.7", a.originalPath ?? "", a.ops ?? NONE, ids, a.xfcc ?? ""] as const;
        const scratch = Buffer.alloc(4096, 0x7e); // garbage around the head
        const n = upstreamHeadInto(scratch, ...args);
        expect(n).toBe(first.length);
        expect(scratch.subarray(intoFrom, intoFrom + n).toString("latin1")).toBe(first.toString("latin1"));
        expect(scratch[intoFrom + n]).toBe(0x7e);
        if (intoFrom > 0) expect(scratch[intoFrom - 1]).toBe(0x7e);
        const again = upstreamHeadAgain(...args);
        expect(again.toString("latin1")).toBe(first.toString("latin1"));
        expect(again.buffer).not.toBe(scratch.buffer);
        // the ids are not made again
        expect(ids.requestId).toBe(/\r\nx-request-id: ([^\r]*)\r\n/.exec(first.toString("latin1"))![1]!);
        // too small a scratch: not written, -1
        const small = Buffer.alloc(first.length - 1, 0x7e);
        expect(upstreamHeadInto(small, ...args)).toBe(-1);
        expect(small.every((c) => c === 0x7e)).toBe(true);
      });
    }
  }
});

/** A socket that takes `take` bytes of each write (-1: closed) and records them. */
function stubSocket(take: number) {
  const got: number[] = [];
  return {
    got,
    write(b: Uint8Array, off = 0, len = b.length - off) {
      const n = take < 0 ? -1 : Math.min(take, len);
      for (let i = 0; i < n; i++) got.push(b[off + i]!);
      return n;
    },
  };
}

function stubConn(take: number, tls = false) {
  const pool = { address: "127.0.0.1", port: 1, connectTimeoutMs: 1000 } as never;
  const user = {} as never;
  const c = new UpstreamConn(pool, user, tls ? ({ problem: "" } as never) : null);
  const s = stubSocket(take);
  c.socket = s as never;
  c.isOpen = true;
  return { c, s };
}

describe("UpstreamConn.writeCopy (a head written from a scratch)", () => {
  test("the kernel takes it all: nothing queued", () => {
    const { c, s } = stubConn(1 << 20);
    const b = Buffer.from("GET / HTTP/1.1\r\n\r\nscratch-tail", "latin1");
    expect(c.writeCopy(b, 0, 18)).toBe(true);
    expect(Buffer.from(s.got).toString("latin1")).toBe("GET / HTTP/1.1\r\n\r\n");
    expect(c.out.empty).toBe(true);
  });
  for (const take of [0, -1, 5]) {
    test(`a short write (took ${take}): the rest is a copy, not a view of the scratch`, () => {
      const { c, s } = stubConn(take);
      const b = Buffer.from("GET / HTTP/1.1\r\n\r\nscratch-tail", "latin1");
      expect(c.writeCopy(b, 0, 18)).toBe(false);
      b.fill(0x21); // the scratch is written over by the next head
      s.got.length = 0;
      const s2 = stubSocket(1 << 20);
      c.socket = s2 as never;
      expect(c.out.flush(s2 as never)).toBe(true);
      expect(Buffer.from(s2.got).toString("latin1")).toBe("GET / HTTP/1.1\r\n\r\n".slice(Math.max(take, 0)));
    });
  }
  test("bytes already queued: the head queues behind them, copied", () => {
    const { c } = stubConn(0);
    expect(c.write(Buffer.from("first", "latin1"))).toBe(false);
    const b = Buffer.from("second", "latin1");
    expect(c.writeCopy(b, 0, 6)).toBe(false);
    b.fill(0x21);
    const s2 = stubSocket(1 << 20);
    expect(c.out.flush(s2 as never)).toBe(true);
    expect(Buffer.from(s2.got).toString("latin1")).toBe("firstsecond");
  });
});

describe("UpstreamRequest with a HeadMaker", () => {
  const h = parse("GET /m?x=1 HTTP/1.1\r\nHost: a.example\r\nX-Y: y\r\n\r\n");
  const ids: ForwardIds = { xff: "", requestId: "" };
  const first = upstreamHeadBytes(h, "/m?x=1", "a.example", "192.0.2.7", "", NONE, ids);
  const made = { into: 0, own: 0 };
  const maker: HeadMaker = {
    upstreamHeadInto(into) {
      made.into++;
      return upstreamHeadInto(into, h, "/m?x=1", "a.example", "192.0.2.7", "", NONE, ids, "");
    },
    upstreamHead() {
      made.own++;
      return upstreamHeadAgain(h, "/m?x=1", "a.example", "192.0.2.7", "", NONE, ids, "");
    },
  };

  test("first try to a plaintext connection: written from the scratch, no head kept; a retry and the mirror text are made again, the same", () => {
    made.into = made.own = 0;
    const up = new UpstreamRequest();
    up.setMaker(maker);
    const { c, s } = stubConn(1 << 20);
    expect(up.sendTo(c, false, 1)).toBe(true);
    expect(Buffer.from(s.got).toString("latin1")).toBe(first.toString("latin1"));
    expect(made).toEqual({ into: 1, own: 0 });
    // a dead reused connection: the first try's head again, from the scratch
    const { c: c2, s: s2 } = stubConn(1 << 20);
    expect(up.sendTo(c2, true, 1)).toBe(true);
    expect(Buffer.from(s2.got).toString("latin1")).toBe(first.toString("latin1"));
    expect(made).toEqual({ into: 2, own: 0 });
    // the policy's retry: attempt 2, made as a Buffer once (kept from then on)
    const { c: c3, s: s3 } = stubConn(1 << 20);
    expect(up.sendTo(c3, true, 2)).toBe(true);
    expect(Buffer.from(s3.got).toString("latin1")).toBe(first.toString("latin1").replace("attempt-count: 1", "attempt-count: 2"));
    expect(up.headText()).toBe(first.toString("latin1"));
    expect(made).toEqual({ into: 2, own: 1 });
  });

  test("a TLS connection gets a Buffer of its own (its socket may keep what it is given)", () => {
    made.into = made.own = 0;
    const up = new UpstreamRequest();
    up.setMaker(maker);
    const { c, s } = stubConn(1 << 20, true);
    expect(up.sendTo(c, false, 1)).toBe(true);
    expect(Buffer.from(s.got).toString("latin1")).toBe(first.toString("latin1"));
    expect(made).toEqual({ into: 0, own: 1 });
  });
});

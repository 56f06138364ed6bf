// How an HTTP/2 stream's headers become the request the engine serves
// (workers/http/h2-request.ts): pseudo-headers, framing, connection-specific
// fields, what is refused; and, against the text head + parseRequestHead it
// replaced (h2-request-text.ts), the same request view, statuses and upstream
// head for a corpus of header sets; and streamRequestFields (the own codec's
// fields as decoded, no header object) against streamRequest of the object
// requestHeaders makes of them: the same for that corpus as field lists and for
// lists whose order an object changes (a name twice, apart; a name that is an
// array index).
import { describe, expect, test } from "bun:test";
import type * as http2 from "node:http2";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { fieldKindsScratch, fieldSpansScratch } from "../../workers/http/fields.ts";
import { LATE, STREAM_RESET, streamBody, streamRequest, streamRequestFields } from "../../workers/http/h2-request.ts";
import { requestHeaders } from "../../workers/http/h2/request-fields.ts";
import { startsWithPreface } from "../../workers/http/h2.ts";
import type { ForwardIds } from "../../workers/http/heads-out.ts";
import { parseRequestHead, RequestHead } from "../../workers/http/parse-request.ts";
import { upstreamHeadBytes } from "../../workers/http/request-head-bytes.ts";
import { requestHeadText } from "./h2-request-text.ts";

const base = { ":method": "GET", ":path": "/a?b=1", ":scheme": "https", ":authority": "httpbin.example.com" };

/** What the stream's headers give, in the old text function's terms: {head, length} or the status answered at once (0: reset). */
function built(headers: http2.IncomingHttpHeaders, end: boolean): { head: string; length: number } | number {
  const h = new RequestHead();
  const r = streamRequest(headers, end, h);
  if (r === STREAM_RESET) return 0;
  if (r !== 0 && r < LATE) return r;
  return { head: h.text(), length: streamBody.length };
}

describe("streamRequest", () => {
  test("a GET that ends with its headers: request line, host from :authority, no body framing", () => {
    expect(built({ ...base, accept: "*/*" }, true)).toEqual({
      head: "GET /a?b=1 HTTP/1.1\r\nhost: httpbin.example.com\r\naccept: */*\r\nconnection: close\r\n\r\n",
      length: 0,
    });
  });

  test("a body of announced length keeps its content-length; one of unknown length is sent on chunked", () => {
    expect(built({ ...base, ":method": "POST", "content-length": "5" }, false)).toEqual({
      head: "POST /a?b=1 HTTP/1.1\r\nhost: httpbin.example.com\r\ncontent-length: 5\r\nconnection: close\r\n\r\n",
      length: 5,
    });
    expect(built({ ...base, ":method": "POST" }, false)).toEqual({
      head: "POST /a?b=1 HTTP/1.1\r\nhost: httpbin.example.com\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
      length: -1,
    });
  });

  test("host is the Host header when :authority is absent", () => {
    const { ":authority": _, ...noAuthority } = base;
    const r = built({ ...noAuthority, host: "h.example.com" }, true);
    expect(typeof r === "object" && r.head.startsWith("GET /a?b=1 HTTP/1.1\r\nhost: h.example.com\r\n")).toBe(true);
  });

  test("te: trailers is not a line of the head but is forwarded (Envoy keeps te: trailers); other te values are not", () => {
    for (const [te, want] of [["trailers", true], ["gzip", false], [undefined, false]] as const) {
      const h = new RequestHead();
      expect(streamRequest(te === undefined ? base : { ...base, te }, true, h)).toBe(0);
      expect([h.teTrailers, h.header("te")]).toEqual([want, undefined]);
      const up = upstream(h, NONE, h.hostHeader);
      expect(up.includes("\r\nte: trailers\r\n")).toBe(want);
    }
  });

  test("connection-specific fields are dropped, cookies are joined, repeated fields kept", () => {
    const r = built({ ...base, connection: "keep-alive", te: "trailers", upgrade: "h2c", cookie: ["a=1", "b=2"], "x-v": ["1", "2"] } as never, true);
    expect(r).toEqual({
      head: "GET /a?b=1 HTTP/1.1\r\nhost: httpbin.example.com\r\ncookie: a=1; b=2\r\nx-v: 1\r\nx-v: 2\r\nconnection: close\r\n\r\n",
      length: 0,
    });
  });

  test.each([
    ["no :method", { ...base, ":method": "" }, true, 0],
    ["no :path", { ...base, ":path": undefined }, true, 0],
    ["a path not starting with /", { ...base, ":path": "a" }, true, 0],
    ["* for a GET", { ...base, ":path": "*" }, true, 0],
    ["CONNECT with a :path (extended CONNECT, not enabled)", { ...base, ":method": "CONNECT" }, true, 0],
    ["CONNECT without :authority", { ":method": "CONNECT" }, true, 0],
    ["no authority", { ":method": "GET", ":path": "/" }, true, 400],
    ["CR LF in a value", { ...base, "x-a": "1\r\nx-b: 2" }, true, 400],
    ["NUL in the authority", { ...base, ":authority": "a\0b" }, true, 400],
    ["a space in the path", { ...base, ":path": "/a b" }, true, 400],
    ["an upper-case name", { ...base, "X-A": "1" }, true, 400],
    ["a bad content-length", { ...base, ":method": "POST", "content-length": "1x" }, false, 400],
    ["two different content-lengths", { ...base, ":method": "POST", "content-length": ["1", "2"] }, false, 400],
    ["a content-length on a stream that already ended", { ...base, "content-length": "3" }, true, 400],
  ] as const)("%s is refused", (_name, headers, end, want) => {
    expect(built(headers as never, end)).toBe(want);
  });

  test("CONNECT (no :path) becomes an HTTP/1.1 CONNECT to its authority, decided like one (Envoy: 404 on both)", () => {
    expect(built({ ":method": "CONNECT", ":authority": "example.com:443" }, false)).toEqual({
      head: "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
      length: -1,
    });
  });

  test("OPTIONS * is a request", () => {
    const r = built({ ...base, ":method": "OPTIONS", ":path": "*" }, true);
    expect(typeof r === "object" && r.head.startsWith("OPTIONS * HTTP/1.1\r\n")).toBe(true);
  });

  test("more than 100 fields is 431", () => {
    const many: Record<string, string> = { ...base };
    for (let i = 0; i < 101; i++) many[`x-f${i}`] = "1";
    expect(built(many, true)).toBe(431);
  });
});


type Outcome = { kind: "reset" | "early" | "late" | "ok"; status: number; length?: number; h?: RequestHead };

function viaText(headers: http2.IncomingHttpHeaders, end: boolean): Outcome {
  const r = requestHeadText(headers, end);
  if (r === 0) return { kind: "reset", status: 0 };
  if (typeof r === "number") return { kind: "early", status: r };
  const h = new RequestHead();
  const status = parseRequestHead(Buffer.from(r.head, "latin1"), 0, r.head.length, h, fieldSpansScratch(), fieldKindsScratch());
  // the text head drops te as connection-specific; a te of trailers (the only one HTTP/2 allows) is still forwarded
  h.teTrailers = headers.te === "trailers";
  return { kind: status === 0 ? "ok" : "late", status, length: r.length, h };
}

function direct(headers: http2.IncomingHttpHeaders, end: boolean): Outcome {
  const h = new RequestHead();
  const r = streamRequest(headers, end, h);
  if (r === STREAM_RESET) return { kind: "reset", status: 0 };
  if (r !== 0 && r < LATE) return { kind: "early", status: r };
  return { kind: r === 0 ? "ok" : "late", status: r === 0 ? 0 : r - LATE, length: streamBody.length, h };
}

/** Everything the engine reads of a request view. */
function view(h: RequestHead, ok: boolean): object {
  const fields = [];
  for (let k = 0; k < h.count; k++) fields.push([h.kinds[k], h.name(k), h.value(k), ...h.spans.subarray(4 * k, 4 * k + 4)]);
  return {
    method: h.method, target: h.target, path: h.path, query: h.query, minor: h.minor, count: h.count,
    authority: h.authority, hostHeader: h.hostHeader, host: h.host, contentLength: h.contentLength,
    chunked: h.chunked, close: h.close, keepAlive: h.keepAlive, upgrade: h.upgrade, expect: h.expectContinue,
    nominated: h.nominated, high: h.highBytes, te: h.teTrailers, text: h.text(), fields, end: ok ? h.spans[4 * h.count] : -1, // (a head refused before its fields were scanned leaves the scratch as it was)
    cookie: h.header("cookie"), xff: h.header("x-forwarded-for"),
  };
}

const NONE: HeaderOperations = { set: [], add: [], remove: [] };
const OPS: HeaderOperations = { set: [["x-set", "1"]], add: [["x-add", "2"]], remove: ["x-drop", "cookie"] };

function upstream(h: RequestHead, ops: HeaderOperations, authority: string): string {
  const ids: ForwardIds = { xff: "", requestId: "" };
  h.scheme = "https";
  const out = upstreamHeadBytes(h, h.target, authority, "10.0.0.1", "", ops, ids).toString("latin1");
  return out.replace(ids.requestId, "<id>");
}

const many = (n: number, extra: Record<string, string> = {}): http2.IncomingHttpHeaders => {
  const o: Record<string, string> = { ...base, ...extra };
  for (let i = 0; i < n; i++) o[`x-f${i}`] = "v";
  return o;
};

const CORPUS: [string, http2.IncomingHttpHeaders, boolean][] = [
  ["plain GET", { ...base, "user-agent": "h2load nghttp2/1.59", accept: "*/*", "accept-encoding": "gzip, deflate" }, true],
  ["POST with a length", { ...base, ":method": "POST", "content-length": "5", "content-type": "text/plain" }, false],
  ["POST chunked", { ...base, ":method": "POST" }, false],
  ["content-length 0 on an ended stream", { ...base, "content-length": "0" }, true],
  ["repeated equal content-lengths", { ...base, ":method": "PUT", "content-length": ["3", "3"] } as never, false],
  ["different content-lengths", { ...base, ":method": "PUT", "content-length": ["3", "4"] } as never, false],
  ["content-length on an ended stream", { ...base, "content-length": "2" }, true],
  ["a 16-digit content-length", { ...base, ":method": "POST", "content-length": "1234567890123456" }, false],
  ["a content-length of 2^53 (refused: would round)", { ...base, ":method": "POST", "content-length": "9007199254740992" }, false],
  ["a content-length with leading zeros past 15 digits", { ...base, ":method": "POST", "content-length": "0000000000000000005" }, false],
  ["cookies joined", { ...base, cookie: ["a=1", "b=2", "c=3"] } as never, true],
  ["one cookie in an array", { ...base, cookie: ["a=1"] } as never, true],
  ["empty array", { ...base, "x-e": [] } as never, true],
  ["repeated fields", { ...base, "x-v": ["1", "2"], "x-forwarded-for": ["1.1.1.1", "2.2.2.2"] } as never, true],
  ["client ids", { ...base, "x-request-id": "rid-1", "x-forwarded-for": "9.9.9.9" }, true],
  ["hop-by-hop dropped", { ...base, connection: "keep-alive", te: "trailers", upgrade: "h2c", "keep-alive": "1", "proxy-connection": "x", "transfer-encoding": "chunked", "http2-settings": "x" }, true],
  ["gateway's own fields", { ...base, "x-forwarded-proto": "http", "x-envoy-attempt-count": "3", "x-envoy-original-path": "/x", "x-forwarded-client-cert": "c", trailer: "x" }, true],
  ["host header beside :authority", { ...base, host: "other.example.com" }, true],
  ["host header alone", { ":method": "GET", ":path": "/", host: "h.example.com" }, true],
  ["authority with port, upper case", { ...base, ":authority": "HttpBin.Example.com:8443" }, true],
  ["IPv6 authority", { ...base, ":authority": "[::1]:80" }, true],
  ["bad authority h:80:90", { ...base, ":authority": "h:80:90" }, true],
  ["authority with @", { ...base, ":authority": "u@h" }, true],
  ["authority with a tab inside", { ...base, ":authority": "a\tb" }, true],
  ["authority with leading space", { ...base, ":authority": " a.example.com" }, true],
  ["authority with a control byte", { ...base, ":authority": "a\x01b" }, true],
  ["authority above 0xFF", { ...base, ":authority": "a\u0141b" }, true],
  ["expect 100-continue", { ...base, ":method": "POST", "content-length": "1", expect: "100-Continue" }, false],
  ["expect other", { ...base, ":method": "POST", "content-length": "1", expect: "nothing" }, false],
  ["OWS in values", { ...base, "x-a": "  a b  ", "x-b": "\t", "x-c": "", "x-d": " " }, true],
  ["obs-text value", { ...base, "x-a": "caf\u00e9" }, true],
  ["value above 0xFF", { ...base, "x-a": "\u0141" }, true],
  ["value above 0xFF that truncates to CR", { ...base, "x-a": "a\u010db" }, true],
  ["control byte in a value", { ...base, "x-a": "a\x01b" }, true],
  ["DEL in a value", { ...base, "x-a": "a\x7fb" }, true],
  ["CR LF in a value", { ...base, "x-a": "1\r\nx-b: 2" }, true],
  ["NUL in a value", { ...base, "x-a": "1\0" }, true],
  ["upper-case name", { ...base, "X-A": "1" }, true],
  ["name with a space", { ...base, "x a": "1" }, true],
  ["method not a token", { ...base, ":method": "G(T" }, true],
  ["method above 0xFF", { ...base, ":method": "G\u0145T" }, true],
  ["lower-case method", { ...base, ":method": "get" }, true],
  ["target with DEL", { ...base, ":path": "/a\x7f" }, true],
  ["target with obs-text", { ...base, ":path": "/caf\u00e9" }, true],
  ["target above 0xFF", { ...base, ":path": "/a\u0141" }, true],
  ["target with a fragment", { ...base, ":path": "/a#b" }, true],
  ["target needing normalization", { ...base, ":path": "/a/../b/./c?x=1&y" }, true],
  ["target with %00", { ...base, ":path": "/a%00" }, true],
  ["target with a broken escape", { ...base, ":path": "/a%zz" }, true],
  ["a space in the path", { ...base, ":path": "/a b" }, true],
  ["absolute-form path", { ...base, ":path": "http://x/y" }, true],
  ["OPTIONS *", { ...base, ":method": "OPTIONS", ":path": "*" }, true],
  ["* for a GET", { ...base, ":path": "*" }, true],
  ["CONNECT", { ":method": "CONNECT", ":authority": "example.com:443" }, false],
  ["CONNECT with a path", { ...base, ":method": "CONNECT" }, true],
  ["no method", { ...base, ":method": "" }, true],
  ["no path", { ...base, ":path": undefined }, true],
  ["no authority", { ":method": "GET", ":path": "/" }, true],
  ["97 fields chunked", { ...many(97), ":method": "POST" }, false],
  ["98 fields chunked", { ...many(98), ":method": "POST" }, false],
  ["98 fields", many(98), true],
  ["99 fields", many(99), true],
  ["100 fields", many(100), true],
  ["101 fields", many(101), true],
  ["99 fields, a bad byte in the 99th", many(98, { "x-z": "a\x01" }), true],
  ["99 fields, a bad byte in the first", { ...many(98), "x-a": "\x01" }, true],
];

describe("streamRequest against the text head and parseRequestHead", () => {
  test.each(CORPUS)("%s", (_name, headers, end) => {
    const a = viaText(headers, end);
    const b = direct(headers, end);
    expect(b.kind).toBe(a.kind);
    expect(b.status).toBe(a.status);
    expect(b.length).toBe(a.length);
    if (a.h === undefined) return;
    expect(view(b.h!, a.kind === "ok")).toEqual(view(a.h, a.kind === "ok"));
    if (a.kind !== "ok") return;
    for (const [ops, auth] of [[NONE, a.h.hostHeader], [OPS, "rewritten.example.com"]] as const) {
      expect(upstream(b.h!, ops, auth)).toBe(upstream(a.h, ops, auth));
    }
  });
});

describe("startsWithPreface", () => {
  const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
  test("the preface, at an offset too", () => {
    expect(startsWithPreface(preface, 0)).toBe(true);
    expect(startsWithPreface(Buffer.concat([Buffer.from("xx"), preface]), 2)).toBe(true);
  });
  test("not an HTTP/1.1 request, nor a preface cut short", () => {
    expect(startsWithPreface(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0)).toBe(false);
    expect(startsWithPreface(preface.subarray(0, 10), 0)).toBe(false);
    expect(startsWithPreface(Buffer.from("PRI * HTTP/1.1\r\n\r\n"), 0)).toBe(false);
  });
});

/** The field list a header object stands for, in its order (a repeated field's values in a row). */
function list(headers: http2.IncomingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v]);
  }
  return out;
}

const head = (f: [string, string][]): [string, string][] => [[":method", "GET"], [":scheme", "https"], [":path", "/a?b=1"], [":authority", "h.example.com"], ...f];
const LISTS: [string, [string, string][], boolean][] = [
  ...CORPUS.map(([name, h, end]) => [name, list(h), end] as [string, [string, string][], boolean]),
  ["a name twice, apart", head([["x-a", "1"], ["x-b", "2"], ["x-a", "3"]]), true],
  ["cookies apart", head([["cookie", "a=1"], ["x-b", "2"], ["cookie", "b=2"]]), true],
  ["content-length twice, apart", [[":method", "PUT"], [":scheme", "https"], [":path", "/"], [":authority", "h"], ["content-length", "3"], ["x-b", "2"], ["content-length", "3"]], false],
  ["host twice, no :authority", [[":method", "GET"], [":scheme", "https"], [":path", "/"], ["host", "a"], ["host", "b"]], true],
  ["te twice", head([["te", "trailers"], ["te", "trailers"]]), true],
  ["an index name", head([["x-a", "1"], ["1", "one"], ["0", "zero"]]), true],
  ["an index-like name that is not an index", head([["x-a", "1"], ["01", "x"], ["1a", "y"]]), true],
  ["the same names again (cached: unique)", head([["x-a", "1"], ["x-b", "2"]]), true],
  ["the same names, now one twice", head([["x-a", "1"], ["x-a", "2"]]), true],
  ["te trailers with host after :authority", head([["host", "other"], ["te", "trailers"]]), true],
];

const reused = new RequestHead();
const LONG = head(Array.from({ length: 30 }, (_, i): [string, string] => [`x-long-${i}`, `v${i}`]));

describe("streamRequestFields against streamRequest of the header object", () => {
  test.each(LISTS)("%s", (_name, fields, end) => {
    const names = fields.map((f) => f[0]);
    const values = fields.map((f) => f[1]);
    const obj = requestHeaders(names, values, fields.length, false);
    if (obj === null) return; // malformed: the session resets the stream before either
    const ha = new RequestHead();
    const ra = streamRequest(obj, end, ha);
    const la = streamBody.length;
    // into a made-again head (Exchange.head: reset, its arrays kept as room) that held a longer request
    const hb = reused;
    streamRequestFields(LONG.map((f) => f[0]), LONG.map((f) => f[1]), LONG.length, true, hb);
    hb.reset();
    const rb = streamRequestFields(names, values, fields.length, end, hb);
    expect(rb).toBe(ra);
    if (ra !== 0 && ra < LATE) return;
    expect(streamBody.length).toBe(la);
    const ok = ra === 0;
    expect(view(hb, ok)).toEqual(view(ha, ok));
    if (!ok) return;
    for (const [ops, auth] of [[NONE, ha.hostHeader], [OPS, "rewritten.example.com"]] as const) {
      expect(upstream(hb, ops, auth)).toBe(upstream(ha, ops, auth));
    }
  });

  test("the corpus lists that are well formed reach streamRequestFields (most of them)", () => {
    const ok = LISTS.filter(([, f]) => requestHeaders(f.map((x) => x[0]), f.map((x) => x[1]), f.length, false) !== null);
    expect(ok.length).toBeGreaterThan(LISTS.length / 2);
  });
});

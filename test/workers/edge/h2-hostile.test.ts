// Hostile HTTP/2 (h2c with prior knowledge) sent as raw frames, beside what
// Envoy's codec does: a malformed request (bad or misplaced pseudo-headers,
// upper-case names, NUL/CR/LF in a name or value, connection-specific fields, TE
// other than trailers, a content-length the DATA contradicts) resets only its stream with
// PROTOCOL_ERROR and the connection keeps serving; streams past
// SETTINGS_MAX_CONCURRENT_STREAMS are refused; a client's RST_STREAM or GOAWAY
// leaves nothing hanging; and an answer given before the request body ended
// (a 404, an upstream's early response) ends the stream at once, with
// RST_STREAM(NO_ERROR) for the rest of the request, instead of waiting for a
// body the client may never finish (it used to hold the response open until
// the stream idle timeout, 5 minutes by default).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, block, converse, frame, headers, request, rst, streamsOver } from "./h2-raw.ts";
import { rawUpstream } from "./helpers.ts";
import { RawH2 } from "../h2/raw-client.ts";

const PROTOCOL_ERROR = 1, NO_ERROR = 0, REFUSED_STREAM = 7;

const up = rawUpstream((s, req) => {
  if (req.startsWith("GET /echo")) {
    const head = req.slice(0, req.indexOf("\r\n\r\n"));
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${head.length}\r\n\r\n${head}`);
  } else if (req.startsWith("POST /early")) s.write("HTTP/1.1 401 Unauthorized\r\ncontent-length: 4\r\n\r\nnope");
  else if (!req.startsWith("POST /silent")) s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
});
let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  // a long stream idle timeout: an answer that waited for it would fail the bound below
  w = new WorkerHarness({ streamIdleTimeoutMs: 60_000 });
  port = freePort();
  const r = (p: string) => ({ name: p, match: [uriMatch(prefix(p))], action: forward([dest("up")]) });
  const any = { name: "any", match: [uriMatch(null)], action: forward([dest("up")]) }; // any path, as an http route without match
  await w.apply(snapshot([listener(port, [virtualHost(["x"], [r("/")]), virtualHost(["any"], [any])])], [cluster("up", [["127.0.0.1", up.port]])]));
});
afterAll(() => {
  w.stop();
  up.stop(true);
});

const post = (stream: number, path: string, authority = "x") =>
  headers(stream, [[":method", "POST"], [":scheme", "http"], [":path", path], [":authority", authority]], false);

describe("a malformed HTTP/2 request resets its stream only", () => {
  const base: [string, string][] = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "x"]];
  test.each([
    ["an unknown pseudo-header", [...base, [":foo", "1"]]],
    ["a pseudo-header after a regular field", [base[0]!, base[1]!, ["x-a", "1"], base[2]!, base[3]!]],
    ["a repeated :path", [...base, [":path", "/b"]]],
    ["no :scheme", [base[0]!, base[2]!, base[3]!]],
    ["no :method", base.slice(1)],
    ["a response pseudo-header (:status)", [...base, [":status", "200"]]],
    ["an upper-case field name", [...base, ["X-Up", "1"]]],
    ["connection", [...base, ["connection", "keep-alive"]]],
    ["keep-alive", [...base, ["keep-alive", "timeout=5"]]],
    ["proxy-connection", [...base, ["proxy-connection", "keep-alive"]]],
    ["transfer-encoding", [...base, ["transfer-encoding", "chunked"]]],
    ["upgrade", [...base, ["upgrade", "websocket"]]],
    ["te other than trailers", [...base, ["te", "gzip"]]],
    ["a space in a name", [...base, ["x a", "1"]]],
    ["NUL in a value", [...base, ["x-a", "a\0b"]]],
    ["CR in a value", [...base, ["x-a", "a\rb"]]],
    ["LF in a value", [...base, ["x-a", "a\nb"]]],
    ["NUL in a name", [...base, ["x-\0a", "1"]]],
    ["CR in a name", [...base, ["x-\ra", "1"]]],
    ["LF in a name", [...base, ["x-\na", "1"]]],
    ["an empty name", [...base, ["", "1"]]],
    ["a colon inside a name", [...base, ["x:a", "1"]]],
    ["te: trailers, gzip", [...base, ["te", "trailers, gzip"]]],
    ["a :path not starting with /", [base[0]!, base[1]!, [":path", "abc"], base[3]!]],
  ] as [string, [string, string][]][])("%s", async (_name, fields) => {
    const c = await converse(port, [headers(1, fields), request(3)], streamsOver(1, 3));
    expect(c.streams.get(1)).toMatchObject({ status: 0, rst: PROTOCOL_ERROR });
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true }); // the connection goes on
    expect(c.closed).toBe(false);
  });

  test("a lower-case :method → 400 on its stream, as HTTP/1.1 refuses it (an upstream that upper-cases methods would take `delete` for DELETE)", async () => {
    const c = await converse(port, [request(1, "/", [], "delete"), request(3)], streamsOver(1, 3));
    expect(c.streams.get(1)).toMatchObject({ status: 400, ended: true });
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
  });

  test("OPTIONS * → 404 as Envoy (absolute_path_rejected), not forwarded by a route that takes any path", async () => {
    const fields: [string, string][] = [[":method", "OPTIONS"], [":scheme", "http"], [":path", "*"], [":authority", "any"]];
    const c = await converse(port, [headers(1, fields)], streamsOver(1));
    expect(c.streams.get(1)).toMatchObject({ status: 404, ended: true, data: 0 });
  });

  test("te: trailers is allowed", async () => {
    const c = await converse(port, [request(1, "/", [["te", "trailers"]])], streamsOver(1));
    expect(c.streams.get(1)).toMatchObject({ status: 200, ended: true });
  });

  test("a content-length the DATA frames exceed", async () => {
    const c = await converse(port, [request(1, "/silent", [["content-length", "2"]], "POST", false), frame(DATA, 0, 1, Buffer.from("ab")), frame(DATA, END_STREAM, 1, Buffer.from("cd")), request(3)], streamsOver(1, 3));
    expect(c.streams.get(1)).toMatchObject({ status: 0, rst: PROTOCOL_ERROR });
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
  });

  test("content-length 0 and then DATA: reset PROTOCOL_ERROR, as nghttp2 does (the DATA used to be dropped and the stream answered 200)", async () => {
    const c = await converse(port, [request(1, "/silent", [["content-length", "0"]], "POST", false), frame(DATA, END_STREAM, 1, Buffer.from("abc")), request(3)], streamsOver(1, 3));
    expect(c.streams.get(1)!.rst).toBe(PROTOCOL_ERROR);
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
  });

  test("content-length 0 and an empty DATA with END_STREAM: served", async () => {
    const c = await converse(port, [request(1, "/", [["content-length", "0"]], "POST", false), frame(DATA, END_STREAM, 1), request(3)], streamsOver(1, 3));
    expect(c.streams.get(1)).toMatchObject({ status: 200, ended: true, rst: -1 });
  });

  test("a content-length the stream ends short of", async () => {
    const c = await converse(port, [request(1, "/silent", [["content-length", "10"]], "POST", false), frame(DATA, END_STREAM, 1, Buffer.from("abc")), request(3)], streamsOver(1, 3));
    expect(c.streams.get(1)!.rst).toBe(PROTOCOL_ERROR);
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
  });
});

describe("request trailers count as Envoy's max_headers_count (100) counts them", () => {
  const INTERNAL_ERROR = 2;
  const trailers = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [`x-t${i}`, "v"] as [string, string]);

  test("101 trailer fields reset the stream with INTERNAL_ERROR, as Envoy's codec (nghttp2 resets a stream whose header callback fails); the connection goes on (were passed on)", async () => {
    const c = await converse(port, [request(1, "/silent", [], "POST", false), frame(DATA, 0, 1, Buffer.from("abc")), headers(1, trailers(101)), request(3)], streamsOver(1, 3));
    expect(c.streams.get(1)).toMatchObject({ status: 0, rst: INTERNAL_ERROR });
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
    expect(c.closed).toBe(false);
  });

  test("100 trailer fields end the request as usual", async () => {
    const c = await converse(port, [request(1, "/silent", [], "POST", false), frame(DATA, 0, 1, Buffer.from("abc")), headers(1, trailers(100)), request(3)], streamsOver(3), 1500);
    expect(c.streams.get(1)?.rst ?? -1).toBe(-1);
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
  });
});

describe("request trailers count against Envoy's max_request_headers_kb (60 KiB of names and values)", () => {
  const INTERNAL_ERROR = 2;
  const node = process.env.GANGWAY_H2 === "node";
  /** Trailers of two fields whose names and values make `bytes` bytes, as HEADERS + CONTINUATION frames of at most 16 KiB. */
  const bigTrailers = (stream: number, bytes: number): Buffer => {
    const half = Math.floor(bytes / 2) - 4;
    const b = block([["x-a1", "a".repeat(half)], ["x-a2", "a".repeat(bytes - 8 - half)]]);
    const out: Buffer[] = [];
    for (let at = 0; at < b.length; at += 16384) {
      const last = at + 16384 >= b.length;
      out.push(frame(at === 0 ? HEADERS : CONTINUATION, (last ? END_HEADERS : 0) | (at === 0 ? END_STREAM : 0), stream, b.subarray(at, at + 16384)));
    }
    return Buffer.concat(out);
  };
  const sendWith = (trailerBytes: number, waitFor: number[]) =>
    converse(port, [request(1, "/silent", [], "POST", false), frame(DATA, 0, 1, Buffer.from("abc")), bigTrailers(1, trailerBytes), request(3)], streamsOver(...waitFor), 3000);

  test("61 KiB of trailers reset the stream with INTERNAL_ERROR, as Envoy's codec; the connection goes on (were passed on)", async () => {
    const c = await sendWith(61 * 1024, [1, 3]);
    expect(c.streams.get(1)).toMatchObject({ status: 0, rst: INTERNAL_ERROR });
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
    expect(c.closed).toBe(false);
  });

  test("60 KiB of trailers end the request as usual", async () => {
    const c = await sendWith(60 * 1024, [3]);
    expect(c.streams.get(1)?.rst ?? -1).toBe(-1);
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
  });

  test(`70 KiB of trailers, past the 64 KiB header list we announce: ${node ? "node:http2 (Bun) ends the whole connection, no hang" : "the stream is reset with INTERNAL_ERROR (was: the fields before the cut passed on)"}`, async () => {
    const c = await sendWith(70 * 1024, [1, 3]);
    if (node) {
      expect(c.closed).toBe(true); // Bun's node:http2 past its maxHeaderListSize (README: GANGWAY_H2=node)
      return;
    }
    expect(c.streams.get(1)).toMatchObject({ status: 0, rst: INTERNAL_ERROR });
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
    expect(c.closed).toBe(false);
  });
});

describe("an answer before the request body ended", () => {
  test("no route (404) while the body is still coming: the response ends, the rest is reset with NO_ERROR", async () => {
    const c = await converse(port, [post(1, "/", "nohost"), frame(DATA, 0, 1, Buffer.from("abc"))], streamsOver(1), 4000);
    expect(c.streams.get(1)).toMatchObject({ status: 404, ended: true, rst: NO_ERROR });
    expect(c.closed).toBe(false);
  });

  test("CONNECT (404, Envoy's answer without connect_matcher routes) whose stream stays open", async () => {
    const c = await converse(port, [headers(1, [[":method", "CONNECT"], [":authority", "x:443"]], false)], streamsOver(1), 4000);
    expect(c.streams.get(1)).toMatchObject({ status: 404, ended: true });
  });

  test("the upstream answers early (401) while the upload goes on: the client gets the whole answer", async () => {
    const c = await converse(port, [post(1, "/early"), frame(DATA, 0, 1, Buffer.from("abc"))], streamsOver(1), 4000);
    expect(c.streams.get(1)).toMatchObject({ status: 401, ended: true, data: 4, rst: NO_ERROR });
  });
});

describe("streams and the connection", () => {
  test("a client's RST_STREAM mid-body leaves the connection serving", async () => {
    const c = await converse(port, [request(1, "/silent", [], "POST", false), frame(DATA, 0, 1, Buffer.from("abc")), rst(1), request(3)], streamsOver(3));
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
  });

  test("streams past SETTINGS_MAX_CONCURRENT_STREAMS (128) are refused; the others are served", async () => {
    const ids = Array.from({ length: 160 }, (_, i) => 1 + 2 * i);
    const c = await converse(port, [Buffer.concat(ids.map((id) => request(id)))], streamsOver(...ids), 4000);
    let served = 0, refused = 0;
    for (const id of ids) {
      const s = c.streams.get(id)!;
      if (s.status === 200 && s.ended) served++;
      else if (s.rst === REFUSED_STREAM) refused++;
    }
    expect(served + refused).toBe(ids.length);
    expect(served).toBeGreaterThanOrEqual(128);
  });

  test("a client's GOAWAY after a request: the request is answered and the connection closes", async () => {
    const c = await converse(port, [request(1), frame(GOAWAY, 0, 0, Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]))], (x) => x.closed, 4000);
    expect(c.streams.get(1)).toMatchObject({ status: 200, ended: true });
    expect(c.closed).toBe(true);
  });
});

describe("expect: 100-continue", () => {
  test("a 100 HEADERS comes before the body is sent, as Envoy's connection manager answers it on HTTP/2 too (none came: a client waiting for it waited its own timeout)", async () => {
    const c = await RawH2.open(port);
    c.send(headers(1, [[":method", "POST"], [":scheme", "http"], [":path", "/"], [":authority", "x"], ["expect", "100-continue"], ["content-length", "5"]], false));
    expect(await c.until(() => c.stream(1).fields.length > 0, 2000)).toBe(true);
    // the first head is the 100, sent before any DATA; the upstream here answers 200 at the request's
    // head, so the 200 may come in the same read (the stream's end is not checked here)
    expect(c.status(1)).toBe(100);
    c.send(frame(DATA, END_STREAM, 1, Buffer.from("hello")));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.stream(1).fields.map((f) => f.find(([n]) => n === ":status")?.[1])).toEqual(["100", "200"]);
    c.close();
  });

  test("no 100 when the answer is local (no route: 404), as over HTTP/1.1", async () => {
    const c = await RawH2.open(port);
    c.send(headers(1, [[":method", "POST"], [":scheme", "http"], [":path", "/"], [":authority", "nowhere"], ["expect", "100-continue"], ["content-length", "5"]], false));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.stream(1).fields.map((f) => f.find(([n]) => n === ":status")?.[1])).toEqual(["404"]);
    c.close();
  });
});

describe("field values with leading or trailing whitespace (RFC 9113 §8.2.1)", () => {
  // nghttp2 1.49 began refusing these; Envoy turned that check off (envoyproxy/envoy#23266, #23267:
  // nghttp2_option_set_no_rfc9113_leading_and_trailing_ws_validation) and serves them, so does gangway.
  // To an HTTP/1.1 upstream the value goes as it came, as Envoy's HTTP/1 encoder writes it (the
  // whitespace is OWS there); to an HTTP/2 upstream it is trimmed (workers/http/h2-request-fields.ts)
  test("served, the value forwarded as it came to an HTTP/1.1 upstream", async () => {
    const c = await RawH2.open(port);
    c.send(headers(1, [[":method", "GET"], [":scheme", "http"], [":path", "/echo"], [":authority", "x"], ["x-pad", " \tpadded\t "], ["x-lead", " lead"]]));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.status(1)).toBe(200);
    const text = Buffer.concat(c.stream(1).data).toString("latin1");
    expect(text).toContain("\r\nx-pad:  \tpadded\t \r\n");
    expect(text).toContain("\r\nx-lead:  lead\r\n");
    c.close();
  });
});

describe("fields forwarded", () => {
  test("Envoy's internal request headers (x-envoy-internal, retry controls) are not forwarded from an HTTP/2 client either", async () => {
    const fields: [string, string][] = [["x-envoy-internal", "true"], ["x-envoy-retry-on", "5xx"], ["x-envoy-max-retries", "50"], ["x-envoy-upstream-rq-timeout-ms", "1"], ["x-envoy-custom", "kept"]];
    let text = "";
    await new Promise<void>((resolve) => {
      const s = http2.connect(`http://127.0.0.1:${port}`);
      s.on("error", () => resolve());
      const req = s.request({ ":method": "GET", ":path": "/echo", ":authority": "x", ...Object.fromEntries(fields) });
      req.on("data", (d: Buffer) => (text += d.toString("latin1")));
      req.on("close", () => (s.close(), resolve()));
      req.end();
    });
    expect(text).toContain("GET /echo HTTP/1.1");
    expect(text).toContain("x-envoy-custom: kept");
    for (const [n] of fields.slice(0, 4)) expect([n, text.includes(n)]).toEqual([n, false]);
  });
});

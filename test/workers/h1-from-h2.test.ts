// An HTTP/2 upstream's response head for an HTTP/1.1 client, straight from its
// fields (h1-from-h2.ts h1FieldLines + h1Suffix, framed by h2ResponseFraming as
// response.ts onResponseFields frames it) against the way it was made before:
// h1ResponseHead's HTTP/1.1 text, parsed by parseResponseHead, rewritten by
// buildResponseHead with onHeadBytes' framing. Byte-identical heads for every
// response × end × method × route action × server × connection; where the
// new path declines (null), the text path is taken, so only the cases it
// declines are listed, and every plain case must be taken.
import { describe, expect, test } from "bun:test";
import type { IncomingHttpHeaders } from "node:http2";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { chunkFrame, h1FieldLines, h1Head, h1Suffix, writeH1Head } from "../../workers/http/h1-from-h2.ts";
import { h2ResponseFraming } from "../../workers/http/h2-response.ts";
import { h1ResponseHead } from "../../workers/http/h2-upstream-heads.ts";
import { findHeadBytes } from "../../workers/http/fields.ts";
import { FRAME_CHUNKED, FRAME_CLOSE, FRAME_LENGTH } from "../../workers/http/heads-out.ts";
import { bodiless, MAX_RESPONSE_HEAD, parseResponseHead, ResponseHead } from "../../workers/http/parse-response.ts";
import { buildResponseHead } from "../../workers/http/response-head.ts";

const NONE: HeaderOperations = { set: [], add: [], remove: [] };
const S = (n: number) => n as never;

const many: IncomingHttpHeaders = { ":status": S(200) };
for (let i = 0; i < 150; i++) many[`x-f${i}`] = String(i);

/** [name, headers, declined by the new path (the text path judges)] */
const RESPONSES: [string, IncomingHttpHeaders, boolean][] = [
  ["gRPC", { ":status": S(200), "content-type": "application/grpc", "grpc-encoding": "identity", "grpc-accept-encoding": "identity,gzip" }, false],
  ["gRPC with a length", { ":status": S(200), "content-type": "application/grpc+proto", "content-length": "12" }, false],
  ["Trailers-Only gRPC", { ":status": S(200), "content-type": "application/grpc", "grpc-status": "14", "grpc-message": "unavailable" }, false],
  ["gRPC-Web type", { ":status": S(200), "content-type": "application/grpc-web-text" }, false],
  ["sized", { ":status": S(404), "content-length": "3", "set-cookie": ["a=1", "b=2"], "content-type": "text/plain" }, false],
  ["unsized", { ":status": S(200), "content-type": "text/html", vary: "accept" }, false],
  [
    "dropped fields",
    { ":status": S(200), server: "upstream", "x-envoy-upstream-service-time": "9", te: "trailers", "keep-alive": "5", "proxy-connection": "x", connection: "close", upgrade: "h2c", "transfer-encoding": "chunked", "http2-settings": "AA", expect: "100-continue", "content-length": "2", "x-kept": " v " },
    false,
  ],
  ["obs-text and empty values", { ":status": S(201), "x-latin": "caf\xe9", "x-empty": "", "x-tab": "a\tb" }, false],
  ["204", { ":status": S(204), "x-a": "1" }, false],
  ["204 with a length", { ":status": S(204), "content-length": "0" }, false],
  ["304 with a length", { ":status": S(304), "content-length": "10", etag: '"e"' }, false],
  ["500 unknown reason? no: 599", { ":status": S(599), "content-length": "0" }, false],
  ["418", { ":status": S(418) }, false],
  ["status 600", { ":status": S(600) }, true],
  ["status 103", { ":status": S(103) }, true],
  ["a length that is not digits", { ":status": S(200), "content-length": "abc" }, true],
  ["a length with spaces", { ":status": S(200), "content-length": " 5" }, true],
  ["a control byte in a value", { ":status": S(200), "x-bad": "a\x01b" }, true],
  ["a CR LF in a value", { ":status": S(200), "x-bad": "a\r\nx-in: 1" }, true],
  ["a char above 0xFF", { ":status": S(200), "x-wide": "\u20ac" }, true],
  ["an upper-case name", { ":status": S(200), "X-Up": "1" }, true],
  ["a name that is no token", { ":status": S(200), "x bad": "1" }, true],
  ["150 fields", many, true],
  ["a 40 KB value", { ":status": S(200), "x-big": "v".repeat(40 * 1024) }, true],
];

const OPS: [string, HeaderOperations][] = [
  ["no operations", NONE],
  ["set/add/remove", { set: [["x-kept", "set"], ["Server", "mine"]], add: [["x-added", "1"], ["set-cookie", "c=3"]], remove: ["VARY", "grpc-encoding"] }],
  ["remove content-length", { set: [], add: [], remove: ["content-length"] }],
  ["set content-length, non-ASCII value", { set: [["content-length", "7"]], add: [["x-utf", "grüß"]], remove: [] }],
];

/** The client's head as the text path made it; null where it answered 502 (or did not pass a 1xx on). */
function textPath(h: IncomingHttpHeaders, ended: boolean, method: string, ops: HeaderOperations, server: string, ms: number, connection: string): Buffer | null {
  const t = h1ResponseHead(h, ended, method === "HEAD");
  const buf = Buffer.from(t.text, "latin1");
  const end = findHeadBytes(buf, 0, MAX_RESPONSE_HEAD);
  if (end < 0) return null;
  const r = new ResponseHead();
  if (!parseResponseHead(buf, 0, end, r)) return null;
  if (r.status < 200) return null;
  let framing: number;
  if (bodiless(r.status, method)) framing = r.chunked ? FRAME_CHUNKED : FRAME_LENGTH;
  else framing = r.chunked ? FRAME_CHUNKED : r.contentLength >= 0 ? FRAME_LENGTH : FRAME_CLOSE;
  return buildResponseHead(r, buf, 0, ops, server, ms, framing, connection, end, end);
}

/** As onResponseFields writes it. */
function fieldsPath(h: IncomingHttpHeaders, ended: boolean, method: string, ops: HeaderOperations, server: string, ms: number, connection: string): Buffer | null {
  const f = h2ResponseFraming(h, ended, method === "HEAD");
  const lines = h1FieldLines(h, f.length, ops);
  if (lines === null) return null;
  const chunked = f.length === "" && !bodiless(Number(h[":status"]), method);
  const suffix = h1Suffix(ops, server, ms, chunked, connection);
  const a = h1Head(lines, suffix);
  const scratch = Buffer.alloc(64 * 1024);
  const n = writeH1Head(scratch, lines, suffix);
  expect(n).toBe(a.length);
  expect(scratch.subarray(0, n).equals(a)).toBe(true);
  return a;
}

describe("HTTP/1.1 head from HTTP/2 upstream fields = h1ResponseHead → parseResponseHead → buildResponseHead", () => {
  let compared = 0;
  for (const [rn, h, declined] of RESPONSES) {
    test(`${rn}: ${declined ? "left to the text path (where its length is not replaced), else" : ""} the same bytes (every end × method × operations × server × connection)`, () => {
      let left = 0;
      for (const ended of [false, true])
        for (const method of ["GET", "HEAD", "POST"])
          for (const [, ops] of OPS)
            for (const server of ["istio-envoy", "gängway"])
              for (const connection of ["", "close"]) {
                const ms = 3;
                const mine = fieldsPath(h, ended, method, ops, server, ms, connection);
                if (mine === null) {
                  expect(declined).toBe(true);
                  left++;
                  continue;
                }
                const theirs = textPath(h, ended, method, ops, server, ms, connection);
                expect(theirs).not.toBeNull();
                expect(mine!.toString("latin1")).toBe(theirs!.toString("latin1"));
                compared++;
              }
      if (declined) expect(left).toBeGreaterThan(0);
    });
  }
  test("cases compared", () => {
    expect(compared).toBeGreaterThan(1000);
  });
});

describe("chunkFrame", () => {
  test("as the text path framed DATA: hex size, CRLF, data, CRLF", () => {
    for (const n of [1, 15, 16, 255, 4096, 70000]) {
      const d = Buffer.alloc(n, 0x61);
      expect(chunkFrame(d).equals(Buffer.concat([Buffer.from(n.toString(16) + "\r\n"), d, Buffer.from("\r\n")]))).toBe(true);
    }
  });
});

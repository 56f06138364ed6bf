// An HTTP/2 upstream's response head for an HTTP/2 client, straight from its
// fields (h2-response.ts h2ResponseFraming + h2ResponseFields) against the way
// it was made before: h1ResponseHead's HTTP/1.1 text, parsed by
// parseResponseHead, turned into fields by responseFields. The same fields and
// the same framing (a length kept, or a body ending with the stream whose
// trailers may follow) for every response × end × method × route action.
import { describe, expect, test } from "bun:test";
import type { IncomingHttpHeaders } from "node:http2";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { h2ResponseFields, h2ResponseFraming, responseFields } from "../../workers/http/h2-response.ts";
import { h1ResponseHead } from "../../workers/http/h2-upstream-heads.ts";
import { parseResponseHead, ResponseHead } from "../../workers/http/parse-response.ts";

const NONE: HeaderOperations = { set: [], add: [], remove: [] };

const RESPONSES: [string, IncomingHttpHeaders][] = [
  ["gRPC", { ":status": 200 as never, "content-type": "application/grpc", "grpc-encoding": "identity", "grpc-accept-encoding": "identity,gzip" }],
  ["gRPC with a length", { ":status": 200 as never, "content-type": "application/grpc+proto", "content-length": "12" }],
  ["Trailers-Only gRPC", { ":status": 200 as never, "content-type": "application/grpc", "grpc-status": "14", "grpc-message": "unavailable" }],
  ["sized", { ":status": 404 as never, "content-length": "3", "set-cookie": ["a=1", "b=2"], "content-type": "text/plain" }],
  ["unsized", { ":status": 200 as never, "content-type": "text/html", vary: "accept" }],
  ["dropped fields", { ":status": 200 as never, server: "upstream", "x-envoy-upstream-service-time": "9", te: "trailers", "keep-alive": "5", "proxy-connection": "x", "content-length": "2", "x-kept": " v " }],
  ["204", { ":status": 204 as never, "x-a": "1" }],
  ["304 with a length", { ":status": 304 as never, "content-length": "10", etag: '"e"' }],
];

const OPS: [string, HeaderOperations][] = [
  ["no operations", NONE],
  ["set/add/remove", { set: [["x-kept", "set"], ["Server", "mine"]], add: [["x-added", "1"], ["set-cookie", "c=3"]], remove: ["VARY", "grpc-encoding"] }],
  ["remove content-length", { set: [], add: [], remove: ["content-length"] }],
];

function entries(h: object): [string, unknown][] {
  const e = Object.entries(h);
  return [...e.filter(([n]) => n[0] === ":").sort(([a], [b]) => (a < b ? -1 : 1)), ...e.filter(([n]) => n[0] !== ":")];
}

describe("HTTP/2 upstream response fields = h1ResponseHead → parseResponseHead → responseFields", () => {
  for (const [rn, h] of RESPONSES) {
    for (const [on, ops] of OPS) {
      for (const [ended, head] of [[false, false], [true, false], [false, true], [true, true]]) {
        test(`${rn} × ${on} × ${ended ? "ended" : "body"} × ${head ? "HEAD" : "GET"}`, () => {
          const old = h1ResponseHead(h, ended!, head!);
          const buf = Buffer.from(old.text, "latin1");
          const r = new ResponseHead();
          expect(parseResponseHead(buf, 0, buf.length, r)).toBe(true);
          const want = responseFields(r, buf, ops, "istio-envoy", 3);
          const f = h2ResponseFraming(h, ended!, head!);
          expect(f.trailing).toBe(old.chunked);
          expect(f.length).toBe(r.contentLength < 0 ? "" : String(r.contentLength));
          expect(entries(h2ResponseFields(h, f.length, ops, "istio-envoy", 3))).toEqual(entries(want));
        });
      }
    }
  }
});

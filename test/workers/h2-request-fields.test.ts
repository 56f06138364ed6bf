// The HTTP/2 upstream request as fields straight from the parsed head
// (h2-request-fields.ts) against the way it was made before: the HTTP/1.1
// bytes (request-head-bytes.ts) read back by h2RequestHead. The same fields,
// body framing and ids for every head × route action below.
import { describe, expect, test } from "bun:test";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { fieldKindsScratch, fieldSpansScratch } from "../../workers/http/fields.ts";
import { upstreamH2Fields } from "../../workers/http/h2-request-fields.ts";
import { h2RequestHead } from "../../workers/http/h2-upstream-heads.ts";
import type { ForwardIds } from "../../workers/http/heads-out.ts";
import { parseRequestHead, RequestHead } from "../../workers/http/parse-request.ts";
import { upstreamHeadBytes } from "../../workers/http/request-head-bytes.ts";

const NONE: HeaderOperations = { set: [], add: [], remove: [] };

function parse(text: string, scheme = "http"): RequestHead {
  const pre = "xx\r\n";
  const b = Buffer.from(pre + text + "body", "latin1");
  const h = new RequestHead();
  expect(parseRequestHead(b, pre.length, pre.length + text.length, h, fieldSpansScratch(), fieldKindsScratch())).toBe(0);
  h.scheme = scheme;
  return h;
}

const HEADS: [string, string][] = [
  ["minimal", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"],
  ["gRPC", "POST /bench.Echo/Unary HTTP/1.1\r\nhost: 127.0.0.1:18191\r\ncontent-type: application/grpc\r\nte: trailers\r\nuser-agent: h2load\r\ngrpc-timeout: 5S\r\ncontent-length: 9\r\nconnection: close\r\n\r\n"],
  ["gRPC chunked", "POST /a.B/C HTTP/1.1\r\nhost: api\r\ncontent-type: application/grpc+proto\r\ntransfer-encoding: chunked\r\nx-md: 1\r\nx-md: 2\r\n\r\n"],
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
  ["content-length 0", "POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"],
  ["HTTP/1.0 without Host", "GET /old HTTP/1.0\r\nUser-Agent: ancient\r\n\r\n"],
  ["websocket", "GET /ws HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n"],
  ["absolute-form", "GET http://b.example:8080/abs?q HTTP/1.1\r\nHost: a.example\r\nX-Y: y\r\n\r\n"],
  ["expect", "PUT /e HTTP/1.1\r\nHost: a.example\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"],
  ["odd spacing", "DELETE /x?y=1 HTTP/1.1\r\nhost:a.example   \r\nX-Tab:\tv\t\r\n\r\n"],
];

interface Action {
  name: string;
  target?: string;
  authority?: string;
  originalPath?: string;
  ops?: HeaderOperations;
  xfcc?: string;
  scheme?: string;
}

const ACTIONS: Action[] = [
  { name: "as received" },
  { name: "https", scheme: "https" },
  { name: "host rewrite", authority: "backend.internal:8080" },
  { name: "configured text beyond ASCII", authority: "bäckend:80", target: "/caf\u00e9/\u20ac", ops: { set: [["x-name", "v\u00e9 \u2603"]], add: [], remove: [] } },
  { name: "path rewrite", target: "/new/path?q=1", originalPath: "/original" },
  {
    name: "header operations",
    ops: {
      set: [["X-A", "set-a"], ["host", "ignored"], [":authority", "ignored"], ["Connection", "x"], ["TE", "trailers"]],
      add: [["x-added", "v1"], ["Cookie", "added=1"]],
      remove: ["USER-AGENT", "x-secret", "x-name"],
    },
  },
  { name: "remove only", ops: { set: [], add: [], remove: ["x-kept", "accept"] } },
  { name: "xfcc", xfcc: 'By=spiffe://cluster.local/ns/a/sa/b;Hash=abc;Subject="CN=c"' },
];

function entries(h: object): [string, unknown][] {
  const e = Object.entries(h);
  return [...e.filter(([n]) => n[0] === ":").sort(([a], [b]) => (a < b ? -1 : 1)), ...e.filter(([n]) => n[0] !== ":")];
}

describe("upstream HTTP/2 request fields = the HTTP/1.1 bytes read back", () => {
  for (const [hn, text] of HEADS) {
    for (const a of ACTIONS) {
      for (const upScheme of ["http", "https"]) {
        test(`${hn} × ${a.name} × ${upScheme}`, () => {
          const h = parse(text, a.scheme);
          const target = a.target ?? h.path + (h.query === "" ? "" : "?" + h.query);
          const authority = a.authority ?? h.authority;
          const bi: ForwardIds = { xff: "", requestId: "" };
          const bytes = upstreamHeadBytes(h, target, authority, "192.0.2.7", a.originalPath ?? "", a.ops ?? NONE, bi, a.xfcc ?? "").toString("latin1");
          const want = h2RequestHead(bytes.slice(0, -4), upScheme)!;
          const fi: ForwardIds = { xff: "", requestId: "" };
          const got = upstreamH2Fields(h, target, authority, "192.0.2.7", a.originalPath ?? "", a.ops ?? NONE, fi, a.xfcc ?? "", upScheme)!;
          expect(fi.xff).toBe(bi.xff);
          // a fresh x-request-id differs per call: the one made is the one sent
          if (fi.requestId !== bi.requestId) {
            expect(want.headers["x-request-id"]).toBe(bi.requestId);
            want.headers["x-request-id"] = fi.requestId;
          }
          expect(got.headers["x-request-id"]).toBe(fi.requestId);
          // pseudo-headers go first on the wire whatever their place in the object; the others keep their order
          expect(entries(got.headers)).toEqual(entries(want.headers));
          expect([got.body, got.length]).toEqual([want.body, want.length]);
        });
      }
    }
  }
  test("CONNECT: null (not offered to an HTTP/2 upstream)", () => {
    const h = parse("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n");
    expect(upstreamH2Fields(h, "a.example:443", "a.example:443", "192.0.2.7", "", NONE, { xff: "", requestId: "" }, "", "http")).toBeNull();
  });
});

// How a proxied HTTP/1.1 response head becomes an HTTP/2 client stream's fields
// (workers/http/h2-response.ts), and how a local reply's text head does.
import { describe, expect, test } from "bun:test";
import { EMPTY_OPS } from "../../src/dispatch/decision.ts";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { responseFields, textResponseFields } from "../../workers/http/h2-response.ts";
import { parseResponseHead, ResponseHead } from "../../workers/http/parse-response.ts";

function fields(text: string, ops: HeaderOperations = EMPTY_OPS) {
  const b = Buffer.from(text, "latin1");
  const r = new ResponseHead();
  expect(parseResponseHead(b, 0, b.length, r)).toBe(true);
  return responseFields(r, b, ops, "istio-envoy", 3);
}

describe("responseFields", () => {
  test("fields pass lower-cased; hop-by-hop, the upstream's server and service time are dropped; ours are added", () => {
    const f = fields(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n" +
        "Server: nginx\r\nX-Envoy-Upstream-Service-Time: 9\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
    );
    expect(f).toEqual({
      ":status": 200,
      "content-type": "text/plain",
      "content-length": "5",
      "set-cookie": ["a=1", "b=2"],
      server: "istio-envoy",
      "x-envoy-upstream-service-time": "3",
    });
  });

  test("a chunked body has no length and no transfer-encoding on HTTP/2", () => {
    const f = fields("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nGrpc-Encoding: identity\r\n\r\n");
    expect(f).toEqual({ ":status": 200, "grpc-encoding": "identity", server: "istio-envoy", "x-envoy-upstream-service-time": "3" });
  });

  test("the route's response operations: remove and set replace the upstream's field, add appends", () => {
    const ops: HeaderOperations = { set: [["X-A", "set"]], add: [["x-b", "added"]], remove: ["x-gone"] };
    const f = fields("HTTP/1.1 204 No Content\r\nx-a: up\r\nx-b: up\r\nx-gone: 1\r\n\r\n", ops);
    expect(f).toEqual({ ":status": 204, "x-a": "set", "x-b": ["up", "added"], server: "istio-envoy", "x-envoy-upstream-service-time": "3" });
  });
});

describe("responseFields over a run of responses (lines kept per position)", () => {
  test("the same lines give the same fields; a line that changed, moved or grew is read again", () => {
    const a = "HTTP/1.1 200 OK\r\nDate: Sat, 05 Dec 2026 12:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
    const want = (date: string, type = "text/plain") => ({ ":status": 200, date, "content-type": type, "content-length": "5", server: "istio-envoy", "x-envoy-upstream-service-time": "3" });
    expect(fields(a)).toEqual(want("Sat, 05 Dec 2026 12:00:00 GMT"));
    expect(fields(a)).toEqual(want("Sat, 05 Dec 2026 12:00:00 GMT"));
    expect(fields(a.replace("12:00:00", "12:00:01"))).toEqual(want("Sat, 05 Dec 2026 12:00:01 GMT"));
    expect(fields(a.replace("Content-Type: text/plain", "content-type:  text/html "))).toEqual(want("Sat, 05 Dec 2026 12:00:00 GMT", "text/html"));
    // the same bytes at another position, and a line longer than a slot holds
    const long = "x".repeat(200);
    expect(fields(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Long: ${long}\r\nDate: d\r\n\r\n`)).toEqual({
      ":status": 200, "content-length": "5", "x-long": long, date: "d", server: "istio-envoy", "x-envoy-upstream-service-time": "3",
    });
    expect(fields(`HTTP/1.1 200 OK\r\nX-Long: ${long}y\r\nDate: e\r\nContent-Length: 5\r\n\r\n`)).toEqual({
      ":status": 200, "x-long": long + "y", date: "e", "content-length": "5", server: "istio-envoy", "x-envoy-upstream-service-time": "3",
    });
    // hop-by-hop names are dropped whether read or reused
    const hop = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\n";
    expect(fields(hop)).toEqual({ ":status": 200, "content-length": "5", server: "istio-envoy", "x-envoy-upstream-service-time": "3" });
    expect(fields(hop)).toEqual({ ":status": 200, "content-length": "5", server: "istio-envoy", "x-envoy-upstream-service-time": "3" });
  });
});

describe("textResponseFields", () => {
  test("a local reply's head: status, fields without connection; chunked framing reported, its length dropped", () => {
    expect(textResponseFields("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\nserver: istio-envoy")).toEqual({
      fields: { ":status": 404, "content-length": "0", server: "istio-envoy" },
      chunked: false,
    });
    expect(textResponseFields("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3")).toEqual({ fields: { ":status": 200 }, chunked: true });
  });

  test("an interim response (100 Continue) is not one HTTP/2 needs: null", () => {
    expect(textResponseFields("HTTP/1.1 100 Continue")).toBeNull();
  });
});

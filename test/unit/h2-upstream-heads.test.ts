// The HTTP/1.1 ⇄ HTTP/2 head translation of the upstream HTTP/2 adapter.
import { describe, expect, test } from "bun:test";
import { h1ResponseHead, h2RequestHead, lastChunk, REQ_CHUNKED, REQ_LENGTH, REQ_NONE } from "../../workers/http/h2-upstream-heads.ts";
import { ChunkedScanner, trailerFields } from "../../workers/http/chunked.ts";

describe("h2RequestHead", () => {
  test("pseudo-headers from the request line and host; connection fields dropped; te only as trailers", () => {
    const h = h2RequestHead("POST /a.B/C?x=1 HTTP/1.1\r\nhost: api:8080\r\nconnection: keep-alive\r\nkeep-alive: 5\r\nte: trailers, deflate\r\ntransfer-encoding: chunked\r\ncontent-type: application/grpc\r\nx-a: 1\r\nx-a: 2", "http")!;
    expect(h.headers).toEqual({ ":method": "POST", ":scheme": "http", ":path": "/a.B/C?x=1", ":authority": "api:8080", te: "trailers", "content-type": "application/grpc", "x-a": ["1", "2"] });
    expect(h.body).toBe(REQ_CHUNKED);
  });
  test.each([
    ["GET / HTTP/1.1\r\nhost: a", REQ_NONE, 0],
    ["POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 0", REQ_NONE, 0],
    ["POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 12", REQ_LENGTH, 12],
    ["POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked", REQ_CHUNKED, 0],
  ])("%p: body framing", (text, body, length) => {
    const h = h2RequestHead(text, "https")!;
    expect([h.body, h.length, h.headers[":scheme"]]).toEqual([body, length, "https"]);
  });
  test("not a request line, or CONNECT: null", () => {
    expect(h2RequestHead("garbage", "http")).toBeNull();
    expect(h2RequestHead("CONNECT a:443 HTTP/1.1\r\nhost: a:443", "http")).toBeNull();
  });
});

describe("h1ResponseHead", () => {
  test("headers that end the stream: content-length 0 (Trailers-Only gRPC keeps grpc-status in the head)", () => {
    expect(h1ResponseHead({ ":status": "200" as never, "content-type": "application/grpc", "grpc-status": "5" }, true, false)).toEqual({
      text: "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: 5\r\ncontent-length: 0\r\n\r\n",
      chunked: false,
    });
  });
  test("gRPC: chunked so that trailers can follow", () => {
    expect(h1ResponseHead({ ":status": "200" as never, "content-type": "application/grpc+proto", "content-length": "10" }, false, false)).toEqual({
      text: "HTTP/1.1 200 OK\r\ncontent-type: application/grpc+proto\r\ntransfer-encoding: chunked\r\n\r\n",
      chunked: true,
    });
  });
  test("a sized body keeps its length; set-cookie values stay separate", () => {
    expect(h1ResponseHead({ ":status": "404" as never, "content-length": "3", "set-cookie": ["a=1", "b=2"] }, false, false).text).toBe("HTTP/1.1 404 Not Found\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 3\r\n\r\n");
  });
  test("HEAD and 304 have no body whatever the headers say", () => {
    expect(h1ResponseHead({ ":status": "200" as never, "content-length": "42" }, true, true)).toEqual({ text: "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n", chunked: false });
    expect(h1ResponseHead({ ":status": "304" as never }, false, false)).toEqual({ text: "HTTP/1.1 304 Not Modified\r\n\r\n", chunked: false });
  });
});

describe("trailers through chunked framing", () => {
  test("lastChunk → scanner → trailerFields round trip; framing fields never travel as trailers", () => {
    const text = "5\r\nhello\r\n" + lastChunk({ "grpc-status": "0", "grpc-message": "ok%20fine", "x-multi": ["a", "b"] } as never) ;
    const sc = new ChunkedScanner();
    sc.trailerBytes = [];
    const b = Buffer.from(text, "latin1");
    expect(sc.scan(b, 0, b.length, null)).toBe(b.length);
    expect(trailerFields(sc.trailerBytes)).toEqual([["grpc-status", "0"], ["grpc-message", "ok%20fine"], ["x-multi", "a"], ["x-multi", "b"]]);
    const sc2 = new ChunkedScanner();
    sc2.trailerBytes = [];
    const b2 = Buffer.from("0\r\ncontent-length: 5\r\nX-Ok: 1\r\n\r\n", "latin1");
    sc2.scan(b2, 0, b2.length, null);
    expect(trailerFields(sc2.trailerBytes)).toEqual([["x-ok", "1"]]);
  });
  test("no trailers: the plain last chunk", () => {
    expect(lastChunk(null)).toBe("0\r\n\r\n");
  });
});

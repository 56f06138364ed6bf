// How an HTTP/2 stream's headers become the HTTP/1.1 head the engine serves
// (workers/http/h2.ts): pseudo-headers, framing, connection-specific fields,
// and what is refused.
import { describe, expect, test } from "bun:test";
import { requestHead, startsWithPreface } from "../../workers/http/h2.ts";

const base = { ":method": "GET", ":path": "/a?b=1", ":scheme": "https", ":authority": "httpbin.example.com" };

describe("requestHead", () => {
  test("a GET that ends with its headers: request line, host from :authority, no body framing", () => {
    expect(requestHead({ ...base, accept: "*/*" }, true)).toEqual({
      head: "GET /a?b=1 HTTP/1.1\r\nhost: httpbin.example.com\r\naccept: */*\r\nconnection: close\r\n\r\n",
      length: 0,
    });
  });

  test("a body of announced length keeps its content-length; one of unknown length is sent on chunked", () => {
    expect(requestHead({ ...base, ":method": "POST", "content-length": "5" }, false)).toEqual({
      head: "POST /a?b=1 HTTP/1.1\r\nhost: httpbin.example.com\r\ncontent-length: 5\r\nconnection: close\r\n\r\n",
      length: 5,
    });
    expect(requestHead({ ...base, ":method": "POST" }, false)).toEqual({
      head: "POST /a?b=1 HTTP/1.1\r\nhost: httpbin.example.com\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
      length: -1,
    });
  });

  test("host is the Host header when :authority is absent", () => {
    const { ":authority": _, ...noAuthority } = base;
    const r = requestHead({ ...noAuthority, host: "h.example.com" }, true);
    expect(typeof r === "object" && r.head.startsWith("GET /a?b=1 HTTP/1.1\r\nhost: h.example.com\r\n")).toBe(true);
  });

  test("connection-specific fields are dropped, cookies are joined, repeated fields kept", () => {
    const r = requestHead({ ...base, connection: "keep-alive", te: "trailers", upgrade: "h2c", cookie: ["a=1", "b=2"], "x-v": ["1", "2"] } as never, true);
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
    expect(requestHead(headers as never, end)).toBe(want);
  });

  test("CONNECT (no :path) becomes an HTTP/1.1 CONNECT to its authority, decided like one (Envoy: 404 on both)", () => {
    expect(requestHead({ ":method": "CONNECT", ":authority": "example.com:443" }, false)).toEqual({
      head: "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
      length: -1,
    });
  });

  test("OPTIONS * is a request", () => {
    const r = requestHead({ ...base, ":method": "OPTIONS", ":path": "*" }, true);
    expect(typeof r === "object" && r.head.startsWith("OPTIONS * HTTP/1.1\r\n")).toBe(true);
  });

  test("more than 100 fields is 431", () => {
    const many: Record<string, string> = { ...base };
    for (let i = 0; i < 101; i++) many[`x-f${i}`] = "1";
    expect(requestHead(many, true)).toBe(431);
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

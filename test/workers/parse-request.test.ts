// The request-head parser: tables of well-formed and hostile heads.
import { describe, expect, test } from "bun:test";
import { badMethodPrefix, badRequestLinePrefix, PREFIX_BAD, scanHeadPrefix } from "../../workers/http/downstream.ts";
import { findHeadBytes } from "../../workers/http/fields.ts";
import { MAX_REQUEST_HEAD, parseRequestHead, RequestHead } from "../../workers/http/parse-request.ts";

function parse(raw: string): { status: number; h: RequestHead } {
  const h = new RequestHead();
  const b = Buffer.from(raw, "latin1");
  return { status: parseRequestHead(b, 0, b.length, h), h };
}

describe("parseRequestHead accepts", () => {
  test("a plain GET with Host: names kept as received and found case-insensitively, values trimmed", () => {
    const { status, h } = parse("GET /a/b?x=1&y HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent:  curl/8 \t\r\nX-Empty:\r\n\r\n");
    expect(status).toBe(0);
    expect(h.method).toBe("GET");
    expect(h.path).toBe("/a/b");
    expect(h.query).toBe("x=1&y");
    expect(h.host).toBe("example.com");
    expect(h.authority).toBe("Example.COM:8080");
    const fields = Array.from({ length: h.count }, (_, k) => [h.name(k), h.value(k)]);
    expect(fields).toEqual([
      ["Host", "Example.COM:8080"],
      ["User-Agent", "curl/8"],
      ["X-Empty", ""],
    ]);
    expect(h.header("host")).toBe("Example.COM:8080");
    expect(h.header("x-empty")).toBe("");
    expect(h.header("x-missing")).toBeUndefined();
    expect(h.header("user-agent")).toBe("curl/8");
    expect(h.close).toBe(false);
    expect(h.contentLength).toBe(-1);
  });

  const ok: [string, string, Partial<RequestHead>][] = [
    ["POST with Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", { contentLength: 12 }],
    ["identical duplicate Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", { contentLength: 5 }],
    ["Content-Length with leading zeros past 15 digits is its value (Envoy, nginx)", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000000000005\r\n\r\n", { contentLength: 5 }],
    ["Content-Length of zeros only", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000000\r\n\r\n", { contentLength: 0 }],
    ["Content-Length 5 and 05 are one value", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n", { contentLength: 5 }],
    ["Content-Length 2^53 - 1 (16 digits), exact", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740991\r\n\r\n", { contentLength: 9007199254740991 }],
    ["chunked, any case", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", { chunked: true }],
    ["Connection: close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", { close: true }],
    ["HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", { host: "", close: true, minor: 0 }],
    ["HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", { close: false, keepAlive: true }],
    ["WebSocket upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r\n", { upgrade: "websocket" }],
    ["Upgrade without Connection: upgrade is ignored", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", { upgrade: "" }],
    ["a WebSocket upgrade from HTTP/1.0 is ignored (RFC 9110 7.8)", "GET /ws HTTP/1.0\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", { upgrade: "", keepAlive: true }],
    ["h2c upgrade is not honoured", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n", { upgrade: "" }],
    ["Expect: 100-continue", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", { expectContinue: true }],
    ["absolute-form target", "GET http://b.example:81/p?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", { host: "b.example", authority: "b.example:81", path: "/p", query: "q=1" }],
    ["absolute-form without path", "GET http://b.example HTTP/1.1\r\nHost: a\r\n\r\n", { path: "/" }],
    ["absolute-form with an empty Host: the target's authority", "GET http://b.example/ HTTP/1.1\r\nHost: \r\n\r\n", { host: "b.example", hostHeader: "" }],
    ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", { path: "*" }],
    ["obs-text in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: caf\u00e9\r\n\r\n", { highBytes: true }],
    ["dot-segments removed", "GET /a/./b/../c HTTP/1.1\r\nHost: a\r\n\r\n", { path: "/a/c" }],
    ["IPv6 host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", { host: "[::1]" }],
    ["HTTP/1.2: a higher minor version is HTTP/1.1 (RFC 9112 2.3), Host required", "GET / HTTP/1.2\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", { minor: 1, expectContinue: true }],
    ["HTTP/1.9", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", { minor: 1 }],
  ];
  for (const [name, raw, want] of ok) {
    test(name, () => {
      const { status, h } = parse(raw);
      expect(status).toBe(0);
      for (const k of Object.keys(want) as (keyof RequestHead)[]) expect(h[k]).toEqual(want[k] as never);
    });
  }
});

describe("parseRequestHead rejects", () => {
  const bad: [string, string, number][] = [
    ["CL and TE together", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["differing duplicate Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400],
    ["Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400],
    ["signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400],
    ["huge Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400],
    ["Content-Length 2^53 (would round in a double)", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740992\r\n\r\n", 400],
    ["Content-Length 2^64 (would wrap a uint64)", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551621\r\n\r\n", 400],
    ["Content-Length with a minus sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 400],
    ["Content-Length with a space inside", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400],
    ["Content-Length in hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400],
    ["empty Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400],
    ["Content-Length 0 and chunked", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["chunked and then Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400],
    ["TE gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400],
    ["TE identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400],
    ["TE chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["TE with HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
    ["whitespace before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", 400],
    ["tab before colon", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 5\r\n\r\n", 400],
    ["bare LF inside", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
    ["bare CR inside a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400],
    ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u0000b\r\n\r\n", 400],
    ["DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u007fb\r\n\r\n", 400],
    ["invalid name character", "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", 400],
    ["empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400],
    ["line without colon", "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400],
    ["missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400],
    ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["absolute-form with a Host holding a space (RFC 9112 3.2: an invalid Host is 400 whatever the target)", "GET http://b.example/ HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["absolute-form with a Host holding `<`", "GET http://b.example/ HTTP/1.1\r\nHost: a<b\r\n\r\n", 400],
    ["absolute-form with a Host holding userinfo", "GET http://b.example/ HTTP/1.1\r\nHost: u@b.example\r\n\r\n", 400],
    ["absolute-form with a Host with two ports", "GET http://b.example/ HTTP/1.1\r\nHost: b:80:90\r\n\r\n", 400],
    ["absolute-form with two Host headers", "GET http://b.example/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["absolute-form without Host in HTTP/1.1", "GET http://b.example/ HTTP/1.1\r\n\r\n", 400],
    ["a space in the method", "G ET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a lower-case method (Envoy and nginx refuse it; an upstream that upper-cases methods would take `delete` for DELETE)", "delete / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a method with a lower-case letter", "DELETe / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["non-ASCII in target", "GET /caf\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400],
    ["missing version", "GET /\r\nHost: a\r\n\r\n", 400],
    ["HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
    ["HTTP/1.2 without Host (taken as HTTP/1.1)", "GET / HTTP/1.2\r\n\r\n", 400],
    ["trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400],
    ["too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + "X: y\r\n".repeat(100) + "\r\n", 431],
    ["value running into the end", "GET / HTTP/1.1\r\nHost: a\r\nX: y", 400],
  ];
  for (const [name, raw, status] of bad) {
    test(`${name} → ${status}`, () => {
      expect(parse(raw).status).toBe(status);
    });
  }
});

describe("findHeadBytes", () => {
  const findHeadEnd = findHeadBytes;
  test("finds the end, waits for more, flags bare LF and oversize heads", () => {
    expect(findHeadEnd(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest"), 0, MAX_REQUEST_HEAD)).toBe(27);
    expect(findHeadEnd(Buffer.from("xxGET / HTTP/1.1\r\nHost: a\r\n\r\nrest"), 2, MAX_REQUEST_HEAD)).toBe(29);
    const long = "GET / HTTP/1.1\r\nX: " + "a".repeat(10_000) + "\r\n\r\n";
    expect(findHeadEnd(Buffer.from(long + "body"), 0, MAX_REQUEST_HEAD)).toBe(long.length);
    expect(findHeadEnd(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n"), 0, MAX_REQUEST_HEAD)).toBe(-1);
    expect(findHeadEnd(Buffer.from("GET / HTTP/1.1\nHost: a\n\n"), 0, MAX_REQUEST_HEAD)).toBe(-400);
    expect(findHeadEnd(Buffer.from("GET / HTTP/1.1\r\nHost: a\n\r\n"), 0, MAX_REQUEST_HEAD)).toBe(-400);
    expect(findHeadEnd(Buffer.from("GET / HTTP/1.1\r\nX: " + "a".repeat(70_000)), 0, MAX_REQUEST_HEAD)).toBe(-431);
    expect(findHeadEnd(Buffer.from("GET / HTTP/1.1\r\nX: " + "a".repeat(70_000) + "\r\n\r\n"), 0, MAX_REQUEST_HEAD)).toBe(-431);
  });

  test("from: only the bytes from just before it are searched (an earlier read searched the rest), offsets stay the head's", () => {
    const x = "a".repeat(200);
    const head = Buffer.from("GET / HTTP/1.1\r\nX: " + x + "\r\n\r\n");
    // the head's end split across reads, its first bytes before `from`: still found
    for (let cut = head.length - 4; cut < head.length; cut++) expect(findHeadEnd(head, 0, MAX_REQUEST_HEAD, cut)).toBe(head.length);
    expect(findHeadEnd(Buffer.from("xx" + head.toString("latin1")), 2, MAX_REQUEST_HEAD, 100)).toBe(head.length + 2);
    // an end (or a bare LF) wholly before from - 3 is not looked for again
    const planted = Buffer.from("GET / HTTP/1.1\r\n\r\nX: " + x + "\n\nY: " + x);
    expect(findHeadEnd(planted, 0, MAX_REQUEST_HEAD)).toBe(18);
    expect(findHeadEnd(planted, 0, MAX_REQUEST_HEAD, 30)).toBe(-400);
    expect(findHeadEnd(planted, 0, MAX_REQUEST_HEAD, 300)).toBe(-1);
    expect(findHeadEnd(Buffer.from("GET / HTTP/1.1\r\nX: " + "a".repeat(70_000)), 0, MAX_REQUEST_HEAD, 60_000)).toBe(-431);
  });

  test("short heads (found by a byte loop) and long ones (by indexOf) agree with a search for CRLFCRLF, from any start", () => {
    // the answer as the search by strings gives it
    const want = (b: Buffer, start: number, max: number): number => {
      const t = b.toString("latin1");
      const at = t.indexOf("\r\n\r\n", start);
      if (at >= 0) return at - start + 4 > max ? -431 : at + 4;
      if (t.indexOf("\n\n", start) >= 0 || t.indexOf("\n\r\n", start) >= 0) return -400;
      return b.length - start > max ? -431 : -1;
    };
    // seeded: the same bytes every run; CR and LF often, so that CRLFCRLF, near misses and bare LFs all occur
    let seed = 15;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const alphabet = [13, 10, 13, 10, 97, 58, 32];
    for (let k = 0; k < 4000; k++) {
      const len = Math.floor(rnd() * 120);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = alphabet[Math.floor(rnd() * alphabet.length)]!;
      const start = Math.floor(rnd() * Math.min(len + 1, 8));
      const max = rnd() < 0.2 ? Math.floor(rnd() * 40) : MAX_REQUEST_HEAD;
      expect([k, findHeadEnd(b, start, max)]).toEqual([k, want(b, start, max)]);
    }
  });
});

describe("requestId", () => {
  test("UUID v4 shaped and unique", async () => {
    const { requestId } = await import("../../workers/http/heads-out.ts");
    const seen = new Set<string>();
    for (let i = 0; i < 70_000; i++) {
      const id = requestId();
      if (i % 997 === 0) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(70_000);
  });
});

describe("an incomplete head that cannot be a request", () => {
  const b = (s: string | number[]) => (typeof s === "string" ? new TextEncoder().encode(s) : new Uint8Array(s));
  test.each([
    ["GE", false],
    ["GET", false],
    ["GET /pa", false],
    ["PROPFIND /x", false],
    [" GET /", true],
    ["G\u0001", true],
    [[0x16, 0x03, 0x01, 0x02, 0x00], true], // a TLS ClientHello on a plain port
    ["A".repeat(40), true],
  ] as [string | number[], boolean][])("%p → %p", (input, bad) => {
    expect(badMethodPrefix(b(input), 0)).toBe(bad);
  });
});

describe("an incomplete head whose request line cannot be one (past its method)", () => {
  const b = (s: string) => Buffer.from(s, "latin1");
  test.each([
    ["GET", false],
    ["GET ", false],
    ["GET /a", false],
    ["GET /a ", false],
    ["GET /a HTTP/1.", false],
    ["GET /a HTTP/1.1\r", false], // the CRLF split across reads
    ["GET /a HTTP/1.1\r\nHost: a\r\n", false],
    ["PRI * HTTP/2.0\r\n", false], // the HTTP/2 preface, still coming
    ["GET / HTTP/2.0\r\nHost: a\r\n", false], // 505 once the head is whole
    ["\r", false], // an empty line split across reads: not a method (badMethodPrefix's)
    ["GET / HTTP/1.1\rHost: a\r\r", true], // bare CRs
    ["GET / HTTP/1.1\nHost: a\n", true], // bare LF after the version
    ["GET /\r\n", true], // HTTP/0.9
    ["GET /a\rb HTTP/1.1\r\n", true],
    ["GET /caf\u00e9 HTTP/1.1\r\n", true],
    ["GET /a\tHTTP/1.1\r\n", true],
    ["GET  / HTTP/1.1\r\n", true],
    ["GET / http/1.1\r\n", true],
    ["GET / HTTP/1.x\r\n", true],
    ["GET / HTTP/1.1 \r\n", true],
  ] as [string, boolean][])("%p → %p", (input, bad) => {
    expect(badRequestLinePrefix(b(input), 0)).toBe(bad);
  });

  test("looked at from the head's start, not the buffer's", () => {
    const buf = b("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /\r\n");
    expect(badRequestLinePrefix(buf, 0)).toBe(false);
    expect(badRequestLinePrefix(buf, buf.indexOf("GET /\r\n"))).toBe(true);
  });
});

describe("an incomplete head whose field lines cannot be a request's (scanHeadPrefix)", () => {
  const b = (s: string) => Buffer.from(s, "latin1");
  const R = "GET / HTTP/1.1\r\nHost: a\r\n";
  /** Fed whole, then one byte per read (each read resuming from the state the last one left). */
  function verdicts(input: string): [boolean, boolean] {
    const whole = scanHeadPrefix(b(input), 0, 0) === PREFIX_BAD;
    let state = 0;
    for (let n = 1; n <= input.length && state !== PREFIX_BAD; n++) state = scanHeadPrefix(b(input.slice(0, n)), 0, state);
    return [whole, state === PREFIX_BAD];
  }
  test.each([
    [R, false],
    [R + "X-A: 1", false],
    [R + "X-A: 1\r", false], // the CRLF split across reads
    [R + "X-A:\r\n", false],
    [R + "X-A: a\tb \xe9\r\n", false], // HTAB and obs-text in a value
    [R + "X-A", false],
    [R + "\r", false], // the head's end, split across reads
    ["GET /a HTTP/1.1\r", false],
    ["PRI * HTTP/2.0\r\n\r", false],
    [R + "X-A: 1\rX-B: 2\r\n", true], // a bare CR
    ["GET / HTTP/1.1\r\nHost: a\rX: y", true],
    [R + "X-A: 1\nX-B: 2\r\n", true], // a bare LF
    ["GET / HTTP/1.1\nHost: a", true],
    [R + "X\0A: 1\r\n", true],
    [R + "X-A: 1\x002\r\n", true],
    [R + "X-A: 1\x012\r\n", true],
    [R + "X-A: 1\x7f2\r\n", true],
    [R + "X\xe9: 1\r\n", true],
    [R + "X/A: 1\r\n", true],
    [R + "X-A : 1\r\n", true], // space before the colon
    [R + "X-A\t: 1\r\n", true],
    [R + "X A: 1\r\n", true],
    [R + "XA\r\n", true], // no colon
    [R + ": 1\r\n", true], // empty name
    [R + "X-A: 1\r\n 2\r\n", true], // obs-fold
    [R + "X-A: 1\r\n\t2", true],
    ["GET / HTTP/1.1\r\n Host: a\r\n", true],
  ] as [string, boolean][])("%p → %p (whole and byte by byte)", (input, bad) => {
    expect(verdicts(input)).toEqual([bad, bad]);
  });

  test("never refuses early a head parseRequestHead accepts: 3000 mutated heads, each fed one byte per read", () => {
    let seed = 7;
    const rnd = () => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed / 4294967296;
    };
    const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
    const seeds = [
      "GET /a?b=c HTTP/1.1\r\nHost: a.example.com\r\nX-A: 1\r\n\r\n",
      "POST /p HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 5\r\n\r\n",
      "GET http://b.example.com/b/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
      "GET /%2e%2e/b/./c HTTP/1.0\r\nHost: [::1]:80\r\nX-E:\r\nX-T: a\tb \r\n\r\n",
    ];
    const tokens = ["\r\n", "\n", "\r", " ", "\t", ":", "\0", "\x7f", "\xff", ",", "/", "-", "a", "X-B: 2\r\n", "HTTP/1.1"];
    let accepted = 0;
    for (let k = 0; k < 3000; k++) {
      let text = pick(seeds);
      for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) {
        const p = Math.floor(rnd() * (text.length - 4));
        const op = rnd();
        if (op < 0.5) text = text.slice(0, p) + pick(tokens) + text.slice(p);
        else if (op < 0.75) text = text.slice(0, p) + text.slice(p + 1);
        else text = text.slice(0, p) + String.fromCharCode(Math.floor(rnd() * 256)) + text.slice(p + 1);
      }
      const raw = b(text);
      const end = findHeadBytes(raw, 0, MAX_REQUEST_HEAD);
      if (end <= 0 || parseRequestHead(raw, 0, end, new RequestHead()) !== 0) continue;
      accepted++;
      let state = 0;
      for (let n = 1; n < end; n++) {
        const part = raw.subarray(0, n);
        if (findHeadBytes(part, 0, MAX_REQUEST_HEAD) !== -1) break;
        if ((state & 3) === 0) expect(badMethodPrefix(part, 0) || badRequestLinePrefix(part, 0)).toBe(false);
        state = scanHeadPrefix(part, 0, state);
        expect(state).not.toBe(PREFIX_BAD);
      }
    }
    expect(accepted).toBeGreaterThan(300);
  });

  test("resumes where it stopped: a head fed in two reads checks each byte once", () => {
    const first = b(R + "X-A: 1");
    const state = scanHeadPrefix(first, 0, 0);
    expect(state >>> 2).toBe(first.length);
    // the bytes already checked are not looked at again (a NUL planted there goes unseen)
    const second = b(R + "X-A:\x001\r\nX-B: 2\r\n");
    expect(scanHeadPrefix(second, 0, state)).not.toBe(PREFIX_BAD);
    expect(scanHeadPrefix(second, 0, 0)).toBe(PREFIX_BAD);
  });

  test("looked at from the head's start, not the buffer's", () => {
    const buf = b("GET / HTTP/1.1\r\nHost: a\r\n\r\n" + R + "X : y\r\n");
    expect(scanHeadPrefix(buf, buf.lastIndexOf("GET"), 0)).toBe(PREFIX_BAD);
    expect(scanHeadPrefix(buf.subarray(0, buf.lastIndexOf("GET")), 0, 0)).not.toBe(PREFIX_BAD);
  });
});

describe("the last Host value is reused only for the same bytes", () => {
  test("a sequence of hosts, repeated, valid and not: each parse as if alone", () => {
    const seq: [string, number, string][] = [
      ["Example.COM:8080", 0, "example.com"],
      ["Example.COM:8080", 0, "example.com"],
      ["example.com", 0, "example.com"],
      ["bad host", 400, ""],
      ["bad host", 400, ""],
      ["[::1]:80", 0, "[::1]"],
      ["[::1]:80", 0, "[::1]"],
      ["a.b.c.", 0, "a.b.c"],
      ["h:80:90", 400, ""],
      ["example.com", 0, "example.com"],
      ["x".repeat(200), 0, "x".repeat(200)], // longer than the cache: parsed each time
      ["x".repeat(200), 0, "x".repeat(200)],
    ];
    for (const [host, status, want] of seq) {
      const { status: s, h } = parse(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect([host, s]).toEqual([host, status]);
      if (status === 0) expect([host, h.host, h.authority]).toEqual([host, want, host]);
    }
    // an absolute-form target's authority wins, cached Host or not
    const { status, h } = parse("GET http://Other.example:81/x HTTP/1.1\r\nHost: example.com\r\n\r\n");
    expect(status).toBe(0);
    expect(h.host).toBe("other.example");
  });
});

describe("the last request-target is reused only for the same bytes", () => {
  test("a sequence of targets, repeated, in every form: each parse as if alone", async () => {
    const { options } = await import("../../workers/context.ts");
    const seq: [string, string, number, string, string][] = [
      // method, target, status, path, query
      ["GET", "/", 0, "/", ""],
      ["GET", "/", 0, "/", ""],
      ["POST", "/", 0, "/", ""],
      ["GET", "/a/../b?x=1", 0, "/b", "x=1"],
      ["GET", "/a/../b?x=1", 0, "/b", "x=1"],
      ["GET", "/a/../b?x=2", 0, "/b", "x=2"],
      ["GET", "/%2e%2e/c", 0, "/c", ""],
      ["GET", "/%2e%2e/c", 0, "/c", ""],
      ["GET", "/bad%00", 400, "", ""],
      ["GET", "/bad%00", 400, "", ""],
      ["GET", "/frag#x", 0, "/frag", ""], // the fragment dropped, as Istio's Envoy strips it
      ["GET", "/frag?q=1#x?y", 0, "/frag", "q=1"],
      ["GET", "/frag/..#/../x", 0, "/", ""],
      ["OPTIONS", "*", 0, "*", ""],
      ["GET", "*", 400, "", ""],
      ["GET", "http://h.example/abs?q", 0, "/abs", "q"],
      ["GET", "http://h.example/abs?q", 0, "/abs", "q"],
      ["GET", "/abs?q", 0, "/abs", "q"],
      ["GET", "/" + "p".repeat(300), 0, "/" + "p".repeat(300), ""], // longer than the cache
      ["GET", "/" + "p".repeat(300), 0, "/" + "p".repeat(300), ""],
      ["GET", "/", 0, "/", ""],
    ];
    for (const [method, target, status, path, query] of seq) {
      const { status: s, h } = parse(`${method} ${target} HTTP/1.1\r\nHost: example.com\r\n\r\n`);
      expect([target, s]).toEqual([target, status]);
      expect(h.target).toBe(target);
      if (status === 0) expect([target, h.path, h.query]).toEqual([target, path, query]);
    }
    // the same bytes under another path normalization are normalized again
    const was = options.pathNormalization;
    try {
      expect(parse("GET /a//b HTTP/1.1\r\nHost: x\r\n\r\n").h.path).toBe("/a//b");
      options.pathNormalization = "MERGE_SLASHES";
      expect(parse("GET /a//b HTTP/1.1\r\nHost: x\r\n\r\n").h.path).toBe("/a/b");
    } finally {
      options.pathNormalization = was;
    }
    expect(parse("GET /a//b HTTP/1.1\r\nHost: x\r\n\r\n").h.path).toBe("/a//b");
  });
});

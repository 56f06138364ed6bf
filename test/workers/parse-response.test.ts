// The response-head parser and the chunked scanner: good and hostile inputs.
import { describe, expect, test } from "bun:test";
import { CHUNKED_BAD, CHUNKED_MORE, ChunkedScanner } from "../../workers/http/chunked.ts";
import {
  bodiless,
  fieldCount,
  fieldKinds,
  fieldNameEnds,
  fieldStarts,
  K_DROP,
  K_LENGTH,
  K_PASS,
  K_UPGRADE,
  MAX_RESPONSE_HEAD,
  parseResponseHead,
  parseResponseHeadAt,
  ResponseHead,
  statusLineCannotBe,
  headCannotBe,
} from "../../workers/http/parse-response.ts";
import { findHeadBytes } from "../../workers/http/fields.ts";

function parse(raw: string): ResponseHead | null {
  const h = new ResponseHead();
  const b = Buffer.from(raw, "latin1");
  return parseResponseHead(b, 0, b.length, h) ? h : null;
}

describe("a ResponseHead read into again (an exchange keeps one, reset per head)", () => {
  test("reset gives every field a new head's; a head parsed into it then equals one parsed into a new head", () => {
    const h = new ResponseHead() as unknown as Record<string, unknown>;
    for (const k of Object.keys(h)) h[k] = { dirty: k };
    const r = (h as unknown as ResponseHead).reset();
    const fresh = new ResponseHead() as unknown as Record<string, unknown>;
    expect(Object.keys(h).sort()).toEqual(Object.keys(fresh).sort());
    for (const k of Object.keys(fresh)) expect([k, h[k]]).toEqual([k, fresh[k]]);
    const heads = [
      "HTTP/1.0 204 No Content\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
      "HTTP/1.1 200\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
      "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    for (const raw of [...heads, ...heads.reverse()]) {
      const b = Buffer.from(raw, "latin1");
      expect(parseResponseHead(b, 0, b.length, r.reset())).toBe(true);
      expect({ ...r }).toEqual({ ...parse(raw)! });
    }
  });
});

describe("parseResponseHead", () => {
  test("a normal response: framing read, field lines located and classified", () => {
    const raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nServer: x\r\nKeep-Alive: 5\r\nUPGRADE: h2c\r\n\r\n";
    const h = parse(raw)!;
    expect(h.status).toBe(200);
    expect(h.hasReason).toBe(true);
    expect(h.contentLength).toBe(13);
    expect(h.close).toBe(false);
    expect(fieldCount).toBe(5);
    const names = Array.from({ length: fieldCount }, (_, k) => raw.slice(fieldStarts[k]!, fieldNameEnds[k]!));
    expect(names).toEqual(["Content-Type", "Content-Length", "Server", "Keep-Alive", "UPGRADE"]);
    expect(Array.from(fieldKinds.subarray(0, fieldCount))).toEqual([K_PASS, K_LENGTH, K_DROP, K_DROP, K_UPGRADE]);
    expect(raw.slice(fieldStarts[fieldCount]!)).toBe("\r\n");
  });
  test("no reason phrase, with and without the space", () => {
    expect(parse("HTTP/1.1 204 \r\n\r\n")!.status).toBe(204);
    expect(parse("HTTP/1.1 204\r\n\r\n")!.status).toBe(204);
  });
  test("HTTP/1.0 closes unless keep-alive", () => {
    expect(parse("HTTP/1.0 200 OK\r\n\r\n")!.close).toBe(true);
    expect(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n")!.close).toBe(false);
    expect(parse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")!.close).toBe(true);
  });
  test("HTTP/1.0 with Transfer-Encoding closes, keep-alive or not (RFC 9112 §6.1: faulty framing)", () => {
    expect(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n")!.close).toBe(true);
    expect(parse("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")!.close).toBe(true);
    expect(parse("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n")!.close).toBe(false);
  });
  test("chunked", () => expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")!.chunked).toBe(true));
  test("Connection values: close and keep-alive as tokens of a list, any case (table)", () => {
    // expected `close` for an HTTP/1.0 and an HTTP/1.1 response carrying `Connection: <value>`
    const table: [string, boolean, boolean][] = [
      ["keep-alive", false, false],
      ["Keep-Alive", false, false],
      ["KEEP-ALIVE", false, false],
      ["keep-alive  ", false, false],
      ["close", true, true],
      ["Close", true, true],
      ["CLOSE", true, true],
      ["keep-alive, close", true, true],
      ["close,keep-alive", true, true],
      ["upgrade, keep-alive", false, false],
      ["keep-alive, upgrade", false, false],
      ["upgrade", true, false],
      ["keep-alivex", true, false],
      ["xclose", true, false],
      ["keep_alive", true, false],
      ["clos", true, false],
      ["closed", true, false],
      ["keep-alivE\u00e9", true, false],
    ];
    for (const [v, close10, close11] of table) {
      expect([v, parse(`HTTP/1.0 200 OK\r\nConnection: ${v}\r\n\r\n`)!.close]).toEqual([v, close10]);
      expect([v, parse(`HTTP/1.1 200 OK\r\nConnection: ${v}\r\n\r\n`)!.close]).toEqual([v, close11]);
    }
  });

  const bad: [string, string][] = [
    ["garbage", "hello world\r\n\r\n"],
    ["HTTP/2", "HTTP/2 200 OK\r\n\r\n"],
    ["two-digit status", "HTTP/1.1 20 OK\r\n\r\n"],
    ["status 600", "HTTP/1.1 600 X\r\n\r\n"],
    ["CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"],
    ["CL 2^53 (would round in a double)", "HTTP/1.1 200 OK\r\nContent-Length: 9007199254740992\r\n\r\n"],
    ["CL past 2^64 (would wrap a uint64)", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551621\r\n\r\n"],
    ["signed CL", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n"],
    ["TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"],
    ["space before colon", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n"],
    ["bare LF", "HTTP/1.1 200 OK\nX: a\r\n\r\n"],
    ["control character in reason", "HTTP/1.1 200 O\u0001K\r\n\r\n"],
    ["truncated", "HTTP/1.1 200\r\n"],
  ];
  for (const [name, raw] of bad) test(`rejects ${name}`, () => expect(parse(raw)).toBeNull());

  test("a CL with leading zeros past 15 digits is its value (Envoy's codec reads it so); 2^53 - 1 is exact", () => {
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000005\r\n\r\n")!.contentLength).toBe(5);
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 9007199254740991\r\n\r\n")!.contentLength).toBe(9007199254740991);
  });

  test("parseResponseHeadAt (the end found while parsing) = findHeadBytes then parseResponseHead, for whole, cut and malformed heads", () => {
    const heads = [
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 07:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\n",
      "HTTP/1.1 204 \r\n\r\n",
      "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A:  b \t\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
      ...bad.map(([, raw]) => raw),
      "HTTP/1.1 200 OK\r\nX: a\r\n\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\r\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r",
    ];
    const after = ["", "Hello, World!", "\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"];
    const state = (h: ResponseHead, end: number) => [end, { ...h }, fieldCount, Array.from(fieldStarts.subarray(0, fieldCount + 1)), Array.from(fieldNameEnds.subarray(0, fieldCount)), Array.from(fieldKinds.subarray(0, fieldCount))];
    let whole = 0;
    for (const head of heads) {
      for (const tail of after) {
        const all = "xx" + head + tail;
        for (let cut = 2; cut <= all.length; cut++) {
          const b = Buffer.from(all.slice(0, cut), "latin1");
          const end = findHeadBytes(b, 2, MAX_RESPONSE_HEAD);
          const h = new ResponseHead();
          const want = end >= 0 && parseResponseHead(b, 2, end, h) ? state(h, end) : null;
          const g = new ResponseHead();
          const at = parseResponseHeadAt(b, 2, g);
          expect([all.slice(0, cut), at < 0 ? null : state(g, at)]).toEqual([all.slice(0, cut), want]);
          if (want !== null) whole++;
        }
      }
    }
    expect(whole).toBeGreaterThan(100);
  });

  test("bodiless statuses and HEAD", () => {
    expect(bodiless(204, "GET")).toBe(true);
    expect(bodiless(304, "GET")).toBe(true);
    expect(bodiless(200, "HEAD")).toBe(true);
    expect(bodiless(200, "GET")).toBe(false);
  });
});

describe("statusLineCannotBe (the first bytes of a head not yet whole)", () => {
  test("every prefix of a status line the parser takes can still be one; the bytes that break it are found at once", () => {
    for (const line of ["HTTP/1.1 200 OK\r\n", "HTTP/1.0 404 Not Found\r\n", "HTTP/1.1 599\r\n", "HTTP/1.1 100 \r\n"]) {
      const b = Buffer.from(line, "latin1");
      for (let n = 0; n <= b.length; n++) expect([line, n, statusLineCannotBe(b, n)]).toEqual([line, n, false]);
      expect(parseResponseHead(Buffer.from(line + "\r\n", "latin1"), 0, line.length + 2, new ResponseHead())).toBe(true);
    }
    const bad: [string, number][] = [
      ["hello", 1], ["h", 1], ["\r\nHTTP/1.1 200 OK", 1], ["HTTP/2.0 200", 6], ["HTTP/1.2 200", 8], ["HTTP/1.1  200", 10],
      ["HTTP/1.1 000", 10], ["HTTP/1.1 099", 10], ["HTTP/1.1 600", 10], ["HTTP/1.1 20x", 12], ["HTTP/1.1 1000", 13],
      ["HTTP/1.1 200\tOK", 13], ["HTTP/1.1 200\n", 13], ["ICY 200 OK", 1],
    ];
    for (const [text, n] of bad) {
      const b = Buffer.from(text, "latin1");
      // refused from its n-th byte on, and not before
      expect([text, statusLineCannotBe(b, n - 1), statusLineCannotBe(b, n), statusLineCannotBe(b, b.length)]).toEqual([text, false, true, true]);
    }
  });
});

describe("headCannotBe (a head not yet whole, read in pieces)", () => {
  const good = ["HTTP/1.1 200 OK\r\nx-a: a\tb\xe9\r\ncontent-length: 2\r\n", "HTTP/1.0 204\r\nx: \r\n"];
  const bad = ["HTTP/1.1 200 OK\r\nx: a\x00b", "HTTP/1.1 200 OK\r\nx: a\rb", "HTTP/1.1 200 OK\nx: b", "HTTP/1.1 200 OK\r\nx: a\r\n b", "HTTP/1.1 200 OK\r\nx: a\x7f", "HTTP/1.1 200 OK\r\n\tx: a", "hello"];
  test("the same answer whatever the pieces: each byte looked at once, a CR or LF cut from its pair judged when the pair comes", () => {
    for (const text of [...good, ...bad]) {
      const b = Buffer.from(text, "latin1");
      const whole = headCannotBe(b, 0, b.length);
      expect([text, whole]).toEqual([text, bad.includes(text)]);
      for (let cut = 1; cut < b.length; cut++) {
        // the first piece alone (may not know yet), then the rest looked at from the cut
        const first = headCannotBe(b, 0, cut);
        expect([text, cut, first || headCannotBe(b, cut, b.length)]).toEqual([text, cut, whole]);
        if (!whole) expect(first).toBe(false);
      }
    }
  });
});

describe("ChunkedScanner", () => {
  function scanAll(parts: string[]): { end: number; data: string } {
    const s = new ChunkedScanner();
    let data = "";
    const sink = (b: Buffer, st: number, e: number) => (data += b.toString("latin1", st, e));
    for (let i = 0; i < parts.length; i++) {
      const buf = Buffer.from(parts[i]!, "latin1");
      const r = s.scan(buf, 0, buf.length, sink);
      if (r !== CHUNKED_MORE) return { end: i === parts.length - 1 ? r : CHUNKED_BAD - 100, data };
    }
    return { end: CHUNKED_MORE, data };
  }

  test("ends exactly after the last chunk and trailers, byte by byte too", () => {
    const body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
    expect(scanAll([body + "NEXT"])).toEqual({ end: body.length, data: "hello world" });
    const bytes = body.split("");
    const s = new ChunkedScanner();
    let end = -1;
    for (let i = 0; i < bytes.length; i++) {
      const r = s.scan(Buffer.from(bytes[i]!), 0, 1, null);
      if (i < bytes.length - 1) expect(r).toBe(CHUNKED_MORE);
      else end = r;
    }
    expect(end).toBe(1);
  });
  test("a size with leading zeros past 13 digits is its value (Envoy, nginx); 13 significant digits still pass, 14 do not", () => {
    const body = "0000000000000000000005\r\nhello\r\n00000000000000000000\r\n\r\n";
    expect(scanAll([body])).toEqual({ end: body.length, data: "hello" });
    expect(scanAll(["000fffffffffffff\r\n"]).end).toBe(CHUNKED_MORE);
    expect(scanAll(["00010000000000000\r\n"]).end).toBe(CHUNKED_BAD);
  });
  test("leading zeros count as extension bytes: a size line of 20 000 zeros is refused, not read for ever", () => {
    expect(scanAll(["0".repeat(20_000)]).end).toBe(CHUNKED_BAD);
  });
  test("upper-case hex and large chunks", () => {
    const data = "x".repeat(0x1a2b);
    expect(scanAll(["1A2B\r\n" + data + "\r\n0\r\n\r\n"]).data.length).toBe(0x1a2b);
  });
  const bad: [string, string][] = [
    ["no digits", "\r\nabc\r\n0\r\n\r\n"],
    ["space after size", "5 \r\nhello\r\n0\r\n\r\n"],
    ["negative size", "-5\r\nhello\r\n0\r\n\r\n"],
    ["bare LF after size", "5\nhello\r\n0\r\n\r\n"],
    ["missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n"],
    ["overlong size", "10000000000000000\r\n"],
    ["obs-fold trailer", "0\r\nX: a\r\n b\r\n\r\n"],
    ["control char in extension", "5;\u0001\r\nhello\r\n0\r\n\r\n"],
  ];
  for (const [name, raw] of bad) test(`rejects ${name}`, () => expect(scanAll([raw]).end).toBe(CHUNKED_BAD));
});

// Request framing and Host on a real socket, beside Envoy's http1 codec and nginx 1.22
// (probed side by side, notes/hostile7.md): a Content-Length is its decimal value whatever
// its leading zeros (it was 400 past 15 digits) and goes upstream as its plain number; one
// above 2^53 - 1 is 400, never wrapped or rounded; the smuggling shapes (CL with TE, two
// different lengths, a signed, spaced or hex length) are 400 and close the connection, and
// the request hidden in their body never reaches the upstream. An absolute-form target
// routes by its own authority, and a Host field beside it must still be a valid one (400,
// as nginx and RFC 9112 §3.2; Envoy's codec overwrites it unread).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { WorkerHarness } from "../harness.ts";
import { exchange as exchangeOn } from "./raw-exchange.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";

/** Every request the upstream got (head, CRLFCRLF, body), in order. */
const heads: string[] = [];
/** The upstream: reads each request by its content-length (the gateway sends no other framing here) and echoes its head. */
const up = Bun.listen<{ buf: string }>({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open: (s) => void (s.data = { buf: "" }),
    data(s, d) {
      s.data.buf += d.toString("latin1");
      for (;;) {
        const b = s.data.buf;
        const he = b.indexOf("\r\n\r\n");
        if (he < 0) return;
        const cl = /\r\ncontent-length: (\d+)/i.exec(b.slice(0, he));
        const end = he + 4 + (cl === null ? 0 : Number(cl[1]));
        if (b.length < end) return;
        heads.push(b.slice(0, end));
        s.data.buf = b.slice(end);
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${he}\r\n\r\n${b.slice(0, he)}`);
      }
    },
  },
});

let w: WorkerHarness;
let port = 0;
beforeAll(async () => {
  w = new WorkerHarness({ streamIdleTimeoutMs: 5000 });
  port = freePort();
  const r = { name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) };
  await w.apply(snapshot([listener(port, [virtualHost(["a", "b.example"], [r])])], [cluster("up", [["127.0.0.1", up.port]])]));
});
afterAll(() => {
  w.stop();
  up.stop(true);
});

const exchange = (send: string, n: number) => exchangeOn(port, send, n);

const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
const post = (fields: string, body: string) => `POST /p HTTP/1.1\r\nHost: a\r\n${fields}\r\n${body}`;

describe("Content-Length", () => {
  test("19 digits with leading zeros: the body is 5 bytes, the upstream gets `content-length: 5`, the connection goes on", async () => {
    const before = heads.length;
    const r = await exchange(post("Content-Length: 0000000000000000005\r\n", "hello") + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n", 2);
    expect(r.statuses).toEqual([200, 200]);
    expect(r.closed).toBe(false);
    expect(heads.length).toBe(before + 2);
    expect(heads[before]).toContain("\r\ncontent-length: 5");
    expect(heads[before]).not.toMatch(/content-length: 0/i);
    expect(heads[before]).toEndWith("\r\n\r\nhello");
    expect(heads[before + 1]).toStartWith("GET /next ");
  });

  test.each([
    ["2^53 (a double would round it)", "9007199254740992"],
    ["2^64 + 5 (a uint64 would wrap it to 5)", "18446744073709551621"],
    ["40 digits", "9".repeat(40)],
  ])("%s → 400, closed, nothing forwarded", async (_name, value) => {
    const before = heads.length;
    const r = await exchange(post(`Content-Length: ${value}\r\n`, "hello") + SMUGGLED, 1);
    expect(r.statuses).toEqual([400]);
    expect(r.closed).toBe(true);
    expect(heads.length).toBe(before);
  });
});

describe("request smuggling shapes: 400 and closed, the request in the body never reaches the upstream", () => {
  const chunkedSmuggle = "0\r\n\r\n" + SMUGGLED;
  test.each([
    ["CL then TE", post("Content-Length: 44\r\nTransfer-Encoding: chunked\r\n", chunkedSmuggle)],
    ["TE then CL", post("Transfer-Encoding: chunked\r\nContent-Length: 44\r\n", chunkedSmuggle)],
    ["CL 0 with TE", post("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", chunkedSmuggle)],
    ["two different lengths", post("Content-Length: 0\r\nContent-Length: 39\r\n", SMUGGLED)],
    ["a list of different lengths", post("Content-Length: 0, 39\r\n", SMUGGLED)],
    ["a signed length", post("Content-Length: +0\r\n", SMUGGLED)],
    ["a negative length", post("Content-Length: -1\r\n", SMUGGLED)],
    ["a length with a space inside", post("Content-Length: 3 9\r\n", SMUGGLED)],
    ["a hex length", post("Content-Length: 0x0\r\n", SMUGGLED)],
    ["an empty length", post("Content-Length: \r\n", SMUGGLED)],
    ["TE chunked from HTTP/1.0", "POST /p HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedSmuggle],
    ["TE `chunked, identity`", post("Transfer-Encoding: chunked, identity\r\n", chunkedSmuggle)],
    ["TE with a space before the colon", post("Transfer-Encoding : chunked\r\n", chunkedSmuggle)],
  ])("%s", async (_name, send) => {
    const before = heads.length;
    const r = await exchange(send, 1);
    expect(r.statuses).toEqual([400]);
    expect(r.closed).toBe(true);
    expect(heads.length).toBe(before);
  });
});

describe("absolute-form and Host", () => {
  test.each([
    ["a space", "a b"],
    ["`<`", "a<b"],
    ["userinfo", "u@a"],
    ["two ports", "a:80:90"],
  ])("a Host with %s beside an absolute-form target → 400, closed, not forwarded (it was served by the target's authority)", async (_name, host) => {
    const before = heads.length;
    const r = await exchange(`GET http://b.example/p HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 1);
    expect(r.statuses).toEqual([400]);
    expect(r.closed).toBe(true);
    expect(heads.length).toBe(before);
  });

  test("a valid Host that differs from the target's authority: routed by the target, the upstream's Host is the target's", async () => {
    const before = heads.length;
    const r = await exchange("GET http://b.example/p HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n", 1);
    expect(r.statuses).toEqual([200]);
    expect(heads[before]).toContain("\r\nhost: b.example");
    expect(heads[before]).not.toContain("elsewhere");
  });

  test("an empty Host beside an absolute-form target is served by the target's authority", async () => {
    const before = heads.length;
    const r = await exchange("GET http://b.example/p HTTP/1.1\r\nHost: \r\n\r\n", 1);
    expect(r.statuses).toEqual([200]);
    expect(heads[before]).toContain("\r\nhost: b.example");
  });
});

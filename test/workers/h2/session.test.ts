// gangway's own HTTP/2 codec (workers/http/h2/session.ts) on a real worker
// over loopback, driven with raw frames: each protocol error RFC 9113 names
// gets its connection error (GOAWAY with the code, then close) or its stream
// error (RST_STREAM, the connection goes on); SETTINGS, PING, PRIORITY,
// padding, CONTINUATION and unknown frames are taken; flow control holds
// DATA to the client's windows; rapid reset and CONTINUATION floods end the
// connection.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import * as net from "node:net";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, PREFACE, RST_STREAM, SETTINGS, WINDOW_UPDATE, block, frame, request, rst } from "../edge/h2-raw.ts";
import { RawH2, settings, u32 } from "./raw-client.ts";
import { ENDLESS, h2TestUpstream } from "./test-upstream.ts";

const NO_ERROR = 0, PROTOCOL_ERROR = 1, FLOW_CONTROL_ERROR = 3, STREAM_CLOSED = 5, FRAME_SIZE_ERROR = 6, REFUSED_STREAM = 7, COMPRESSION_ERROR = 9, ENHANCE_YOUR_CALM = 11;
const PRIORITY = 2, PUSH_PROMISE = 5;
const BIG = 200_000;

const up = h2TestUpstream();
/** An upstream that takes connections and never reads them. */
const deaf = net.createServer((sock) => sock.pause());
let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness({ streamIdleTimeoutMs: 60_000 });
  port = freePort();
  await new Promise<void>((r) => deaf.listen(0, "127.0.0.1", r));
  const deafPort = (deaf.address() as net.AddressInfo).port;
  const routes = [
    { name: "deaf", match: [uriMatch(prefix("/deaf"))], action: forward([dest("deaf")]) },
    { name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) },
  ];
  await w.apply(snapshot([listener(port, [virtualHost(["x"], routes)])], [cluster("up", [["127.0.0.1", up.port]]), cluster("deaf", [["127.0.0.1", deafPort]])]));
});
afterAll(() => {
  w.stop();
  up.stop();
  deaf.close();
});

const post = (id: number, path: string, end = false) => request(id, path, [], "POST", end);

/** Send `frames` after the preface and SETTINGS; expect GOAWAY(code) and the connection closed. */
async function connectionError(code: number, ...frames: Buffer[]): Promise<void> {
  const c = await RawH2.open(port);
  c.send(...frames);
  expect(await c.until(() => c.closed)).toBe(true);
  expect(c.goaway).toBe(code);
}

/** Send `frames`, then a GET on `next`; expect stream `id` reset with `code` and `next` served. */
async function streamError(id: number, code: number, next: number, ...frames: Buffer[]): Promise<RawH2> {
  const c = await RawH2.open(port);
  c.send(...frames, request(next));
  expect(await c.until(() => c.over(id) && c.over(next))).toBe(true);
  expect(c.stream(id).rst).toBe(code);
  expect(c.status(next)).toBe(200);
  expect(c.closed).toBe(false);
  c.close();
  return c;
}

describe("the connection's start", () => {
  test("our SETTINGS come first and announce the limits; the connection window is opened past 64 KiB", async () => {
    const c = await RawH2.open(port);
    expect(await c.until(() => c.frames.length >= 2)).toBe(true);
    const s = c.frames[0]!;
    expect(s.type).toBe(SETTINGS);
    const got = new Map<number, number>();
    for (let i = 0; i < s.payload.length; i += 6) got.set(s.payload.readUInt16BE(i), s.payload.readUInt32BE(i + 2));
    expect(got.get(3)).toBe(128);
    expect(got.get(6)).toBe(65536);
    expect(got.get(2)).toBe(0);
    expect(got.get(4)!).toBeGreaterThanOrEqual(1 << 20);
    expect(c.frames[1]!.type).toBe(WINDOW_UPDATE);
    expect(c.frames[1]!.id).toBe(0);
    expect(await c.until(() => c.frames.some((f) => f.type === SETTINGS && f.flags === 1))).toBe(true); // our ACK of theirs
    c.close();
  });

  test("a wrong preface: GOAWAY PROTOCOL_ERROR", async () => {
    const c = await RawH2.open(port, true);
    c.send(Buffer.from("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", "latin1"));
    expect(await c.until(() => c.closed)).toBe(true);
    expect(c.goaway).toBe(PROTOCOL_ERROR);
  });

  test("the preface split across writes is still the preface", async () => {
    const c = await RawH2.open(port, true);
    const p = Buffer.from(PREFACE, "latin1");
    c.send(p.subarray(0, 20));
    await Bun.sleep(20);
    c.send(p.subarray(20), frame(SETTINGS, 0, 0), request(1));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.status(1)).toBe(200);
    c.close();
  });
});

describe("connection errors", () => {
  test.each([
    ["SETTINGS whose length is not a multiple of 6", FRAME_SIZE_ERROR, [frame(SETTINGS, 0, 0, Buffer.alloc(7))]],
    ["SETTINGS ENABLE_PUSH 2", PROTOCOL_ERROR, [frame(SETTINGS, 0, 0, settings([[2, 2]]))]],
    ["SETTINGS INITIAL_WINDOW_SIZE 2^31", FLOW_CONTROL_ERROR, [frame(SETTINGS, 0, 0, settings([[4, 0x80000000]]))]],
    ["SETTINGS MAX_FRAME_SIZE 100", PROTOCOL_ERROR, [frame(SETTINGS, 0, 0, settings([[5, 100]]))]],
    ["SETTINGS on a stream", PROTOCOL_ERROR, [frame(SETTINGS, 0, 1)]],
    ["a SETTINGS ACK with a payload", FRAME_SIZE_ERROR, [frame(SETTINGS, 1, 0, settings([[3, 1]]))]],
    ["PING of 7 bytes", FRAME_SIZE_ERROR, [frame(PING, 0, 0, Buffer.alloc(7))]],
    ["PING on a stream", PROTOCOL_ERROR, [frame(PING, 0, 1, Buffer.alloc(8))]],
    ["WINDOW_UPDATE of 0 on the connection", PROTOCOL_ERROR, [frame(WINDOW_UPDATE, 0, 0, u32(0))]],
    ["WINDOW_UPDATE past 2^31-1 on the connection", FLOW_CONTROL_ERROR, [frame(WINDOW_UPDATE, 0, 0, u32(0x7fffffff))]],
    ["WINDOW_UPDATE of 3 bytes", FRAME_SIZE_ERROR, [frame(WINDOW_UPDATE, 0, 0, Buffer.alloc(3))]],
    ["WINDOW_UPDATE on an idle stream", PROTOCOL_ERROR, [frame(WINDOW_UPDATE, 0, 5, u32(10))]],
    ["RST_STREAM on an idle stream", PROTOCOL_ERROR, [rst(5)]],
    ["RST_STREAM of 3 bytes", FRAME_SIZE_ERROR, [request(1, "/silent", [], "GET", false), frame(RST_STREAM, 0, 1, Buffer.alloc(3))]],
    ["RST_STREAM on stream 0", PROTOCOL_ERROR, [frame(RST_STREAM, 0, 0, u32(8))]],
    ["DATA on stream 0", PROTOCOL_ERROR, [frame(DATA, 0, 0, Buffer.from("x"))]],
    ["DATA on an idle stream", PROTOCOL_ERROR, [frame(DATA, 0, 7, Buffer.from("x"))]],
    ["HEADERS on stream 0", PROTOCOL_ERROR, [frame(HEADERS, END_HEADERS | END_STREAM, 0, block([[":method", "GET"]]))]],
    ["HEADERS on an even stream", PROTOCOL_ERROR, [request(2)]],
    ["a stream id lower than one already opened", PROTOCOL_ERROR, [request(5), request(3)]],
    ["a frame over our MAX_FRAME_SIZE", FRAME_SIZE_ERROR, [frame(DATA, 0, 1, Buffer.alloc(16385))]],
    ["PUSH_PROMISE from a client", PROTOCOL_ERROR, [frame(PUSH_PROMISE, END_HEADERS, 0, Buffer.alloc(4))]],
    ["CONTINUATION without HEADERS", PROTOCOL_ERROR, [frame(CONTINUATION, END_HEADERS, 1, block([["a", "b"]]))]],
    ["another frame between HEADERS and CONTINUATION", PROTOCOL_ERROR, [frame(HEADERS, 0, 1, block([[":method", "GET"]])), frame(PING, 0, 0, Buffer.alloc(8))]],
    ["CONTINUATION on another stream", PROTOCOL_ERROR, [frame(HEADERS, 0, 1, block([[":method", "GET"]])), frame(CONTINUATION, END_HEADERS, 3, block([["a", "b"]]))]],
    ["padding longer than the frame", PROTOCOL_ERROR, [frame(HEADERS, END_HEADERS | 0x8, 1, Buffer.from([200, 0, 0]))]],
    ["a malformed header block (index 0)", COMPRESSION_ERROR, [frame(HEADERS, END_HEADERS | END_STREAM, 1, Buffer.from([0x80]))]],
  ] as [string, number, Buffer[]][])("%s", async (_name, code, frames) => {
    await connectionError(code, ...frames);
  });

  test("DATA on a stream closed both ways: GOAWAY STREAM_CLOSED", async () => {
    const c = await RawH2.open(port);
    c.send(request(1));
    expect(await c.until(() => c.over(1))).toBe(true);
    c.send(frame(DATA, 0, 1, Buffer.from("x")));
    expect(await c.until(() => c.closed)).toBe(true);
    expect(c.goaway).toBe(STREAM_CLOSED);
  });

  test("a CONTINUATION flood: GOAWAY ENHANCE_YOUR_CALM", async () => {
    const frames = [frame(HEADERS, 0, 1, block([[":method", "GET"]]))];
    for (let i = 0; i < 200; i++) frames.push(frame(CONTINUATION, 0, 1, Buffer.alloc(1000, 0x20)));
    await connectionError(ENHANCE_YOUR_CALM, ...frames);
  });

  test("rapid reset (streams opened and reset at once, CVE-2023-44487): GOAWAY ENHANCE_YOUR_CALM", async () => {
    const frames: Buffer[] = [];
    for (let id = 1; id < 800; id += 2) frames.push(post(id, "/silent"), rst(id));
    await connectionError(ENHANCE_YOUR_CALM, ...frames);
  });
});

describe("stream errors reset one stream", () => {
  test("trailers without END_STREAM: PROTOCOL_ERROR", async () => {
    await streamError(1, PROTOCOL_ERROR, 3, post(1, "/silent"), frame(HEADERS, END_HEADERS, 1, block([["x-t", "1"]])));
  });

  test("a pseudo-header in trailers: PROTOCOL_ERROR", async () => {
    await streamError(1, PROTOCOL_ERROR, 3, post(1, "/silent"), frame(HEADERS, END_HEADERS | END_STREAM, 1, block([[":path", "/"]])));
  });

  test("DATA after the client's END_STREAM, the response still coming: STREAM_CLOSED", async () => {
    await streamError(1, STREAM_CLOSED, 3, request(1, "/silent"), frame(DATA, 0, 1, Buffer.from("x")));
  });

  test("WINDOW_UPDATE of 0 on a stream: PROTOCOL_ERROR", async () => {
    await streamError(1, PROTOCOL_ERROR, 3, post(1, "/silent"), frame(WINDOW_UPDATE, 0, 1, u32(0)));
  });

  test("WINDOW_UPDATE past 2^31-1 on a stream: FLOW_CONTROL_ERROR", async () => {
    await streamError(1, FLOW_CONTROL_ERROR, 3, post(1, "/silent"), frame(WINDOW_UPDATE, 0, 1, u32(0x7fffffff)));
  });

  test("HEADERS depending on its own stream: PROTOCOL_ERROR", async () => {
    const b = Buffer.concat([Buffer.from([0, 0, 0, 1, 16]), block([[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "x"]])]);
    await streamError(1, PROTOCOL_ERROR, 3, frame(HEADERS, END_HEADERS | END_STREAM | 0x20, 1, b));
  });

  test("frames for a stream we reset are dropped, not errors", async () => {
    // stream 1 is reset (malformed); its DATA and trailers, already on the way, must not end the connection
    const bad = frame(HEADERS, END_HEADERS, 1, block([[":method", "POST"], [":path", "/"], [":authority", "x"]]));
    await streamError(1, PROTOCOL_ERROR, 3, bad, frame(DATA, 0, 1, Buffer.from("abc")), frame(HEADERS, END_HEADERS | END_STREAM, 1, block([["x-t", "1"]])));
  });

  test("streams past MAX_CONCURRENT_STREAMS: REFUSED_STREAM, then served again once others end", async () => {
    const c = await RawH2.open(port);
    const ids = Array.from({ length: 130 }, (_, i) => 1 + 2 * i);
    c.send(...ids.map((id) => post(id, "/silent")));
    expect(await c.until(() => c.over(257) && c.over(259))).toBe(true);
    expect(c.stream(257).rst).toBe(REFUSED_STREAM);
    c.send(rst(1), request(261));
    expect(await c.until(() => c.over(261))).toBe(true);
    expect(c.status(261)).toBe(200);
    c.close();
  });
});

describe("frames that are taken", () => {
  test("PING is answered with an ACK carrying its 8 bytes", async () => {
    const c = await RawH2.open(port);
    c.send(frame(PING, 0, 0, Buffer.from("12345678")));
    expect(await c.until(() => c.frames.some((f) => f.type === PING))).toBe(true);
    const p = c.frames.find((f) => f.type === PING)!;
    expect(p.flags).toBe(1);
    expect(p.payload.toString()).toBe("12345678");
    c.close();
  });

  test("PRIORITY, unknown frame types, padding and HEADERS with priority: the request is served", async () => {
    const fields = block([[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "x"]]);
    const padded = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 16]), fields, Buffer.alloc(3)]);
    const c = await RawH2.open(port);
    c.send(frame(PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 16])), frame(0x20, 0xff, 0, Buffer.from("??")), frame(HEADERS, END_HEADERS | END_STREAM | 0x8 | 0x20, 1, padded));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.status(1)).toBe(200);
    expect(c.body(1)).toBe("ok");
    c.close();
  });

  test("a header block split over HEADERS and CONTINUATION frames", async () => {
    const b = block([[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "x"], ["x-long", "v".repeat(3000)]]);
    const c = await RawH2.open(port);
    c.send(frame(HEADERS, END_STREAM, 1, b.subarray(0, 10)), frame(CONTINUATION, 0, 1, b.subarray(10, 1000)), frame(CONTINUATION, END_HEADERS, 1, b.subarray(1000)));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.status(1)).toBe(200);
    c.close();
  });

  test("padded DATA and request trailers: the body arrives without the padding", async () => {
    const c = await RawH2.open(port);
    const padded = Buffer.concat([Buffer.from([4]), Buffer.from("hello"), Buffer.alloc(4)]);
    c.send(post(1, "/echo"), frame(DATA, 0x8, 1, padded), frame(HEADERS, END_HEADERS | END_STREAM, 1, block([["x-t", "1"]])));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.status(1)).toBe(200);
    expect(c.body(1)).toBe("hello");
    c.close();
  });

  test("a header list past SETTINGS_MAX_HEADER_LIST_SIZE: 431, the connection goes on", async () => {
    const b = block([[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "x"], ["x-a", "a".repeat(15000)], ["x-b", "b".repeat(15000)], ["x-c", "c".repeat(15000)], ["x-d", "d".repeat(15000)], ["x-e", "e".repeat(15000)]]);
    const frames = [frame(HEADERS, END_STREAM, 1, b.subarray(0, 16000))];
    for (let o = 16000; o < b.length; o += 16000) frames.push(frame(CONTINUATION, o + 16000 >= b.length ? END_HEADERS : 0, 1, b.subarray(o, o + 16000)));
    const c = await RawH2.open(port);
    c.send(...frames, request(3));
    expect(await c.until(() => c.over(1) && c.over(3))).toBe(true);
    expect(c.status(1)).toBe(431);
    expect(c.status(3)).toBe(200);
    c.close();
  });
});

describe("flow control", () => {
  test("DATA out stops at the client's stream window and goes on with each WINDOW_UPDATE", async () => {
    const c = await RawH2.open(port, true);
    // a 1000-byte stream window; the connection window is the default 65535
    c.send(Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0, settings([[4, 1000]])), request(1, `/bytes/${BIG}`));
    expect(await c.until(() => c.body(1).length === 1000)).toBe(true);
    await Bun.sleep(100);
    expect(c.body(1).length).toBe(1000);
    c.send(frame(WINDOW_UPDATE, 0, 1, u32(500)));
    expect(await c.until(() => c.body(1).length === 1500)).toBe(true);
    // a SETTINGS raising the initial window applies to the open stream (the delta, §6.9.2)
    c.send(frame(SETTINGS, 0, 0, settings([[4, 1000 + 20000]])));
    expect(await c.until(() => c.body(1).length === 21500)).toBe(true);
    // then the connection window (65535) is what holds it
    c.send(frame(WINDOW_UPDATE, 0, 1, u32(1 << 20)));
    expect(await c.until(() => c.body(1).length === 65535)).toBe(true);
    c.send(frame(WINDOW_UPDATE, 0, 0, u32(1 << 20)));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.body(1).length).toBe(BIG);
    expect(c.stream(1).ended).toBe(true);
    c.close();
  });

  test("a client that opens no window: the upstream is held back (bounded), and goes on once the client reads", async () => {
    const c = await RawH2.open(port);
    c.send(request(1, "/endless"));
    expect(await c.until(() => c.body(1).length === 65535)).toBe(true);
    await Bun.sleep(1000);
    // without the pause the gateway would read the upstream as fast as loopback goes (all 24 MB in well under a second)
    expect(up.produced()).toBeLessThan(16 * 1024 * 1024);
    c.send(frame(WINDOW_UPDATE, 0, 0, u32(1 << 30)), frame(WINDOW_UPDATE, 0, 1, u32(1 << 30)));
    expect(await c.until(() => c.over(1), 20_000)).toBe(true);
    expect(c.body(1).length).toBe(ENDLESS);
    c.close();
  }, 30_000);

  test("an upload to an upstream that does not read: the stream's window is withheld, the client held back", async () => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    const req = s.request({ ":method": "POST", ":path": "/deaf", ":authority": "x" }, { endStream: false });
    req.on("error", () => {});
    const chunk = Buffer.alloc(64 * 1024, 0x75);
    let sent = 0;
    let stop = false;
    const pushMore = () => {
      while (!stop && req.write(chunk)) sent += chunk.length;
      if (!stop) sent += chunk.length;
    };
    req.on("drain", pushMore);
    pushMore();
    await Bun.sleep(1500);
    stop = true;
    // without the withheld WINDOW_UPDATEs the gateway would take the upload as fast as loopback goes
    expect(sent).toBeLessThan(48 * 1024 * 1024);
    expect(sent).toBeGreaterThan(1024 * 1024);
    req.close();
    s.destroy();
  });

  test("DATA frames are no larger than the client's MAX_FRAME_SIZE (16384 by default)", async () => {
    const c = await RawH2.open(port);
    c.send(frame(WINDOW_UPDATE, 0, 0, u32(1 << 20)), frame(SETTINGS, 0, 0, settings([[4, 1 << 20]])), request(1, `/bytes/${BIG}`));
    expect(await c.until(() => c.over(1))).toBe(true);
    const sizes = c.frames.filter((f) => f.type === DATA).map((f) => f.payload.length);
    expect(Math.max(...sizes)).toBe(16384);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(BIG);
    c.close();
  });

  test("an upload larger than the default 64 KiB window needs no WINDOW_UPDATE of ours first", async () => {
    const c = await RawH2.open(port);
    const body = Buffer.alloc(300_000, 0x61);
    const frames = [post(1, "/echo")];
    for (let o = 0; o < body.length; o += 16384) frames.push(frame(DATA, o + 16384 >= body.length ? END_STREAM : 0, 1, body.subarray(o, o + 16384)));
    c.send(frame(WINDOW_UPDATE, 0, 0, u32(1 << 20)), frame(SETTINGS, 0, 0, settings([[4, 1 << 20]])), ...frames);
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.status(1)).toBe(200);
    expect(c.body(1).length).toBe(body.length);
    c.close();
  });
});

describe("GOAWAY", () => {
  test("a client's RST_STREAM(NO_ERROR) after our early answer is not counted against it", async () => {
    const c = await RawH2.open(port);
    c.send(post(1, "/"), frame(DATA, 0, 1, Buffer.from("abc")));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.closed).toBe(false);
    expect([NO_ERROR, -1]).toContain(c.stream(1).rst);
    c.close();
  });

  test("a client's GOAWAY with no stream open closes the connection", async () => {
    const c = await RawH2.open(port);
    c.send(frame(GOAWAY, 0, 0, Buffer.alloc(8)));
    expect(await c.until(() => c.closed)).toBe(true);
  });
});

describe("drain", () => {
  test("the worker draining with a stream in flight: GOAWAY(NO_ERROR) naming it at once, then the stream is answered, then the connection closes", async () => {
    const w2 = new WorkerHarness();
    const port2 = freePort();
    await w2.apply(snapshot([listener(port2, [virtualHost(["x"], [{ name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) }])])], [cluster("up", [["127.0.0.1", up.port]])]));
    const c = await RawH2.open(port2);
    c.send(request(1, "/slow"));
    expect(await c.until(() => c.frames.some((f) => f.type === SETTINGS && f.flags === 1))).toBe(true);
    const drained = w2.drain(5000);
    expect(await c.until(() => c.closed)).toBe(true);
    expect(c.status(1)).toBe(200);
    expect(c.body(1)).toBe("slow");
    expect(c.goaway).toBe(NO_ERROR);
    expect(c.frames.find((f) => f.type === GOAWAY)!.payload.readUInt32BE(0)).toBe(1);
    // the GOAWAY came before the answer (/slow takes 300 ms), not once the connection was idle
    const goawayAt = c.frames.findIndex((f) => f.type === GOAWAY);
    const answerAt = c.frames.findIndex((f) => f.type === HEADERS && f.id === 1);
    expect(goawayAt).toBeLessThan(answerAt);
    await drained;
    w2.stop();
  });
});

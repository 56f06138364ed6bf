// An h2spec-style conformance sweep of gangway's own server codec
// (workers/http/h2/session.ts) on a real worker over loopback: the cases of
// h2spec's `http2`, `hpack` and `generic` groups (summerwind/h2spec, read for
// what each case sends and accepts; nothing copied), plus a few RFC 9113
// cases h2spec does not send. Each case is frames to send and the outcome
// h2spec accepts, checked no more loosely than h2spec does:
//   conn:   GOAWAY with one of the codes then close (or a close with no GOAWAY);
//   stream: RST_STREAM on that stream with one of the codes, or GOAWAY with one
//           of them (a stream error may be raised as a connection error), or a
//           close with no GOAWAY; a RST_STREAM or GOAWAY with another code fails;
//   response / data / ping / settingsAck: that frame arrives and no GOAWAY.
// H2CONF_PORT=<port> runs the same cases against another h2c server on
// loopback instead of a worker (it must answer / with "ok", /big with 100 kB
// and never answer /silent): how /work/notes/h2conf.md compared nginx.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, PREFACE, RST_STREAM, SETTINGS, WINDOW_UPDATE, block, frame, request } from "../edge/h2-raw.ts";
import { RawH2, settings, u32 } from "./raw-client.ts";

const PROTOCOL = 1, FLOW_CONTROL = 3, STREAM_CLOSED = 5, FRAME_SIZE = 6, REFUSED = 7, COMPRESSION = 9;
const PRIORITY = 2, PUSH_PROMISE = 5;
const PADDED = 0x8, PRIORITY_FLAG = 0x20, ACK = 0x1;
const S_HEADER_TABLE_SIZE = 1, S_ENABLE_PUSH = 2, S_INITIAL_WINDOW_SIZE = 4, S_MAX_FRAME_SIZE = 5;
const PING_DATA = Buffer.from("h2spec\0\0", "latin1");

const up = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/silent") return new Promise<Response>(() => {});
    if (path === "/big") return new Response("b".repeat(100_000));
    await req.arrayBuffer();
    return new Response("ok");
  },
});
let w: WorkerHarness | null = null;
let port = Number(process.env.H2CONF_PORT ?? 0);

beforeAll(async () => {
  if (port !== 0) return;
  w = new WorkerHarness({ streamIdleTimeoutMs: 60_000 });
  port = freePort();
  const routes = [{ name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) }];
  await w.apply(snapshot([listener(port, [virtualHost(["*"], routes)])], [cluster("up", [["127.0.0.1", up.port!]])]));
});
afterAll(() => {
  w?.stop();
  up.stop(true);
});

// --- frames ---

const COMMON: [string, string][] = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "x"]];
const POST: [string, string][] = [[":method", "POST"], [":scheme", "http"], [":path", "/"], [":authority", "x"]];
const hdrs = (id: number, flags: number, payload: Uint8Array) => frame(HEADERS, flags, id, payload);
const get = (id: number, path = "/") => request(id, path);
/** HEADERS of a POST without END_STREAM (a body follows). */
const open = (id: number, extra: [string, string][] = []) => hdrs(id, END_HEADERS, block([...POST, ...extra]));
const data = (id: number, body: string | Buffer, end = true) => frame(DATA, end ? END_STREAM : 0, id, typeof body === "string" ? Buffer.from(body) : body);
const win = (id: number, inc: number) => frame(WINDOW_UPDATE, 0, id, u32(inc));
const prio = (id: number, dep: number, weight = 15, exclusive = false) => frame(PRIORITY, 0, id, Buffer.from([...u32((exclusive ? 0x80000000 : 0) | dep), weight]));
const ping = (payload: Buffer = PING_DATA, flags = 0) => frame(PING, flags, 0, payload);
const set = (pairs: [number, number][]) => frame(SETTINGS, 0, 0, settings(pairs));
const rstf = (id: number, code: number) => frame(RST_STREAM, 0, id, u32(code));
const cont = (id: number, flags: number, payload: Uint8Array) => frame(CONTINUATION, flags, id, payload);
const hex = (s: string) => Buffer.from(s.replace(/\s/g, ""), "hex");
/** A frame whose header is given byte for byte (a reserved bit set, a length that lies). */
const raw = (s: string) => Buffer.from(s, "latin1");

// HPACK pieces (RFC 7541): a plain and a Huffman-coded string literal (the Huffman ones are RFC 7541 Appendix C.4's)
const str = (s: string) => [s.length, ...Buffer.from(s, "latin1")];
const HUF_AUTHORITY = [0x80 | 12, ...hex("f1e3c2e5f23a6ba0ab90f4ff")]; // "www.example.com"
const HUF_KEY = [0x80 | 8, ...hex("25a849e95ba97d7f")]; // "custom-key"
const HUF_VALUE = [0x80 | 9, ...hex("25a849e95bb8e8b4bf")]; // "custom-value"
/** :method GET, :scheme http, :path / from the static table (indexed, §6.1). */
const INDEXED = [0x82, 0x86, 0x84];
const hblock = (...parts: number[][]) => Buffer.from(parts.flat());
const hpackGet = (id: number, ...parts: number[][]) => hdrs(id, END_HEADERS | END_STREAM, hblock(...parts));

// --- outcomes ---

type Outcome =
  | { kind: "conn"; codes: number[] }
  | { kind: "goaway"; code: number }
  | { kind: "close" }
  | { kind: "stream"; id: number; codes: number[] }
  | { kind: "response"; id: number }
  | { kind: "status"; id: number; status: number }
  | { kind: "data"; id: number; len: number }
  | { kind: "ping" }
  | { kind: "pingOrClose" }
  | { kind: "settingsAck" };

const conn = (...codes: number[]): Outcome => ({ kind: "conn", codes });
const strm = (id: number, ...codes: number[]): Outcome => ({ kind: "stream", id, codes });
const response = (id = 1): Outcome => ({ kind: "response", id });
const dataOf = (id: number, len: number): Outcome => ({ kind: "data", id, len });
const PING_ACK: Outcome = { kind: "ping" };
const PING_OR_CLOSE: Outcome = { kind: "pingOrClose" };

interface Case {
  /** The h2spec case (group/section/number), or the RFC section for cases h2spec does not send. */
  id: string;
  name: string;
  /** Frames sent after the preface and an empty SETTINGS, or steps taking the client. */
  send: Buffer[] | ((c: RawH2) => Promise<void>);
  expect: Outcome;
  /** Open the connection sending nothing (the case sends the preface itself). */
  raw?: boolean;
}

const gotPingAck = (c: RawH2) => c.frames.some((f) => f.type === PING && (f.flags & ACK) !== 0 && f.payload.equals(PING_DATA));

async function check(c: RawH2, o: Outcome): Promise<void> {
  switch (o.kind) {
    case "conn":
      expect(await c.until(() => c.closed)).toBe(true);
      if (c.goaway >= 0) expect(o.codes).toContain(c.goaway);
      return;
    case "goaway":
      expect(await c.until(() => c.closed)).toBe(true);
      expect(c.goaway).toBe(o.code);
      return;
    case "close":
      expect(await c.until(() => c.closed)).toBe(true);
      return;
    case "stream": {
      const rstOn = () => c.frames.find((f) => f.type === RST_STREAM && f.id === o.id);
      expect(await c.until(() => rstOn() !== undefined || c.goaway >= 0 || c.closed)).toBe(true);
      const r = rstOn();
      if (r !== undefined) expect(o.codes).toContain(r.payload.readUInt32BE(0));
      else if (c.goaway >= 0) expect(o.codes).toContain(c.goaway);
      else expect(c.closed).toBe(true);
      return;
    }
    case "response":
      expect(await c.until(() => c.status(o.id) > 0 || c.closed)).toBe(true);
      expect(c.status(o.id)).toBeGreaterThan(0);
      expect(c.goaway).toBe(-1);
      return;
    case "status":
      expect(await c.until(() => c.over(o.id) || c.closed)).toBe(true);
      expect(c.status(o.id)).toBe(o.status);
      expect(c.goaway).toBe(-1);
      return;
    case "data": {
      const d = () => c.frames.find((f) => f.type === DATA && f.id === o.id);
      expect(await c.until(() => d() !== undefined || c.closed)).toBe(true);
      expect(d()!.payload.length).toBe(o.len);
      expect(c.goaway).toBe(-1);
      return;
    }
    case "ping":
      c.send(ping());
      expect(await c.until(() => gotPingAck(c) || c.closed)).toBe(true);
      expect(gotPingAck(c)).toBe(true);
      expect(c.goaway).toBe(-1);
      return;
    case "pingOrClose":
      c.send(ping());
      expect(await c.until(() => gotPingAck(c) || c.closed)).toBe(true);
      if (c.goaway >= 0) expect(c.goaway).toBe(0);
      return;
    case "settingsAck":
      expect(await c.until(() => c.frames.filter((f) => f.type === SETTINGS && (f.flags & ACK) !== 0).length >= 2 || c.closed)).toBe(true);
      expect(c.goaway).toBe(-1);
      return;
  }
}

async function run(k: Case): Promise<void> {
  const c = await RawH2.open(port, k.raw === true);
  try {
    if (typeof k.send === "function") await k.send(c);
    else c.send(...k.send);
    await check(c, k.expect);
  } finally {
    if (!c.closed) c.close();
  }
}

/** Wait until stream `id`'s response is over (END_STREAM or reset), as h2spec's VerifyStreamClose does. */
async function streamClosed(c: RawH2, id: number): Promise<void> {
  expect(await c.until(() => c.over(id))).toBe(true);
}

/** Wait for the gateway's ACK of our last SETTINGS (its n-th ACK). */
async function settingsAcked(c: RawH2, n: number): Promise<void> {
  expect(await c.until(() => c.frames.filter((f) => f.type === SETTINGS && (f.flags & ACK) !== 0).length >= n)).toBe(true);
}

const bigHeaders = (id: number) => hdrs(id, END_HEADERS | END_STREAM, block([...COMMON, ...Array.from({ length: 5 }, (_, i): [string, string] => [`x-dummy${i}`, "d".repeat(4000)])]));

// --- h2spec http2 ---

const HTTP2: Case[] = [
  {
    id: "http2/3.5/1",
    name: "the server's preface: SETTINGS is the first frame it sends",
    send: async (c) => {
      expect(await c.until(() => c.frames.length > 0)).toBe(true);
      expect(c.frames[0]!.type).toBe(SETTINGS);
      expect(c.frames[0]!.flags & ACK).toBe(0);
    },
    expect: PING_ACK,
  },
  { id: "http2/3.5/2", name: "an invalid connection preface", raw: true, send: [raw("INVALID CONNECTION PREFACE\r\n\r\n")], expect: conn(PROTOCOL) },
  { id: "http2/4.1/1", name: "a frame with an unknown type is ignored", send: [frame(0x16, 0, 0, Buffer.alloc(8))], expect: PING_ACK },
  { id: "http2/4.1/2", name: "undefined flags are ignored", send: [frame(PING, 0x16, 0, PING_DATA)], expect: PING_ACK },
  { id: "http2/4.1/3", name: "the reserved bit of the stream id is ignored", send: [raw("\x00\x00\x08\x06\x00\x80\x00\x00\x00"), PING_DATA.subarray(0, 8)], expect: PING_ACK },
  { id: "http2/4.2/1", name: "a DATA frame of 2^14 octets", send: [open(1), data(1, Buffer.alloc(16384, 0x74))], expect: response() },
  { id: "http2/4.2/2", name: "a DATA frame past SETTINGS_MAX_FRAME_SIZE", send: [open(1), data(1, Buffer.alloc(16385, 0x74))], expect: strm(1, FRAME_SIZE) },
  { id: "http2/4.2/3", name: "a HEADERS frame past SETTINGS_MAX_FRAME_SIZE", send: [bigHeaders(1)], expect: conn(FRAME_SIZE) },
  { id: "http2/4.3/1", name: "an invalid header block fragment", send: [raw("\x00\x00\x01\x01\x05\x00\x00\x00\x01\x40")], expect: conn(COMPRESSION) },
  { id: "http2/4.3/2", name: "a PRIORITY frame inside a header block", send: [hdrs(1, END_STREAM, block(COMMON)), prio(1, 0), cont(1, END_HEADERS, block([["x-dummy", "d"]]))], expect: conn(PROTOCOL) },
  { id: "http2/4.3/3", name: "HEADERS to another stream inside a header block", send: [hdrs(1, END_STREAM, block(COMMON)), get(3), cont(1, END_HEADERS, block([["x-dummy", "d"]]))], expect: conn(PROTOCOL) },
  { id: "http2/5.1/1", name: "idle: DATA", send: [data(1, "test")], expect: strm(1, PROTOCOL, STREAM_CLOSED) },
  { id: "http2/5.1/2", name: "idle: RST_STREAM", send: [rstf(1, 8)], expect: conn(PROTOCOL) },
  { id: "http2/5.1/3", name: "idle: WINDOW_UPDATE", send: [win(1, 100)], expect: conn(PROTOCOL) },
  { id: "http2/5.1/4", name: "idle: CONTINUATION", send: [cont(1, END_HEADERS, block(COMMON))], expect: conn(PROTOCOL) },
  { id: "http2/5.1/5", name: "half-closed (remote): DATA", send: [get(1), data(1, "test")], expect: strm(1, STREAM_CLOSED) },
  { id: "http2/5.1/6", name: "half-closed (remote): HEADERS", send: [get(1), get(1)], expect: strm(1, STREAM_CLOSED) },
  { id: "http2/5.1/7", name: "half-closed (remote): CONTINUATION", send: [get(1), cont(1, END_HEADERS, block([["x-dummy", "d"]]))], expect: strm(1, STREAM_CLOSED, PROTOCOL) },
  { id: "http2/5.1/8", name: "closed: DATA after our RST_STREAM", send: [open(1), rstf(1, 8), data(1, "test")], expect: strm(1, STREAM_CLOSED) },
  { id: "http2/5.1/9", name: "closed: HEADERS after our RST_STREAM", send: [open(1), rstf(1, 8), get(1)], expect: strm(1, STREAM_CLOSED) },
  { id: "http2/5.1/10", name: "closed: CONTINUATION after our RST_STREAM", send: [open(1), rstf(1, 8), cont(1, END_HEADERS, block([["x-dummy", "d"]]))], expect: strm(1, STREAM_CLOSED, PROTOCOL) },
  {
    id: "http2/5.1/11",
    name: "closed: DATA",
    send: async (c) => {
      c.send(get(1));
      await streamClosed(c, 1);
      c.send(data(1, "test"));
    },
    expect: strm(1, STREAM_CLOSED),
  },
  {
    id: "http2/5.1/12",
    name: "closed: HEADERS",
    send: async (c) => {
      c.send(get(1));
      await streamClosed(c, 1);
      c.send(get(1));
    },
    expect: conn(STREAM_CLOSED),
  },
  {
    id: "http2/5.1/13",
    name: "closed: CONTINUATION",
    send: async (c) => {
      c.send(get(1));
      await streamClosed(c, 1);
      c.send(cont(1, END_HEADERS, block([["x-dummy", "d"]])));
    },
    expect: conn(STREAM_CLOSED, PROTOCOL),
  },
  { id: "http2/5.1.1/1", name: "an even-numbered stream id", send: [get(2)], expect: conn(PROTOCOL) },
  { id: "http2/5.1.1/2", name: "a stream id smaller than the previous one", send: [get(5), get(3)], expect: conn(PROTOCOL) },
  {
    id: "http2/5.1.2/1",
    name: "more streams than SETTINGS_MAX_CONCURRENT_STREAMS",
    send: Array.from({ length: 129 }, (_, i) => open(2 * i + 1)),
    expect: strm(257, PROTOCOL, REFUSED),
  },
  { id: "http2/5.3.1/1", name: "HEADERS depending on itself", send: [hdrs(1, END_HEADERS | END_STREAM | PRIORITY_FLAG, Buffer.concat([u32(1), Buffer.from([255]), block(COMMON)]))], expect: strm(1, PROTOCOL) },
  { id: "http2/5.3.1/2", name: "PRIORITY depending on itself", send: [prio(1, 1, 255)], expect: strm(1, PROTOCOL) },
  { id: "http2/5.4.1/1", name: "an invalid PING: the connection is closed", send: [frame(PING, 0, 3, PING_DATA)], expect: { kind: "close" } },
  { id: "http2/5.4.1/2", name: "an invalid PING: GOAWAY first", send: [frame(PING, 0, 3, PING_DATA)], expect: { kind: "goaway", code: PROTOCOL } },
  { id: "http2/5.5/1", name: "an unknown extension frame is ignored", send: [frame(0xff, 0, 0, Buffer.from("unknown"))], expect: PING_ACK },
  { id: "http2/5.5/2", name: "an unknown extension frame inside a header block", send: [hdrs(1, END_STREAM, block(COMMON)), frame(0xff, 0, 0, Buffer.from("unknown")), cont(1, END_HEADERS, block([["x-dummy", "d"]]))], expect: conn(PROTOCOL) },
  { id: "http2/6.1/1", name: "DATA on stream 0", send: [open(1), data(0, "test")], expect: conn(PROTOCOL) },
  { id: "http2/6.1/2", name: "DATA on a stream not open or half-closed (local)", send: [get(1), data(1, "test")], expect: strm(1, STREAM_CLOSED) },
  { id: "http2/6.1/3", name: "DATA with a pad length past the payload", send: [open(1), frame(DATA, PADDED | END_STREAM, 1, Buffer.from([6, 0x74, 0x65, 0x73, 0x74]))], expect: conn(PROTOCOL) },
  { id: "http2/6.2/1", name: "HEADERS without END_HEADERS, then PRIORITY", send: [hdrs(1, END_STREAM, block(COMMON)), prio(1, 0)], expect: conn(PROTOCOL) },
  { id: "http2/6.2/2", name: "HEADERS to another stream inside a HEADERS block", send: [hdrs(1, END_STREAM, block(COMMON)), get(3)], expect: conn(PROTOCOL) },
  { id: "http2/6.2/3", name: "HEADERS on stream 0", send: [get(0)], expect: conn(PROTOCOL) },
  { id: "http2/6.2/4", name: "HEADERS with a pad length past the payload", send: [hdrs(1, END_HEADERS | END_STREAM | PADDED, Buffer.concat([Buffer.from([255]), block(COMMON)]))], expect: strm(1, PROTOCOL) },
  { id: "http2/6.3/1", name: "PRIORITY on stream 0", send: [prio(0, 1)], expect: conn(PROTOCOL) },
  { id: "http2/6.3/2", name: "PRIORITY with a length other than 5", send: [get(1), raw("\x00\x00\x04\x02\x00\x00\x00\x00\x01\x80\x00\x00\x01")], expect: strm(1, FRAME_SIZE) },
  { id: "http2/6.4/1", name: "RST_STREAM on stream 0", send: [rstf(0, 8)], expect: conn(PROTOCOL) },
  { id: "http2/6.4/2", name: "RST_STREAM on an idle stream", send: [rstf(1, 8)], expect: conn(PROTOCOL) },
  { id: "http2/6.4/3", name: "RST_STREAM with a length other than 4", send: [open(1), raw("\x00\x00\x03\x03\x00\x00\x00\x00\x01\x00\x00\x00")], expect: strm(1, FRAME_SIZE) },
  { id: "http2/6.5/1", name: "SETTINGS ACK with a payload", send: [frame(SETTINGS, ACK, 0, Buffer.from("\x00\x01\x00\x00\x10\x00", "latin1"))], expect: conn(FRAME_SIZE) },
  { id: "http2/6.5/2", name: "SETTINGS on a stream", send: [frame(SETTINGS, 0, 1, settings([[S_INITIAL_WINDOW_SIZE, 100]]))], expect: conn(PROTOCOL) },
  { id: "http2/6.5/3", name: "SETTINGS with a length not a multiple of 6", send: [raw("\x00\x00\x03\x04\x00\x00\x00\x00\x00\x00\x03\x00")], expect: conn(PROTOCOL, FRAME_SIZE) },
  { id: "http2/6.5.2/1", name: "SETTINGS_ENABLE_PUSH other than 0 or 1", send: [set([[S_ENABLE_PUSH, 2]])], expect: conn(PROTOCOL) },
  { id: "http2/6.5.2/2", name: "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1", send: [set([[S_INITIAL_WINDOW_SIZE, 2 ** 31]])], expect: conn(FLOW_CONTROL) },
  { id: "http2/6.5.2/3", name: "SETTINGS_MAX_FRAME_SIZE below 2^14", send: [set([[S_MAX_FRAME_SIZE, 16383]])], expect: conn(PROTOCOL) },
  { id: "http2/6.5.2/4", name: "SETTINGS_MAX_FRAME_SIZE above 2^24-1", send: [set([[S_MAX_FRAME_SIZE, 2 ** 24]])], expect: conn(PROTOCOL) },
  { id: "http2/6.5.2/5", name: "an unknown SETTINGS identifier is ignored", send: [set([[0xff, 1]])], expect: PING_ACK },
  {
    id: "http2/6.5.3/1",
    name: "SETTINGS values are applied in order",
    send: async (c) => {
      c.send(set([[S_INITIAL_WINDOW_SIZE, 100], [S_INITIAL_WINDOW_SIZE, 1]]));
      await settingsAcked(c, 2);
      c.send(get(1));
    },
    expect: dataOf(1, 1),
  },
  { id: "http2/6.5.3/2", name: "SETTINGS without ACK is acknowledged", send: [set([[S_INITIAL_WINDOW_SIZE, 65535]])], expect: { kind: "settingsAck" } },
  { id: "http2/6.7/1", name: "PING is acknowledged with its payload", send: [], expect: PING_ACK },
  {
    id: "http2/6.7/2",
    name: "a PING with ACK is not answered",
    send: async (c) => {
      c.send(ping(Buffer.from("invalid!", "latin1"), ACK), ping());
      expect(await c.until(() => c.frames.some((f) => f.type === PING))).toBe(true);
      expect(c.frames.find((f) => f.type === PING)!.payload.equals(PING_DATA)).toBe(true);
    },
    expect: PING_ACK,
  },
  { id: "http2/6.7/3", name: "PING on a stream", send: [frame(PING, 0, 1, PING_DATA)], expect: conn(PROTOCOL) },
  { id: "http2/6.7/4", name: "PING with a length other than 8", send: [frame(PING, 0, 0, Buffer.alloc(6))], expect: conn(FRAME_SIZE) },
  { id: "http2/6.8/1", name: "GOAWAY on a stream", send: [frame(GOAWAY, 0, 1, Buffer.alloc(8))], expect: conn(PROTOCOL) },
  { id: "http2/6.9/1", name: "WINDOW_UPDATE of 0 on the connection", send: [win(0, 0)], expect: conn(PROTOCOL) },
  { id: "http2/6.9/2", name: "WINDOW_UPDATE of 0 on a stream", send: [open(1), win(1, 0)], expect: strm(1, PROTOCOL) },
  { id: "http2/6.9/3", name: "WINDOW_UPDATE with a length other than 4", send: [raw("\x00\x00\x03\x08\x00\x00\x00\x00\x00\x00\x00\x01")], expect: conn(FRAME_SIZE) },
  {
    id: "http2/6.9.1/1",
    name: "SETTINGS_INITIAL_WINDOW_SIZE 1: DATA no larger than the window",
    send: async (c) => {
      c.send(set([[S_INITIAL_WINDOW_SIZE, 1]]));
      await settingsAcked(c, 2);
      c.send(get(1));
    },
    expect: dataOf(1, 1),
  },
  { id: "http2/6.9.1/2", name: "WINDOW_UPDATEs taking the connection window past 2^31-1", send: [win(0, 2 ** 31 - 1), win(0, 2 ** 31 - 1)], expect: { kind: "goaway", code: FLOW_CONTROL } },
  {
    id: "http2/6.9.1/3",
    name: "WINDOW_UPDATEs taking a stream window past 2^31-1",
    send: [open(1), win(1, 2 ** 31 - 1), win(1, 2 ** 31 - 1)],
    expect: { kind: "stream", id: 1, codes: [FLOW_CONTROL] },
  },
  {
    id: "http2/6.9.2/1",
    name: "SETTINGS_INITIAL_WINDOW_SIZE changed after HEADERS adjusts the stream's window",
    send: async (c) => {
      c.send(set([[S_INITIAL_WINDOW_SIZE, 0]]));
      await settingsAcked(c, 2);
      c.send(get(1));
      expect(await c.until(() => c.status(1) > 0)).toBe(true);
      c.send(set([[S_INITIAL_WINDOW_SIZE, 1]]));
    },
    expect: dataOf(1, 1),
  },
  {
    id: "http2/6.9.2/2",
    name: "a SETTINGS making a stream window negative is tracked",
    send: async (c) => {
      c.send(set([[S_INITIAL_WINDOW_SIZE, 3]]));
      await settingsAcked(c, 2);
      c.send(get(1, "/big"));
      expect(await c.until(() => c.frames.some((f) => f.type === DATA && f.id === 1))).toBe(true);
      c.send(set([[S_INITIAL_WINDOW_SIZE, 2]]));
      await settingsAcked(c, 3);
      c.send(win(1, 2)); // -1 + 2: one octet may go
      expect(await c.until(() => c.frames.filter((f) => f.type === DATA && f.id === 1).length >= 2)).toBe(true);
      expect(c.frames.filter((f) => f.type === DATA && f.id === 1).map((f) => f.payload.length)).toEqual([3, 1]);
    },
    expect: PING_ACK,
  },
  { id: "http2/6.9.2/3", name: "SETTINGS_INITIAL_WINDOW_SIZE of 2^31", send: [set([[S_INITIAL_WINDOW_SIZE, 2 ** 31]])], expect: conn(FLOW_CONTROL) },
  {
    id: "http2/6.10/1",
    name: "HEADERS followed by several CONTINUATION frames",
    send: [hdrs(1, END_STREAM, block(COMMON)), cont(1, 0, block([["x-dummy1", "d"]])), cont(1, END_HEADERS, block([["x-dummy2", "d"]]))],
    expect: response(),
  },
  { id: "http2/6.10/2", name: "CONTINUATION followed by a frame other than CONTINUATION", send: [hdrs(1, END_STREAM, block(COMMON)), cont(1, 0, block([["x-dummy", "d"]])), data(1, "test")], expect: conn(PROTOCOL) },
  { id: "http2/6.10/3", name: "CONTINUATION on stream 0", send: [hdrs(1, END_STREAM, block(COMMON)), cont(0, END_HEADERS, block([["x-dummy", "d"]]))], expect: conn(PROTOCOL) },
  { id: "http2/6.10/4", name: "CONTINUATION after HEADERS with END_HEADERS", send: [get(1), cont(1, END_HEADERS, block([["x-dummy", "d"]]))], expect: conn(PROTOCOL) },
  { id: "http2/6.10/5", name: "CONTINUATION after CONTINUATION with END_HEADERS", send: [hdrs(1, END_STREAM, block(COMMON)), cont(1, END_HEADERS, block([["x-dummy1", "d"]])), cont(1, END_HEADERS, block([["x-dummy2", "d"]]))], expect: conn(PROTOCOL) },
  { id: "http2/6.10/6", name: "CONTINUATION after DATA", send: [open(1), data(1, "test"), cont(1, END_HEADERS, block([["x-dummy", "d"]]))], expect: conn(PROTOCOL) },
  { id: "http2/7/1", name: "GOAWAY with an unknown error code", send: [frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0xff)]))], expect: PING_OR_CLOSE },
  { id: "http2/7/2", name: "RST_STREAM with an unknown error code", send: [open(1), rstf(1, 0xff)], expect: PING_OR_CLOSE },
  { id: "http2/8.1/1", name: "a second HEADERS without END_STREAM", send: [open(1), open(1)], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2/1", name: "a field name with upper case", send: [hdrs(1, END_HEADERS | END_STREAM, block([...COMMON, ["X-TEST", "ok"]]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.1/1", name: "an unknown pseudo-header", send: [hdrs(1, END_HEADERS | END_STREAM, block([...COMMON, [":test", "ok"]]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.1/2", name: "a response pseudo-header in a request", send: [hdrs(1, END_HEADERS | END_STREAM, block([...COMMON, [":status", "200"]]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.1/3", name: "a pseudo-header in trailers", send: [open(1), data(1, "test", false), hdrs(1, END_HEADERS | END_STREAM, block([[":method", "POST"]]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.1/4", name: "a pseudo-header after a regular field", send: [hdrs(1, END_HEADERS | END_STREAM, block([...COMMON.slice(0, 3), ["x-test", "ok"], [":authority", "x"]]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.2/1", name: "a connection-specific field", send: [hdrs(1, END_HEADERS | END_STREAM, block([...COMMON, ["connection", "keep-alive"]]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.2/2", name: "te other than trailers", send: [hdrs(1, END_HEADERS | END_STREAM, block([...COMMON, ["te", "trailers, deflate"]]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.3/1", name: "an empty :path", send: [hdrs(1, END_HEADERS | END_STREAM, block([[":method", "GET"], [":scheme", "http"], [":path", ""], [":authority", "x"]]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.3/2", name: "no :method", send: [hdrs(1, END_HEADERS | END_STREAM, block(COMMON.filter(([n]) => n !== ":method")))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.3/3", name: "no :scheme", send: [hdrs(1, END_HEADERS | END_STREAM, block(COMMON.filter(([n]) => n !== ":scheme")))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.3/4", name: "no :path", send: [hdrs(1, END_HEADERS | END_STREAM, block(COMMON.filter(([n]) => n !== ":path")))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.3/5", name: "two :method", send: [hdrs(1, END_HEADERS | END_STREAM, block([[":method", "GET"], ...COMMON]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.3/6", name: "two :scheme", send: [hdrs(1, END_HEADERS | END_STREAM, block([[":scheme", "http"], ...COMMON]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.3/7", name: "two :path", send: [hdrs(1, END_HEADERS | END_STREAM, block([[":path", "/"], ...COMMON]))], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.6/1", name: "content-length unlike the DATA length", send: [open(1, [["content-length", "1"]]), data(1, "test")], expect: strm(1, PROTOCOL) },
  { id: "http2/8.1.2.6/2", name: "content-length unlike the sum of the DATA lengths", send: [open(1, [["content-length", "1"]]), data(1, "test", false), data(1, "test")], expect: strm(1, PROTOCOL) },
  { id: "http2/8.2/1", name: "PUSH_PROMISE from a client", send: [frame(PUSH_PROMISE, END_HEADERS, 1, Buffer.concat([u32(2), block(COMMON)]))], expect: conn(PROTOCOL) },
];

// --- h2spec hpack: each appends (or prepends) a bad representation to a valid block ---

const withRep = (rep: string, before = false) => [hdrs(1, END_HEADERS | END_STREAM, before ? Buffer.concat([hex(rep), block(COMMON)]) : Buffer.concat([block(COMMON), hex(rep)]))];

const HPACK: Case[] = [
  { id: "hpack/2.3.3/1", name: "an indexed field past the table", send: withRep("c6"), expect: conn(COMPRESSION) },
  { id: "hpack/2.3.3/2", name: "a literal whose name index is past the table", send: withRep("7f0700"), expect: conn(COMPRESSION) },
  { id: "hpack/4.2/1", name: "a table size update at the end of the block", send: withRep("21"), expect: conn(COMPRESSION) },
  { id: "hpack/5.2/1", name: "Huffman padding longer than 7 bits", send: withRep("0085f2b24a84ff844950 9fff"), expect: conn(COMPRESSION) },
  { id: "hpack/5.2/2", name: "Huffman padding of zeros", send: withRep("0085f2b24a84ff83495090"), expect: conn(COMPRESSION) },
  { id: "hpack/5.2/3", name: "a Huffman string containing EOS", send: withRep("0085f2b24a84ff874951fffffffa7f"), expect: conn(COMPRESSION) },
  { id: "hpack/6.1/1", name: "an indexed field with index 0", send: withRep("80"), expect: conn(COMPRESSION) },
  // 4097 in a 5-bit prefix: 31 + 4066 (0xe2 0x1f)
  { id: "hpack/6.3/1", name: "a table size update above SETTINGS_HEADER_TABLE_SIZE", send: withRep("3fe21f", true), expect: conn(COMPRESSION) },
];

// --- h2spec generic: things a server must take ---

const AUTH_PLAIN = [0x01, ...str("x")]; // :authority x, literal without indexing, indexed name
const GENERIC: Case[] = [
  { id: "generic/1/1", name: "a client connection preface", send: [], expect: PING_ACK },
  { id: "generic/2/1", name: "PRIORITY on an idle stream", send: [prio(1, 0)], expect: PING_ACK },
  {
    id: "generic/2/2",
    name: "WINDOW_UPDATE on a half-closed (remote) stream",
    send: async (c) => {
      c.send(set([[S_INITIAL_WINDOW_SIZE, 0]]));
      await settingsAcked(c, 2);
      c.send(get(1), win(1, 1));
    },
    expect: dataOf(1, 1),
  },
  {
    id: "generic/2/3",
    name: "PRIORITY on a half-closed (remote) stream",
    send: async (c) => {
      c.send(set([[S_INITIAL_WINDOW_SIZE, 0]]));
      await settingsAcked(c, 2);
      c.send(get(1), prio(1, 0), win(1, 1));
    },
    expect: dataOf(1, 1),
  },
  { id: "generic/2/4", name: "RST_STREAM on a half-closed (remote) stream", send: [get(1), rstf(1, 8)], expect: PING_OR_CLOSE },
  {
    id: "generic/2/5",
    name: "PRIORITY on a closed stream",
    send: async (c) => {
      c.send(get(1));
      await streamClosed(c, 1);
      c.send(prio(1, 0));
    },
    expect: PING_ACK,
  },
  { id: "generic/3.1/1", name: "DATA", send: [open(1), data(1, "test")], expect: response() },
  { id: "generic/3.1/2", name: "several DATA frames", send: [open(1), data(1, "test", false), data(1, "test")], expect: response() },
  { id: "generic/3.1/3", name: "DATA with padding", send: [open(1), frame(DATA, PADDED | END_STREAM, 1, Buffer.from([4, 0x74, 0x65, 0x73, 0x74, 0, 0, 0, 0]))], expect: response() },
  { id: "generic/3.2/1", name: "HEADERS", send: [get(1)], expect: response() },
  { id: "generic/3.2/2", name: "HEADERS with padding", send: [hdrs(1, END_HEADERS | END_STREAM | PADDED, Buffer.concat([Buffer.from([4]), block(COMMON), Buffer.alloc(4)]))], expect: response() },
  { id: "generic/3.2/3", name: "HEADERS with priority", send: [hdrs(1, END_HEADERS | END_STREAM | PRIORITY_FLAG, Buffer.concat([u32(0), Buffer.from([255]), block(COMMON)]))], expect: response() },
  { id: "generic/3.3/1", name: "PRIORITY with weight 1", send: [prio(1, 0, 0), get(1)], expect: response() },
  { id: "generic/3.3/2", name: "PRIORITY with weight 256", send: [prio(1, 0, 255), get(1)], expect: response() },
  { id: "generic/3.3/3", name: "PRIORITY with a stream dependency", send: [prio(3, 0), prio(1, 3), get(1)], expect: response() },
  { id: "generic/3.3/4", name: "PRIORITY with exclusive", send: [prio(3, 0), prio(1, 3, 15, true), get(1)], expect: response() },
  { id: "generic/3.3/5", name: "PRIORITY on an idle stream, then HEADERS on a lower one", send: [prio(3, 0), get(1)], expect: response() },
  { id: "generic/3.4/1", name: "RST_STREAM", send: [open(1), rstf(1, 8)], expect: PING_OR_CLOSE },
  { id: "generic/3.5/1", name: "SETTINGS", send: [set([[S_INITIAL_WINDOW_SIZE, 65535]])], expect: { kind: "settingsAck" } },
  { id: "generic/3.7/1", name: "PING", send: [], expect: PING_ACK },
  { id: "generic/3.8/1", name: "GOAWAY from the client", send: [frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0), Buffer.from("h2spec")]))], expect: PING_OR_CLOSE },
  { id: "generic/3.9/1", name: "WINDOW_UPDATE on the connection", send: [win(0, 1)], expect: PING_ACK },
  { id: "generic/3.9/2", name: "WINDOW_UPDATE on a stream", send: [open(1), win(1, 1), data(1, "test")], expect: response() },
  { id: "generic/3.10/1", name: "CONTINUATION", send: [hdrs(1, END_STREAM, block(COMMON)), cont(1, END_HEADERS, block([["x-dummy", "d"]]))], expect: response() },
  { id: "generic/3.10/2", name: "several CONTINUATION frames", send: [hdrs(1, END_STREAM, block(COMMON)), cont(1, 0, block([["x-dummy1", "d"]])), cont(1, END_HEADERS, block([["x-dummy2", "d"]]))], expect: response() },
  { id: "generic/4/1", name: "a GET request", send: [get(1)], expect: response() },
  { id: "generic/4/2", name: "a HEAD request", send: [request(1, "/", [], "HEAD")], expect: response() },
  { id: "generic/4/3", name: "a POST request", send: [open(1), data(1, "test")], expect: response() },
  { id: "generic/4/4", name: "a POST request with trailers", send: [open(1), data(1, "test", false), hdrs(1, END_HEADERS | END_STREAM, block([["trailer", "test"]]))], expect: response() },
  { id: "generic/5/1", name: "indexed fields", send: [hpackGet(1, INDEXED, AUTH_PLAIN)], expect: response() },
  { id: "generic/5/2", name: "literal with incremental indexing, indexed name", send: [hpackGet(1, INDEXED, [0x41, ...str("x")])], expect: response() },
  { id: "generic/5/3", name: "literal with incremental indexing, indexed name, Huffman", send: [hpackGet(1, INDEXED, [0x41, ...HUF_AUTHORITY])], expect: response() },
  { id: "generic/5/4", name: "literal with incremental indexing, new name", send: [hpackGet(1, INDEXED, AUTH_PLAIN, [0x40, ...str("custom-key"), ...str("custom-value")])], expect: response() },
  { id: "generic/5/5", name: "literal with incremental indexing, new name, Huffman", send: [hpackGet(1, INDEXED, AUTH_PLAIN, [0x40, ...HUF_KEY, ...HUF_VALUE])], expect: response() },
  { id: "generic/5/6", name: "literal without indexing, indexed name", send: [hpackGet(1, INDEXED, [0x01, ...str("x")])], expect: response() },
  { id: "generic/5/7", name: "literal without indexing, indexed name, Huffman", send: [hpackGet(1, INDEXED, [0x01, ...HUF_AUTHORITY])], expect: response() },
  { id: "generic/5/8", name: "literal without indexing, new name", send: [hpackGet(1, INDEXED, AUTH_PLAIN, [0x00, ...str("custom-key"), ...str("custom-value")])], expect: response() },
  { id: "generic/5/9", name: "literal without indexing, new name, Huffman", send: [hpackGet(1, INDEXED, AUTH_PLAIN, [0x00, ...HUF_KEY, ...HUF_VALUE])], expect: response() },
  { id: "generic/5/10", name: "literal never indexed, indexed name", send: [hpackGet(1, INDEXED, [0x11, ...str("x")])], expect: response() },
  { id: "generic/5/11", name: "literal never indexed, indexed name, Huffman", send: [hpackGet(1, INDEXED, [0x11, ...HUF_AUTHORITY])], expect: response() },
  { id: "generic/5/12", name: "literal never indexed, new name", send: [hpackGet(1, INDEXED, AUTH_PLAIN, [0x10, ...str("custom-key"), ...str("custom-value")])], expect: response() },
  { id: "generic/5/13", name: "literal never indexed, new name, Huffman", send: [hpackGet(1, INDEXED, AUTH_PLAIN, [0x10, ...HUF_KEY, ...HUF_VALUE])], expect: response() },
  { id: "generic/5/14", name: "a dynamic table size update", send: [hpackGet(1, [0x3f, 0xe1, 0x1f], INDEXED, AUTH_PLAIN)], expect: response() },
  { id: "generic/5/15", name: "several dynamic table size updates", send: [hpackGet(1, [0x20], [0x3f, 0xe1, 0x1f], INDEXED, AUTH_PLAIN)], expect: response() },
];

// --- RFC 9113 cases h2spec does not send, and the deterministic variants of its timing-dependent ones ---

const silent = (id: number) => get(id, "/silent");
const RFC: Case[] = [
  { id: "rfc9113/3.4", name: "a first frame after the preface that is not SETTINGS", raw: true, send: [raw(PREFACE), ping()], expect: conn(PROTOCOL) },
  { id: "rfc9113/3.4", name: "a SETTINGS ACK as the first frame", raw: true, send: [raw(PREFACE), frame(SETTINGS, ACK, 0)], expect: conn(PROTOCOL) },
  { id: "rfc9113/3.4", name: "the preface's SETTINGS split across writes is still the preface", raw: true, send: [raw(PREFACE), raw("\x00\x00\x00\x04"), raw("\x00\x00\x00\x00\x00"), get(1)], expect: response() },
  { id: "rfc9113/6.3", name: "PRIORITY with a bad length on an idle stream", send: [raw("\x00\x00\x04\x02\x00\x00\x00\x00\x03\x80\x00\x00\x01")], expect: strm(3, FRAME_SIZE) },
  {
    id: "rfc9113/6.3",
    name: "PRIORITY with a bad length on a closed stream",
    send: async (c) => {
      c.send(get(1));
      await streamClosed(c, 1);
      c.send(raw("\x00\x00\x04\x02\x00\x00\x00\x00\x01\x80\x00\x00\x01"));
    },
    expect: strm(1, FRAME_SIZE),
  },
  { id: "rfc9113/6.3", name: "PRIORITY with a bad length on an open stream: that stream only", send: [silent(1), raw("\x00\x00\x04\x02\x00\x00\x00\x00\x01\x80\x00\x00\x01")], expect: { kind: "stream", id: 1, codes: [FRAME_SIZE] } },
  { id: "rfc9113/5.3.1", name: "PRIORITY depending on itself, on an open stream", send: [silent(1), prio(1, 1)], expect: strm(1, PROTOCOL) },
  { id: "rfc9113/5.1", name: "half-closed (remote): DATA, the response pending", send: [silent(1), data(1, "test")], expect: strm(1, STREAM_CLOSED) },
  { id: "rfc9113/5.1", name: "half-closed (remote): HEADERS, the response pending", send: [silent(1), silent(1)], expect: strm(1, STREAM_CLOSED) },
  { id: "rfc9113/5.1", name: "closed by the client's RST_STREAM: HEADERS", send: [silent(1), rstf(1, 8), silent(1)], expect: strm(1, STREAM_CLOSED) },
  { id: "rfc9113/5.1.1", name: "HEADERS on a stream id skipped over", send: [get(5), silent(3)], expect: conn(PROTOCOL) },
  { id: "rfc9113/6.9.1", name: "a stream window past 2^31-1 is a stream error, the connection goes on", send: [silent(1), win(1, 2 ** 31 - 1), win(1, 2 ** 31 - 1)], expect: { kind: "stream", id: 1, codes: [FLOW_CONTROL] } },
  { id: "rfc9113/6.10", name: "CONTINUATION on a different stream", send: [hdrs(1, END_STREAM, block(COMMON)), cont(3, END_HEADERS, block([["x-dummy", "d"]]))], expect: conn(PROTOCOL) },
  // §8.1.1: a server MAY answer a malformed request before closing the stream; gangway answers this one 400 (its HTTP/1 rule)
  { id: "rfc9113/8.1.1", name: "a content-length on a request whose HEADERS end the stream: 400", send: [hdrs(1, END_HEADERS | END_STREAM, block([...POST, ["content-length", "5"]]))], expect: { kind: "status", id: 1, status: 400 } },
  // content-length 0 makes the request whole before END_STREAM (it goes upstream at once): DATA with bytes after it
  // is past the length, malformed as DATA past any other length (nghttp2, Envoy's codec, resets it); was dropped silently
  { id: "rfc9113/8.1.1", name: "content-length 0 without END_STREAM, then DATA with bytes", send: [hdrs(1, END_HEADERS, block([[":method", "POST"], [":scheme", "http"], [":path", "/silent"], [":authority", "x"], ["content-length", "0"]])), data(1, "test")], expect: strm(1, PROTOCOL) },
  { id: "rfc9113/8.2.1", name: "an upper-case name in trailers", send: [open(1), data(1, "test", false), hdrs(1, END_HEADERS | END_STREAM, block([["X-Trailer", "ok"]]))], expect: strm(1, PROTOCOL) },
  { id: "rfc9113/8.2.1", name: "a connection-specific field in trailers", send: [open(1), data(1, "test", false), hdrs(1, END_HEADERS | END_STREAM, block([["connection", "close"]]))], expect: strm(1, PROTOCOL) },
  { id: "rfc9113/8.2.1", name: "a CR in a value", send: [hdrs(1, END_HEADERS | END_STREAM, block([...COMMON, ["x-a", "a\rb"]]))], expect: strm(1, PROTOCOL) },
  { id: "rfc9113/8.3.1", name: "CONNECT without :authority", send: [hdrs(1, END_HEADERS | END_STREAM, block([[":method", "CONNECT"]]))], expect: strm(1, PROTOCOL) },
  { id: "rfc9113/6.5.2", name: "a table size of 0 is honoured in what we send", send: [set([[S_HEADER_TABLE_SIZE, 0]]), get(1), get(3)], expect: response(3) },
];

/** Cases whose stream error must stay a stream error: the connection is still served after. */
const STAYS_OPEN = new Set(["PRIORITY with a bad length on an open stream: that stream only", "a stream window past 2^31-1 is a stream error, the connection goes on"]);

for (const [group, cases] of [["http2", HTTP2], ["hpack", HPACK], ["generic", GENERIC], ["RFC 9113 beyond h2spec", RFC]] as const) {
  describe(group, () => {
    for (const k of cases) {
      test(`${k.id} ${k.name}`, async () => {
        if (!STAYS_OPEN.has(k.name)) return run(k);
        const c = await RawH2.open(port);
        try {
          if (typeof k.send !== "function") c.send(...k.send);
          await check(c, k.expect);
          expect(c.frames.find((f) => f.type === RST_STREAM && f.id === 1)).toBeDefined();
          c.send(get(3));
          expect(await c.until(() => c.over(3))).toBe(true);
          expect(c.status(3)).toBe(200);
          expect(c.goaway).toBe(-1);
        } finally {
          c.close();
        }
      });
    }
  });
}

test("the sweep covers every h2spec case listed", () => {
  expect(HTTP2.length + HPACK.length + GENERIC.length).toBe(95 + 8 + 44);
});

// Response DATA to an HTTP/2 client, counted on a real socket: what one upstream
// read delivers in many small pieces (an HTTP/1.1 chunked body of tiny chunks, an
// HTTP/2 upstream's burst of tiny DATA frames, a gRPC stream of small messages)
// leaves the gateway as few DATA frames (each up to the client's
// SETTINGS_MAX_FRAME_SIZE), not one 9-byte frame head per piece, in the turn's
// single write; pieces that arrive in separate reads still go out in their own
// turn (no waiting for more: streaming keeps its latency). Counted by frames,
// not by time.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { gatewayWithRoutes, loopbackServiceEntry } from "../../helpers/config.ts";
import { compileYaml } from "../../unit/pipeline-helpers.ts";
import { block, DATA, END_HEADERS, END_STREAM, frame, HEADERS, PING, PREFACE, SETTINGS, WINDOW_UPDATE } from "../edge/h2-raw.ts";
import { WorkerHarness } from "../harness.ts";
import { rawH2Upstream, type RawUpstreamState } from "./raw-upstream.ts";
import { freePort } from "../snapshot-fixture.ts";

const PIECES = 200;
let w: WorkerHarness;
let gw = 0;
let h1: TCPSocketListener<{ buf: string }>;
let h2: TCPSocketListener<RawUpstreamState>;
/** h2 upstream: sockets waiting for the test to send a piece (the "one piece per read" case). */
const drip: { sock: Socket<RawUpstreamState>; id: number }[] = [];

beforeAll(async () => {
  h1 = Bun.listen<{ buf: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: "" };
      },
      data(s, d) {
        s.data.buf += d.toString("latin1");
        if (!s.data.buf.includes("\r\n\r\n")) return;
        const big = s.data.buf.includes("/h1big");
        s.data.buf = "";
        // 100 chunks of 1000 bytes: more than one frame's worth
        if (big) return void s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + `3e8\r\n${"y".repeat(1000)}\r\n`.repeat(100) + "0\r\n\r\n");
        // 200 one-byte chunks in one write
        s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + "1\r\nx\r\n".repeat(PIECES) + "0\r\n\r\n");
      },
    },
  });
  h2 = rawH2Upstream((sock, id, payload) => {
    const text = payload.toString("latin1");
    const head = frame(HEADERS, END_HEADERS, id, block([[":status", "200"], ["content-type", "application/grpc"]]));
    if (text.includes("/drip")) {
      sock.write(head);
      drip.push({ sock, id });
      return;
    }
    // 200 gRPC messages of 5 bytes (10 bytes each framed), one DATA frame each, then trailers: one write
    const msg = Buffer.from([0, 0, 0, 0, 5, 104, 101, 108, 108, 111]);
    const datas = Array.from({ length: PIECES }, () => frame(DATA, 0, id, msg));
    sock.write(Buffer.concat([head, ...datas, frame(HEADERS, END_HEADERS | END_STREAM, id, block([["grpc-status", "0"]]))]));
  });
  gw = freePort();
  const routes = `  - match: [{uri: {prefix: /h1}}]
    route: [{destination: {host: h1.internal, port: {number: 8080}}}]
  - route: [{destination: {host: h2.internal, port: {number: 8080}}}]
`;
  const yaml =
    gatewayWithRoutes(routes) +
    loopbackServiceEntry({ name: "h1", host: "h1.internal", port: 8080, targetPort: h1.port, portName: "http", protocol: "HTTP" }) +
    loopbackServiceEntry({ name: "h2", host: "h2.internal", port: 8080, targetPort: h2.port, portName: "grpc", protocol: "GRPC" });
  w = new WorkerHarness();
  await w.apply(compileYaml(yaml, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" }));
});

afterAll(() => {
  w?.stop();
  h1?.stop(true);
  h2?.stop(true);
});

interface Seen {
  dataFrames: number;
  dataBytes: number;
  /** The largest DATA frame's length. */
  maxFrame: number;
  ended: boolean;
  /** DATA frames seen when each read arrived. */
  reads: number[];
}

/** A raw h2c client that opens its windows wide (2^24 for the stream and the connection), sends one GET on stream 1, and counts the DATA frames of the answer. */
async function fetchCounting(path: string, onHead: (s: Seen) => void = () => {}): Promise<Seen> {
  const seen: Seen = { dataFrames: 0, dataBytes: 0, maxFrame: 0, ended: false, reads: [] };
  let buf = Buffer.alloc(0);
  let finish = () => {};
  const over = new Promise<void>((r) => (finish = r));
  let headSeen = false;
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port: gw,
    socket: {
      data(s, d) {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 9) {
          const len = buf.readUIntBE(0, 3);
          if (buf.length < 9 + len) break;
          const type = buf[3]!, flags = buf[4]!, id = buf.readUInt32BE(5) & 0x7fffffff;
          const p = buf.subarray(9, 9 + len);
          buf = buf.subarray(9 + len);
          if (type === SETTINGS && !(flags & 1)) s.write(frame(SETTINGS, 1, 0));
          else if (type === PING && !(flags & 1)) s.write(frame(PING, 1, 0, p));
          else if (id === 1 && type === HEADERS) {
            if (!headSeen) {
              headSeen = true;
              onHead(seen);
            }
            if (flags & END_STREAM) seen.ended = true;
          } else if (id === 1 && type === DATA) {
            seen.dataFrames++;
            seen.dataBytes += len;
            seen.maxFrame = Math.max(seen.maxFrame, len);
            if (flags & END_STREAM) seen.ended = true;
          } else if (id === 1 && type === 3) seen.ended = true;
        }
        seen.reads.push(seen.dataFrames);
        if (seen.ended) finish();
      },
      close: () => finish(),
      error: () => finish(),
    },
  });
  const win = Buffer.alloc(4);
  win.writeUInt32BE(1 << 24);
  const initialWindow = Buffer.from([0, 4, 1, 0, 0, 0]); // SETTINGS_INITIAL_WINDOW_SIZE 2^24
  sock.write(Buffer.concat([Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0, initialWindow), frame(WINDOW_UPDATE, 0, 0, win)]));
  sock.write(frame(HEADERS, END_HEADERS | END_STREAM, 1, block([[":method", "GET"], [":scheme", "http"], [":path", path], [":authority", "example.com"]])));
  const t = setTimeout(finish, 5000);
  await over;
  clearTimeout(t);
  sock.end();
  return seen;
}

test("an HTTP/1.1 upstream's 200 one-byte chunks in one read: the bytes leave in a few DATA frames", async () => {
  const s = await fetchCounting("/h1");
  expect(s.ended).toBe(true);
  expect(s.dataBytes).toBe(PIECES);
  expect(s.dataFrames).toBe(1); // was 201: one per chunk and an empty one with END_STREAM
});

test("joined DATA stays within the client's SETTINGS_MAX_FRAME_SIZE (16384 here)", async () => {
  const s = await fetchCounting("/h1big");
  expect([s.ended, s.dataBytes]).toEqual([true, 100_000]);
  expect(s.maxFrame).toBeLessThanOrEqual(16384);
  expect(s.dataFrames).toBeLessThan(100); // joined, yet cut at the frame size (the reads may split it further)
});

test("an HTTP/2 upstream's 200 small DATA frames in one read: a few DATA frames to the client", async () => {
  const s = await fetchCounting("/burst");
  expect(s.ended).toBe(true);
  expect(s.dataBytes).toBe(PIECES * 10);
  expect(s.dataFrames).toBe(1); // was 200
});

test("pieces that arrive one per read each go out in their turn: the client has each before the next is sent (streaming is not held back)", async () => {
  let seen: Seen | null = null;
  const p = fetchCounting("/drip", (s) => (seen = s));
  for (let i = 0; i < 1000 && (drip.length === 0 || seen === null); i++) await Bun.sleep(10);
  expect([drip.length, seen !== null]).toEqual([1, true]);
  const d = drip.shift()!;
  const msg = Buffer.from([0, 0, 0, 0, 1, 120]);
  const arrived: boolean[] = [];
  for (let i = 1; i <= 3; i++) {
    d.sock.write(frame(DATA, 0, d.id, msg));
    // bounded wait (5 s: a worker thread on a loaded machine) for piece i at the client before piece i+1 is written
    let k = 0;
    while (seen!.dataFrames < i && k++ < 500) await Bun.sleep(10);
    arrived.push(seen!.dataFrames === i);
  }
  d.sock.write(frame(HEADERS, END_HEADERS | END_STREAM, d.id, block([["grpc-status", "0"]])));
  const s = await p;
  expect(arrived).toEqual([true, true, true]);
  expect([s.ended, s.dataFrames, s.dataBytes]).toEqual([true, 3, 18]);
});

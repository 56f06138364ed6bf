// How gangway's own HTTP/2 client session (workers/http/h2/client-session.ts)
// reads an upstream's bytes, without sockets: a response split anywhere
// across reads arrives whole and in order, and a frame sent a few bytes at a
// time is gathered in one buffer of its size, not joined again with all that
// came before on every read.
import { afterEach, expect, test } from "bun:test";
import type { IncomingHttpHeaders } from "node:http2";
import { H2ClientSession, type ClientSessionHost, type ClientSocket } from "../../../workers/http/h2/client-session.ts";
import type { ClientStreamOwner } from "../../../workers/http/h2/client-stream.ts";
import { block, DATA, END_HEADERS, END_STREAM, frame, HEADERS, SETTINGS } from "../edge/h2-raw.ts";

const sock: ClientSocket = { write: (b) => b.length, pause() {}, resume() {}, end() {}, terminate() {} };
const host: ClientSessionHost = { onSessionReady() {}, onSessionGoaway() {}, onSessionClosed() {} };

class Rec implements ClientStreamOwner {
  status = 0;
  parts: Buffer[] = [];
  ended = false;
  onResponse(h: IncomingHttpHeaders): void {
    this.status = Number(h[":status"]);
  }
  onData(d: Buffer): void {
    this.parts.push(Buffer.from(d));
  }
  onTrailers(): void {}
  onEnd(): void {
    this.ended = true;
  }
  drained(): void {}
  streamClosed(): void {}
}

/** A session with the upstream's SETTINGS taken and a GET open on stream 1; the bytes of a 200 with `n` bytes of body. */
function start(n: number) {
  const s = new H2ClientSession(sock, host, 1 << 20);
  s.feed(frame(SETTINGS, 0, 0));
  const rec = new Rec();
  s.request(rec, { ":method": "GET", ":scheme": "http", ":path": "/", ":authority": "x" }, true);
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = (i * 13) & 0xff;
  const frames = [frame(HEADERS, END_HEADERS, 1, block([[":status", "200"]]))];
  for (let o = 0; o < n; o += 16384) {
    const e = Math.min(n, o + 16384);
    frames.push(frame(DATA, e === n ? END_STREAM : 0, 1, body.subarray(o, e)));
  }
  return { s, rec, bytes: Buffer.concat(frames), body };
}

const realConcat = Buffer.concat;
afterEach(() => {
  Buffer.concat = realConcat;
});

test("a response split at every size across reads arrives whole and in order", () => {
  for (const step of [1, 3, 9, 10, 100, 16_393, 16_400, 70_000]) {
    const { s, rec, bytes, body } = start(50_000);
    for (let o = 0; o < bytes.length; o += step) s.feed(bytes.subarray(o, Math.min(bytes.length, o + step)));
    expect(rec.status).toBe(200);
    expect(Buffer.concat(rec.parts).equals(body)).toBe(true);
    expect(rec.ended).toBe(true);
  }
});

test("64 kB of DATA fed one byte per read: under 1 MB joined", () => {
  const { s, rec, bytes, body } = start(65_536);
  let joined = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const b = realConcat(list, total);
    joined += b.length;
    return b;
  }) as typeof Buffer.concat;
  for (let o = 0; o < bytes.length; o++) s.feed(bytes.subarray(o, o + 1));
  Buffer.concat = realConcat;
  expect(Buffer.concat(rec.parts).equals(body)).toBe(true);
  expect(joined).toBeLessThan(1_000_000);
});

// How gangway's own HTTP/2 server session (workers/http/h2/session.ts) reads
// its input, without sockets: frames split anywhere across reads arrive
// whole and in order, and a frame sent a few bytes at a time is gathered in
// one buffer of its size (each byte copied once), not joined again with all
// that came before on every read (a client dribbling 1-byte segments made
// that quadratic: 134 MB copied for one 16 kB frame).
import { afterEach, expect, test } from "bun:test";
import type { RawConn } from "../../../workers/http/h2-duplex.ts";
import { H2Session } from "../../../workers/http/h2/session.ts";
import type { StreamSink } from "../../../workers/http/h2/stream.ts";
import { DATA, END_STREAM, frame, PREFACE, request, SETTINGS } from "../edge/h2-raw.ts";

const wire: RawConn = { write: (b) => b.length, pause() {}, resume() {}, end() {}, terminate() {} };

class Reader implements StreamSink {
  parts: Buffer[] = [];
  ended = false;
  fromClient(b: Buffer): void {
    this.parts.push(Buffer.from(b));
  }
  clientTrailers(): void {}
  clientEnded(): void {
    this.ended = true;
  }
  drained(): void {}
  wantTrailers(): void {}
  closed(): void {}
}

function session() {
  const reader = new Reader();
  const s = new H2Session(wire, { onRequest(st) { st.sink = reader; }, onTooLarge() {} });
  return { s, reader };
}

/** A POST on stream 1 with `n` bytes of body (a pattern) in 16 kB DATA frames, after the preface. */
function upload(n: number): { bytes: Buffer; body: Buffer } {
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = (i * 7) & 0xff;
  const frames = [Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0), request(1, "/up", [], "POST", false)];
  for (let o = 0; o < n; o += 16384) {
    const e = Math.min(n, o + 16384);
    frames.push(frame(DATA, e === n ? END_STREAM : 0, 1, body.subarray(o, e)));
  }
  return { bytes: Buffer.concat(frames), body };
}

const realConcat = Buffer.concat;
afterEach(() => {
  Buffer.concat = realConcat;
});

test("frames split at every size across reads arrive whole and in order", () => {
  const { bytes, body } = upload(50_000);
  for (const step of [1, 2, 5, 9, 10, 100, 4096, 16_393, 16_400, 70_000]) {
    const { s, reader } = session();
    for (let o = 0; o < bytes.length; o += step) s.feed(bytes.subarray(o, Math.min(bytes.length, o + step)));
    expect(Buffer.concat(reader.parts).equals(body)).toBe(true);
    expect(reader.ended).toBe(true);
  }
});

test("64 kB of DATA fed one byte per read: under 1 MB joined (before: every read joined with all the frame so far)", () => {
  const { bytes, body } = upload(65_536);
  let joined = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const b = realConcat(list, total);
    joined += b.length;
    return b;
  }) as typeof Buffer.concat;
  const { s, reader } = session();
  for (let o = 0; o < bytes.length; o++) s.feed(bytes.subarray(o, o + 1));
  Buffer.concat = realConcat;
  expect(Buffer.concat(reader.parts).equals(body)).toBe(true);
  expect(joined).toBeLessThan(1_000_000);
});

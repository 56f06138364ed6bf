// The receive windows of gangway's own HTTP/2 server session
// (workers/http/h2/session.ts), driven without sockets: frames fed in, the
// bytes the session writes read back as frames. DATA kept for a paused
// stream holds back the connection's window as well as the stream's, so the
// streams of one connection together keep no more than the connection window
// (16 MiB), however many are paused; the window comes back once the kept
// DATA is handed on, or when the stream is dropped.
import { describe, expect, test } from "bun:test";
import type { RawConn } from "../../../workers/http/h2-duplex.ts";
import { CONN_WINDOW, H2Session, STREAM_WINDOW } from "../../../workers/http/h2/session.ts";
import type { ServerStream, StreamSink } from "../../../workers/http/h2/stream.ts";
import { DATA, frame, PREFACE, request, rst, SETTINGS, WINDOW_UPDATE } from "../edge/h2-raw.ts";

interface Seen {
  type: number;
  id: number;
  value: number;
}

/** A connection that takes every write; the frames written, parsed. */
class Wire implements RawConn {
  private bytes = Buffer.alloc(0);
  write(b: Uint8Array): number {
    this.bytes = Buffer.concat([this.bytes, b]);
    return b.length;
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  terminate(): void {}
  frames(): Seen[] {
    const out: Seen[] = [];
    const b = this.bytes;
    for (let p = 0; p + 9 <= b.length; ) {
      const len = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
      out.push({ type: b[p + 3]!, id: b.readUInt32BE(p + 5) & 0x7fffffff, value: len >= 4 ? b.readUInt32BE(p + 9) : 0 });
      p += 9 + len;
    }
    return out;
  }
  /** The connection's WINDOW_UPDATE increments (stream 0). */
  connUpdates(): number[] {
    return this.frames().filter((f) => f.type === WINDOW_UPDATE && f.id === 0).map((f) => f.value);
  }
}

/** A stream reader that pauses every stream as it opens and counts what it is handed. */
class Reader implements StreamSink {
  got = 0;
  fromClient(b: Buffer): void {
    this.got += b.length;
  }
  clientTrailers(): void {}
  clientEnded(): void {}
  drained(): void {}
  wantTrailers(): void {}
  closed(): void {}
}

function session() {
  const wire = new Wire();
  const streams: ServerStream[] = [];
  const reader = new Reader();
  const s = new H2Session(wire, {
    onRequest(st) {
      st.sink = reader;
      st.pause();
      streams.push(st);
    },
    onTooLarge() {},
  });
  s.feed(Buffer.concat([Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0)]));
  return { s, wire, streams, reader };
}

/** `n` bytes of DATA on stream `id`, in 16 KiB frames. */
function data(id: number, n: number): Buffer {
  const parts: Buffer[] = [];
  for (let left = n; left > 0; left -= 16384) parts.push(frame(DATA, 0, id, Buffer.alloc(Math.min(16384, left), 0x61)));
  return Buffer.concat(parts);
}

/** Two turns of the loop: a microtask's frames go out in the setImmediate after the one awaited first. */
const turn = () => new Promise((r) => setImmediate(() => setImmediate(r)));
const COUNT = CONN_WINDOW / STREAM_WINDOW; // streams whose full windows fill the connection's

describe("receive windows of paused streams", () => {
  test("paused streams filling the connection window get no connection WINDOW_UPDATE until their DATA is handed on", async () => {
    const { s, wire, streams, reader } = session();
    for (let i = 0; i < COUNT; i++) s.feed(Buffer.concat([request(2 * i + 1, "/up", [], "POST", false), data(2 * i + 1, STREAM_WINDOW)]));
    await turn();
    expect(streams.length).toBe(COUNT);
    expect(reader.got).toBe(0);
    // only the opening one (16 MiB - 65535): the client has no window left and nothing was handed on
    expect(wire.connUpdates()).toEqual([CONN_WINDOW - 65535]);
    for (const st of streams) st.resume();
    await turn();
    expect(reader.got).toBe(CONN_WINDOW);
    const updates = wire.connUpdates().slice(1);
    expect(updates.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(CONN_WINDOW / 2);
  });

  test("a paused stream reset by the client gives its connection window back", async () => {
    const { s, wire, streams } = session();
    for (let i = 0; i < COUNT; i++) s.feed(Buffer.concat([request(2 * i + 1, "/up", [], "POST", false), data(2 * i + 1, STREAM_WINDOW)]));
    await turn();
    expect(wire.connUpdates().length).toBe(1);
    for (let i = 0; i < COUNT; i++) s.feed(rst(2 * i + 1));
    await turn();
    expect(streams.every((st) => st.isClosed)).toBe(true);
    expect(wire.connUpdates().slice(1).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(CONN_WINDOW / 2);
  });

  test("DATA handed on at once comes back to the connection window as it arrives", async () => {
    const wire = new Wire();
    const reader = new Reader();
    const s = new H2Session(wire, { onRequest(st) { st.sink = reader; }, onTooLarge() {} });
    s.feed(Buffer.concat([Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0)]));
    for (let i = 0; i < 10; i++) s.feed(Buffer.concat([request(2 * i + 1, "/up", [], "POST", false), data(2 * i + 1, STREAM_WINDOW)]));
    await turn();
    expect(reader.got).toBe(10 * STREAM_WINDOW);
    expect(wire.connUpdates().slice(1).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(CONN_WINDOW / 2);
  });
});

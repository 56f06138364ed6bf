// A raw HTTP/2 client for the codec's session tests: it sends whatever frames
// a test builds (h2-raw.ts's frame / headers / request helpers) and records
// every frame the gateway sends, header blocks decoded with HpackDecoder
// (HEADERS + CONTINUATION joined). It never sends WINDOW_UPDATE on its own:
// a test that wants more DATA sends one.
import type { Socket } from "bun";
import { HpackDecoder } from "../../../workers/http/h2/hpack.ts";
import { CONTINUATION, DATA, END_STREAM, GOAWAY, HEADERS, PREFACE, RST_STREAM, SETTINGS, frame } from "../edge/h2-raw.ts";

export interface SeenFrame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

export interface SeenStream {
  fields: [string, string][][];
  data: Buffer[];
  ended: boolean;
  rst: number;
}

export class RawH2 {
  frames: SeenFrame[] = [];
  streams = new Map<number, SeenStream>();
  closed = false;
  private buf = Buffer.alloc(0);
  private decoder = new HpackDecoder();
  private block: Buffer[] = [];
  private blockId = 0;
  private blockEnd = false;
  private waiters: (() => void)[] = [];
  private sock!: Socket<undefined>;

  /** Connect; send the preface and an empty SETTINGS unless `raw` (then nothing is sent). */
  static async open(port: number, raw = false): Promise<RawH2> {
    const c = new RawH2();
    c.sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, d) => c.onData(d),
        close: () => c.onClose(),
        error: () => c.onClose(),
      },
    });
    if (!raw) c.send(Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0));
    return c;
  }

  send(...bufs: Uint8Array[]): void {
    this.sock.write(Buffer.concat(bufs));
  }

  close(): void {
    this.sock.end();
  }

  /** Stop reading the socket (what the gateway sends backs up in the kernel, then in the gateway). */
  pause(): void {
    this.sock.pause();
  }

  resume(): void {
    this.sock.resume();
  }

  /** Frames of `type` received. */
  count(type: number): number {
    let n = 0;
    for (const f of this.frames) if (f.type === type) n++;
    return n;
  }

  stream(id: number): SeenStream {
    let s = this.streams.get(id);
    if (s === undefined) this.streams.set(id, (s = { fields: [], data: [], ended: false, rst: -1 }));
    return s;
  }

  status(id: number): number {
    const f = this.streams.get(id)?.fields[0]?.find(([n]) => n === ":status");
    return f === undefined ? 0 : Number(f[1]);
  }

  body(id: number): string {
    return Buffer.concat(this.streams.get(id)?.data ?? []).toString("latin1");
  }

  /** The error code of the GOAWAY received, or -1. */
  get goaway(): number {
    const g = this.frames.find((f) => f.type === GOAWAY);
    return g === undefined ? -1 : g.payload.readUInt32BE(4);
  }

  /** Wait until `pred` holds (checked on every frame and at close), or `ms` passes; returns whether it held. */
  async until(pred: () => boolean, ms = 3000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred()) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  /** Over: the stream ended or was reset. */
  over(id: number): boolean {
    const s = this.streams.get(id);
    return s !== undefined && (s.ended || s.rst >= 0);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onClose(): void {
    this.closed = true;
    this.wake();
  }

  private onData(d: Uint8Array): void {
    this.buf = this.buf.length === 0 ? Buffer.from(d) : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: SeenFrame = { type: this.buf[3]!, flags: this.buf[4]!, id: this.buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.buf.subarray(9, 9 + len)) };
      this.buf = this.buf.subarray(9 + len);
      this.frames.push(f);
      this.onFrame(f);
    }
    this.wake();
  }

  private onFrame(f: SeenFrame): void {
    if (f.type === HEADERS || f.type === CONTINUATION) {
      let p = f.payload;
      if (f.type === HEADERS) {
        let off = 0;
        let end = p.length;
        if (f.flags & 0x8) {
          end -= p[0]!;
          off = 1;
        }
        if (f.flags & 0x20) off += 5;
        p = p.subarray(off, end);
        this.blockId = f.id;
        this.blockEnd = (f.flags & END_STREAM) !== 0;
        this.block = [];
      }
      this.block.push(p);
      if (f.flags & 0x4) {
        const b = Buffer.concat(this.block);
        const fields: [string, string][] = [];
        this.decoder.decode(b, 0, b.length, (n, v) => fields.push([n, v]), 1 << 20);
        const s = this.stream(this.blockId);
        s.fields.push(fields);
        if (this.blockEnd) s.ended = true;
      }
    } else if (f.type === DATA) {
      const s = this.stream(f.id);
      s.data.push(f.payload);
      if (f.flags & END_STREAM) s.ended = true;
    } else if (f.type === RST_STREAM) this.stream(f.id).rst = f.payload.readUInt32BE(0);
  }
}

/** A 4-byte payload. */
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** A SETTINGS payload from [id, value] pairs. */
export function settings(pairs: [number, number][]): Buffer {
  const b = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    b.writeUInt16BE(id, 6 * i);
    b.writeUInt32BE(v >>> 0, 6 * i + 2);
  });
  return b;
}

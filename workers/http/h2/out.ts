// The bytes an HTTP/2 connection sends: frames are written straight into one
// buffer as the session and its streams make them, and the buffer goes to the
// connection once per event-loop turn (a setImmediate) in one write: a
// response's HEADERS and DATA, and every stream answered in the same turn,
// leave together (one syscall on a plain socket, one TLS record on a bridge).
// What the connection does not take is kept until drain; meanwhile `blocked`
// tells the session to leave DATA queued on its streams (their congestion is
// what slows the exchanges down), so this buffer stays bounded.
//
// A turn's buffer is a piece of one slab shared by every connection of the
// thread, given up at the flush (its unused end given back): an idle
// connection holds no buffer, and the pieces are never written twice, so a
// bridge (TlsConn) may keep what it was handed.
//
// DATA of one stream written right after that stream's last DATA frame of the
// turn, with nothing between, joins that frame (its length grows, END_STREAM
// is ORed in) up to the peer's SETTINGS_MAX_FRAME_SIZE: an upstream read that
// decoded into many small pieces (tiny chunks, a burst of small DATA frames)
// leaves as few frames, not one 9-byte head per piece. Nothing waits for it:
// the turn's write goes out as before.
//
// Frames other than DATA are not held back, so a peer that makes us answer
// (PING, SETTINGS, a request answered by headers alone, a stream error) while
// it does not read would grow the buffer without end. Counters bound it, as
// Envoy's max_outbound_frames / max_outbound_control_frames do: the frames not
// yet taken by the connection (this turn's and those of a write it did not
// take whole) above MAX_FRAMES, the PING and SETTINGS acknowledgements and
// RST_STREAMs among them above MAX_CONTROL, or their bytes above MAX_BYTES,
// and the connection is cut at once (onFlood): a GOAWAY could not reach a
// peer that does not read.
import type { RawConn } from "../h2-duplex.ts";
import { ACK, DATA, END_STREAM, FRAME_HEAD, PING, RST_STREAM, SETTINGS, putHead } from "./frames.ts";

const SLAB = 256 * 1024;
/** The smallest piece a turn takes. */
const PIECE = 16 * 1024;
/** Bytes gathered in one turn above which DATA waits for the flush. */
const TURN_HIGH = 512 * 1024;
const EMPTY = Buffer.alloc(0);
/** Frames (all but DATA) waiting for the connection above which it is cut (Envoy's max_outbound_frames). */
export const MAX_FRAMES = 10_000;
/** PING / SETTINGS acknowledgements and RST_STREAMs waiting above which it is cut (Envoy's max_outbound_control_frames). */
export const MAX_CONTROL = 1_000;
/** Bytes waiting for a connection that does not take them above which it is cut (DATA stops far below: TURN_HIGH). */
export const MAX_BYTES = 16 * 1024 * 1024;

let slab = Buffer.allocUnsafe(SLAB);
let slabPos = 0;

/** `n` bytes for a turn's frames: from the slab, or their own when large. */
function piece(n: number): Buffer {
  if (n > SLAB / 4) return Buffer.allocUnsafe(n);
  if (slabPos + n > SLAB) {
    slab = Buffer.allocUnsafe(SLAB);
    slabPos = 0;
  }
  const b = slab.subarray(slabPos, slabPos + n);
  slabPos += n;
  return b;
}

/** Piece `b` was used up to `used`: when it is the slab's last piece, its unused end goes back. */
function giveBack(b: Buffer, used: number): void {
  if (b.buffer === slab.buffer && b.byteOffset + b.length === slab.byteOffset + slabPos) slabPos -= b.length - used;
}

export class FrameOut {
  /** This turn's frames: buf[0, pos). */
  buf: Buffer = EMPTY;
  pos = 0;
  private scheduled = false;
  /** What the connection did not take of the last write. */
  private pending: Uint8Array | null = null;
  private closed = false;
  /** end() came while bytes were waiting: end once they are written. */
  private endAfter = false;
  // frames not taken by the connection yet: in buf (this turn's), and in pending (counted whole until it is all written)
  private frames = 0;
  private control = 0;
  /** Where the turn's last frame starts when it is DATA without END_STREAM (of stream `lastId`), else -1. */
  private lastAt = -1;
  private lastId = 0;
  private pendFrames = 0;
  private pendControl = 0;

  constructor(
    private readonly raw: RawConn,
    /** Called after a flush made room (drain, or the end of a turn): queued DATA may go. */
    private readonly onRoom: () => void,
    /** Too much waits for a peer that does not read: the owner drops the connection (then drop() and terminate). */
    private readonly onFlood: () => void = () => {},
  ) {}

  /** DATA should stay queued: the connection is backed up, or this turn gathered enough. */
  get blocked(): boolean {
    return this.pending !== null || this.pos > TURN_HIGH || this.closed;
  }

  /** Make room for `n` more bytes at pos. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = piece(Math.max(PIECE, 2 * (this.pos + n)));
    if (this.pos > 0) this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /**
   * DATA p[ps, pe) (`flags`: END_STREAM or 0) of `stream`: joined to the turn's last frame when that is
   * DATA of the same stream and the sum fits `max` (the peer's frame size), else a frame of its own
   * (true then: a DATA frame more on the wire).
   */
  data(stream: number, flags: number, p: Uint8Array | null, ps: number, pe: number, max: number): boolean {
    if (this.closed) return false;
    const n = pe - ps;
    const at = this.lastAt;
    if (at >= 0 && this.lastId === stream) {
      const len = this.pos - at - FRAME_HEAD + n;
      if (len <= max) {
        if (n > 0) {
          this.reserve(n);
          const b = this.buf;
          b.set(p!.subarray(ps, pe), this.pos);
          this.pos += n;
          b[at] = (len >>> 16) & 0xff;
          b[at + 1] = (len >>> 8) & 0xff;
          b[at + 2] = len & 0xff;
        }
        if ((flags & END_STREAM) !== 0) {
          this.buf[at + 4]! |= END_STREAM;
          this.lastAt = -1;
        }
        return false;
      }
    }
    const start = this.pos;
    this.frame(DATA, flags, stream, p, ps, pe);
    if ((flags & END_STREAM) === 0 && !this.closed) {
      this.lastAt = start;
      this.lastId = stream;
    }
    return true;
  }

  /** A frame with payload p[ps, pe). */
  frame(type: number, flags: number, stream: number, p: Uint8Array | null, ps: number, pe: number): void {
    if (this.closed) return;
    this.lastAt = -1;
    const n = pe - ps;
    this.reserve(FRAME_HEAD + n);
    putHead(this.buf, this.pos, n, type, flags, stream);
    this.pos += FRAME_HEAD;
    if (n > 0) {
      this.buf.set(p!.subarray(ps, pe), this.pos);
      this.pos += n;
    }
    if (type !== DATA) this.count((flags & ACK) !== 0 ? type === PING || type === SETTINGS : type === RST_STREAM);
    this.schedule();
  }

  /** A frame whose 4-byte payload is `v` (RST_STREAM, WINDOW_UPDATE). */
  frame32(type: number, stream: number, v: number): void {
    if (this.closed) return;
    this.lastAt = -1;
    this.reserve(FRAME_HEAD + 4);
    const b = this.buf;
    putHead(b, this.pos, 4, type, 0, stream);
    const p = this.pos + FRAME_HEAD;
    b[p] = (v >>> 24) & 0xff;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
    this.count(type === RST_STREAM);
    this.schedule();
  }

  /** Bytes written at pos by the caller (after reserve): one frame that is not DATA (a header block, or the client preface). */
  wrote(n: number): void {
    if (this.closed) return;
    this.lastAt = -1;
    this.pos += n;
    this.count(false);
    this.schedule();
  }

  /** A frame other than DATA went into buf: past a bound, the connection is cut. */
  private count(control: boolean): void {
    if (control && ++this.control + this.pendControl > MAX_CONTROL) return this.flood();
    if (++this.frames + this.pendFrames > MAX_FRAMES) return this.flood();
    if (this.pending !== null && this.pos + this.pending.length > MAX_BYTES) this.flood();
  }

  private flood(): void {
    this.drop();
    this.onFlood();
  }

  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    if (this.write()) this.onRoom();
  };

  /** Write this turn's bytes unless earlier ones still wait; true when nothing is left waiting. */
  private write(): boolean {
    if (this.closed) return false;
    if (this.pending !== null) return false;
    const n = this.pos;
    this.lastAt = -1;
    if (n > 0) {
      const out = this.buf.subarray(0, n);
      giveBack(this.buf, n);
      this.buf = EMPTY;
      this.pos = 0;
      const frames = this.frames;
      const control = this.control;
      this.frames = this.control = 0;
      const took = this.raw.write(out);
      if (took < out.length) {
        this.pending = took > 0 ? out.subarray(took) : out;
        this.pendFrames = frames;
        this.pendControl = control;
        return false;
      }
    }
    if (this.endAfter) this.finish();
    return true;
  }

  /** The connection can take more (drain). */
  flush(): void {
    const p = this.pending;
    if (p === null || this.closed) return;
    const n = this.raw.write(p);
    if (n < p.length) {
      if (n > 0) this.pending = p.subarray(n);
      return;
    }
    this.pending = null;
    this.pendFrames = this.pendControl = 0;
    if (this.write()) this.onRoom();
  }

  /** Write what is gathered now, then end the connection once it is all out. */
  end(): void {
    if (this.closed) return;
    this.endAfter = true;
    this.write();
  }

  private finish(): void {
    this.endAfter = false;
    this.closed = true;
    this.raw.end();
  }

  /** The connection is gone: drop everything. */
  drop(): void {
    this.closed = true;
    this.lastAt = -1;
    this.pending = null;
    this.buf = EMPTY;
    this.pos = 0;
    this.frames = this.control = this.pendFrames = this.pendControl = 0;
  }
}

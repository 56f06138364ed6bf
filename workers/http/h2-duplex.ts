// The node Duplex node:http2 runs a client's HTTP/2 session over: bytes from
// the connection go in through feed(); the frames the session writes are
// gathered and written to the connection once per event-loop turn (a
// setImmediate), joined, instead of one socket write per frame: a response's
// HEADERS and DATA, and the responses of all streams answered in the same
// turn, leave in one write (one syscall on a plain socket, one TLS record on
// a TlsConn). While the connection does not take what was written, the
// session's write callbacks wait (its backpressure) until flush() on drain.
import { Duplex } from "node:stream";

/** The connection under the session: a Bun socket, or a TlsConn (both return the bytes taken). */
export interface RawConn {
  write(b: Uint8Array): number;
  pause(): void;
  resume(): void;
  end(): void;
  terminate(): void;
}

/** Bytes gathered in one turn above which the session's writes wait for the flush. */
const BATCH_HIGH = 256 * 1024;
type Callback = (err?: Error | null) => void;

export class H2Duplex extends Duplex {
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private scheduled = false;
  /** What the connection did not take of the last write. */
  private pending: Uint8Array | null = null;
  /** Session write callbacks held while backed up. */
  private waiting: Callback[] = [];
  private rawPaused = false;
  private rawClosed = false;
  /** _final came while bytes were still waiting: end once they are written. */
  private endAfter = false;

  constructor(readonly raw: RawConn) {
    super({ allowHalfOpen: false });
  }

  /** Bytes from the network. */
  feed(chunk: Uint8Array): void {
    if (!this.push(chunk) && !this.rawPaused && !this.rawClosed) {
      this.rawPaused = true;
      this.raw.pause();
    }
  }

  /** The connection closed (or reached EOF). */
  rawEnded(): void {
    if (this.rawClosed) return;
    this.rawClosed = true;
    this.push(null);
    this.batch = [];
    this.batchBytes = 0;
    this.pending = null;
    this.release(new Error("socket closed"));
  }

  override _read(): void {
    if (this.rawPaused && !this.rawClosed) {
      this.rawPaused = false;
      this.raw.resume();
    }
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: Callback): void {
    if (this.rawClosed) return cb(new Error("socket closed"));
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.turn);
    }
    if (this.pending !== null || this.batchBytes > BATCH_HIGH) this.waiting.push(cb);
    else cb();
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    this.writeBatch();
  };

  /** Write what was gathered, unless earlier bytes still wait for drain. */
  private writeBatch(): void {
    if (this.rawClosed || this.pending !== null || this.batchBytes === 0) return;
    const b = this.batch;
    const out = b.length === 1 ? b[0]! : Buffer.concat(b, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    const n = this.raw.write(out);
    if (n < out.length) {
      this.pending = n > 0 ? out.subarray(n) : out;
      return;
    }
    this.release(null);
    if (this.endAfter) this.finishEnd();
  }

  /** The connection can take more (drain). */
  flush(): void {
    const p = this.pending;
    if (p === null || this.rawClosed) return;
    const n = this.raw.write(p);
    if (n < p.length) {
      if (n > 0) this.pending = p.subarray(n);
      return;
    }
    this.pending = null;
    if (this.batchBytes > 0) return this.writeBatch();
    this.release(null);
    if (this.endAfter) this.finishEnd();
  }

  private release(err: Error | null): void {
    const w = this.waiting;
    if (w.length === 0) return;
    this.waiting = [];
    for (let i = 0; i < w.length; i++) w[i]!(err);
  }

  private finishEnd(): void {
    this.endAfter = false;
    if (!this.rawClosed) this.raw.end();
  }

  override _final(cb: Callback): void {
    this.writeBatch(); // what the session wrote last (GOAWAY) goes before the end
    if (this.pending !== null || this.batchBytes > 0) this.endAfter = true;
    else if (!this.rawClosed) this.raw.end();
    cb();
  }

  override _destroy(err: Error | null, cb: Callback): void {
    if (!this.rawClosed) this.raw.terminate();
    this.release(err ?? new Error("socket closed"));
    cb(err);
  }
}

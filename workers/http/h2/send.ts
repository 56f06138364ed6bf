// The sending half of an HTTP/2 server session (session.ts extends it): the
// connection's output (out.ts), HPACK for our header blocks, the client's
// settings and send windows, and the stream table's bookkeeping when a stream
// ends. Response headers are encoded straight into the output buffer; DATA
// leaves as far as the stream's and the connection's windows allow and the
// connection takes it, the rest stays queued on the stream (pump) until a
// WINDOW_UPDATE, a SETTINGS or a flush makes room (pumpAll). A stream that was
// congested is told when its queue has gone down (relieve), and a closed
// stream is told in a microtask.
import type { OutgoingHttpHeaders } from "node:http2";
import type { RawConn } from "../h2-duplex.ts";
import * as F from "./frames.ts";
import { HpackEncoder } from "./hpack.ts";
import { FrameOut } from "./out.ts";
import type { ServerStream } from "./stream.ts";

/** Streams we reset, remembered so that frames the client sent before it saw the reset are dropped, not taken as errors. */
const RESETS_KEPT = 256;
/** A congested stream is told it drained once its queue is this small. */
const DRAINED = 64 * 1024;

// response fields being encoded
const outNames: string[] = [];
const outValues: string[] = [];

export abstract class SessionSend {
  readonly out: FrameOut;
  protected readonly encoder = new HpackEncoder();
  /** The client's settings. */
  protected readonly peer = F.defaultSettings();
  readonly streams = new Map<number, ServerStream>();
  /** The highest stream id the client opened. */
  lastId = 0;
  /** The client's connection window for our DATA. */
  protected connSend = F.DEFAULT_WINDOW;
  /** Streams with DATA waiting for a window or for room on the connection. */
  private sendList: ServerStream[] = [];
  private closing: ServerStream[] = [];
  protected resetIds = new Set<number>();
  protected dead = false;
  /** DATA frames sent (the WINDOW_UPDATEs a client may send grow with them). */
  protected dataSent = 0;

  constructor(protected readonly raw: RawConn) {
    this.out = new FrameOut(raw, this.room, () => this.flooded());
  }

  /** Too many frames wait for a client that does not read them (out.ts): cut at once. */
  protected abstract flooded(): void;

  /** A stream closed: the connection may be done (after GOAWAY). */
  protected abstract maybeFinish(): void;

  protected rememberReset(id: number): void {
    const r = this.resetIds;
    r.add(id);
    if (r.size > RESETS_KEPT) r.delete(r.values().next().value!);
  }

  /** A response's (or trailers') header block: HEADERS, and CONTINUATION past the peer's frame size. */
  sendHeaders(st: ServerStream, h: OutgoingHttpHeaders, end: boolean): void {
    let n = 0;
    let estimate = 16; // the encoder wants room for its worst case: every field a literal (name + value + 12)
    for (const name in h) {
      const v = h[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          outNames[n] = name;
          outValues[n++] = v[i]!;
          estimate += name.length + v[i]!.length + 12;
        }
      } else {
        const value = typeof v === "string" ? v : String(v);
        outNames[n] = name;
        outValues[n++] = value;
        estimate += name.length + value.length + 12;
      }
    }
    const out = this.out;
    let at: number;
    let stop: number;
    for (;;) {
      out.reserve(F.FRAME_HEAD + estimate);
      at = out.pos;
      stop = this.encoder.encode(outNames, outValues, n, out.buf, at + F.FRAME_HEAD);
      if (stop >= 0) break;
      estimate *= 2;
    }
    const len = stop - at - F.FRAME_HEAD;
    const flags = end ? F.END_STREAM : 0;
    const max = this.peer.maxFrameSize;
    if (len <= max) {
      F.putHead(out.buf, at, len, F.HEADERS, flags | F.END_HEADERS, st.id);
      out.wrote(F.FRAME_HEAD + len);
      return;
    }
    // too big for one frame: the block moves out and comes back in pieces
    const block = Buffer.from(out.buf.subarray(at + F.FRAME_HEAD, stop));
    for (let o = 0; o < len; o += max) {
      const e = Math.min(len, o + max);
      out.frame(o === 0 ? F.HEADERS : F.CONTINUATION, (o === 0 ? flags : 0) | (e === len ? F.END_HEADERS : 0), st.id, block, o, e);
    }
  }

  /** Send what the stream has queued as far as the windows and the connection allow; then its END_STREAM, trailers or deferred reset. */
  pump(st: ServerStream): void {
    if (st.isClosed) return;
    const out = this.out;
    while (st.queued > 0) {
      if (out.blocked) break;
      const win = st.sendWindow < this.connSend ? st.sendWindow : this.connSend;
      if (win <= 0) break;
      const b = st.queue[st.queueHead]!;
      const off = st.headOff;
      const avail = b.length - off;
      let n = avail < win ? avail : win;
      const max = this.peer.maxFrameSize;
      if (n > max) n = max;
      const fin = n === st.queued && st.endQueued && !st.waitTrailers && st.trailers === null;
      if (out.data(st.id, fin ? F.END_STREAM : 0, b, off, off + n, max)) this.dataSent++;
      st.sendWindow -= n;
      this.connSend -= n;
      st.queued -= n;
      if (n === avail) {
        st.queue[st.queueHead++] = EMPTY;
        st.headOff = 0;
        if (st.queueHead === st.queue.length) {
          st.queue.length = 0;
          st.queueHead = 0;
        }
      } else st.headOff = off + n;
      if (fin) return this.localEnd(st);
    }
    if (st.queued > 0) {
      if (!st.inSendList) {
        st.inSendList = true;
        this.sendList.push(st);
      }
      return;
    }
    if (st.endQueued && !st.localEnded) {
      if (st.trailers !== null) {
        const t = st.trailers;
        st.trailers = null;
        // no fields: an empty DATA ends the stream instead of an empty HEADERS (as node:http2 did)
        if (hasFields(t)) this.sendHeaders(st, t, true);
        else if (out.data(st.id, F.END_STREAM, null, 0, 0, this.peer.maxFrameSize)) this.dataSent++;
        this.localEnd(st);
      } else if (st.waitTrailers) {
        if (st.sink !== null && !st.askedTrailers) {
          st.askedTrailers = true;
          st.sink.wantTrailers();
        }
        return;
      } else {
        if (out.data(st.id, F.END_STREAM, null, 0, 0, this.peer.maxFrameSize)) this.dataSent++;
        this.localEnd(st);
      }
    }
    if (st.rstAfter >= 0 && st.localEnded && !st.isClosed) this.resetStream(st, st.rstAfter);
  }

  /** Our END_STREAM went out. */
  localEnd(st: ServerStream): void {
    st.localEnded = true;
    if (st.isClosed) return;
    if (st.remoteEnded) return this.closeStream(st);
    // answered before the request ended: the rest of it is refused (H2Stream does this itself with close())
    if (st.sink === null) this.resetStream(st, F.NO_ERROR);
  }

  /** Send DATA that waited (after a WINDOW_UPDATE, a SETTINGS raising the window, or room on the connection). */
  protected pumpAll(): void {
    const list = this.sendList;
    if (list.length === 0) return;
    this.sendList = [];
    for (let i = 0; i < list.length; i++) {
      const st = list[i]!;
      st.inSendList = false;
      this.pump(st);
    }
    for (let i = 0; i < list.length; i++) this.relieve(list[i]!);
  }

  /** A congested stream whose queue went down: the exchange may go on. */
  protected relieve(st: ServerStream): void {
    if (!st.needDrain || st.isClosed || st.queued > DRAINED) return;
    st.needDrain = false;
    if (st.sink !== null) st.sink.drained();
  }

  protected readonly room = (): void => {
    if (!this.dead) this.pumpAll();
  };

  /** Reset stream `st` with `code` (RST_STREAM), dropping what it has queued. */
  resetStream(st: ServerStream, code: number): void {
    if (st.isClosed) return;
    if (!this.dead) this.out.frame32(F.RST_STREAM, st.id, code);
    this.rememberReset(st.id);
    this.closeStream(st);
  }

  protected closeStream(st: ServerStream): void {
    st.isClosed = true;
    st.queue = [];
    st.queueHead = 0;
    st.queued = 0;
    this.streams.delete(st.id);
    if (st.sink !== null) {
      if (this.closing.length === 0) queueMicrotask(this.notifyClosed);
      this.closing.push(st);
    }
    this.maybeFinish();
  }

  /** Closed streams are told in a microtask: a reset asked for by the exchange does not call back into it while it runs. */
  private readonly notifyClosed = (): void => {
    const q = this.closing;
    this.closing = [];
    for (let i = 0; i < q.length; i++) q[i]!.sink!.closed();
  };

  protected sendGoaway(code: number): void {
    const b = Buffer.allocUnsafe(8);
    F.putU32(b, 0, this.lastId);
    F.putU32(b, 4, code);
    this.out.frame(F.GOAWAY, 0, 0, b, 0, 8);
  }
}

const EMPTY = Buffer.alloc(0);

function hasFields(h: OutgoingHttpHeaders): boolean {
  for (const _ in h) return true;
  return false;
}

// The sending half of gangway's own HTTP/2 client session (client-session.ts
// extends it with the reading half): streams opened with HEADERS encoded from
// the request's fields, request bodies as DATA within the upstream's windows
// (what does not fit waits on its stream, pump() sends it when WINDOW_UPDATE
// or socket room comes), END_STREAM or trailers, RST_STREAM, GOAWAY and the
// stream bookkeeping. Frames go through FrameOut (out.ts): one socket write
// per event-loop turn.
import type { OutgoingHttpHeaders } from "node:http2";
import { HpackEncoder } from "./hpack.ts";
import { H2ClientStream, MALFORMED, type ClientStreamOwner } from "./client-stream.ts";
import * as F from "./frames.ts";
import { FrameOut } from "./out.ts";

/** The socket under the session (a Bun socket: bytes taken by a write are returned). */
export interface ClientSocket {
  write(b: Uint8Array): number;
  pause(): void;
  resume(): void;
  end(): void;
  terminate(): void;
}

/** What the session tells its pool (upstream-h2-pool.ts H2Session). */
export interface ClientSessionHost {
  /** The upstream's first SETTINGS came: streams may go out. */
  onSessionReady(): void;
  /** GOAWAY came: no new streams. */
  onSessionGoaway(): void;
  /** The connection is over (socket closed or a connection error). */
  onSessionClosed(): void;
}

/** Most bytes of one request head's block (larger: the stream fails before it goes out). */
const BLOCK_MAX = 256 * 1024;
/** The last client stream id (2^31 - 1): a session that reaches it takes no more streams. */
const LAST_ID = 0x7fffffff;
const UPPER = /[A-Z]/;
/** SETTINGS_MAX_HEADER_LIST_SIZE not announced. */
const UNLIMITED = 0xffffffff;

// one scratch for every session's HEADERS (encoded and framed at once, never held)
let blockBuf = new Uint8Array(16 * 1024);
const names: string[] = [];
const values: string[] = [];

export class H2ClientSend {
  protected readonly streams = new Map<number, H2ClientStream>();
  protected nextId = 1;
  /** Streams open (not yet closed both ways). */
  active = 0;
  ready = false;
  goingAway = false;
  closed = false;
  /** socketClosed ran. */
  protected gone = false;
  /** The upstream's SETTINGS. */
  protected readonly peer: F.Settings = F.defaultSettings();
  protected connSendWindow = F.DEFAULT_WINDOW;
  /** Streams with body waiting for window. */
  protected blocked: H2ClientStream[] = [];
  protected readonly encoder = new HpackEncoder();
  /** Frames of this turn, written once; DATA waits while it is backed up (then pump() on room). */
  protected readonly out: FrameOut;

  constructor(
    protected readonly sock: ClientSocket,
    protected readonly host: ClientSessionHost,
    /** Our stream window (SETTINGS_INITIAL_WINDOW_SIZE). */
    protected readonly window: number,
  ) {
    this.out = new FrameOut(sock, () => this.pump(), () => this.destroy()); // an upstream that makes us answer without reading: cut
  }

  /** Room for a new stream (the upstream's limit; the pool adds its own). */
  get maxStreams(): number {
    return this.peer.maxConcurrentStreams;
  }

  // ---- streams ----

  /**
   * A new stream with HEADERS from `h` (pseudo-headers first), END_STREAM when
   * `endStream`; null when its fields cannot be sent (a block over BLOCK_MAX,
   * the session going away): the caller fails the try.
   */
  request(owner: ClientStreamOwner, h: OutgoingHttpHeaders, endStream: boolean): H2ClientStream | null {
    if (this.closed || this.goingAway) return null;
    let n = 0;
    for (const k in h) {
      if (k.charCodeAt(0) !== 58) continue;
      n = addField(n, k, h[k]);
    }
    for (const k in h) {
      if (k.charCodeAt(0) === 58) continue;
      n = addField(n, UPPER.test(k) ? k.toLowerCase() : k, h[k]); // HTTP/2 names are lower-case (node:http2 lower-cased them too)
    }
    const id = this.nextId;
    if (!this.headers(id, n, endStream)) return null;
    this.nextId += 2;
    if (this.nextId > LAST_ID) {
      this.goingAway = true; // ids spent: the pool opens another session for what follows
      this.host.onSessionGoaway();
    }
    const s = new H2ClientStream(this, id, owner, this.peer.initialWindowSize, this.window);
    if (endStream) s.localEnded = true;
    if (h[":method"] === "HEAD") s.headRequest = true;
    this.streams.set(id, s);
    this.active++;
    return s;
  }

  /**
   * Encodes `count` fields (names/values) and frames them as HEADERS (+ CONTINUATION) of stream `id`;
   * false, nothing sent, when the block is over BLOCK_MAX or the header list over the upstream's
   * SETTINGS_MAX_HEADER_LIST_SIZE (it said it would refuse it: the try fails here instead).
   */
  protected headers(id: number, count: number, endStream: boolean): boolean {
    const maxList = this.peer.maxHeaderListSize;
    if (maxList !== UNLIMITED) {
      let size = 0;
      for (let i = 0; i < count; i++) size += names[i]!.length + values[i]!.length + 32; // RFC 9113 §6.5.2
      if (size > maxList) return false;
    }
    let len = this.encoder.encode(names, values, count, blockBuf, 0);
    while (len < 0) {
      if (blockBuf.length >= BLOCK_MAX) return false;
      blockBuf = new Uint8Array(blockBuf.length * 2);
      len = this.encoder.encode(names, values, count, blockBuf, 0);
    }
    const max = this.peer.maxFrameSize;
    const frames = len <= max ? 1 : Math.ceil(len / max);
    let at = 0;
    for (let i = 0; i < frames; i++) {
      const part = Math.min(max, len - at);
      const flags = (i === frames - 1 ? F.END_HEADERS : 0) | (i === 0 && endStream ? F.END_STREAM : 0);
      this.out.frame(i === 0 ? F.HEADERS : F.CONTINUATION, flags, id, blockBuf, at, at + part);
      at += part;
    }
    return true;
  }

  /** Body bytes for stream `s`: sent within the windows, the rest kept (copied) in order. */
  sendData(s: H2ClientStream, b: Uint8Array): void {
    if (s.pendingBytes > 0) return this.keep(s, b, 0);
    const sent = this.dataFrames(s, b, 0);
    if (sent < b.length) this.keep(s, b, sent);
  }

  private keep(s: H2ClientStream, b: Uint8Array, from: number): void {
    const rest = Buffer.from(b.subarray(from)); // the caller may reuse its buffer
    s.pending.push(rest);
    s.pendingBytes += rest.length;
    if (!s.blocked) {
      s.blocked = true;
      this.blocked.push(s);
    }
  }

  /** DATA frames of b[from..] within the windows; returns where it stopped. */
  private dataFrames(s: H2ClientStream, b: Uint8Array, from: number): number {
    let at = from;
    const out = this.out;
    while (at < b.length && !out.blocked) {
      const max = this.peer.maxFrameSize;
      const can = Math.min(s.sendWindow, this.connSendWindow, max, b.length - at);
      if (can <= 0) break;
      out.data(s.id, 0, b, at, at + can, max);
      s.sendWindow -= can;
      this.connSendWindow -= can;
      at += can;
    }
    return at;
  }

  /** The request of `s` is over: END_STREAM (or trailers) now, or once its pending body has gone. */
  endStream(s: H2ClientStream): void {
    if (s.pendingBytes > 0) return;
    s.localEnded = true;
    if (s.trailers !== null) {
      let n = 0;
      for (const k in s.trailers) if (k.charCodeAt(0) !== 58) n = addField(n, k.toLowerCase(), s.trailers[k]);
      if (!this.headers(s.id, n, true)) return this.reset(s, F.INTERNAL_ERROR, F.PROTOCOL_ERROR);
    } else this.out.data(s.id, F.END_STREAM, null, 0, 0, this.peer.maxFrameSize);
    if (s.remoteEnded) this.forget(s);
  }

  /** Streams waiting for window send what now fits. */
  protected pump(): void {
    if (this.blocked.length === 0 || this.connSendWindow <= 0 || this.closed || this.out.blocked) return;
    const list = this.blocked;
    this.blocked = [];
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      s.blocked = false;
      if (s.closed) continue;
      while (s.pending.length > 0) {
        const b = s.pending[0]!;
        const at = this.dataFrames(s, b, 0);
        if (at === 0) break;
        s.pendingBytes -= at;
        if (at < b.length) {
          s.pending[0] = b.subarray(at);
          break;
        }
        s.pending.shift();
      }
      if (s.pendingBytes > 0) {
        s.blocked = true;
        this.blocked.push(s);
        continue;
      }
      if (s.endQueued && !s.localEnded) this.endStream(s);
      if (s.wantDrain) {
        s.wantDrain = false;
        s.owner?.drained();
      }
    }
  }

  /** The owner took held DATA: the stream's window is given back. */
  giveBack(s: H2ClientStream): void {
    if (s.closed || s.remoteEnded || s.unacked === 0) return;
    this.windowUpdate(s.id, s.unacked);
    s.recvWindow += s.unacked;
    s.unacked = 0;
  }

  /** RST_STREAM `code` for `s`, which is over; the owner (if still there) hears `tell` (-1: nothing). */
  reset(s: H2ClientStream, code: number, tell = -1): void {
    if (s.closed) return;
    this.out.frame32(F.RST_STREAM, s.id, code);
    const owner = s.owner;
    this.forget(s);
    if (tell >= 0 && owner !== null) owner.streamClosed(tell);
  }

  /** `s` is closed both ways (or reset): off the books. */
  forget(s: H2ClientStream): void {
    if (s.closed) return;
    s.closed = true;
    s.pending = [];
    s.pendingBytes = 0;
    if (this.streams.delete(s.id)) this.active--;
    if (this.goingAway && this.active === 0) this.close();
  }

  // ---- output ----

  /** The socket takes more (drain). */
  drain(): void {
    this.out.flush();
  }

  protected windowUpdate(id: number, n: number): void {
    this.out.frame32(F.WINDOW_UPDATE, id, n);
  }

  // ---- closing ----

  /** No new streams; GOAWAY and the end once the open ones are done. */
  close(): void {
    this.goingAway = true;
    if (this.active > 0 || this.closed) return;
    this.goaway(F.NO_ERROR);
    this.closed = true;
    this.out.end();
  }

  private goaway(code: number): void {
    const p = goawayPayload;
    F.putU32(p, 0, 0); // we accept no streams from the upstream
    F.putU32(p, 4, code);
    this.out.frame(F.GOAWAY, 0, 0, p, 0, 8);
  }

  /** A connection error: GOAWAY `code`, the socket ended once that is out, every stream failed now. */
  protected fail(code: number): void {
    if (this.closed) return;
    this.goaway(code);
    this.closed = true;
    this.out.end();
    this.socketClosed(MALFORMED);
  }

  /** The socket is gone: every open stream fails (its response did not end); `tell`: what their owners hear (0: the connection went). */
  socketClosed(tell = 0): void {
    if (this.gone) return;
    this.gone = true;
    if (!this.closed) this.out.drop(); // the peer closed: nothing more goes out (after our GOAWAY, what it holds may still go)
    this.closed = true;
    this.goingAway = true;
    const all = [...this.streams.values()];
    this.streams.clear();
    this.active = 0;
    this.blocked = [];
    for (const s of all) {
      if (s.closed) continue;
      s.closed = true;
      if (s.remoteEnded) continue; // its whole response came (held while paused): it still goes to the owner
      const o = s.owner;
      s.owner = null;
      if (o !== null) o.streamClosed(tell);
    }
    this.host.onSessionClosed();
  }

  /** Tear down now (connect timeout, pool gone). */
  destroy(): void {
    if (this.gone) return;
    this.closed = true;
    this.out.drop();
    this.sock.terminate();
    this.socketClosed();
  }
}

const goawayPayload = Buffer.alloc(8);

/** Field `k` (each value of a list) into the scratch names/values from index `n`; the new count. */
function addField(n: number, k: string, v: string | number | string[] | undefined): number {
  if (v === undefined) return n;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      names[n] = k;
      values[n++] = String(v[i]);
    }
    return n;
  }
  names[n] = k;
  values[n++] = typeof v === "string" ? v : String(v);
  return n;
}

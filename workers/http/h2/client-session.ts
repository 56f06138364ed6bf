// gangway's own HTTP/2 client session for upstreams (RFC 9113), over a Bun
// socket (h2c with prior knowledge, or TLS with ALPN h2). It replaces
// node:http2's session (kept behind GANGWAY_H2_UPSTREAM=node): the request's
// HEADERS are encoded straight from its fields, frames written in a turn
// leave in one socket write (a setImmediate, as h2-duplex.ts did for
// node:http2), and the response's fields, DATA and trailers go to the stream's
// owner without events or streams in between. Frames and output buffering are
// the server codec's (frames.ts, out.ts).
//
// Connection rules kept here: our SETTINGS (ENABLE_PUSH 0, INITIAL_WINDOW_SIZE
// = the stream window) after the preface; the upstream's SETTINGS applied and
// acknowledged (its first one makes the session ready: MAX_CONCURRENT_STREAMS
// is known before streams go out); PING answered; GOAWAY retires the session
// and fails the streams it did not take; PUSH_PROMISE, a bad frame or a bad
// header block is a connection error (GOAWAY, then every stream fails).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { HpackDecoder, HpackEncoder, HpackError } from "./hpack.ts";
import { H2ClientStream, type ClientStreamOwner } from "./client-stream.ts";
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

/** Most header bytes (RFC 7541 §4.1 sizes) accepted in one response head or trailers. */
const MAX_HEADER_LIST = 64 * 1024;
/** Our connection window: given back as it is received (the streams' windows hold slow readers back). */
const CONN_WINDOW = 1 << 24;
/** Most bytes of one request head's block (larger: the stream fails before it goes out). */
const BLOCK_MAX = 256 * 1024;
/** The last client stream id (2^31 - 1): a session that reaches it takes no more streams. */
const LAST_ID = 0x7fffffff;

/** Fields node:http2 keeps once (a repeat is dropped); set-cookie comes as a list, cookie joined with "; ", others with ", ". */
const SINGLE = new Set([
  "access-control-allow-credentials", "access-control-max-age", "access-control-request-method", "age", "authorization",
  "content-encoding", "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type",
  "date", "dnt", "etag", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "last-modified", "location", "max-forwards", "proxy-authorization", "range", "referer", "retry-after",
  "tk", "upgrade-insecure-requests", "user-agent", "x-content-type-options",
]);
/** Never on HTTP/2 (RFC 9113 §8.2.2): a response carrying one is malformed. */
const CONNECTION_FIELDS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);
const UPPER = /[A-Z]/;
const PREFACE = Buffer.from(F.PREFACE, "latin1");

// one scratch for every session's HEADERS (encoded and framed at once, never held)
let blockBuf = new Uint8Array(16 * 1024);
const names: string[] = [];
const values: string[] = [];

export class H2ClientSession {
  private readonly streams = new Map<number, H2ClientStream>();
  private nextId = 1;
  /** Streams open (not yet closed both ways). */
  active = 0;
  ready = false;
  goingAway = false;
  closed = false;
  /** socketClosed ran. */
  private gone = false;
  /** The upstream's SETTINGS. */
  private readonly peer: F.Settings = F.defaultSettings();
  private connSendWindow = F.DEFAULT_WINDOW;
  private connRecvUnacked = 0;
  private connRecvWindow = CONN_WINDOW;
  /** Streams with body waiting for window. */
  private blocked: H2ClientStream[] = [];
  private readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder();

  /** Frames of this turn, written once; DATA waits while it is backed up (then pump() on room). */
  private readonly out: FrameOut;

  // input: an incomplete frame's bytes
  private inBuf: Buffer | null = null;
  /** A header block in CONTINUATION frames: its stream, HEADERS flags and fragments. */
  private contStream = 0;
  private contFlags = 0;
  private contParts: Buffer[] = [];
  private contBytes = 0;

  // header block being decoded
  private fields: Record<string, string | string[] | number> = {};
  private fieldsBad = false;
  private sawRegular = false;
  private readonly emit: (n: string, v: string) => void;

  constructor(
    private readonly sock: ClientSocket,
    private readonly host: ClientSessionHost,
    /** Our stream window (SETTINGS_INITIAL_WINDOW_SIZE). */
    private readonly window: number,
  ) {
    this.emit = (n, v) => this.field(n, v);
    this.out = new FrameOut(sock, () => this.pump());
    const out = this.out;
    const n = PREFACE.length + 9 + 12;
    out.reserve(n);
    const b = out.buf;
    let p = out.pos;
    PREFACE.copy(b, p);
    p += PREFACE.length;
    F.putHead(b, p, 12, F.SETTINGS, 0, 0);
    p += 9;
    b.writeUInt16BE(F.S_ENABLE_PUSH, p);
    b.writeUInt32BE(0, p + 2);
    b.writeUInt16BE(F.S_INITIAL_WINDOW_SIZE, p + 6);
    b.writeUInt32BE(window, p + 8);
    out.wrote(n);
    out.frame32(F.WINDOW_UPDATE, 0, CONN_WINDOW - F.DEFAULT_WINDOW);
  }

  /** Room for a new stream (the upstream's limit; the pool adds its own). */
  get maxStreams(): number {
    return this.peer.maxConcurrentStreams;
  }

  // ---- streams ----

  /**
   * A new stream with HEADERS from `h` (pseudo-headers first), END_STREAM when
   * `endStream`; null when its fields cannot be sent (too large, a name that is
   * not lower-case): the caller fails the try.
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
      if (UPPER.test(k)) return null;
      n = addField(n, k, h[k]);
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
    this.streams.set(id, s);
    this.active++;
    return s;
  }

  /** Encodes `count` fields (names/values) and frames them as HEADERS (+ CONTINUATION) of stream `id`. */
  private headers(id: number, count: number, endStream: boolean): boolean {
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
      const can = Math.min(s.sendWindow, this.connSendWindow, this.peer.maxFrameSize, b.length - at);
      if (can <= 0) break;
      out.frame(F.DATA, 0, s.id, b, at, at + can);
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
    } else this.out.frame(F.DATA, F.END_STREAM, s.id, null, 0, 0);
    if (s.remoteEnded) this.forget(s);
  }

  /** Streams waiting for window send what now fits. */
  private pump(): void {
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

  private windowUpdate(id: number, n: number): void {
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
  private fail(code: number): void {
    if (this.closed) return;
    this.goaway(code);
    this.closed = true;
    this.out.end();
    this.socketClosed();
  }

  /** The socket is gone: every open stream fails (its response did not end). */
  socketClosed(): void {
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
      if (o !== null) o.streamClosed(0);
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

  // ---- input ----

  /** Bytes from the socket. */
  feed(d: Buffer): void {
    if (this.closed) return;
    let b = d;
    if (this.inBuf !== null) {
      b = Buffer.concat([this.inBuf, d]);
      this.inBuf = null;
    }
    let p = 0;
    const n = b.length;
    while (n - p >= 9 && !this.closed) {
      const len = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
      if (len > F.MIN_MAX_FRAME) return this.fail(F.FRAME_SIZE_ERROR); // we announce no larger frames
      if (n - p < 9 + len) break;
      const type = b[p + 3]!;
      const flags = b[p + 4]!;
      const id = F.u31(b, p + 5);
      this.frame(type, flags, id, b, p + 9, p + 9 + len);
      p += 9 + len;
    }
    if (p < n && !this.closed) this.inBuf = Buffer.from(b.subarray(p));
  }

  private frame(type: number, flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (this.contStream !== 0 && type !== F.CONTINUATION) return this.fail(F.PROTOCOL_ERROR);
    switch (type) {
      case F.DATA:
        return this.onDataFrame(flags, id, b, s, e);
      case F.HEADERS:
        return this.onHeadersFrame(flags, id, b, s, e);
      case F.CONTINUATION:
        return this.onContinuation(flags, id, b, s, e);
      case F.RST_STREAM:
        return this.onRst(id, b, s, e);
      case F.SETTINGS:
        return this.onSettings(flags, id, b, s, e);
      case F.PING:
        return this.onPing(flags, id, b, s, e);
      case F.GOAWAY:
        return this.onGoaway(id, b, s, e);
      case F.WINDOW_UPDATE:
        return this.onWindowUpdate(id, b, s, e);
      case F.PRIORITY:
        if (id === 0 || e - s !== 5) return this.fail(id === 0 ? F.PROTOCOL_ERROR : F.FRAME_SIZE_ERROR);
        return;
      case F.PUSH_PROMISE: // we said ENABLE_PUSH 0
        return this.fail(F.PROTOCOL_ERROR);
      default:
        return; // unknown types are ignored (§4.1)
    }
  }

  /** A stream frame for `id`: its stream, or null (closed: ignored; never opened: a connection error). */
  private streamFor(id: number): H2ClientStream | null {
    if (id === 0) {
      this.fail(F.PROTOCOL_ERROR);
      return null;
    }
    const st = this.streams.get(id);
    if (st !== undefined) return st;
    if ((id & 1) === 0 || id >= this.nextId) this.fail(F.PROTOCOL_ERROR); // a stream we never opened
    return null;
  }

  private onDataFrame(flags: number, id: number, b: Buffer, s: number, e: number): void {
    const size = e - s;
    // connection flow control counts the whole frame, whatever becomes of the stream
    this.connRecvWindow -= size;
    if (this.connRecvWindow < 0) return this.fail(F.FLOW_CONTROL_ERROR);
    this.connRecvUnacked += size;
    if (this.connRecvUnacked >= CONN_WINDOW / 2) {
      this.windowUpdate(0, this.connRecvUnacked);
      this.connRecvWindow += this.connRecvUnacked;
      this.connRecvUnacked = 0;
    }
    if (id === 0) return this.fail(F.PROTOCOL_ERROR);
    const st = this.streams.get(id);
    if (st === undefined) {
      if ((id & 1) === 0 || id >= this.nextId) this.fail(F.PROTOCOL_ERROR);
      return;
    }
    if (!st.gotResponse || st.remoteEnded) return this.reset(st, F.PROTOCOL_ERROR, F.PROTOCOL_ERROR); // DATA before the head, or after the end
    if (size > st.recvWindow) return this.reset(st, F.FLOW_CONTROL_ERROR, F.FLOW_CONTROL_ERROR); // the upstream ignored our window
    st.recvWindow -= size;
    if (flags & F.PADDED) {
      if (size < 1) return this.fail(F.PROTOCOL_ERROR);
      const pad = b[s]!;
      s += 1;
      e -= pad;
      if (e < s) return this.fail(F.PROTOCOL_ERROR);
    }
    const end = (flags & F.END_STREAM) !== 0;
    if (end) st.remoteEnded = true;
    if (st.paused) {
      st.unacked += size;
      if (e > s) (st.held ??= []).push(Buffer.from(b.subarray(s, e)));
      if (end) st.heldEnd = true;
      return;
    }
    if (!end) {
      st.unacked += size;
      if (st.unacked >= this.window / 2) {
        this.windowUpdate(id, st.unacked);
        st.recvWindow += st.unacked;
        st.unacked = 0;
      }
    }
    const o = st.owner;
    if (e > s && o !== null) o.onData(b.subarray(s, e));
    if (end && !st.closed) {
      if (st.paused) st.heldEnd = true; // paused by the data just handed on
      else st.finish();
    }
  }

  private onHeadersFrame(flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (id === 0) return this.fail(F.PROTOCOL_ERROR);
    if (flags & F.PADDED) {
      if (e - s < 1) return this.fail(F.PROTOCOL_ERROR);
      const pad = b[s]!;
      s += 1;
      e -= pad;
    }
    if (flags & F.PRIORITY_FLAG) s += 5;
    if (e < s) return this.fail(F.PROTOCOL_ERROR);
    if ((flags & F.END_HEADERS) === 0) {
      this.contStream = id;
      this.contFlags = flags;
      this.contParts = [Buffer.from(b.subarray(s, e))];
      this.contBytes = e - s;
      return;
    }
    this.block(flags, id, b, s, e);
  }

  private onContinuation(flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (this.contStream === 0 || id !== this.contStream) return this.fail(F.PROTOCOL_ERROR);
    this.contParts.push(Buffer.from(b.subarray(s, e)));
    this.contBytes += e - s;
    if (this.contBytes > MAX_HEADER_LIST * 2) return this.fail(F.PROTOCOL_ERROR);
    if ((flags & F.END_HEADERS) === 0) return;
    const all = Buffer.concat(this.contParts, this.contBytes);
    this.contStream = 0;
    this.contParts = [];
    this.block(this.contFlags, id, all, 0, all.length);
  }

  /** A whole header block for stream `id`: a response head (1xx skipped) or trailers. */
  private block(flags: number, id: number, b: Buffer, s: number, e: number): void {
    this.fields = {};
    this.fieldsBad = false;
    this.sawRegular = false;
    let size: number;
    try {
      size = this.decoder.decode(b, s, e, this.emit, MAX_HEADER_LIST);
    } catch (err) {
      if (err instanceof HpackError) return this.fail(F.COMPRESSION_ERROR);
      throw err;
    }
    const st = this.streamFor(id);
    if (st === null) return;
    const h = this.fields as IncomingHttpHeaders;
    const end = (flags & F.END_STREAM) !== 0;
    if (size > MAX_HEADER_LIST || this.fieldsBad || st.remoteEnded) return this.reset(st, F.PROTOCOL_ERROR, F.PROTOCOL_ERROR);
    if (!st.gotResponse) {
      const status = h[":status"] as unknown as number | undefined;
      if (status === undefined || status < 100 || status > 999 || status === 101) return this.reset(st, F.PROTOCOL_ERROR, F.PROTOCOL_ERROR);
      if (status < 200) {
        if (end) return this.reset(st, F.PROTOCOL_ERROR, F.PROTOCOL_ERROR);
        return; // informational: the final head follows
      }
      st.gotResponse = true;
      if (end) st.remoteEnded = true;
      const o = st.owner;
      if (o !== null) o.onResponse(h, end);
      if (end && !st.closed) {
        if (st.paused) st.heldEnd = true;
        else st.finish();
      }
      return;
    }
    // trailers: end the stream, carry no pseudo-header
    if (!end || h[":status"] !== undefined) return this.reset(st, F.PROTOCOL_ERROR, F.PROTOCOL_ERROR);
    st.remoteEnded = true;
    st.heldTrailers = h;
    if (st.paused) st.heldEnd = true;
    else st.finish();
  }

  /** One decoded field, into `fields` as node:http2 shapes them. */
  private field(n: string, v: string): void {
    const f = this.fields;
    if (n.charCodeAt(0) === 58) {
      if (n !== ":status" || this.sawRegular || f[":status"] !== undefined) this.fieldsBad = true;
      else {
        const st = Number(v);
        if (v.length !== 3 || !Number.isInteger(st)) this.fieldsBad = true;
        else f[":status"] = st;
      }
      return;
    }
    this.sawRegular = true;
    if (UPPER.test(n) || CONNECTION_FIELDS.has(n) || (n === "te" && v !== "trailers")) {
      this.fieldsBad = true;
      return;
    }
    const prev = f[n];
    if (prev === undefined) f[n] = n === "set-cookie" ? [v] : v;
    else if (n === "set-cookie") (prev as string[]).push(v);
    else if (SINGLE.has(n)) return;
    else f[n] = prev + (n === "cookie" ? "; " : ", ") + v;
  }

  private onRst(id: number, b: Buffer, s: number, e: number): void {
    if (e - s !== 4) return this.fail(F.FRAME_SIZE_ERROR);
    const st = this.streamFor(id);
    if (st === null) return;
    const code = F.u32(b, s);
    const o = st.owner;
    this.forget(st);
    // after a whole response (held or not): the upstream does not want the rest of the request (RFC 9113 §8.1)
    if (o !== null && !st.remoteEnded) o.streamClosed(code);
  }

  private onSettings(flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (id !== 0) return this.fail(F.PROTOCOL_ERROR);
    if (flags & F.ACK) {
      if (e !== s) this.fail(F.FRAME_SIZE_ERROR);
      return;
    }
    const peer = this.peer;
    const window = peer.initialWindowSize;
    const code = F.readSettings(b, s, e, peer);
    if (code !== 0) return this.fail(code);
    this.encoder.setMaxTableSize(Math.min(peer.headerTableSize, 4096));
    const delta = peer.initialWindowSize - window;
    if (delta !== 0) for (const st of this.streams.values()) st.sendWindow += delta;
    this.out.frame(F.SETTINGS, F.ACK, 0, null, 0, 0);
    this.pump();
    if (!this.ready) {
      this.ready = true;
      this.host.onSessionReady();
    }
  }

  private onPing(flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (id !== 0) return this.fail(F.PROTOCOL_ERROR);
    if (e - s !== 8) return this.fail(F.FRAME_SIZE_ERROR);
    if (flags & F.ACK) return;
    this.out.frame(F.PING, F.ACK, 0, b, s, e);
  }

  private onGoaway(id: number, b: Buffer, s: number, e: number): void {
    if (id !== 0) return this.fail(F.PROTOCOL_ERROR);
    if (e - s < 8) return this.fail(F.FRAME_SIZE_ERROR);
    const last = F.u31(b, s);
    this.goingAway = true;
    this.host.onSessionGoaway();
    // streams the upstream did not take: refused (a retry may go elsewhere)
    const refused: H2ClientStream[] = [];
    for (const st of this.streams.values()) if (st.id > last) refused.push(st);
    for (const st of refused) {
      const o = st.owner;
      this.forget(st);
      if (o !== null) o.streamClosed(F.REFUSED_STREAM);
    }
    if (this.active === 0) this.close();
  }

  private onWindowUpdate(id: number, b: Buffer, s: number, e: number): void {
    if (e - s !== 4) return this.fail(F.FRAME_SIZE_ERROR);
    const n = F.u31(b, s);
    if (id === 0) {
      if (n === 0) return this.fail(F.PROTOCOL_ERROR);
      this.connSendWindow += n;
      if (this.connSendWindow > F.MAX_WINDOW) return this.fail(F.FLOW_CONTROL_ERROR);
      return this.pump();
    }
    const st = this.streams.get(id);
    if (st === undefined) {
      if ((id & 1) === 0 || id >= this.nextId) this.fail(F.PROTOCOL_ERROR);
      return;
    }
    if (n === 0) return this.reset(st, F.PROTOCOL_ERROR, F.PROTOCOL_ERROR);
    st.sendWindow += n;
    if (st.sendWindow > F.MAX_WINDOW) return this.reset(st, F.FLOW_CONTROL_ERROR, F.FLOW_CONTROL_ERROR);
    if (st.blocked) this.pump();
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

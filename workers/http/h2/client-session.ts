// gangway's own HTTP/2 client session for upstreams (RFC 9113), over a Bun
// socket (h2c with prior knowledge, or TLS with ALPN h2). It replaces
// node:http2's session (kept behind GANGWAY_H2_UPSTREAM=node): the request's
// HEADERS are encoded straight from its fields, frames written in a turn
// leave in one socket write (a setImmediate, as h2-duplex.ts did for
// node:http2), and the response's fields, DATA and trailers go to the stream's
// owner without events or streams in between. Frames and output buffering are
// the server codec's (frames.ts, out.ts). This file reads; client-send.ts,
// which it extends, writes.
//
// Connection rules kept here: our SETTINGS (ENABLE_PUSH 0, INITIAL_WINDOW_SIZE
// = the stream window) after the preface; the upstream's SETTINGS applied and
// acknowledged (its first one makes the session ready: MAX_CONCURRENT_STREAMS
// is known before streams go out); PING answered; GOAWAY retires the session
// and fails the streams it did not take; PUSH_PROMISE, a bad frame or a bad
// header block is a connection error (GOAWAY, then every stream fails).
import type { IncomingHttpHeaders } from "node:http2";
import { HpackDecoder, HpackError } from "./hpack.ts";
import { MALFORMED, type H2ClientStream } from "./client-stream.ts";
import { H2ClientSend, type ClientSessionHost, type ClientSocket } from "./client-send.ts";
import * as F from "./frames.ts";
import { fieldMap } from "../field-map.ts";
import { validName, validValue } from "./request-fields.ts";
import { MAX_HEADERS, parseLength } from "../fields.ts";

/** Most header bytes (RFC 7541 §4.1 sizes) accepted in one response head or trailers. */
const MAX_HEADER_LIST = 64 * 1024;
/** Our connection window: given back as it is received (the streams' windows hold slow readers back). */
const CONN_WINDOW = 1 << 24;
/** CONTINUATION frames past this many in one head fail the connection: empty ones add no bytes, so the byte cap alone never ends such a head. */
const MAX_BLOCK_FRAMES = 64;

/** Fields node:http2 keeps once (a repeat is dropped); set-cookie comes as a list, cookie joined with "; ", others with ", ". */
const SINGLE = new Set([
  "access-control-allow-credentials", "access-control-max-age", "access-control-request-method", "age", "authorization",
  "content-encoding", "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type",
  "date", "dnt", "etag", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "last-modified", "location", "max-forwards", "proxy-authorization", "range", "referer", "retry-after",
  "tk", "upgrade-insecure-requests", "user-agent", "x-content-type-options",
]);
const PREFACE = Buffer.from(F.PREFACE, "latin1");

/** A response's content-length (fields.ts parseLength) as a number; -1 when absent or not one (the head's own checks refuse it). */
function declaredLength(v: unknown): number {
  return typeof v === "string" ? parseLength(v) : -1;
}

export type { ClientSessionHost, ClientSocket } from "./client-send.ts";

export class H2ClientSession extends H2ClientSend {
  private connRecvUnacked = 0;
  private connRecvWindow = CONN_WINDOW;
  private readonly decoder = new HpackDecoder();

  // input: an incomplete frame's bytes
  private inBuf: Buffer | null = null;
  /** A frame being gathered (its head came, not all its payload): part[0, partAt) so far. */
  private part: Buffer | null = null;
  private partAt = 0;
  /** A header block in CONTINUATION frames: its stream, HEADERS flags and fragments. */
  private contStream = 0;
  private contFlags = 0;
  private contParts: Buffer[] = [];
  private contBytes = 0;

  // header block being decoded
  private fields = fieldMap<Record<string, string | string[] | number>>();
  private fieldsBad = false;
  private sawRegular = false;
  /** Regular fields in the block being decoded. */
  private fieldCount = 0;
  private readonly emit: (n: string, v: string) => void;

  constructor(sock: ClientSocket, host: ClientSessionHost, window: number) {
    super(sock, host, window);
    this.emit = (n, v) => this.field(n, v);
    // the preface, our SETTINGS, and the connection window raised to CONN_WINDOW
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

  // ---- input ----

  /** Bytes from the socket. */
  feed(d: Buffer): void {
    if (this.closed) return;
    let b = d;
    let p = 0;
    const part = this.part;
    if (part !== null) {
      // the rest of a frame whose head came: into its buffer, each byte copied once
      const k = Math.min(part.length - this.partAt, d.length);
      d.copy(part, this.partAt, 0, k);
      this.partAt += k;
      if (this.partAt < part.length) return;
      this.part = null;
      this.frame(part[3]!, part[4]!, F.u31(part, 5), part, 9, part.length);
      p = k;
    } else if (this.inBuf !== null) {
      b = Buffer.concat([this.inBuf, d]); // under 9 bytes kept
      this.inBuf = null;
    }
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
    if (p === n || this.closed) return;
    if (n - p < 9) {
      this.inBuf = Buffer.from(b.subarray(p));
      return;
    }
    // a frame's head without all its payload: gathered in one buffer of the frame's size (an
    // upstream sending it a few bytes at a time costs a copy per byte, not one of all so far)
    const whole = Buffer.allocUnsafe(9 + ((b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!));
    b.copy(whole, 0, p);
    this.part = whole;
    this.partAt = n - p;
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
    if (!st.gotResponse || st.remoteEnded) return this.reset(st, F.PROTOCOL_ERROR, MALFORMED); // DATA before the head, or after the end
    if (size > st.recvWindow) return this.reset(st, F.FLOW_CONTROL_ERROR, MALFORMED); // the upstream ignored our window
    st.recvWindow -= size;
    if (flags & F.PADDED) {
      if (size < 1) return this.fail(F.PROTOCOL_ERROR);
      const pad = b[s]!;
      s += 1;
      e -= pad;
      if (e < s) return this.fail(F.PROTOCOL_ERROR);
    }
    if (st.bodyLeft >= 0) {
      // DATA past the head's content-length: malformed (RFC 9113 §8.1.1), the stream fails as
      // Envoy's codec fails it, rather than the response going on cut to its length as if whole
      if (e - s > st.bodyLeft) return this.reset(st, F.PROTOCOL_ERROR, MALFORMED);
      st.bodyLeft -= e - s;
    }
    const end = (flags & F.END_STREAM) !== 0;
    if (end) st.remoteEnded = true;
    if (st.holding) {
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
      if (st.holding) st.heldEnd = true; // paused by the data just handed on
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
    if (this.contParts.length > MAX_BLOCK_FRAMES) return this.fail(F.ENHANCE_YOUR_CALM);
    if ((flags & F.END_HEADERS) === 0) return;
    const all = Buffer.concat(this.contParts, this.contBytes);
    this.contStream = 0;
    this.contParts = [];
    this.block(this.contFlags, id, all, 0, all.length);
  }

  /** A whole header block for stream `id`: a response head (1xx skipped) or trailers. */
  private block(flags: number, id: number, b: Buffer, s: number, e: number): void {
    this.fields = fieldMap();
    this.fieldsBad = false;
    this.sawRegular = false;
    this.fieldCount = 0;
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
    if (size > MAX_HEADER_LIST || this.fieldsBad || st.remoteEnded) return this.reset(st, F.PROTOCOL_ERROR, MALFORMED);
    if (!st.gotResponse) {
      const status = h[":status"] as unknown as number | undefined;
      if (status === undefined || status < 100 || status > 999 || status === 101) return this.reset(st, F.PROTOCOL_ERROR, MALFORMED);
      // a 1xx or 204 with a content-length other than 0 announces a body it cannot have: malformed, as
      // Envoy's codecs take it (nghttp2 refuses any content-length on a 1xx), and as the HTTP/1.1 path
      const cl = h["content-length"];
      if (cl !== undefined && cl !== "0" && (status < 200 || status === 204)) return this.reset(st, F.PROTOCOL_ERROR, MALFORMED);
      if (status < 200) {
        if (end) return this.reset(st, F.PROTOCOL_ERROR, MALFORMED);
        return; // informational: the final head follows
      }
      st.gotResponse = true;
      if (end) st.remoteEnded = true;
      else if (!st.headRequest && status !== 204 && status !== 304) st.bodyLeft = declaredLength(h["content-length"]);
      const o = st.owner;
      if (o !== null) o.onResponse(h, end);
      if (end && !st.closed) {
        if (st.holding) st.heldEnd = true;
        else st.finish();
      }
      return;
    }
    // trailers: end the stream, carry no pseudo-header
    if (!end || h[":status"] !== undefined) return this.reset(st, F.PROTOCOL_ERROR, MALFORMED);
    st.remoteEnded = true;
    st.heldTrailers = h;
    if (st.holding) st.heldEnd = true;
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
    // more fields than an HTTP/1.1 head may carry (MAX_HEADERS, Envoy's max_headers_count): refused
    // for an HTTP/2 client as for an HTTP/1.1 one
    if (++this.fieldCount > MAX_HEADERS) {
      this.fieldsBad = true;
      return;
    }
    // malformed (RFC 9113 §8.2): a name not a lower-case token or connection-specific, a value with
    // NUL, CR or LF (written into an HTTP/1.1 client's head, a CR LF would start a field of the
    // upstream's choosing), te other than trailers, content-length given twice differently
    if (!validName(n) || !validValue(v) || (n === "te" && v !== "trailers")) {
      this.fieldsBad = true;
      return;
    }
    const prev = f[n];
    if (prev !== undefined && n === "content-length" && prev !== v) {
      this.fieldsBad = true;
      return;
    }
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
    if (delta !== 0) {
      for (const st of this.streams.values()) {
        st.sendWindow += delta;
        if (st.sendWindow > F.MAX_WINDOW) return this.fail(F.FLOW_CONTROL_ERROR); // §6.9.2
      }
    }
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
    if (n === 0) return this.reset(st, F.PROTOCOL_ERROR, MALFORMED);
    st.sendWindow += n;
    if (st.sendWindow > F.MAX_WINDOW) return this.reset(st, F.FLOW_CONTROL_ERROR, MALFORMED);
    if (st.blocked) this.pump();
  }
}

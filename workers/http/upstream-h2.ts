// One HTTP/2 stream to an upstream (its session: upstream-h2-pool.ts). An
// exchange gets an H2StreamConn, shaped like the UpstreamConn it uses for
// HTTP/1.1: it writes an HTTP/1.1 request into it and reads an HTTP/1.1
// response back (h2-upstream-heads.ts translates), so the exchange's state
// machine stays the one owner of the request's state; this file only adapts
// the codec. Trailers travel as the chunked body's trailer section; gRPC-Web
// is translated here (grpc-web.ts), next to the codec. The stream itself is
// an UpStream: gangway's own codec (h2/client-stream.ts) or node:http2's
// (upstream-h2-node.ts), whichever its session runs.
import type * as http2 from "node:http2";
import { reportError } from "../context.ts";
import { MALFORMED, type ClientStreamOwner } from "./h2/client-stream.ts";
import type { UpStream } from "./upstream-h2-node.ts";
import { ChunkedScanner, CHUNKED_BAD, CHUNKED_MORE, trailerFields } from "./chunked.ts";
import { h2ResponseFraming } from "./h2-response.ts";
import { h1ResponseHead, h2RequestHead, lastChunk, REQ_CHUNKED, REQ_LENGTH, REQ_NONE, type H2RequestHead } from "./h2-upstream-heads.ts";
import { GRPC_WEB_BAD_BASE64_ERRNO, GRPC_WEB_BAD_SIZE_ERRNO, PROTOCOL_ERROR_ERRNO, UpstreamConn, type ConnPool, type UpstreamUser } from "./upstream-conn.ts";
import type { UpstreamTlsRuntime } from "./upstream-tls.ts";
import { BodyEnd } from "./upstream-request.ts";
import { Base64Decoder, Base64Encoder, grpcWebMode, trailerMessage, wantsText, WEB_NONE, WEB_TEXT, webResponseType, type WebMode } from "./grpc-web.ts";
import { fieldMap } from "./field-map.ts";
import { grpcMessageEncode, httpToGrpcStatus, isGrpcContentType } from "../../src/upstream/grpc-reply.ts";

/** What a stream needs of its session (upstream-h2-pool.ts H2Session). */
export interface H2StreamSession {
  /** A stream for `owner` with request fields `h` (`trailers`: the body may end with trailers); null or a throw: refused. */
  openStream(owner: ClientStreamOwner, h: http2.OutgoingHttpHeaders, endStream: boolean, trailers: boolean): UpStream | null;
  readonly sni: string;
  readonly tls: UpstreamTlsRuntime | null;
  /** `ip:port` of our side, for the access log. */
  readonly local: string;
}

/** Body bytes of a non-gRPC answer to a gRPC-Web request kept for its grpc-message (Envoy's MAX_BUFFERED_PLAINTEXT_LENGTH). */
const WEB_PLAIN_MAX = 16384;

/** Stream flow-control window: what an upstream may send ahead of a paused client (also the write high-water mark). */
export const WINDOW = 256 * 1024;

/**
 * One request's stream, as the exchange sees a connection: the request comes
 * in as HTTP/1.1 bytes (head, then a length-delimited or chunked body), the
 * response goes out to the user as HTTP/1.1 bytes.
 */
export class H2StreamConn extends UpstreamConn implements ClientStreamOwner {
  stream: UpStream | null = null;
  /** Counted in its session's streams. */
  counted = true;
  private headBuf = "";
  private reqBody = -1;
  private reqLeft = 0;
  private reqChunks: ChunkedScanner | null = null;
  private reqTrailers: [string, string][] = [];
  /** The request body comes as data ending with a BodyEnd (UpstreamRequest.rawBody), not as chunks. */
  private rawBody = false;
  private rawTrailers: Record<string, string | string[]> | null = null;
  private reqEnded = false;
  private respChunked = false;
  respTrailers: http2.IncomingHttpHeaders | null = null;
  /** The request is HEAD (its response has no body whatever its fields say). */
  private headReq = false;
  private respEnded = false;
  private h2paused = false;
  /** The user took the response head as fields (onUpstreamFields): DATA goes to it as it is, the end with the trailers. */
  private direct = false;
  /** A gRPC response whose status must come in trailers. */
  private grpcNeedsStatus = false;
  /** A gRPC-Web request translated to gRPC (grpc-web.ts), and its base64 coders for grpc-web-text. */
  private web: WebMode = WEB_NONE;
  /** gRPC-Web: the client's accept asked for base64 (grpc-web-text) in the response. */
  private webText = false;
  private webIn: Base64Decoder | null = null;
  private webOut: Base64Encoder | null = null;
  /** A gRPC-Web request answered with something not gRPC (a 404 page…): its head held, its body kept (up to WEB_PLAIN_MAX) for grpc-message. */
  private webPlain: { headers: http2.IncomingHttpHeaders; body: Buffer[]; size: number } | null = null;

  constructor(
    /** The endpoint's sessions (H2Sessions): told when the stream is over. */
    private readonly sessions: ConnPool,
    readonly session: H2StreamSession,
    user: UpstreamUser,
  ) {
    super(sessions, user, session.tls, session.sni);
    // not null: the exchange writes to a conn with a socket; every write comes through write() (one shared stand-in, no closure per stream)
    this.socket = NO_SOCKET;
  }

  override get localAddress(): string {
    return this.session.local;
  }

  /** The session connected: the exchange waiting for it may write. */
  opened(): void {
    this.isOpen = true;
    const u = this.user;
    if (u === null) return;
    try {
      u.onUpstreamOpen(this);
    } catch (err) {
      reportError("upstream h2 open", err);
      this.destroy();
    }
  }

  override connect(): void {}

  override write(b: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.rawBody) this.rawData(b);
    else this.fromExchange(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    const s = this.stream;
    return s === null || this.room(s);
  }

  /** The request head as fields (h2-request-fields.ts), x-envoy-attempt-count `attempt`; the body follows through write(). */
  override startFields(h: H2RequestHead, attempt: number, rawBody: boolean): boolean {
    if (this.closed || this.stream !== null) return false;
    this.rawBody = rawBody && h.body === REQ_CHUNKED;
    const hs = h.headers;
    hs["x-envoy-attempt-count"] = String(attempt); // node:http2 copies the headers: the next try sets its own
    hs[":scheme"] = this.session.tls === null ? "http" : "https";
    this.startStream(h);
    const s = this.stream as UpStream | null;
    return s === null || this.room(s);
  }

  private fromExchange(b: Buffer): void {
    if (this.closed || this.reqEnded) return;
    if (this.stream === null) {
      this.headBuf += b.toString("latin1");
      const end = this.headBuf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const rest = Buffer.from(this.headBuf.slice(end + 4), "latin1");
      const h = h2RequestHead(this.headBuf.slice(0, end), this.session.tls === null ? "http" : "https");
      this.headBuf = "";
      if (h === null) return this.onGone("protocol_error");
      this.startStream(h);
      if (rest.length > 0 && !this.closed) this.body(rest);
      return;
    }
    this.body(b);
  }

  private startStream(h: H2RequestHead): void {
    this.reqBody = h.body;
    this.reqLeft = h.length;
    this.web = grpcWebMode(h.headers["content-type"]);
    if (this.web !== WEB_NONE) {
      h = { ...h, headers: { ...h.headers } }; // a later try starts from the client's head again
      // Envoy's grpc_web filter: the upstream sees a gRPC call (content-type application/grpc, te:
      // trailers, grpc-accept-encoding identity unless the client named some, no content-length)
      h.headers["content-type"] = "application/grpc";
      h.headers.te = "trailers";
      delete h.headers["content-length"];
      if (h.headers["grpc-accept-encoding"] === undefined) h.headers["grpc-accept-encoding"] = "identity";
      if (this.web === WEB_TEXT) this.webIn = new Base64Decoder();
      this.webText = wantsText(h.headers.accept);
      if (this.webText) this.webOut = new Base64Encoder();
    }
    if (h.body === REQ_CHUNKED) {
      this.reqChunks = new ChunkedScanner();
      this.reqChunks.trailerBytes = [];
    }
    const ended = h.body === REQ_NONE;
    this.reqEnded = ended;
    this.headReq = h.headers[":method"] === "HEAD";
    let st: UpStream | null;
    try {
      st = this.session.openStream(this, h.headers, ended, h.body === REQ_CHUNKED);
    } catch (err) {
      reportError("upstream h2 request", err);
      st = null;
    }
    if (st === null) {
      // fields the codec refuses to send: the try fails as a reset before any response (not from inside the write)
      this.reqEnded = true;
      queueMicrotask(() => this.onGone("protocol_error"));
      return;
    }
    this.stream = st;
    if (this.h2paused) st.pause();
  }

  /** The request ends, with its trailers. */
  private endRequest(): void {
    if (this.webIn !== null && !this.webIn.clean) return this.webBad(GRPC_WEB_BAD_SIZE_ERRNO);
    this.reqEnded = true;
    let t: http2.OutgoingHttpHeaders | null = null;
    if (this.rawTrailers !== null) t = this.rawTrailers;
    else if (this.reqTrailers.length > 0) {
      t = fieldMap<http2.OutgoingHttpHeaders>();
      for (const [n, v] of this.reqTrailers) t[n] = v;
    }
    this.stream!.end(t);
  }

  onTrailers(t: http2.IncomingHttpHeaders): void {
    this.respTrailers = t;
  }

  /** The stream closed (`code`: its RST_STREAM code; 0: the connection): a response that did not end is the upstream gone. */
  streamClosed(code: number): void {
    if (!this.respEnded) this.onGone(code === MALFORMED ? PROTOCOL_ERROR_ERRNO : code !== 0 ? `stream_reset_${code}` : "connection termination");
  }

  private body(b: Buffer): void {
    const st = this.stream!;
    if (this.reqBody === REQ_LENGTH) {
      const take = Math.min(this.reqLeft, b.length);
      if (take > 0) this.send(take === b.length ? b : b.subarray(0, take));
      this.reqLeft -= take;
      if (this.reqLeft === 0 && !this.closed) {
        if (this.webIn !== null && !this.webIn.clean) return this.webBad(GRPC_WEB_BAD_SIZE_ERRNO);
        this.reqEnded = true;
        st.end(null);
      }
      return;
    }
    if (this.reqBody !== REQ_CHUNKED) return;
    const sc = this.reqChunks!;
    const r = sc.scan(b, 0, b.length, (buf, s, e) => this.send(buf.subarray(s, e)));
    if (r === CHUNKED_BAD) return this.destroy();
    if (r !== CHUNKED_MORE) {
      this.reqTrailers = trailerFields(sc.trailerBytes);
      this.endRequest();
    }
  }

  /** The stream takes more request body; else its 'drain' will tell the user (listened to from the first time it is full). */
  private room(s: UpStream): boolean {
    if (s.buffered < WINDOW) return true;
    s.wantDrain = true;
    return false;
  }

  /** The stream took what it held: the user may send more. */
  drained(): void {
    const u = this.user;
    if (u !== null) u.onUpstreamDrain(this);
  }

  /** A raw body's data, or its end (rawBody). */
  private rawData(b: Uint8Array): void {
    if (this.reqEnded || this.stream === null) return;
    if (b instanceof BodyEnd) {
      this.rawTrailers = b.fields();
      this.endRequest();
      return;
    }
    if (b.length > 0) this.send(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }

  /** Request body bytes to the stream (base64-decoded for grpc-web-text). */
  private send(b: Buffer): void {
    const st = this.stream!;
    if (this.webIn === null) return void st.write(b);
    const d = this.webIn.push(b);
    if (d === null) return this.webBad(GRPC_WEB_BAD_BASE64_ERRNO);
    if (d.length > 0) st.write(d);
  }

  /**
   * A grpc-web-text body that is not base64 (or ends inside a group): the upstream's stream is
   * cancelled and the exchange told (`errno`), which answers 400 as Envoy's grpc_web filter does
   * (gRPC-Web-shaped: grpc-status 13), or resets the client's stream once the response started.
   */
  private webBad(errno: string): void {
    if (this.closed) return;
    this.reqEnded = true;
    this.stream?.cancel();
    this.onGone(errno);
  }

  onResponse(headers: http2.IncomingHttpHeaders, ended: boolean): void {
    if (this.web !== WEB_NONE && !ended && !grpcWebAnswer(headers)) {
      // Envoy's grpc_web filter: a response that is not gRPC reaches a browser as the status it
      // means (grpc-status from the HTTP status, its body as grpc-message), not as a body the
      // client cannot read nor as a reset: held until its end
      this.webPlain = { headers, body: [], size: 0 };
      return;
    }
    this.passResponse(headers, ended);
  }

  private passResponse(headers: http2.IncomingHttpHeaders, ended: boolean): void {
    const head = this.headReq;
    const web = this.web !== WEB_NONE;
    const grpc = String(headers["content-type"] ?? "").startsWith("application/grpc");
    if (web && (ended || grpc)) headers = { ...headers, "content-type": webResponseType(this.webText) };
    this.grpcNeedsStatus = !ended && headers["grpc-status"] === undefined && (web || grpc);
    const u = this.user;
    if (u !== null && u.onUpstreamFields !== undefined) {
      const f = h2ResponseFraming(headers, ended, head);
      this.respChunked = f.trailing;
      try {
        this.direct = u.onUpstreamFields(this, headers, f, head, web);
      } catch (err) {
        reportError("upstream h2 response", err);
        return this.destroy();
      }
      if (this.direct) return;
    }
    const r = h1ResponseHead(headers, ended, head);
    this.respChunked = r.chunked;
    this.toUser(Buffer.from(r.text, "latin1"));
  }

  onData(d: Buffer): void {
    if (d.length === 0) return;
    const p = this.webPlain;
    if (p !== null) {
      if (p.size < WEB_PLAIN_MAX) {
        const keep = d.subarray(0, WEB_PLAIN_MAX - p.size);
        p.body.push(Buffer.from(keep)); // (a copy: the codec may reuse its buffer)
        p.size += keep.length;
      }
      return;
    }
    if (this.webOut !== null) d = this.webOut.push(d);
    if (d.length === 0) return;
    if (this.direct) return this.toUser(d);
    if (this.respChunked) this.toUser(Buffer.concat([Buffer.from(d.length.toString(16) + "\r\n", "latin1"), d, CRLF]));
    else this.toUser(d);
  }

  /** gRPC-Web: the trailers as a last message of the body (base64 for grpc-web-text, after what the encoder held). */
  private webTail(): Buffer {
    let tail = trailerMessage(this.respTrailers as Record<string, unknown> | null);
    if (this.webOut !== null) tail = Buffer.concat([this.webOut.end(), Buffer.from(tail.toString("base64"), "latin1")]);
    return tail;
  }

  /**
   * The upstream's side of the stream ended. Bun's node:http2 reports an
   * RST_STREAM as a clean end too (rstCode 0, no error), so a gRPC response
   * ending without grpc-status is taken as the reset it is, and a body shorter
   * than its content-length as cut: the client's stream is reset, as Envoy does.
   */
  onEnd(): void {
    if (this.respEnded) return;
    const p = this.webPlain;
    if (p !== null) {
      this.webPlain = null;
      const status = Number(p.headers[":status"]);
      const h: http2.IncomingHttpHeaders = { ...p.headers, "grpc-status": String(httpToGrpcStatus(status)), "content-length": "0" };
      delete h["content-encoding"];
      delete h["transfer-encoding"];
      if (p.size > 0) h["grpc-message"] = grpcMessageEncode(Buffer.concat(p.body, p.size));
      this.passResponse(h, true);
      if (this.respEnded) return;
    }
    this.respEnded = true;
    if (this.grpcNeedsStatus && this.respTrailers?.["grpc-status"] === undefined) return this.onGone("stream_reset");
    const web = this.web !== WEB_NONE;
    if (this.direct) {
      if (web && this.respChunked) this.toUser(this.webTail());
      const u = this.user;
      if (u !== null) {
        try {
          u.onUpstreamEnd!(this, web ? null : this.respTrailers);
        } catch (err) {
          reportError("upstream h2 end", err);
          this.destroy();
        }
      }
    } else if (this.respChunked && web) {
      const tail = this.webTail();
      this.toUser(Buffer.concat([Buffer.from(tail.length.toString(16) + "\r\n", "latin1"), tail, Buffer.from("\r\n0\r\n\r\n", "latin1")]));
    } else if (this.respChunked) this.toUser(Buffer.from(lastChunk(this.respTrailers), "latin1"));
    if (this.user !== null && !this.closed) this.onGone("connection termination"); // the response did not complete
  }

  private toUser(b: Buffer): void {
    const u = this.user;
    if (u === null) return;
    try {
      u.onUpstreamData(this, b);
    } catch (err) {
      reportError("upstream h2 data", err);
      this.destroy();
    }
  }

  override pause(): void {
    this.h2paused = true;
    this.stream?.pause();
  }

  override resume(): void {
    this.h2paused = false;
    this.stream?.resume();
  }

  /** The exchange is done with the stream: it is not reused; an unfinished one is cancelled. */
  override release(_reusable: boolean): void {
    this.destroy();
  }

  override destroy(): void {
    this.user = null;
    if (this.closed) return;
    this.closed = true;
    this.isOpen = false;
    const st = this.stream;
    if (st !== null && !(this.respEnded && this.reqEnded)) st.cancel();
    this.sessions.onConnClosed(this);
  }
}

const CRLF = Buffer.from("\r\n", "latin1");

/** Envoy's grpc_web filter passes these as they are: a gRPC answer (200, application/grpc…) or one already gRPC-Web (200, application/grpc-web[+proto]). */
function grpcWebAnswer(h: http2.IncomingHttpHeaders): boolean {
  if (Number(h[":status"]) !== 200) return false;
  const ct = h["content-type"];
  if (isGrpcContentType(ct)) return true;
  const v = typeof ct === "string" ? ct.toLowerCase() : "";
  return v === "application/grpc-web" || v === "application/grpc-web+proto";
}

/** An H2StreamConn's `socket`: bytes go through its write(), never to this. */
const NO_SOCKET = {
  write(): number {
    throw new Error("H2StreamConn: write through the conn");
  },
} as never;

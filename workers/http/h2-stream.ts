// One HTTP/2 stream from a client, as the client side of an exchange
// (ExchangeConn): no child connection in between. The stream's headers become
// the request view directly (h2-request.ts: the same limits, statuses and
// routing view as HTTP/1.1, no text parsed); its DATA goes straight into the exchange's body
// reader. A proxied response comes back as fields (respondFields,
// h2-response.ts), its body as data spans (chunked bodies already decoded by
// response.ts); local replies (404, 503 ...) come as HTTP/1.1 text, read here.
// The last DATA of a response carries END_STREAM: the last chunk written is
// held until the next write, the end of the exchange, or the end of the tick.
import type { ProxyVersion } from "../proxy-header-out.ts";
import type * as http2 from "node:http2";
import type { HeaderOperations, Listener } from "../../src/snapshot/types.ts";
import { coarseNow, reportError } from "../context.ts";
import type { PortState } from "../port-state.ts";
import { BODY_BAD, BODY_MORE } from "./body.ts";
import { CHUNKED_BAD, ChunkedScanner, TRAILER_FORBIDDEN, trailerFields } from "./chunked.ts";
import type { DownstreamTls, ExchangeConn } from "./conn.ts";
import { Exchange } from "./exchange.ts";
import { h2ResponseFields, responseFields, textResponseFields } from "./h2-response.ts";
import type { RequestHead } from "./parse-request.ts";
import type { ResponseHead } from "./parse-response.ts";
import { fieldMap } from "./field-map.ts";

/** The client connection the streams run on (a Downstream). */
export interface H2Parent {
  readonly socket: unknown;
  readonly port: PortState;
  readonly tls: DownstreamTls | null;
  readonly remoteIp: string;
  readonly peerIp: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly destinationAddress: string;
  proxyHeader(version: ProxyVersion): Buffer;
  readonly drainStart: number;
  /** When the connection was last active, for its idle close (listeners.ts); set by every read. */
  lastActive: number;
}

/** What a stream needs of its connection. */
export interface StreamOwner {
  readonly parent: H2Parent;
  /** A stream is over (closed or reset): forget it. */
  streamClosed(s: H2Stream): void;
}

/** Response bytes queued on a stream above which the exchange is told to wait. */
const HIGH_WATER = 256 * 1024;
const NGHTTP2_NO_ERROR = 0;
const NGHTTP2_PROTOCOL_ERROR = 1;
const NGHTTP2_INTERNAL_ERROR = 2;

/**
 * The stream under an H2Stream: gangway's own codec's ServerStream
 * (h2/stream.ts), or a node:http2 ServerHttp2Stream (h2-node.ts), which has
 * these methods itself. What happens on the stream comes back as calls on
 * the H2Stream (fromClient, clientTrailers, clientEnded, drained,
 * wantTrailers, closed).
 */
export interface StreamIo {
  readonly destroyed: boolean;
  readonly writableLength: number;
  /** close(code) sends RST_STREAM(code) and nothing else (gangway's codec; Bun's node:http2 ends the stream cleanly first). */
  readonly exactClose?: boolean;
  respond(h: http2.OutgoingHttpHeaders, opts?: { endStream?: boolean; waitForTrailers?: boolean }): void;
  /** An interim (1xx) head before the response (node:http2's name). */
  additionalHeaders(h: http2.OutgoingHttpHeaders): void;
  write(b: Uint8Array): unknown;
  end(b?: Uint8Array): unknown;
  sendTrailers(t: http2.OutgoingHttpHeaders): void;
  close(code?: number): void;
  destroy(err?: Error): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** Response states. */
const HEAD = 0;
/** Head read: body bytes pass (decoded, as data spans). */
const BODY = 1;
/** Text mode: the body is chunked and decoded here. */
const CHUNKED = 2;
const DONE = 3;

/** The error a reset stream is destroyed with (its 'error' event is ignored). */
const RESET = new Error("stream reset by the gateway");
const ENDED: http2.ServerStreamResponseOptions = { endStream: true };
const TRAILERS: http2.ServerStreamResponseOptions = { waitForTrailers: true };
const CONTINUE_HEAD: http2.OutgoingHttpHeaders = { ":status": 100 };

export class H2Stream implements ExchangeConn {
  readonly h2Stream = true;
  readonly unread = 0;
  /** The exchange while it runs; null once it is over. */
  ex: Exchange | null = null;
  lastActive = coarseNow;
  /** The exchange is over. */
  private done = false;
  /** Bytes queued on the stream when the stream idle timeout last looked (after the exchange). */
  private lastQueued = -1;
  /** The stream is closed or reset: nothing more is written. */
  private over = false;
  /** The client ended its side. */
  private ended = false;
  private paused = false;
  private received = 0;
  /** Request trailers from the client, sent on in the chunked body's last chunk. */
  private reqTrailers: http2.IncomingHttpHeaders | null = null;
  // --- response ---
  private state = HEAD;
  /** Text mode: response head bytes so far; the chunked body's scanner. */
  private text: Buffer | null = null;
  private scanner: ChunkedScanner | null = null;
  /** Where the response's trailers are kept (a chunked body's scanner), or null. */
  private trailerSrc: ChunkedScanner | null = null;
  /** An HTTP/2 upstream's response (respondH2): trailers may follow; the trailers once they came. */
  private trailing = false;
  private h2Trailers: http2.IncomingHttpHeaders | null = null;
  /** Headers not sent yet (sent with the first data, or at the end with END_STREAM). */
  private fields: http2.OutgoingHttpHeaders | null = null;
  /** The last data span written, held so that END_STREAM can go on it. */
  private held: Buffer | null = null;
  private flushQueued = false;
  /** respond() asked for trailers (wantTrailers sends them). */
  private wantsTrailers = false;
  readonly remoteIp: string;
  readonly peerIp: string;
  readonly port: PortState;
  readonly tls: DownstreamTls | null;

  constructor(
    private readonly owner: StreamOwner,
    readonly stream: StreamIo,
    /** Request body length announced by the client, or -1 (sent on as chunked). */
    private readonly length: number,
  ) {
    const p = owner.parent;
    this.remoteIp = p.remoteIp;
    this.peerIp = p.peerIp;
    this.port = p.port;
    this.tls = p.tls;
  }

  get listener(): Listener {
    return this.port.listener;
  }
  get sni(): string | null {
    const t = this.tls;
    return t === null ? null : t.sni;
  }
  get remoteAddress(): string {
    return this.owner.parent.remoteAddress;
  }
  get localAddress(): string {
    return this.owner.parent.localAddress;
  }
  get destinationAddress(): string {
    return this.owner.parent.destinationAddress;
  }
  proxyHeader(version: ProxyVersion): Buffer {
    return this.owner.parent.proxyHeader(version);
  }
  get drainStart(): number {
    return this.owner.parent.drainStart;
  }
  get congested(): boolean {
    if (!this.done) return !this.over && this.stream.writableLength > HIGH_WATER;
    // the exchange is over, its response maybe still queued behind the client's windows: timeouts.ts asks
    // once the stream was idle for the stream idle timeout; a queue that moved since the last look is a
    // slow reader (idle from now), one that did not is a client that does not read (reset)
    // (node:http2, GANGWAY_H2=node, shows no queue that moves as the client reads: not watched)
    const st = this.stream;
    const q = st.destroyed || st.exactClose !== true ? 0 : st.writableLength;
    if (q === 0 || q === this.lastQueued) return q > 0;
    this.lastQueued = q;
    this.lastActive = coarseNow;
    return false;
  }

  /** Nothing more to watch: the exchange is over and its response out (timeouts.ts). */
  get ending(): boolean {
    return this.done && (this.stream.destroyed || this.stream.writableLength === 0);
  }

  /** Run the request `h` (h2-request.ts made it from the stream's headers); `status`: what the HTTP/1.1 rules answer it with, or 0. */
  start(h: RequestHead, status: number): void {
    const ex = Exchange.make(this, h);
    this.ex = ex;
    if (this.length < 0) ex.bodyAsData();
    if (status !== 0) return ex.badRequest(status);
    ex.start();
    if (ex.finished) return;
    if (ex.reqBody.done) {
      if (this.length === 0) this.ended = true;
      ex.requestComplete();
    }
  }

  // --- request side ---

  /** DATA from the client. */
  fromClient(b: Buffer): void {
    this.lastActive = coarseNow;
    // DATA past the content-length is malformed (RFC 9113 §8.1.1), also after a content-length of 0
    // ended the request at its head: the stream is reset, as nghttp2 does, not the bytes dropped
    if (this.length >= 0 && this.received + b.length > this.length) return this.reset(NGHTTP2_PROTOCOL_ERROR);
    if (this.ended) return;
    this.received += b.length;
    if (this.length >= 0) {
      this.body(b);
    } else if (b.length > 0) {
      // a body of unknown length: data to the exchange as it is (its head says chunked; no framing made and read back)
      const ex = this.ex;
      if (ex !== null && !ex.finished && !ex.reqComplete) ex.feedData(b);
    }
  }

  /** The client's trailers (they end the request: clientEnded follows). */
  clientTrailers(t: http2.IncomingHttpHeaders): void {
    this.reqTrailers = t;
  }

  /**
   * The client's trailers are over Envoy's limits (trailer-limits.ts; node:http2 only: gangway's
   * codec resets such a stream before they get here): reset with INTERNAL_ERROR, as Envoy's codec,
   * the request never completed upstream.
   */
  refuseTrailers(): void {
    this.ended = true;
    this.reset(NGHTTP2_INTERNAL_ERROR);
  }

  /** The client ended its side (END_STREAM). */
  clientEnded(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.length < 0) {
      const ex = this.ex;
      if (ex === null || ex.finished || ex.reqComplete) return;
      ex.feedEnd(this.reqTrailers);
      ex.requestComplete();
    } else if (this.received < this.length) this.reset(NGHTTP2_PROTOCOL_ERROR); // body shorter than its content-length
  }

  private body(b: Buffer): void {
    const ex = this.ex;
    if (ex === null || ex.finished || ex.reqComplete) return;
    const r = ex.feedBody(b, 0, b.length);
    if (r === BODY_MORE) return;
    if (r === BODY_BAD) return ex.badBody();
    ex.requestComplete();
  }

  // --- ExchangeConn ---

  touch(): void {
    this.lastActive = coarseNow;
  }

  pause(): void {
    if (this.over || this.paused) return;
    this.paused = true;
    this.stream.pause();
  }

  /** Only a paused stream is resumed: Bun's resume() costs a native call (setStreamReading) each time, and the exchange resumes once per request. */
  resume(): void {
    if (this.over || !this.paused) return;
    this.paused = false;
    this.stream.resume();
  }

  abort(): void {
    if (this.done) {
      // the exchange is over, its response still queued: a client that does not read it
      const st = this.stream;
      if (st.destroyed) return;
      if (st.exactClose === true) st.close(NGHTTP2_INTERNAL_ERROR);
      else st.destroy(RESET);
      return;
    }
    this.reset(NGHTTP2_INTERNAL_ERROR);
  }

  startTunnel(): void {
    this.abort(); // no upgrades on HTTP/2 (the head never asks for one)
  }

  /** The response head of a proxied response, as fields; the body follows through write() as data spans. */
  respondFields(r: ResponseHead, b: Buffer, ops: HeaderOperations, server: string, serviceTimeMs: number, trailers: ChunkedScanner | null): void {
    if (this.over) return;
    this.fields = responseFields(r, b, ops, server, serviceTimeMs);
    this.trailerSrc = trailers;
    this.state = BODY;
    this.queueFlush();
  }

  /** An HTTP/2 upstream's response head, as fields; DATA follows through write(), trailers through respondTrailers. */
  respondH2(h: http2.IncomingHttpHeaders, length: string, trailing: boolean, ops: HeaderOperations, server: string, serviceTimeMs: number): void {
    if (this.over) return;
    this.fields = h2ResponseFields(h, length, ops, server, serviceTimeMs);
    this.trailing = trailing;
    this.state = BODY;
    this.queueFlush();
  }

  respondTrailers(t: http2.IncomingHttpHeaders): void {
    this.h2Trailers = t;
  }

  /** Response bytes from the exchange: text (a local reply), or body spans after respondFields. */
  write(b: Uint8Array): boolean {
    if (this.over) return true;
    const buf = b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    try {
      if (this.state === BODY) this.data(buf);
      else this.fromText(buf);
    } catch (err) {
      reportError("h2 response", err);
      this.reset(NGHTTP2_INTERNAL_ERROR);
    }
    return this.over || this.stream.writableLength <= HIGH_WATER;
  }

  exchangeDone(_ex: object, _close: boolean): void {
    this.ex = null;
    this.done = true;
    this.lastQueued = this.stream.destroyed ? 0 : this.stream.writableLength;
    this.lastActive = coarseNow;
    if (this.over) return;
    // no response head came, or a chunked body was cut short: the client must not take it as complete
    if (this.state === HEAD || (this.state === CHUNKED && !this.scanner!.done)) return this.reset(NGHTTP2_INTERNAL_ERROR);
    this.state = DONE;
    this.safeFlush(true);
    this.over = true;
    // an early answer (413, 404 ...) to a request whose body is still coming: stop the client sending
    if (!this.ended && !this.stream.destroyed) this.stream.close(NGHTTP2_NO_ERROR);
  }

  // --- stream events ---

  /** Queued response bytes went out after the stream was congested. */
  drained(): void {
    this.lastActive = coarseNow;
    const ex = this.ex;
    if (ex !== null && !ex.finished) ex.onDownstreamDrain();
  }

  /** The stream is gone (finished, reset by the client, or the connection closed). */
  closed(): void {
    this.over = true;
    this.owner.streamClosed(this);
    const ex = this.ex;
    if (ex !== null && !ex.finished) ex.onDownstreamClose();
  }

  private reset(code: number): void {
    if (this.over) return;
    this.over = true;
    this.held = null;
    this.fields = null;
    const st = this.stream;
    if (st.destroyed) return;
    // Bun's stream.close(code) ends the stream cleanly (END_STREAM) before its RST_STREAM, so a
    // truncated response would look complete; destroy(err) sends RST_STREAM(INTERNAL_ERROR) alone
    if (code === NGHTTP2_NO_ERROR || st.exactClose === true) st.close(code);
    else st.destroy(RESET);
  }

  // --- response out ---

  /** A data span of the response body. */
  private data(b: Buffer): void {
    if (b.length === 0) return;
    const prev = this.held;
    this.held = b;
    if (prev !== null) {
      this.flushHead(false);
      this.stream.write(prev);
    } else this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    if (flushing.length === 0) queueMicrotask(flushQueued);
    flushing.push(this);
  }

  /** @internal (flushQueued): the microtask after queueFlush. */
  queuedFlush(): void {
    this.flushQueued = false;
    if (!this.over && this.state !== DONE) this.safeFlush(false);
  }

  /** flush(), a throw (fields node:http2 refuses) resetting the stream. */
  private safeFlush(end: boolean): void {
    try {
      this.flush(end);
    } catch (err) {
      reportError("h2 response", err);
      this.reset(NGHTTP2_INTERNAL_ERROR);
    }
  }

  /** Send the headers if they are still held. `last`: nothing follows them (the exchange is over). */
  private flushHead(last: boolean): void {
    const h = this.fields;
    if (h === null) return;
    this.fields = null;
    const st = this.stream;
    if (last) {
      if (this.held === null && !this.hasTrailers()) return void st.respond(h, ENDED);
      if (!this.hasTrailers()) return void st.respond(h);
    } else if (this.trailerSrc === null && !this.trailing) return void st.respond(h);
    this.wantsTrailers = true;
    st.respond(h, TRAILERS);
  }

  /** Write what is held; `end`: the response is complete (END_STREAM on the last frame). */
  private flush(end: boolean): void {
    const st = this.stream;
    if (st.destroyed) return;
    const headersOnly = end && this.fields !== null && this.held === null && !this.hasTrailers();
    this.flushHead(end);
    if (headersOnly) return;
    const b = this.held;
    this.held = null;
    if (end) {
      if (b !== null) st.end(b);
      else st.end();
    } else if (b !== null) st.write(b);
  }

  private hasTrailers(): boolean {
    const t = this.h2Trailers;
    if (t !== null) {
      for (const n in t) if (passTrailer(n)) return true;
      return false;
    }
    const s = this.trailerSrc;
    return s !== null && s.trailerBytes !== null && s.trailerBytes.length > 0;
  }

  /** The body is out and respond() asked for trailers: send them. */
  wantTrailers(): void {
    const t = fieldMap<http2.OutgoingHttpHeaders>();
    const h2t = this.h2Trailers;
    if (h2t !== null) {
      for (const n in h2t) if (passTrailer(n) && h2t[n] !== undefined) t[n] = h2t[n];
    } else for (const [n, v] of trailerFields(this.trailerSrc?.trailerBytes ?? null)) if (!HOP_TRAILER.has(n)) t[n] = v;
    try {
      this.stream.sendTrailers(t);
    } catch (err) {
      reportError("h2 trailers", err);
    }
  }

  private interim(): void {
    const st = this.stream;
    if (this.over || st.destroyed) return;
    try {
      st.additionalHeaders(CONTINUE_HEAD);
    } catch (err) {
      reportError("h2 100-continue", err);
    }
  }

  /** Text mode: an HTTP/1.1 response (a local reply), head then body. */
  private fromText(b: Buffer): void {
    if (this.state === CHUNKED) {
      const r = this.scanner!.scan(b, 0, b.length, (buf, st, en) => this.data(buf.subarray(st, en)));
      if (r === CHUNKED_BAD) this.reset(NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    if (this.state === DONE) return;
    this.text = this.text === null ? b : Buffer.concat([this.text, b]);
    for (;;) {
      const r: Buffer = this.text!;
      const end = r.indexOf("\r\n\r\n", 0, "latin1");
      if (end < 0) return;
      const head = r.toString("latin1", 0, end);
      const rest = end + 4;
      this.text = rest < r.length ? r.subarray(rest) : null;
      const got = textResponseFields(head);
      if (got === null) {
        // an interim response: the exchange's 100 Continue to an `expect: 100-continue` request,
        // sent on as a HEADERS of its own, as Envoy's connection manager answers it on HTTP/2 too
        // (a client waiting for it before its body is not kept waiting)
        if (head.startsWith("HTTP/1.1 100 ")) this.interim();
        if (this.text === null) return;
        continue;
      }
      this.fields = got.fields;
      if (got.chunked) {
        this.scanner = new ChunkedScanner();
        this.scanner.trailerBytes = [];
        this.trailerSrc = this.scanner;
        this.state = CHUNKED;
      } else this.state = BODY;
      this.queueFlush();
      const left = this.text;
      this.text = null;
      if (left === null) return;
      if (this.state === BODY) this.data(left);
      else this.fromText(left);
      return;
    }
  }
}

/** Streams whose queued flush is due (one microtask for all queued in the same turn of the loop). */
let flushing: H2Stream[] = [];
function flushQueued(): void {
  const q = flushing;
  flushing = [];
  for (let i = 0; i < q.length; i++) q[i]!.queuedFlush();
}

/** Trailer fields never sent on HTTP/2. */
const HOP_TRAILER = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings"]);

/** An HTTP/2 upstream's trailer passed on to the client (the same as a chunked body's trailer section passes). */
function passTrailer(n: string): boolean {
  return n[0] !== ":" && !HOP_TRAILER.has(n) && !TRAILER_FORBIDDEN.has(n);
}

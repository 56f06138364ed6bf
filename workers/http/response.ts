// The response side of an exchange: parse the upstream's head strictly, write
// the rewritten head and stream the body to the client with backpressure,
// turn upstream failures into Envoy's local replies (502/503) or a reset, and
// splice bytes both ways after a 101.
import { REPLIES, type ReplyRow, type UpstreamFailure } from "../../src/dispatch/replies.ts";
import type { OutlierResult } from "../../src/upstream/outlier.ts";
import { options } from "../context.ts";
import { accessLog } from "../access-log.ts";
import { keptFromFields, keptFromHead, keptHeaders, trailerPairs, withTrailers, type KeptForLog } from "./response-log.ts";
import type { IncomingHttpHeaders } from "node:http2";
import { BODY_BAD, BODY_CHUNKED, BODY_CLOSE, BODY_STREAM } from "./body.ts";
import type { H2Framing } from "./h2-response.ts";
import { chunkFrame, h1FieldLines, h1Head, h1Suffix, writeH1Head } from "./h1-from-h2.ts";
import { lastChunk } from "./h2-upstream-heads.ts";
import { ChunkedScanner } from "./chunked.ts";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import type { BodyReader } from "./body.ts";
import type { ExchangeConn, TunnelUser } from "./conn.ts";
import type { RequestHead } from "./parse-request.ts";
import { findHeadBytes } from "./fields.ts";
import { FRAME_CHUNKED, FRAME_CLOSE, FRAME_LENGTH, FRAME_NONE } from "./heads-out.ts";
import { buildResponseHead, headFrom, writeResponseHead } from "./response-head.ts";
import { bodiless, MAX_RESPONSE_HEAD, parseResponseHeadAt, type ResponseHead, headCannotBe } from "./parse-response.ts";
import { CLEAN_CLOSE, GRPC_WEB_BAD_BASE64_ERRNO, GRPC_WEB_BAD_SIZE_ERRNO, PROTOCOL_ERROR_ERRNO, REFUSED_STREAM_ERRNO, type UpstreamConn } from "./upstream-conn.ts";

/** Up to this much body goes into the same write as the head (one syscall, one segment). */
const COALESCE = 64 * 1024;
/** The client's response head (and first body bytes) is built here when it fits and the connection copies what it cannot write at once: no buffer per response. */
const HEAD_SCRATCH = Buffer.allocUnsafe(128 * 1024);
/**
 * The same for an HTTP/1.1 upstream's head (writeResponseHead, nothing else writes it: the
 * suffix it leaves in the middle stays there for the next response): a head below the middle,
 * the first body bytes after it.
 */
const RESPONSE_SCRATCH = Buffer.allocUnsafe(2 * (MAX_RESPONSE_HEAD + 4096));

/**
 * What the response side needs of its exchange (Exchange implements it): the
 * fields it reads and the response buffers it fills; every change of the
 * exchange's state is an event method (responseHead … failAfterResponse).
 */
export interface ResponseExchange extends TunnelUser {
  readonly ds: ExchangeConn;
  /** The endpoint's pool: results for outlier detection. */
  readonly pool: { outcome(r: OutlierResult): void } | null;
  readonly head: RequestHead;
  readonly respBody: BodyReader;
  readonly responseOps: HeaderOperations;
  /** The response head's Connection value (decides whether the client connection ends): once per response. */
  responseConnection(): string;
  readonly upstreamServiceTime: number;
  readonly reqComplete: boolean;
  readonly discard: boolean;
  readonly retried: boolean;
  readonly finished: boolean;
  readonly tunnel: boolean;
  readonly respDone: boolean;
  /** Response head bytes received so far (split over reads). */
  respBuf: Buffer | null;
  /** An HTTP/1.1 client's response bytes held until the end of the turn (an HTTP/2 upstream's head, DATA and trailers): one write. */
  h1Held: H1Held | null;
  resp: ResponseHead | null;
  /** A ResponseHead to read the next response head into: the exchange's own, as new (no object per response). */
  newResponseHead(): ResponseHead;
  /** Decode a chunked response for an HTTP/1.0 client. */
  readonly decode: boolean;
  readonly replayable: boolean;
  readonly conn: UpstreamConn | null;
  /** Response headers and trailers kept for the access log (response-log.ts), when a sink reads them. */
  logKept: KeptForLog | null;
  /** Response bytes written to the client (the access log's bytes sent): the response side counts them. */
  bytesSent: number;
  /** Upstream bytes arrived: the request is never resent from now on. */
  upstreamAnswered(): void;
  /** The response body ends with the connection (`decode`: chunked decoded for an HTTP/1.0 client). */
  endsByClose(decode: boolean): void;
  /** Chunk-encode a response that ends when the upstream closes, for an HTTP/1.1 client: its connection stays. */
  readonly encode: boolean;
  encodeUntilClose(): void;
  /** A final head `buf[0, end)` arrived: true when the retry policy takes it (another try starts, nothing is written). */
  retryResponse(r: ResponseHead, buf: Buffer | null, end: number): boolean;
  responseHead(r: ResponseHead): void;
  responseStarted(): void;
  tunnelStarted(): void;
  /** The whole response was passed on; `conn` goes back to its pool when `reusable`. */
  responseEnded(conn: UpstreamConn | null, reusable: boolean, atHead?: boolean): void;
  failBeforeResponse(row: ReplyRow, transportFailure?: string, refused?: boolean): void;
  failAfterResponse(row: ReplyRow): void;
  /** A local reply, never retried (the request's own fault). */
  reply(row: ReplyRow): void;
  /** The upstream side of a tunnel closed: the exchange (and the client connection) ends. */
  tunnelClosed(): void;
  maybeFinish(): void;
  retry(): void;
}

export function onResponseData(ex: ResponseExchange, conn: UpstreamConn, data: Buffer): void {
  if (ex.finished) return;
  if (ex.tunnel) {
    ex.ds.touch(); // bytes passed on are activity (stream idle timeout)
    ex.bytesSent += data.length;
    if (!ex.ds.write(data)) conn.pause();
    return;
  }
  ex.upstreamAnswered();
  if (ex.resp === null) onHeadBytes(ex, conn, data);
  else {
    ex.ds.touch();
    writeBody(ex, conn, data, 0);
  }
}

/** Backings of response heads that span reads, allocated by appendHead: a view of one may grow in place. */
const HEAD_BACKINGS = new WeakSet<ArrayBufferLike>();

/**
 * `prev` (a head still arriving) with `data` after it. In place when `prev`
 * is a view of a backing made here with room after it (no one holds bytes
 * past a head still arriving), else copied into a new backing twice the size:
 * a head that comes a byte per read is copied a few times over, not once per
 * read (60 KiB: 0.4 s of Buffer.concat otherwise).
 */
export function appendHead(prev: Buffer, data: Buffer): Buffer {
  const n = prev.length + data.length;
  if (HEAD_BACKINGS.has(prev.buffer) && prev.byteOffset + n <= prev.buffer.byteLength) {
    const out = Buffer.from(prev.buffer, prev.byteOffset, n);
    data.copy(out, prev.length);
    return out;
  }
  // room to grow while it can still be a head (a read that brings its end and much body is taken as it is)
  const b = Buffer.allocUnsafeSlow(n < 2048 ? 4096 : n <= MAX_RESPONSE_HEAD ? 2 * n : n);
  HEAD_BACKINGS.add(b.buffer);
  prev.copy(b, 0);
  data.copy(b, prev.length);
  return b.subarray(0, n);
}

function onHeadBytes(ex: ResponseExchange, conn: UpstreamConn, data: Buffer): void {
  // a head that spans reads is searched for its end only in the bytes new since the last read, and
  // parsed once it has come: each byte is looked at once, not once per read (an upstream dripping a
  // 60 KiB head a byte per read cost seconds of CPU)
  let from = 0;
  let buf = data;
  if (ex.respBuf !== null) {
    from = ex.respBuf.length;
    buf = appendHead(ex.respBuf, data);
  }
  let r: ResponseHead;
  let end: number;
  for (;;) {
    if (from > 0) {
      const e = findHeadBytes(buf, 0, MAX_RESPONSE_HEAD, from);
      if (e === -1) return waitForHead(ex, buf, from);
      if (e < 0) return protocolError(ex);
      from = 0;
    }
    // a whole well-formed head, parsed as its end is found (one pass, no search for CRLFCRLF first);
    // when it is not one, findHeadBytes tells a head still coming (wait) from a malformed or
    // oversized one (a whole head parseResponseHeadAt refuses, parseResponseHead refuses too:
    // parse-response.test.ts)
    r = ex.newResponseHead();
    end = parseResponseHeadAt(buf, 0, r);
    if (end < 0) {
      if (findHeadBytes(buf, 0, MAX_RESPONSE_HEAD) !== -1) return protocolError(ex);
      return waitForHead(ex, buf, 0);
    }
    if (end > MAX_RESPONSE_HEAD) return protocolError(ex); // findHeadBytes: -431
    // a 1xx or 204 announcing a body (Transfer-Encoding, a Content-Length other than 0) cannot be one
    // (RFC 9110 §15.2, §15.3.5): Envoy's codec refuses it (502 UPE) rather than guess where it ends
    if ((r.status < 200 || r.status === 204) && (r.chunked || r.contentLength > 0)) return protocolError(ex);
    if (r.status >= 200 || r.status === 101) break;
    buf = buf.subarray(end); // 1xx interim response: not forwarded (Envoy answers 100-continue itself)
    if (buf.length === 0) {
      ex.respBuf = null;
      return;
    }
  }
  // a final head is activity (stream idle timeout); bytes of a head still coming and 1xx heads
  // are not, as Envoy's stream sees neither: an upstream dripping its head, or sending 100s for
  // ever, gets 504 at the stream idle timeout instead of holding the request open for good
  ex.ds.touch();
  // a status the route's retry policy retries (gateway-error, a listed code…): dropped, another try starts
  if (ex.retryResponse(r, buf, end)) return;
  ex.responseHead(r);
  const kept = accessLog.respNames;
  if (kept !== null) {
    ex.logKept = keptHeaders(kept, keptFromHead(buf, kept, ex.responseOps, options.serverHeader));
  }
  const h = ex.head;
  if (r.status === 101) {
    if (h.upgrade === "") return protocolError(ex);
    return startTunnel(ex, buf, end, r);
  }
  let framing: number;
  if (bodiless(r.status, h.method)) {
    ex.respBody.init(0, false, false);
    framing = r.chunked ? FRAME_CHUNKED : FRAME_LENGTH;
  } else {
    ex.respBody.init(r.contentLength, r.chunked, true);
    if (r.chunked && accessLog.trailers) ex.respBody.chunked!.trailerBytes = []; // kept for %TRAILER(X)%
    if (r.chunked) {
      if (h.minor === 0) {
        ex.endsByClose(true); // an HTTP/1.0 client cannot read chunked: decode, end by closing
        framing = FRAME_CLOSE;
      } else framing = FRAME_CHUNKED;
    } else if (r.contentLength >= 0) framing = FRAME_LENGTH;
    else if (h.minor === 0 || ex.ds.respondFields !== undefined) {
      ex.endsByClose(false); // body ends when the upstream closes (and so does an HTTP/2 stream's)
      framing = FRAME_CLOSE;
    } else {
      // an HTTP/1.1 client gets it chunked, ended by the last chunk when the upstream closes, and
      // keeps its connection: as Envoy's codec and nginx re-frame it
      ex.encodeUntilClose();
      framing = FRAME_CHUNKED;
    }
  }
  const connection = ex.responseConnection();
  const ms = ex.upstreamServiceTime;
  const ds = ex.ds;
  if (ds.respondFields !== undefined) return fieldsHead(ex, conn, r, buf, end, ms);
  if (ex.decode || ex.encode) {
    ex.responseStarted();
    ds.write(buildResponseHead(r, buf, 0, ex.responseOps, options.serverHeader, ms, framing, connection, end, end));
    return writeBody(ex, conn, buf, end);
  }
  // the head and the first body bytes go out in one buffer
  const rb = ex.respBody;
  const rr = rb.done ? end : rb.consume(buf, end, buf.length, null);
  if (rr === BODY_BAD) return protocolError(ex);
  ex.responseStarted();
  const bodyEnd = rr < 0 ? buf.length : rr;
  ex.bytesSent += bodyEnd - end;
  const coalesce = bodyEnd - end <= COALESCE;
  const be = coalesce ? bodyEnd : end;
  // (writeCopy: the socket takes what it can now, the rest is copied; over the node:tls bridge, which
  // keeps the buffers it is given, all of it. Bun's TLS socket encrypts what it takes at once.)
  const n = ds.writeCopy === undefined ? -1 : writeResponseHead(RESPONSE_SCRATCH, r, buf, 0, ex.responseOps, options.serverHeader, ms, framing, connection, end, be);
  let ok = n >= 0 ? ds.writeCopy!(RESPONSE_SCRATCH, headFrom, n) : ds.write(buildResponseHead(r, buf, 0, ex.responseOps, options.serverHeader, ms, framing, connection, end, be));
  if (!coalesce) ok = ds.write(buf.subarray(end, bodyEnd)) && ok;
  if (!ok) conn.pause();
  if (rb.done) responseComplete(ex, conn, bodyEnd < buf.length, true);
}

/**
 * An HTTP/2 stream: the head goes out as fields, the body as data (a chunked
 * one decoded, its trailers kept for the stream's trailers). As for HTTP/1.1,
 * the body bytes read with the head are checked before anything is sent.
 */
function fieldsHead(ex: ResponseExchange, conn: UpstreamConn, r: ResponseHead, buf: Buffer, end: number, ms: number): void {
  const rb = ex.respBody;
  const sc = rb.kind === BODY_CHUNKED ? rb.chunked! : null;
  let spans: Buffer[] | null = null;
  if (sc !== null) {
    sc.trailerBytes = [];
    spans = [];
  }
  const rr = rb.done ? end : rb.consume(buf, end, buf.length, spans === null ? null : (b, s, e) => spans!.push(b.subarray(s, e)));
  if (rr === BODY_BAD) return protocolError(ex);
  ex.responseStarted();
  const ds = ex.ds;
  ds.respondFields!(r, buf, ex.responseOps, options.serverHeader, ms, sc);
  const bodyEnd = rr < 0 ? buf.length : rr;
  let ok = true;
  if (spans !== null) {
    for (let i = 0; i < spans.length; i++) ok = ds.write(spans[i]!) && ok;
    ex.bytesSent = sc!.dataBytes;
  } else if (bodyEnd > end) {
    ex.bytesSent += bodyEnd - end;
    ok = ds.write(buf.subarray(end, bodyEnd));
  }
  if (!ok) conn.pause();
  if (rb.done) responseComplete(ex, conn, bodyEnd < buf.length);
}

/**
 * An HTTP/2 upstream's response head, as its fields (`f`: its framing,
 * h2ResponseFraming), for a client on an HTTP/2 stream (respondH2) or on
 * HTTP/1.1 (the head written from the fields, h1-from-h2.ts): no HTTP/1.1
 * text between them. Framed as h1ResponseHead framed it: a sized body ends
 * at its length, else the body ends with the upstream's stream
 * (onResponseEnd) and its trailers follow (`web`: gRPC-Web, whose trailers
 * come in the body instead). false: not taken, the response comes as text
 * (an HTTP/1.0 client, or a head the text path must judge).
 */
export function onResponseFields(ex: ResponseExchange, conn: UpstreamConn, h: IncomingHttpHeaders, f: H2Framing, head: boolean, web: boolean): boolean {
  const ds = ex.ds;
  let lines: string | null = null;
  if (ds.respondH2 === undefined) {
    if (ds.respondFields !== undefined || ex.head.minor === 0) return false;
    lines = h1FieldLines(h, f.length, ex.responseOps);
    if (lines === null) return false;
  }
  if (ex.finished) return true;
  ds.touch();
  ex.upstreamAnswered();
  const r = ex.newResponseHead();
  r.status = Number(h[":status"]);
  const gs = h["grpc-status"];
  if (typeof gs === "string") r.grpcStatus = gs.trim();
  if (f.length !== "") {
    r.contentLength = Number(f.length);
    if (!(r.contentLength >= 0)) {
      protocolError(ex);
      return true;
    }
  }
  if (ex.retryResponse(r, null, 0)) return true;
  ex.responseHead(r);
  const kept = accessLog.respNames;
  if (kept !== null) {
    ex.logKept = keptHeaders(kept, keptFromFields(h, kept, ex.responseOps, options.serverHeader));
  }
  const rb = ex.respBody;
  if (f.length === "") {
    if (bodiless(r.status, ex.head.method)) rb.init(0, false, false);
    else rb.initStream();
  } else rb.init(bodiless(r.status, ex.head.method) ? 0 : r.contentLength, false, false);
  ex.responseStarted();
  if (lines === null) ds.respondH2!(h, f.length, f.trailing && !web, ex.responseOps, options.serverHeader, ex.upstreamServiceTime);
  else {
    r.chunked = rb.kind === BODY_STREAM;
    const suffix = h1Suffix(ex.responseOps, options.serverHeader, ex.upstreamServiceTime, r.chunked, ex.responseConnection());
    if (!rb.done) {
      // the body (and the trailers) usually come in the same turn: held, then written with it
      holdH1(ex).head(lines, suffix);
      return true;
    }
    const n = ds.writeCopy === undefined ? -1 : writeH1Head(HEAD_SCRATCH, lines, suffix);
    const ok = n >= 0 ? ds.writeCopy!(HEAD_SCRATCH, 0, n) : ds.write(h1Head(lines, suffix));
    if (!ok) conn.pause();
  }
  if (rb.done) responseComplete(ex, conn, false, lines !== null);
  return true;
}

/** Response bytes for an HTTP/1.1 client held in one turn: the head (as text) and body pieces, written at once. */
export class H1Held {
  lines = "";
  suffix = "";
  readonly bufs: Buffer[] = [];
  /** Body bytes held (the head not counted). */
  bytes = 0;

  head(lines: string, suffix: string): void {
    this.lines = lines;
    this.suffix = suffix;
  }

  add(b: Buffer): void {
    this.bufs.push(b);
    this.bytes += b.length;
  }
}

/** Exchanges with held bytes, written in one microtask at the end of the turn. */
let heldQueue: ResponseExchange[] = [];

function holdH1(ex: ResponseExchange): H1Held {
  let h = ex.h1Held;
  if (h === null) {
    h = ex.h1Held = new H1Held();
    if (heldQueue.length === 0) queueMicrotask(flushHeldQueue);
    heldQueue.push(ex);
  }
  return h;
}

function holdBody(ex: ResponseExchange, b: Buffer): void {
  const h = holdH1(ex);
  h.add(b);
  if (h.bytes > COALESCE) flushHeld(ex);
}

function flushHeldQueue(): void {
  const q = heldQueue;
  heldQueue = [];
  for (let i = 0; i < q.length; i++) flushHeld(q[i]!);
}

/** Write what `ex` holds (before anything that ends or fails its response, and at the end of the turn). */
function flushHeld(ex: ResponseExchange): void {
  const h = ex.h1Held;
  if (h === null) return;
  ex.h1Held = null;
  if (ex.finished) return; // the exchange ended without this response (the client connection is going away)
  const ds = ex.ds;
  const bufs = h.bufs;
  let ok: boolean;
  const n = ds.writeCopy === undefined || h.bytes >= HEAD_SCRATCH.length ? -1 : writeH1Head(HEAD_SCRATCH, h.lines, h.suffix);
  if (n >= 0 && n + h.bytes <= HEAD_SCRATCH.length) {
    let pos = n;
    for (let i = 0; i < bufs.length; i++) pos += bufs[i]!.copy(HEAD_SCRATCH, pos);
    ok = ds.writeCopy!(HEAD_SCRATCH, 0, pos);
  } else {
    const parts = h.lines === "" ? bufs : [h1Head(h.lines, h.suffix), ...bufs];
    ok = ds.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
  if (!ok) ex.conn?.pause();
}

/** The upstream's HTTP/2 stream ended (after onResponseFields took its head), with its trailers. */
export function onResponseEnd(ex: ResponseExchange, conn: UpstreamConn, trailers: IncomingHttpHeaders | null): void {
  if (ex.finished || ex.respDone) return;
  const rb = ex.respBody;
  if (trailers !== null && accessLog.trailers) ex.logKept = withTrailers(ex.logKept, trailerPairs(trailers));
  // a sized body ends at its length: an end before it is a cut response
  if (rb.kind !== BODY_STREAM) return midBodyError(ex, REPLIES.upstream_reset_after_response);
  const ds = ex.ds;
  if (ds.respondH2 === undefined) {
    // HTTP/1.1: the last chunk with the trailers as a trailer section, checked as the text path's scanner checked it
    const last = Buffer.from(lastChunk(trailers), "latin1");
    if (new ChunkedScanner().scan(last, 0, last.length, null) !== last.length) return midBodyError(ex, REPLIES.upstream_protocol_error_after_response);
    ex.bytesSent += last.length;
    holdBody(ex, last); // written by responseComplete, with what the turn held
  } else if (trailers !== null) ds.respondTrailers?.(trailers);
  rb.done = true;
  responseComplete(ex, conn, false);
}

function writeBody(ex: ResponseExchange, conn: UpstreamConn, data: Buffer, start: number): void {
  const rb = ex.respBody;
  const ds = ex.ds;
  let end: number;
  if ((rb.kind === BODY_STREAM && ds.respondH2 === undefined) || ex.encode) {
    // an HTTP/2 upstream's DATA to an HTTP/1.1 client (onResponseFields), or a read of a body that
    // ends with the upstream's connection (onUpstreamGone writes the last chunk): one chunk each
    if (data.length === start) return;
    const c = chunkFrame(start === 0 ? data : data.subarray(start));
    ex.bytesSent += c.length;
    holdBody(ex, c);
    return;
  }
  if (ex.decode || (rb.kind === BODY_CHUNKED && ds.respondFields !== undefined)) {
    const r = rb.done ? start : rb.consume(data, start, data.length, (b, s, e) => ds.write(b.subarray(s, e)));
    if (r === BODY_BAD) return midBodyError(ex, REPLIES.upstream_protocol_error_after_response);
    end = r < 0 ? data.length : r;
    ex.bytesSent = rb.chunked!.dataBytes;
    if (ds.congested) conn.pause();
  } else {
    const r = rb.done ? start : rb.consume(data, start, data.length, null);
    if (r === BODY_BAD) return midBodyError(ex, REPLIES.upstream_protocol_error_after_response);
    end = r < 0 ? data.length : r;
    const bl = end - start;
    ex.bytesSent += bl;
    if (bl > 0) {
      const part = start === 0 && end === data.length ? data : data.subarray(start, end);
      if (ex.h1Held !== null) holdBody(ex, part);
      else if (!ds.write(part)) conn.pause();
    }
  }
  if (rb.done) responseComplete(ex, conn, end < data.length);
}

/** `atHead`: the response ended in the read its head came in (the exchange reuses that clock reading). */
function responseComplete(ex: ResponseExchange, conn: UpstreamConn, extraBytes: boolean, atHead = false): void {
  if (ex.h1Held !== null) flushHeld(ex);
  const r = ex.resp!;
  const reusable = !extraBytes && !r.close && ex.respBody.kind !== BODY_CLOSE && ex.reqComplete && !ex.discard;
  ex.responseEnded(conn, reusable, atHead);
}

function startTunnel(ex: ResponseExchange, buf: Buffer, end: number, r: ResponseHead): void {
  ex.tunnelStarted();
  ex.bytesSent += buf.length - end;
  ex.ds.write(buildResponseHead(r, buf, 0, ex.responseOps, options.serverHeader, ex.upstreamServiceTime, FRAME_NONE, "upgrade", end, buf.length));
  ex.ds.startTunnel(ex);
}

/** A head not yet whole (buf[0, from) looked at before): kept for the next read, unless its bytes already cannot be a head (502 now, not at the stream idle timeout). */
function waitForHead(ex: ResponseExchange, buf: Buffer, from: number): void {
  if (headCannotBe(buf, from, buf.length)) return protocolError(ex);
  ex.respBuf = buf;
}

function protocolError(ex: ResponseExchange): void {
  ex.failBeforeResponse(REPLIES.upstream_protocol_error);
}

/** The upstream failed after the response started: no reply possible, the client connection is closed. */
function midBodyError(ex: ResponseExchange, row: ReplyRow): void {
  if (ex.h1Held !== null) flushHeld(ex); // what came before the failure reaches the client first
  ex.failAfterResponse(row);
}

/** The upstream connection closed (or never opened). */
const CONNECT_FAILED: OutlierResult = { kind: "connectFailed" };
const TIMEOUT: OutlierResult = { kind: "timeout" };

export function onUpstreamGone(ex: ResponseExchange, failure: UpstreamFailure): void {
  if (ex.h1Held !== null) flushHeld(ex);
  if (ex.finished) return;
  if (ex.tunnel) return ex.tunnelClosed();
  if (failure.errno === GRPC_WEB_BAD_BASE64_ERRNO || failure.errno === GRPC_WEB_BAD_SIZE_ERRNO) {
    // the client's grpc-web-text body is not base64: Envoy's grpc_web filter answers 400 (gRPC-Web
    // shaped by reply()), never a retry; after the response started, a reset
    const row = failure.errno === GRPC_WEB_BAD_BASE64_ERRNO ? REPLIES.grpc_web_bad_base64 : REPLIES.grpc_web_bad_base64_size;
    if (ex.resp === null) {
      ex.respBuf = null;
      return ex.reply(row);
    }
    if (!ex.respDone) midBodyError(ex, row);
    return;
  }
  if (failure.errno === PROTOCOL_ERROR_ERRNO) {
    // an HTTP/2 upstream broke the protocol (a malformed head, DATA before it, a bad window…): as a
    // malformed HTTP/1.1 response, 502 UPE before the response started, a UPE reset after
    if (ex.resp === null) return protocolError(ex);
    if (!ex.respDone) midBodyError(ex, REPLIES.upstream_protocol_error_after_response);
    return;
  }
  if (ex.resp === null) {
    if (failure.code !== "upstream_reset_before_response") {
      ex.pool?.outcome(failure.code === "connect_timeout" ? TIMEOUT : CONNECT_FAILED);
      // a refused TLS handshake: Envoy's TLS_error reason as it is; a socket error: delayed_connect_error
      return ex.failBeforeResponse(REPLIES[failure.code], failure.errno.startsWith("TLS_error:") ? failure.errno : "delayed_connect_error:_" + failure.errno);
    }
    if (ex.replayable && !ex.retried && ex.respBuf === null) return ex.retry();
    ex.pool?.outcome(CONNECT_FAILED); // Envoy counts an upstream reset as a local-origin connect failure
    return ex.failBeforeResponse(REPLIES[failure.code], "", failure.errno === REFUSED_STREAM_ERRNO);
  }
  if (ex.respDone) return;
  if (ex.respBody.kind === BODY_CLOSE) {
    // only a clean close ends such a body; a reset cuts it, and the client is told so: no last chunk
    // for a chunk-encoded HTTP/1.1 response, RST_STREAM (not END_STREAM) for an HTTP/2 stream
    if (failure.errno !== CLEAN_CLOSE) return midBodyError(ex, REPLIES.upstream_reset_after_response);
    if (ex.encode) {
      ex.bytesSent += 5;
      ex.ds.write(Buffer.from("0\r\n\r\n", "latin1")); // (a fresh buffer: a TLS connection's bridge keeps it)
    }
    ex.respBody.done = true; // a read-until-close body ends here
    return ex.responseEnded(null, false);
  }
  midBodyError(ex, REPLIES.upstream_reset_after_response);
}

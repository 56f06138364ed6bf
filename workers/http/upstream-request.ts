// The request on its way upstream: its head (bytes, built once, with the first
// try's x-envoy-attempt-count), body bytes held while the connection opens, and a
// copy of the body bytes sent, kept up to REPLAY_LIMIT: it goes again on a
// retry (the route's retry policy, or a reused connection found dead) and to
// the mirrors.
import { MIRROR_BODY_LIMIT } from "../../src/traffic/mirror.ts";
import type { IncomingHttpHeaders } from "node:http2";
import { TRAILER_FORBIDDEN } from "./chunked.ts";
import type { H2RequestHead } from "./h2-upstream-heads.ts";
import type { UpstreamConn } from "./upstream-conn.ts";
import { fieldMap } from "./field-map.ts";
import { ATTEMPT_LINE, expectedLine, intoFrom } from "./request-head-bytes.ts";
import { grpcTimeoutText } from "../../src/upstream/grpc-timeout.ts";
import { EXPECTED_TIMEOUT, expectedTimeoutMs } from "../../src/upstream/timeout-headers.ts";

/** Request body bytes held while the upstream connection opens before the client is paused. */
const PENDING_LIMIT = 256 * 1024;
/**
 * Body bytes copied while forwarding; past this, a body that already went
 * upstream is neither retried nor mirrored (as Envoy gives up a retry or a
 * shadow past its buffer limit).
 */
export const REPLAY_LIMIT = MIRROR_BODY_LIMIT;
/** The head ends in "x-envoy-attempt-count: 1\r\n\r\n": the count's digit starts this far from the end. */
const COUNT_FROM_END = 5;
const NO_HEAD = Buffer.alloc(0);
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

/**
 * Makes the HTTP/1.1 head when it is sent (the Exchange: it holds what the head
 * is made of, and the request's bytes stay valid while it is served), instead
 * of a Buffer kept for the exchange's life. The same bytes each time.
 */
export interface HeadMaker {
  /** The head written into `into` by request-head-bytes.ts upstreamHeadInto: its size (at into[intoFrom, intoFrom + size)), or -1 when it does not fit. */
  upstreamHeadInto(into: Buffer): number;
  /** The head as a Buffer of its own. */
  upstreamHead(): Buffer;
}

/** A worker's scratch for first-try heads written to a plaintext HTTP/1.1 connection and not kept (copied only if the kernel does not take them whole). */
let headScratch: Buffer | null = null;
const HEAD_SCRATCH = 16 * 1024;

/**
 * The end of a body given as data (UpstreamRequest.rawBody), with the
 * client's trailers: no bytes, it travels in order with the data chunks
 * (held while the connection opens, copied for a retry).
 */
export class BodyEnd extends Uint8Array {
  constructor(readonly trailers: IncomingHttpHeaders | null) {
    super(0);
  }

  /** The trailers an HTTP/2 upstream gets (framing and routing fields never travel as trailers). */
  fields(): Record<string, string | string[]> {
    const out = fieldMap<Record<string, string | string[]>>();
    const t = this.trailers;
    if (t === null) return out;
    for (const n in t) {
      const v = t[n];
      if (n[0] !== ":" && v !== undefined && !TRAILER_FORBIDDEN.has(n)) out[n] = v;
    }
    return out;
  }

  /** As the last chunk of a chunked body: with its trailers for an HTTP/2 stream started from text, without for HTTP/1.1. */
  lastChunk(trailers: boolean): Buffer {
    if (!trailers) return LAST_CHUNK;
    let out = "0\r\n";
    const f = this.fields();
    for (const n in f) {
      const v = f[n]!;
      if (Array.isArray(v)) for (const x of v) out += `${n}: ${x}\r\n`;
      else out += `${n}: ${v}\r\n`;
    }
    return Buffer.from(out + "\r\n", "latin1");
  }
}

/** Body data as one chunk of a chunked body (its BodyEnd as the last chunk). */
function chunkOf(b: Uint8Array, h2: boolean): Uint8Array {
  if (b instanceof BodyEnd) return b.lastChunk(h2);
  const size = b.length.toString(16);
  const out = Buffer.allocUnsafe(size.length + 4 + b.length);
  out.write(size, 0, "latin1");
  out[size.length] = 13;
  out[size.length + 1] = 10;
  out.set(b, size.length + 2);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

export class UpstreamRequest {
  /** The request head to send on the first try (request-head-bytes.ts: it ends in x-envoy-attempt-count: 1). */
  private bytes: Buffer = NO_HEAD;
  /** For an HTTP/2 upstream: the head as fields (h2-request-fields.ts), and how to make the bytes should they be wanted. */
  private fields: H2RequestHead | null = null;
  private makeBytes: (() => Buffer) | null = null;
  private maker: HeadMaker | null = null;
  private pending: Uint8Array[] | null = null;
  private pendingBytes = 0;
  /** On a reused connection and not answered yet: may be resent once if that connection proves dead. */
  replayable = false;
  private copy: Uint8Array[] | null = null;
  private copyBytes = 0;
  /** Body bytes went upstream that the copy no longer holds: no retry, no mirror. */
  lost = false;
  /**
   * The body comes as data, not chunked bytes (an HTTP/2 client stream of
   * unknown length), and ends with a BodyEnd: an HTTP/2 stream that took the
   * head as fields takes it so; anything else gets it framed as chunks here.
   */
  rawBody = false;
  /**
   * The timeouts the upstream is told of (Exchange.timeoutHeaders, src/upstream/timeout-headers.ts):
   * the route timeout and per-try timeout (ms) they are made of, and when the request ended
   * (performance.now(), 0: not yet). A retry is sent what is left, as Envoy's doRetry calls
   * setTimeoutHeaders again.
   */
  routeMs = 0;
  perTryMs = 0;
  endedAt = 0;
  /** The first try's x-envoy-expected-rq-timeout-ms (in its head, right before the attempt count); 0: not sent. */
  expectedMs = 0;
  /** The grpc-timeout is the gateway's (a gRPC request under max_grpc_timeout): a retry's is rewritten too. */
  grpcTimeout = false;

  /** As a new one is (Exchange.make). */
  reset(): void {
    this.bytes = NO_HEAD;
    this.fields = null;
    this.makeBytes = null;
    this.maker = null;
    this.pending = null;
    this.pendingBytes = 0;
    this.replayable = false;
    this.copy = null;
    this.copyBytes = 0;
    this.lost = false;
    this.rawBody = false;
    this.routeMs = 0;
    this.perTryMs = 0;
    this.endedAt = 0;
    this.expectedMs = 0;
    this.grpcTimeout = false;
  }

  /** The ms try `attempt` is told it has (the first try's: nothing elapsed; a retry's: since the request ended). */
  private timeoutOf(attempt: number): number {
    if (attempt === 1) return expectedTimeoutMs(this.routeMs, this.perTryMs);
    const elapsed = this.endedAt > 0 ? performance.now() - this.endedAt : 0;
    return expectedTimeoutMs(this.routeMs, this.perTryMs, elapsed);
  }

  /** The head as request-head-bytes.ts built it (ending in x-envoy-attempt-count: 1, CRLF CRLF). */
  setHead(head: Buffer): void {
    this.bytes = head;
    this.fields = null;
    this.maker = null;
  }

  /** The head is made by `m` when it is sent (written into a scratch for a plaintext HTTP/1.1 connection) or wanted (retries, mirrors). */
  setMaker(m: HeadMaker): void {
    this.maker = m;
    this.bytes = NO_HEAD;
    this.fields = null;
  }

  /**
   * The head as HTTP/2 fields (a cluster speaking HTTP/2): its streams take
   * them as they are; `bytes` makes the HTTP/1.1 head only if something wants
   * it (a connection that is not an HTTP/2 stream: not expected, a cluster's
   * endpoints share its protocol).
   */
  setFields(f: H2RequestHead, bytes: () => Buffer): void {
    this.fields = f;
    this.makeBytes = bytes;
    this.bytes = NO_HEAD;
    this.maker = null;
  }

  /** The first try's head as bytes. */
  get head(): Buffer {
    if (this.bytes === NO_HEAD) {
      if (this.maker !== null) {
        this.bytes = this.maker.upstreamHead();
        this.maker = null;
      } else if (this.makeBytes !== null) {
        this.bytes = this.makeBytes();
        this.makeBytes = null;
      }
    }
    return this.bytes;
  }

  /** The head of try `n` (its x-envoy-attempt-count, and the time it has: x-envoy-expected-rq-timeout-ms, a gRPC request's grpc-timeout). */
  headOf(n: number): Buffer {
    if (n === 1) return this.head;
    const h = this.head;
    const ms = this.expectedMs > 0 || this.grpcTimeout ? this.timeoutOf(n) : 0;
    const out =
      this.expectedMs > 0
        ? Buffer.concat([h.subarray(0, h.length - 2 - ATTEMPT_LINE.length - expectedLine(this.expectedMs).length), Buffer.from(expectedLine(ms) + "x-envoy-attempt-count: " + n + "\r\n\r\n", "latin1")])
        : Buffer.concat([h.subarray(0, h.length - COUNT_FROM_END), Buffer.from(n + "\r\n\r\n", "latin1")]);
    if (!this.grpcTimeout) return out;
    const gt = grpcTimeoutText(ms);
    const text = out.toString("latin1");
    const at = text.search(/\r\ngrpc-timeout:/i);
    if (at < 0) return out;
    const end = text.indexOf("\r\n", at + 2);
    return Buffer.from(text.slice(0, at) + "\r\ngrpc-timeout: " + gt + text.slice(end), "latin1");
  }

  /** The first try's head as latin1 text, one character per byte (mirrors, tests). */
  headText(): string {
    return this.head.toString("latin1");
  }

  /** Keep a body chunk until the connection opens; true when so much is held that the client should wait. */
  hold(chunk: Uint8Array): boolean {
    (this.pending ??= []).push(chunk);
    this.pendingBytes += chunk.length;
    return this.pendingBytes > PENDING_LIMIT;
  }

  /** Forget held bytes (a local reply answered the request). */
  dropPending(): void {
    this.pending = null;
    this.pendingBytes = 0;
  }

  /** The upstream answered: no resend for a dead connection (a retry policy may still send the copy). */
  answered(): void {
    this.replayable = false;
  }

  /** The whole body so far (the copy, then what is held): for mirrors. */
  body(): Uint8Array[] {
    const c = this.copy ?? [];
    const all = this.pending === null ? c : [...c, ...this.pending];
    return this.rawBody ? all.map((b) => chunkOf(b, false)) : all;
  }

  /** Body bytes to `conn`: data as it is to an HTTP/2 stream given fields, else framed as chunks for a raw body. */
  private out(conn: UpstreamConn, b: Uint8Array): boolean {
    if (!this.rawBody) return conn.write(b);
    if (this.fields !== null && conn.startFields !== undefined) return conn.write(b);
    return conn.write(chunkOf(b, conn.startFields !== undefined));
  }

  /**
   * The connection is open: the head of try `attempt`, then on a retry the
   * copy of what earlier tries sent; then the held chunks. false when the
   * connection did not take everything.
   */
  sendTo(conn: UpstreamConn, retry: boolean, attempt: number): boolean {
    let ok = this.writeHead(conn, attempt);
    if (retry) {
      this.replayable = false;
      const bufs = this.copy;
      if (bufs !== null) for (let i = 0; i < bufs.length; i++) ok = this.out(conn, bufs[i]!) && ok;
    } else this.replayable = conn.uses > 1 && !this.lost;
    const pending = this.pending;
    if (pending !== null) {
      this.dropPending();
      for (let i = 0; i < pending.length; i++) ok = this.write(conn, pending[i]!) && ok;
    }
    return ok;
  }

  private writeHead(conn: UpstreamConn, attempt: number): boolean {
    const f = this.fields;
    if (f !== null && conn.startFields !== undefined) {
      if (this.expectedMs > 0 || this.grpcTimeout) {
        const ms = this.timeoutOf(attempt);
        if (this.expectedMs > 0) f.headers[EXPECTED_TIMEOUT] = String(ms);
        if (this.grpcTimeout && attempt > 1) f.headers["grpc-timeout"] = grpcTimeoutText(ms);
      }
      return conn.startFields(f, attempt, this.rawBody);
    }
    if (conn.socket === null) return false;
    const m = this.maker;
    if (m !== null && attempt === 1 && conn.tls === null && conn.startFields === undefined) {
      // a plaintext HTTP/1.1 connection copies what it is given (a TLS socket, an HTTP/2 stream may keep it)
      const into = (headScratch ??= Buffer.allocUnsafeSlow(HEAD_SCRATCH));
      const n = m.upstreamHeadInto(into);
      if (n >= 0) return conn.writeCopy(into, intoFrom, n);
    }
    return conn.write(this.headOf(attempt));
  }

  /** A body chunk to the open connection (copied while within REPLAY_LIMIT). */
  write(conn: UpstreamConn, b: Uint8Array): boolean {
    if (!this.lost) {
      this.copyBytes += b.length;
      if (this.copyBytes > REPLAY_LIMIT) {
        this.lost = true;
        this.replayable = false;
        this.copy = null;
      } else (this.copy ??= []).push(b);
    }
    return this.out(conn, b);
  }
}

// One request/response exchange on a downstream connection: route it, answer
// it locally or forward it through a pooled upstream connection, stream both
// bodies with backpressure, then log and count it. The response side lives in
// response.ts; this file holds the lifecycle and the request side.
import { EMPTY_OPS, type Decision } from "../../src/dispatch/decision.ts";
import { dispatch } from "../../src/dispatch/dispatch.ts";
import { codecReply, REPLIES, type ReplyRow, type UpstreamFailure } from "../../src/dispatch/replies.ts";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { accessLog } from "../access-log.ts";
import { httpDate, options, reportError } from "../context.ts";
import { stats } from "../stats.ts";
import { BODY_BAD, BODY_LENGTH, BodyReader } from "./body.ts";
import type { Generation } from "./clusters.ts";
import type { ExchangeConn, TunnelUser } from "./conn.ts";
import { CONNECTING, DONE, ExchangeStates, FINISHED, STREAMING, TUNNEL, WAITING } from "./exchange-state.ts";
import { hasOps, localIds, localResponseHead, upstreamRequestHead } from "./heads-out.ts";
import { localOps } from "./route-actions.ts";
import type { RequestHead } from "./parse-request.ts";
import type { ResponseHead } from "./parse-response.ts";
import { onResponseData, onUpstreamGone, type ResponseExchange } from "./response.ts";
import type { UpstreamConn, UpstreamUser } from "./upstream-conn.ts";
import { UpstreamRequest } from "./upstream-request.ts";
import { securityGate } from "./security-gate.ts";
import type { EndpointPool } from "./upstream-pool.ts";
import { pickHash } from "./upstream-pick.ts";
import { grpcReplyHeaders, isGrpcContentType } from "../../src/upstream/grpc-reply.ts";
import { upstreamSni } from "./upstream-tls.ts";
import type { OutlierResult } from "../../src/upstream/outlier.ts";

const CONNECTED: OutlierResult = { kind: "connected" };
const TIMED_OUT: OutlierResult = { kind: "timeout" };

/** Request body bytes read and dropped after a local reply before the connection is closed instead. */
const DISCARD_LIMIT = 1 << 20;
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
export const NO_OPS: HeaderOperations = EMPTY_OPS;
const NOT_ASCII = /[^\x00-\x7f]/;

function onTimeout(ex: Exchange): void {
  ex.timer = null;
  try {
    ex.onTimeout();
  } catch (err) {
    reportError("route timeout", err);
    ex.ds.abort();
  }
}

export class Exchange extends ExchangeStates implements UpstreamUser, TunnelUser, ResponseExchange {
  // --- state ---
  readonly t0 = performance.now();
  /** The generation the request was decided in (route table and clusters); set by start(). */
  gen: Generation | null = null;
  decision: Decision | null = null;
  /** The local reply given, or null (forwarded / not answered yet). */
  replyRow: ReplyRow | null = null;
  destService = "unknown";
  pool: EndpointPool | null = null;
  /** The endpoint pool this request waits on for a connection (circuit breakers' pending), or null. */
  waitingOn: EndpointPool | null = null;
  /** SNI of the upstream connection (TLS clusters: the request's host unless the DestinationRule names one). */
  sni = "";
  conn: UpstreamConn | null = null;
  readonly reqBody = new BodyReader();
  /** The downstream delivered the whole request (requestComplete was called). */
  reqComplete = false;
  /** Request body bytes are read and dropped (a local reply or early response was given). */
  discard = false;
  private discarded = 0;
  retried = false;
  /** The request's head, held body and replay copy on their way upstream. */
  private readonly up = new UpstreamRequest();
  tSent = 0;
  timeoutMs = 0;
  timer: ReturnType<typeof setTimeout> | null = null;
  respBuf: Buffer | null = null;
  resp: ResponseHead | null = null;
  readonly respBody = new BodyReader();
  /** Decode a chunked response (the client speaks HTTP/1.0). */
  decode = false;
  closeDownstream = false;
  responseOps: HeaderOperations = NO_OPS;
  /** The client address behind --trusted-proxies, or "" (the peer's); set by the security gate. */
  clientIp = "";

  constructor(
    readonly ds: ExchangeConn,
    head: RequestHead,
  ) {
    super(head);
    if (ds.h2Stream) this.protocol = "HTTP/2";
  }

  /** The request head is on the upstream connection: body chunks follow directly. */
  private get upstreamReady(): boolean {
    return (this.state === WAITING || this.state === STREAMING) && this.conn !== null;
  }

  /** The request went to a reused connection and is small enough to resend once if that proves dead. */
  get replayable(): boolean {
    return this.up.replayable;
  }

  // --- events from the response side (response.ts) ---

  /** The upstream's response head (final, or 101) arrived. */
  responseHead(r: ResponseHead): void {
    this.respBuf = null;
    this.resp = r;
    this.pool?.outcome({ kind: "status", status: r.status });
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.upstreamServiceTime = Math.round(performance.now() - this.tSent);
    this.status = r.status;
    this.details = "via_upstream";
  }
  /** The response head is being written to the client. */
  responseStarted(): void {
    this.to(STREAMING);
  }
  /** A 101 was passed on: splice from now on. */
  tunnelStarted(): void {
    this.to(TUNNEL);
  }
  /** The whole response was passed on; `conn` goes back to its pool (closed unless `reusable`). */
  responseEnded(conn: UpstreamConn | null, reusable: boolean): void {
    this.to(DONE);
    if (conn !== null && this.conn === conn) {
      this.conn = null;
      conn.release(reusable);
    }
    this.maybeFinish();
  }
  upstreamAnswered(): void {
    this.up.answered();
  }
  endsByClose(decode: boolean): void {
    this.decode = decode;
    this.closeDownstream = true;
  }
  /** The upstream failed before a response head: a local reply (`row`), the connection dropped. */
  failBeforeResponse(row: ReplyRow, transportFailure = ""): void {
    if (transportFailure !== "") this.transportFailure = transportFailure;
    stats.upstreamError(this.upstreamCluster, row.flag);
    this.respBuf = null;
    this.resp = null;
    this.dropUpstream();
    this.reply(row);
  }
  tunnelClosed(): void {
    this.closeDownstream = true;
    this.reqComplete = true;
    this.finish();
  }
  /** The upstream failed after the response started: nothing can be sent, the client connection is closed. */
  failAfterResponse(row: ReplyRow): void {
    stats.upstreamError(this.upstreamCluster, row.flag);
    this.replyRow = row;
    this.flags = row.flag;
    this.details = row.details;
    this.dropUpstream();
    this.closeDownstream = true;
    this.to(DONE);
    this.maybeFinish();
  }

  get bytesReceived(): number {
    return this.reqBody.bytes;
  }
  get downstreamLocal(): string {
    return this.ds.localAddress;
  }
  get downstreamRemote(): string {
    // Envoy logs the address found through x-forwarded-for (an address without a port)
    if (this.clientIp !== "") return (this.clientIp.includes(":") ? `[${this.clientIp}]` : this.clientIp) + ":0";
    return this.ds.remoteAddress;
  }
  /** Does the downstream connection end after this exchange? */
  get closeAfter(): boolean {
    return this.closeDownstream || this.head.close || this.ds.port.draining;
  }
  get connectionHeader(): string {
    return this.closeAfter ? "close" : this.head.minor === 0 ? "keep-alive" : "";
  }

  /** Decide the parsed head in the port's current generation: answer locally or start forwarding. */
  start(): void {
    const h = this.head;
    this.reqBody.init(h.contentLength, h.chunked, false);
    const ds = this.ds;
    const port = ds.port;
    const gen = port.gen;
    this.gen = gen;
    h.port = port.listener.port;
    if (ds.tls !== null) {
      h.scheme = "https";
      this.sni = ds.tls.sni;
    }
    const d = dispatch(gen.snapshot, ds, h);
    this.decision = d;
    const route = d.route;
    if (route !== null) this.routeName = route.name;
    this.responseOps = d.responseHeaders;
    // RequestAuthentication / AuthorizationPolicy (security-gate.ts): may hold the request
    // (token verification, ext_authz) and then act, or answer 401/403 instead
    const sec = gen.snapshot.security;
    if (sec !== undefined && securityGate(this, sec, d)) return;
    this.act(d);
  }

  /** Carry out the decision: forward, or answer locally. */
  act(d: Decision): void {
    if (d.kind === "forward") {
      this.to(CONNECTING);
      return this.forward(d);
    }
    const dest = d.destination;
    if (dest !== null && d.reply!.flag !== "-") {
      // a destination that cannot be served (no endpoints, cluster missing): counted against it
      this.upstreamCluster = dest.cluster;
      this.destService = d.cluster?.serviceHost ?? dest.host;
      stats.upstreamError(dest.cluster, d.reply!.flag);
    }
    this.reply(d.reply!, d.status, d.body, d.location === "" ? "" : "location: " + d.location + "\r\n");
  }

  private forward(d: Decision): void {
    const h = this.head;
    const dest = d.destination!;
    const cluster = d.cluster!;
    this.upstreamCluster = dest.cluster;
    this.destService = cluster.serviceHost;
    // the same generation as the decision: the runtime exists and has a pool per endpoint
    const rt = this.gen!.clusters.get(dest.cluster);
    let pool: EndpointPool | null = null;
    if (rt !== undefined) {
      const ph = cluster.upstream?.hash == null ? null : pickHash(cluster, h, this.ds.remoteIp, () => this.ds.remoteAddress, () => this.ds.localAddress);
      if (ph !== null && ph.setCookie !== "") {
        // Envoy sets the cookie it made up for the request (consistentHash httpCookie with a ttl)
        const ops = this.responseOps;
        this.responseOps = { set: ops.set, add: [...ops.add, ["set-cookie", ph.setCookie]], remove: ops.remove };
      }
      pool = rt.pick(ph?.hash ?? null);
    }
    if (pool === null) {
      stats.upstreamError(dest.cluster, REPLIES.no_healthy_upstream.flag);
      return this.reply(REPLIES.no_healthy_upstream);
    }
    this.pool = pool;
    pool.active++;
    this.upstreamHost = pool.hostPort;
    const route = d.route!;
    const xfcc = this.ds.tls?.xfcc ?? "";
    const headStr = upstreamRequestHead(h, d.path ?? this.logPath, d.authority, this.ds.remoteIp, d.originalPath, d.requestHeaders, this, xfcc);
    this.up.head = headStr;
    this.up.ascii = !h.highBytes && (!hasOps(d.requestHeaders) || !NOT_ASCII.test(headStr));
    if (h.expectContinue && !this.reqBody.done) this.ds.write(CONTINUE);
    this.timeoutMs = route.timeoutMs;
    this.sni = pool.tls === null ? "" : upstreamSni(pool.tls, d.authority);
    const c = rt!.acquire(pool, this, this.sni);
    if (c === "overflow") {
      stats.upstreamError(dest.cluster, REPLIES.upstream_overflow.flag);
      return this.reply(REPLIES.upstream_overflow);
    }
    if (c !== "queued" && c.isOpen) {
      this.conn = c;
      this.sendHead();
      return;
    }
    this.waitingOn = pool; // counted in pool.pending until a connection is open for it
    if (c !== "queued") this.conn = c;
  }

  /** No longer waiting for a connection (it opened, or the exchange ends). */
  private stopWaiting(): void {
    const p = this.waitingOn;
    if (p === null) return;
    this.waitingOn = null;
    p.pending--;
    p.dropWaiter(this);
  }

  /** A queued request gets a connection (an idle one handed over, or a new one opening). */
  onUpstreamGranted(conn: UpstreamConn): void {
    if (this.finished) return conn.release(conn.isOpen);
    this.conn = conn;
    if (conn.isOpen) this.sendHead();
  }

  /** Write the request head (and what body arrived) to the now-open connection. */
  private sendHead(): void {
    this.stopWaiting();
    const conn = this.conn!;
    this.tSent = performance.now();
    if (accessLog.enabled) this.upstreamLocal = conn.localAddress;
    this.to(WAITING);
    const ok = this.up.sendTo(conn, this.retried);
    if (ok) this.ds.resume();
    else this.ds.pause();
  }

  /**
   * Request body bytes buf[start, end) from the downstream. Returns where the
   * body ended inside the range, BODY_MORE, or BODY_BAD. Never finishes the
   * exchange: the downstream calls requestComplete() after keeping leftovers.
   */
  feedBody(buf: Buffer, start: number, end: number): number {
    const r = this.reqBody.consume(buf, start, end, null);
    if (r === BODY_BAD) return r;
    const stop = r < 0 ? end : r;
    if (stop > start) this.bodyChunk(start === 0 && stop === buf.length ? buf : buf.subarray(start, stop));
    return r;
  }

  private bodyChunk(chunk: Buffer): void {
    if (this.discard || this.respDone || this.finished) {
      this.discarded += chunk.length;
      if (this.discarded > DISCARD_LIMIT && !this.closeDownstream) {
        this.closeDownstream = true;
        this.maybeFinish();
      }
      return;
    }
    if (this.upstreamReady) {
      if (!this.up.write(this.conn!, chunk)) this.ds.pause();
      return;
    }
    if (this.up.hold(chunk)) this.ds.pause();
  }

  /** The request's body framing broke (bad chunk): 400, or a reset when the response already started. */
  badBody(): void {
    this.dropUpstream();
    this.closeDownstream = true;
    this.reqComplete = true;
    if (!this.respStarted) this.reply(REPLIES.bad_body);
    else this.ds.abort();
    this.finish();
  }

  /** The head could not be parsed: answer `status` (400/431/505) and close, as Envoy's codec does. */
  badRequest(status: number): void {
    this.closeDownstream = true;
    this.reqComplete = true;
    this.reply(codecReply(status));
  }

  /** The downstream delivered the whole request. */
  requestComplete(): void {
    this.reqComplete = true;
    if (this.timeoutMs > 0 && this.resp === null && (this.state === CONNECTING || this.state === WAITING) && this.timer === null)
      this.timer = setTimeout(onTimeout, this.timeoutMs, this);
    this.maybeFinish();
  }

  onTimeout(): void {
    if (this.finished || this.resp !== null || this.respDone) return;
    this.pool?.outcome(TIMED_OUT);
    this.dropUpstream();
    stats.upstreamError(this.upstreamCluster, REPLIES.response_timeout.flag);
    this.reply(REPLIES.response_timeout);
  }

  /**
   * Answer the request from the gateway with a row of the reply table (404,
   * 503, redirect, direct response…); `status`/`body`/`extra` header lines
   * override the row's for redirects and direct responses, `details` for the
   * security replies (the JWT status, the matched policy).
   */
  reply(row: ReplyRow, status = row.status, body = row.body, extra = "", details = row.details): void {
    if (this.respStarted) return;
    if (status >= 400 && isGrpcContentType(this.head.header("content-type"))) {
      // a gRPC client reads grpc-status: HTTP 200 Trailers-Only, as Envoy's local replies to gRPC requests
      extra += grpcReplyHeaders(status, body);
      status = 200;
      body = "";
    }
    this.to(DONE);
    this.replyRow = row;
    this.status = status;
    this.flags = row.flag;
    this.details = details;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.reqBody.done) {
      this.discard = true;
      this.up.dropPending();
      // a client waiting for 100-continue, or a big body, is not worth reading: close instead
      const rb = this.reqBody;
      if (this.head.expectContinue || (rb.kind === BODY_LENGTH && rb.remaining > DISCARD_LIMIT)) this.closeDownstream = true;
    }
    // the ids Envoy sets before routing, for the log line (not for a head that did not parse)
    if (accessLog.enabled && this.requestId === "" && row.flag !== "DPE") localIds(this.head, this.ds.remoteIp, this);
    const bodyBytes = body === "" ? 0 : Buffer.byteLength(body);
    const ops = this.responseOps;
    const opsExtra = ops === NO_OPS ? "" : localOps(ops);
    const head = localResponseHead(status, bodyBytes, options.serverHeader, httpDate, extra + opsExtra, this.connectionHeader);
    this.bytesSent = this.head.method === "HEAD" ? 0 : bodyBytes;
    this.ds.write(Buffer.from(this.bytesSent === 0 ? head : head + body, this.bytesSent === 0 ? "latin1" : "utf8"));
    this.maybeFinish();
  }

  /** Finish when both sides are done (or the connection is to be closed anyway). */
  maybeFinish(): void {
    if (this.finished || !this.respDone) return;
    if (!this.reqComplete) {
      this.discard = true;
      if (!this.closeDownstream) return; // keep reading (and dropping) the request body
    }
    this.finish();
  }

  finish(): void {
    if (this.finished) return;
    this.to(FINISHED);
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.dropUpstream();
    this.stopWaiting();
    if (this.pool !== null) this.pool.active--;
    const dur = performance.now() - this.t0;
    this.durationMs = Math.round(dur);
    stats.request(this.status, this.flags, this.routeName === "" ? "-" : this.routeName, this.destService, dur, this.reqBody.bytes, this.bytesSent);
    if (accessLog.enabled) accessLog.log(this);
    this.ds.exchangeDone(this, this.closeAfter);
  }

  /** Forget the upstream connection, closing it (an unfinished exchange cannot leave it reusable). */
  dropUpstream(): void {
    const c = this.conn;
    if (c !== null) {
      this.conn = null;
      c.destroy();
    }
  }

  // --- UpstreamUser ---
  onUpstreamOpen(conn: UpstreamConn): void {
    if (conn !== this.conn || this.finished) return conn.release(false);
    this.pool?.outcome(CONNECTED);
    this.sendHead();
  }
  onUpstreamData(conn: UpstreamConn, data: Buffer): void {
    onResponseData(this, conn, data);
  }
  onUpstreamDrain(): void {
    if (!this.respDone || this.tunnel) this.ds.resume();
  }
  onUpstreamClose(conn: UpstreamConn, failure: UpstreamFailure): void {
    if (conn !== this.conn) return;
    this.conn = null;
    onUpstreamGone(this, failure);
  }

  /** The downstream connection closed under us. */
  onDownstreamClose(): void {
    if (this.finished) return;
    this.dropUpstream();
    if (!this.respDone) {
      const dc = REPLIES.downstream_disconnect;
      if (this.flags === "-") this.flags = dc.flag;
      if (this.details === "" || this.details === "via_upstream") this.details = dc.details;
      if (!this.respStarted) this.status = 0;
    }
    this.closeDownstream = true;
    this.reqComplete = true;
    this.finish();
  }

  /** Bytes from the client once a WebSocket (or other upgrade) tunnel is up. */
  tunnelUp(data: Buffer): void {
    this.reqBody.bytes += data.length;
    if (this.conn !== null && !this.conn.write(data)) this.ds.pause();
  }

  /** The client's outbox drained: let the upstream send again. */
  onDownstreamDrain(): void {
    this.conn?.resume();
  }

  /** Start over on a fresh connection (the reused one was dead before answering). */
  retry(): void {
    this.retried = true;
    this.to(CONNECTING);
    this.conn = this.pool!.connect(this, this.sni);
  }
}

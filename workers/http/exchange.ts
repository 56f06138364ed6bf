// One request/response exchange on a downstream connection: route it, answer
// it locally or forward it through a pooled upstream connection, stream both
// bodies with backpressure, then log and count it. The response side lives in
// response.ts; this file holds the lifecycle and the request side.
import type { HeaderOperations, Route, RouteAction } from "../../src/snapshot/types.ts";
import { misdirected, selectRoute, selectVirtualHost } from "../../src/route/lookup.ts";
import { accessLog } from "../access-log.ts";
import { httpDate, options, reportError } from "../context.ts";
import { stats } from "../stats.ts";
import { BODY_BAD, BODY_LENGTH, BodyReader } from "./body.ts";
import { clusters } from "./clusters.ts";
import type { Downstream } from "./downstream.ts";
import { ExchangeRecord } from "./exchange-record.ts";
import { hasOps, localIds, localResponseHead, upstreamRequestHead } from "./heads-out.ts";
import { localOps, redirectLocation, rewritePath } from "./route-actions.ts";
import type { RequestHead } from "./parse-request.ts";
import type { ResponseHead } from "./parse-response.ts";
import { onResponseData, onUpstreamGone } from "./response.ts";
import type { UpstreamConn, UpstreamUser } from "./upstream-conn.ts";
import type { EndpointPool } from "./upstream-pool.ts";

/** Request body bytes read and dropped after a local reply before the connection is closed instead. */
const DISCARD_LIMIT = 1 << 20;
/** Request body bytes held while the upstream connection opens before the client is paused. */
const PENDING_LIMIT = 256 * 1024;
/** A request up to this size is kept to be resent once if a reused connection turns out dead. */
const REPLAY_LIMIT = 64 * 1024;
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
export const NO_OPS: HeaderOperations = { set: [], add: [], remove: [] };
const NOT_ASCII = /[^\x00-\x7f]/;
const NOT_LATIN1 = /[^\x00-\xff]/;

function onTimeout(ex: Exchange): void {
  ex.timer = null;
  try {
    ex.onTimeout();
  } catch (err) {
    reportError("route timeout", err);
    ex.ds.abort();
  }
}

export class Exchange extends ExchangeRecord implements UpstreamUser {
  // --- state ---
  readonly t0 = performance.now();
  route: Route | null = null;
  destService = "unknown";
  pool: EndpointPool | null = null;
  conn: UpstreamConn | null = null;
  readonly reqBody = new BodyReader();
  /** The downstream delivered the whole request (requestComplete was called). */
  reqComplete = false;
  /** Request body bytes are read and dropped (a local reply or early response was given). */
  discard = false;
  private discarded = 0;
  /** Request bytes waiting for the upstream connection to open. */
  private pending: Uint8Array[] | null = null;
  private pendingBytes = 0;
  /** The request went to a reused connection and is small enough to resend once if that proves dead. */
  replayable = false;
  /** Body bytes written so far, kept while replayable. */
  private replayBody: Uint8Array[] | null = null;
  private replayBytes = 0;
  retried = false;
  /** The request head is on the upstream connection (body chunks may follow directly). */
  upstreamReady = false;
  private upHead = "";
  private upAscii = true;
  tSent = 0;
  timeoutMs = 0;
  timer: ReturnType<typeof setTimeout> | null = null;
  respBuf: Buffer | null = null;
  resp: ResponseHead | null = null;
  readonly respBody = new BodyReader();
  respStarted = false;
  respDone = false;
  /** Decode a chunked response (the client speaks HTTP/1.0). */
  decode = false;
  tunnel = false;
  closeDownstream = false;
  finished = false;
  responseOps: HeaderOperations = NO_OPS;

  constructor(
    readonly ds: Downstream,
    head: RequestHead,
  ) {
    super(head);
    if (ds.h2Stream) this.protocol = "HTTP/2";
  }

  get bytesReceived(): number {
    return this.reqBody.bytes;
  }
  get downstreamLocal(): string {
    return this.ds.localAddress;
  }
  get downstreamRemote(): string {
    return this.ds.remoteAddress;
  }
  /** Does the downstream connection end after this exchange? */
  get closeAfter(): boolean {
    return this.closeDownstream || this.head.close || this.ds.port.draining;
  }
  get connectionHeader(): string {
    return this.closeAfter ? "close" : this.head.minor === 0 ? "keep-alive" : "";
  }

  /** Route the parsed head: answer locally or start forwarding. */
  start(): void {
    const h = this.head;
    this.reqBody.init(h.contentLength, h.chunked, false);
    const listener = this.ds.port.listener;
    let table = listener.routeTable;
    h.port = listener.port;
    const tls = this.ds.tls;
    if (tls !== null) {
      h.scheme = "https";
      this.sni = tls.sni;
      table = tls.chain.routeTable;
      // a request for a host the port's other TLS server serves (HTTP/2 connection reuse, a wrong Host)
      if (misdirected(listener.tls!, tls.chain, h.host)) {
        this.localReply(421, "-", "misdirected_request", "", "");
        return;
      }
    }
    if (table === null) {
      this.localReply(404, "NR", "route_not_found", "", "");
      return;
    }
    const vhi = h.method === "CONNECT" ? -1 : selectVirtualHost(table, h.host);
    const vh = vhi < 0 ? null : table.virtualHosts[vhi]!;
    const ri = vh === null ? -1 : selectRoute(vh, h);
    if (ri < 0) {
      this.localReply(404, "NR", "route_not_found", "", "");
      return;
    }
    const route = vh!.routes[ri]!;
    this.route = route;
    this.routeName = route.name;
    this.responseOps = route.responseHeaders;
    const a = route.action;
    if (a.kind === "forward") this.forward(route, a);
    else if (a.kind === "redirect") this.localReply(a.status, "-", "redirect", "", "location: " + redirectLocation(h, a) + "\r\n");
    else this.localReply(a.status, "-", "direct_response", a.body, "");
  }

  private forward(route: Route, a: Extract<RouteAction, { kind: "forward" }>): void {
    const h = this.head;
    const dests = a.destinations;
    let d = dests[0];
    if (dests.length > 1) {
      let r = Math.random() * a.totalWeight;
      for (let i = 0; i < dests.length; i++) {
        r -= dests[i]!.weight;
        if (r < 0) {
          d = dests[i];
          break;
        }
      }
    }
    if (d === undefined) return this.localReply(503, "UH", "no_healthy_upstream", "no healthy upstream", "");
    if (d.cluster === "") return this.localReply(500, "-", "direct_response", "", ""); // unresolved Gateway API backendRef
    this.upstreamCluster = d.cluster;
    const rt = clusters.get(d.cluster);
    this.destService = rt?.cluster.serviceHost ?? d.host;
    const pool = rt?.pick() ?? null;
    if (pool === null) {
      stats.upstreamError(d.cluster, "UH");
      return this.localReply(503, "UH", "no_healthy_upstream", "no healthy upstream", "");
    }
    this.pool = pool;
    pool.active++;
    this.upstreamHost = pool.hostPort;
    let target = this.logPath;
    let original = "";
    if (a.rewriteUri !== null) {
      original = target;
      const p = rewritePath(route, h, a.rewriteUri);
      target = h.query === "" ? p : p + "?" + h.query;
    }
    const authority = a.rewriteAuthority ?? (h.authority === "" ? d.host : h.authority);
    const xfcc = this.ds.tls?.xfcc ?? "";
    const headStr = upstreamRequestHead(h, target, authority, this.ds.remoteIp, original, route.requestHeaders, this, xfcc);
    this.upHead = headStr;
    this.upAscii = !h.highBytes && (!hasOps(route.requestHeaders) || !NOT_ASCII.test(headStr));
    if (h.expectContinue && !this.reqBody.done) this.ds.write(CONTINUE);
    this.timeoutMs = route.timeoutMs;
    const c = pool.takeIdle(this);
    if (c !== null) {
      this.conn = c;
      this.sendHead();
    } else this.conn = pool.connect(this);
  }

  /** Write the request head (and what body arrived) to the now-open connection. */
  private sendHead(): void {
    const conn = this.conn!;
    this.tSent = performance.now();
    if (accessLog.enabled) this.upstreamLocal = conn.localAddress;
    let ok = this.writeHead(conn);
    if (this.retried) {
      const bufs = this.replayBody;
      this.replayBody = null;
      this.replayable = false;
      if (bufs !== null) for (let i = 0; i < bufs.length; i++) ok = conn.write(bufs[i]!) && ok;
    } else {
      this.replayable = conn.uses > 1;
      this.replayBytes = this.upHead.length;
    }
    this.upstreamReady = true;
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      this.pendingBytes = 0;
      for (let i = 0; i < pending.length; i++) ok = this.toUpstream(pending[i]!) && ok;
    }
    if (ok) this.ds.resume();
    else this.ds.pause();
  }

  private writeHead(conn: UpstreamConn): boolean {
    if (conn.socket === null) return false;
    const h = this.upHead;
    if (this.upAscii) return conn.out.writeText(conn.socket, h, true);
    return conn.write(Buffer.from(h, NOT_LATIN1.test(h) ? "utf8" : "latin1"));
  }

  private toUpstream(b: Uint8Array): boolean {
    if (this.replayable) {
      this.replayBytes += b.length;
      if (this.replayBytes > REPLAY_LIMIT) {
        this.replayable = false;
        this.replayBody = null;
      } else (this.replayBody ??= []).push(b);
    }
    return this.conn!.write(b);
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
    if (this.upstreamReady && this.conn !== null) {
      if (!this.toUpstream(chunk)) this.ds.pause();
      return;
    }
    (this.pending ??= []).push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > PENDING_LIMIT) this.ds.pause();
  }

  /** The request's body framing broke (bad chunk): 400, or a reset when the response already started. */
  badBody(): void {
    this.dropUpstream();
    this.closeDownstream = true;
    this.reqComplete = true;
    if (!this.respStarted) this.localReply(400, "DPE", "http1.codec_error", "", "");
    else this.ds.abort();
    this.finish();
  }

  /** The head could not be parsed: answer `status` (400/431/505) and close, as Envoy's codec does. */
  badRequest(status: number): void {
    this.closeDownstream = true;
    this.reqComplete = true;
    this.localReply(status, "DPE", "http1.codec_error", "", "");
  }

  /** The downstream delivered the whole request. */
  requestComplete(): void {
    this.reqComplete = true;
    if (this.timeoutMs > 0 && this.resp === null && !this.respDone && !this.finished && this.timer === null)
      this.timer = setTimeout(onTimeout, this.timeoutMs, this);
    this.maybeFinish();
  }

  onTimeout(): void {
    if (this.finished || this.resp !== null || this.respDone) return;
    this.dropUpstream();
    stats.upstreamError(this.upstreamCluster, "UT");
    this.localReply(504, "UT", "response_timeout", "upstream request timeout", "");
  }

  /** Answer the request from the gateway (404, 503, redirect, direct response…). */
  localReply(status: number, flags: string, details: string, body: string, extra: string): void {
    if (this.respStarted) return;
    this.status = status;
    this.flags = flags;
    this.details = details;
    this.respStarted = true;
    this.respDone = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.reqBody.done) {
      this.discard = true;
      this.pending = null;
      // a client waiting for 100-continue, or a big body, is not worth reading: close instead
      const rb = this.reqBody;
      if (this.head.expectContinue || (rb.kind === BODY_LENGTH && rb.remaining > DISCARD_LIMIT)) this.closeDownstream = true;
    }
    // the ids Envoy sets before routing, for the log line (not for a head that did not parse)
    if (accessLog.enabled && this.requestId === "" && flags !== "DPE") localIds(this.head, this.ds.remoteIp, this);
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
    this.finished = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.dropUpstream();
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
    this.sendHead();
  }
  onUpstreamData(conn: UpstreamConn, data: Buffer): void {
    onResponseData(this, conn, data);
  }
  onUpstreamDrain(): void {
    if (!this.respDone || this.tunnel) this.ds.resume();
  }
  onUpstreamClose(conn: UpstreamConn, connectFailed: boolean, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    this.upstreamReady = false;
    onUpstreamGone(this, connectFailed, reason);
  }

  /** The downstream connection closed under us. */
  onDownstreamClose(): void {
    if (this.finished) return;
    this.dropUpstream();
    if (!this.respDone) {
      if (this.flags === "-") this.flags = "DC";
      if (this.details === "" || this.details === "via_upstream") this.details = "downstream_remote_disconnect";
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
    this.conn = this.pool!.connect(this);
  }
}

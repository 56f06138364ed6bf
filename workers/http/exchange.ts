// One request/response exchange on a downstream connection: route it, answer
// it locally or forward it through a pooled upstream connection, stream both
// bodies with backpressure, then log and count it. The response side lives in
// response.ts, the route's traffic policies (fault delay, retries, timeouts,
// mirrors) in exchange-policies.ts; this file holds the lifecycle and the
// request side.
import type { IncomingHttpHeaders } from "node:http2";
import { Decision, EMPTY_OPS } from "../../src/dispatch/decision.ts";
import { dispatch } from "../../src/dispatch/dispatch.ts";
import { authenticatedRequest } from "../../src/dispatch/authenticated.ts";
import { codecReply, REPLIES, type ReplyRow, type UpstreamFailure } from "../../src/dispatch/replies.ts";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import type { UpstreamOutcome } from "../../src/traffic/retry.ts";
import { accessLog } from "../access-log.ts";
import { httpDate, options } from "../context.ts";
import { stats } from "../stats.ts";
import { BODY_BAD, BODY_CHUNKED, BODY_LENGTH, BodyReader } from "./body.ts";
import { trailerObject, type ChunkSink } from "./chunked.ts";
import type { ExchangeConn, TunnelUser } from "./conn.ts";
import { ExchangePolicies, withFlag } from "./exchange-policies.ts";
import { CONNECTING, DONE, FINISHED, NEW, STREAMING, TUNNEL, WAITING } from "./exchange-state.ts";
import { isLastRequestId, localIds, localResponseHead, overridden } from "./heads-out.ts";
import { keptFromLocalHead, keptHeaders } from "./response-log.ts";
import type { TlsFactsSource } from "../tls/log-facts.ts";
import { tracer, type TraceState } from "../tracing.ts";
import { forwardIds, upstreamHeadAgain, upstreamHeadInto } from "./request-head-bytes.ts";
import { localOps } from "./route-actions.ts";
import { BodyEnd, type HeadMaker, UpstreamRequest } from "./upstream-request.ts";
import { RequestHead } from "./parse-request.ts";
import { ResponseHead } from "./parse-response.ts";
import { onResponseData, onResponseEnd, onResponseFields, onUpstreamGone, type H1Held, type ResponseExchange } from "./response.ts";
import type { UpstreamConn, UpstreamUser } from "./upstream-conn.ts";
import { securityGate } from "./security-gate.ts";
import { forwardedProto } from "../../src/security/client-ip.ts";
import type { EndpointPool } from "./upstream-pool.ts";
import type { ClusterRuntime } from "./clusters.ts";
import { pickHash } from "./upstream-pick.ts";
import { grpcReplyHeaders, isGrpcContentType } from "../../src/upstream/grpc-reply.ts";
import { grpcWebMode, wantsText, WEB_NONE, webLocalReply } from "./grpc-web.ts";
import { upstreamSni } from "./upstream-tls.ts";
import type { OutlierResult } from "../../src/upstream/outlier.ts";
import { grpcRouteTimeoutMs, grpcTimeoutText, timerMs } from "../../src/upstream/grpc-timeout.ts";
import { EXPECTED_TIMEOUT, expectedTimeoutMs } from "../../src/upstream/timeout-headers.ts";
import { lastChunkWithTrailers } from "./h2-upstream-heads.ts";
import { upstreamH2Fields } from "./h2-request-fields.ts";
import { readTraceFields, traceField } from "./trace-fields.ts";
import type { H2Framing } from "./h2-response.ts";

const CONNECTED: OutlierResult = { kind: "connected" };
/** One `{kind: "status"}` result per status code, shared (outlier detection only reads it): no object per response. */
const STATUS_RESULTS: OutlierResult[] = [];
export function statusResult(status: number): OutlierResult {
  return (STATUS_RESULTS[status] ??= { kind: "status", status });
}

/** Request body bytes read and dropped after a local reply before the connection is closed instead. */
const DISCARD_LIMIT = 1 << 20;
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
export const NO_OPS: HeaderOperations = EMPTY_OPS;
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

/**
 * Finished exchanges (HTTP/1.1 requests and HTTP/2 streams) made again for later requests of this worker
 * (Exchange.make), instead of a new Exchange (~60 fields, 3 parts) each: one
 * is `retired` when it finishes, and becomes `spare` only at the start of a
 * client socket's data callback (recycleRetired), when no frame that finished
 * it is left on the stack. Only exchanges nothing else can still reach are
 * retired (Exchange.reusable): no timer, upstream connection, waiter, mirror,
 * security check or tunnel.
 */
const retired: Exchange[] = [];
const spare: Exchange[] = [];
// 256, not 64: h2load -c8 -m16 keeps 128 HTTP/2 streams in flight and past 64 the rest made new
// exchanges; per h2c request 12.4 µs (user 6.8) at 256 against 13.3 (7.4) at 64, medians of 6
// alternating runs each (notes/h2fast.md). Spares hold their last head's buffer until made again.
const SPARE_MAX = 256;
let renewed = 0;

/** The start of a client socket callback (downstream.ts): exchanges finished before it may be made again. */
export function recycleRetired(): void {
  while (retired.length > 0) {
    const ex = retired.pop()!;
    if (spare.length < SPARE_MAX) spare.push(ex);
  }
}

/** Exchanges finished and waiting for recycleRetired (tests). */
export function exchangesRetired(): number {
  return retired.length;
}

/** Exchanges made again so far (tests). */
export function exchangesRenewed(): number {
  return renewed;
}

/** buf[start, end) as one chunk: size line, data, CRLF. */
/**
 * The data spans `spans` (start, end pairs) of `buf` as one chunk, or (`raw`) as one buffer: one
 * read's worth of a chunked body goes on in one piece, however many chunks the client cut it into.
 */
export function joinSpans(buf: Buffer, spans: number[], raw: boolean): Buffer {
  if (spans.length === 2) return raw ? buf.subarray(spans[0]!, spans[1]!) : frameChunk(buf, spans[0]!, spans[1]!);
  let total = 0;
  for (let k = 0; k < spans.length; k += 2) total += spans[k + 1]! - spans[k]!;
  const size = raw ? "" : total.toString(16);
  const out = Buffer.allocUnsafe(raw ? total : size.length + 4 + total);
  let pos = 0;
  if (!raw) {
    pos = out.write(size, 0, "latin1");
    out[pos++] = 13;
    out[pos++] = 10;
  }
  for (let k = 0; k < spans.length; k += 2) pos += buf.copy(out, pos, spans[k]!, spans[k + 1]!);
  if (!raw) {
    out[pos] = 13;
    out[pos + 1] = 10;
  }
  return out;
}

/** The data spans (start, end pairs) of the read feedChunked is scanning (one scan at a time on a thread). */
const SPANS: number[] = [];
const pushSpan: ChunkSink = (_b, s, e) => void SPANS.push(s, e);

export function frameChunk(buf: Buffer, start: number, end: number): Buffer {
  const size = (end - start).toString(16);
  const out = Buffer.allocUnsafe(size.length + 4 + end - start);
  out.write(size, 0, "latin1");
  out[size.length] = 13;
  out[size.length + 1] = 10;
  buf.copy(out, size.length + 2, start, end);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

export class Exchange extends ExchangePolicies implements UpstreamUser, TunnelUser, ResponseExchange, HeadMaker {
  // --- state ---
  readonly t0 = performance.now();
  /** The local reply given, or null (forwarded / not answered yet). */
  replyRow: ReplyRow | null = null;
  destService = "unknown";
  conn: UpstreamConn | null = null;
  /** The endpoint pool this request waits on for a connection (circuit breakers' pending), or null. */
  waitingOn: EndpointPool | null = null;
  /** SNI of the upstream connection (TLS clusters: the request's host unless the DestinationRule names one). */
  private upSni = "";
  /** The PROXY protocol header its upstream connection starts with (DestinationRule proxyProtocol), else null. */
  private upProxy: Buffer | null = null;
  readonly reqBody = new BodyReader();
  /** The downstream delivered the whole request (requestComplete was called). */
  reqComplete = false;
  /** Request body bytes are read and dropped (a local reply or early response was given). */
  discard = false;
  private discarded = 0;
  retried = false;
  /** The request's head, held body and body copy on their way upstream. */
  protected readonly up = new UpstreamRequest();
  tSent = 0;
  /** start() is running: a request sent from inside it takes t0 as its send time (one clock read less). */
  private starting = false;
  /** When the response head arrived; `endAt`: the end time finish() takes (the head's, for a response
   * complete with its head, while responseEnded runs), 0: read the clock. */
  private tHead = 0;
  private endAt = 0;
  respBuf: Buffer | null = null;
  /** HTTP/1.1 client of an HTTP/2 upstream: response bytes of this turn not written yet (response.ts). */
  h1Held: H1Held | null = null;
  resp: ResponseHead | null = null;
  readonly respBody = new BodyReader();
  /** Decode a chunked response (the client speaks HTTP/1.0). */
  decode = false;
  /** Chunk-encode a response that ends when the upstream closes (the client speaks HTTP/1.1). */
  encode = false;
  closeDownstream = false;
  responseOps: HeaderOperations = NO_OPS;
  /** The client address behind --trusted-proxies, or "" (the peer's); set by the security gate. */
  clientIp = "";
  /** The ResponseHead response heads are read into (`resp` once one is taken): made at the first, reset for each later one (kept by renew). */
  private ownResp: ResponseHead | null = null;
  /** The Decision this exchange dispatches into (`decision` while it runs): made at its first request, reset by dispatch for each later one (kept by renew). */
  private ownDecision: Decision | null = null;
  /** Its trace when tracing is on (workers/tracing.ts), else null. */
  trace: TraceState | null = null;

  constructor(
    readonly ds: ExchangeConn,
    head: RequestHead,
  ) {
    super(head);
    if (ds.h2Stream) this.protocol = "HTTP/2";
  }

  /**
   * A head to parse the next request into: the next spare exchange's own,
   * reset (Exchange.make then takes that exchange), else a new one.
   */
  static head(): RequestHead {
    const ex = spare[spare.length - 1];
    if (ex === undefined) return new RequestHead();
    ex.head.reset();
    return ex.head;
  }

  /** An exchange for `head` on `ds`: a spare one made again when there is one, else a new one. */
  static make(ds: ExchangeConn, head: RequestHead): Exchange {
    const ex = spare.pop();
    if (ex === undefined) return new Exchange(ds, head);
    ex.renew(ds, head);
    renewed++;
    return ex;
  }

  /** Every field as the constructor leaves it (exchange-reuse.test.ts compares each with a new exchange's). */
  private renew(ds: ExchangeConn, head: RequestHead): void {
    this.renewRecord(head);
    this.renewPolicies();
    (this as { ds: ExchangeConn }).ds = ds;
    (this as { t0: number }).t0 = performance.now();
    this.replyRow = null;
    this.destService = "unknown";
    this.conn = null;
    this.waitingOn = null;
    this.upSni = "";
    this.upProxy = null;
    this.reqBody.reset();
    this.reqComplete = false;
    this.discard = false;
    this.discarded = 0;
    this.retried = false;
    this.up.reset();
    this.tSent = 0;
    this.starting = false;
    this.tHead = 0;
    this.endAt = 0;
    this.respBuf = null;
    this.resp = null;
    this.respBody.reset();
    this.decode = false;
    this.encode = false;
    this.closeDownstream = false;
    this.responseOps = NO_OPS;
    this.clientIp = "";
    this.h1Held = null;
    this.trace = null;
    if (ds.h2Stream) this.protocol = "HTTP/2";
  }

  /**
   * Finished, and nothing but the frames on the stack can still reach it: a
   * plain exchange answered by its upstream in one try, its
   * connection released, no timer, mirror, security check (its callbacks
   * may come late) or tunnel; the client connection stays open.
   */
  private get reusable(): boolean {
    const gen = this.gen;
    const t = this.tries;
    return (
      this.state === FINISHED &&
      this.replyRow === null &&
      !this.closeDownstream &&
      !this.retried &&
      this.conn === null &&
      this.waitingOn === null &&
      this.timer === null &&
      this.mirrors === null &&
      (t === null || t.count === 1) &&
      (this.pool === null || this.pool.h2 === null) &&
      gen !== null &&
      gen.snapshot.security === undefined
    );
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

  /** ResponseExchange: this exchange's ResponseHead, as new (an interim or retried head read into it before is dropped by then). */
  newResponseHead(): ResponseHead {
    const r = this.ownResp;
    return r === null ? (this.ownResp = new ResponseHead()) : r.reset();
  }

  /** The upstream's response head (final, or 101) arrived. */
  responseHead(r: ResponseHead): void {
    this.respBuf = null;
    this.resp = r;
    this.pool?.outcome(statusResult(r.status));
    this.tries?.clearPerTry();
    const now = performance.now();
    this.tHead = now;
    this.upstreamServiceTime = Math.round(now - this.tSent);
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
  /** The whole response was passed on; `conn` goes back to its pool (closed unless `reusable`). `atHead`: in the same run as its head. */
  responseEnded(conn: UpstreamConn | null, reusable: boolean, atHead = false): void {
    this.to(DONE);
    this.clearRouteTimer();
    if (conn !== null && this.conn === conn) {
      this.conn = null;
      conn.release(reusable);
    }
    this.endAt = atHead ? this.tHead : 0;
    this.maybeFinish();
    this.endAt = 0;
  }
  upstreamAnswered(): void {
    this.up.answered();
  }
  endsByClose(decode: boolean): void {
    this.decode = decode;
    this.closeDownstream = true;
  }
  encodeUntilClose(): void {
    this.encode = true;
  }
  /** The upstream failed before a response head: another try when the retry policy says so, else a local reply (`row`); `refused`: an HTTP/2 stream the upstream refused. */
  failBeforeResponse(row: ReplyRow, transportFailure = "", refused = false): void {
    if (transportFailure !== "") this.transportFailure = transportFailure;
    const outcome: UpstreamOutcome =
      row.code === "connect_failure" || row.code === "connect_timeout" ? { kind: "connect_failure" } : { kind: "reset", sent: this.state === WAITING, refused };
    if (this.tryAgain(outcome, row)) return;
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
    this.flags = withFlag(this.flags, row.flag);
    this.details = row.details;
    this.dropUpstream();
    this.closeDownstream = true;
    this.to(DONE);
    // a reset, as Envoy's: the connection is closed, an HTTP/2 stream gets RST_STREAM (never a
    // clean end on a truncated body); the line is logged by whichever comes first
    this.ds.abort();
    this.maybeFinish();
  }

  get bytesReceived(): number {
    return this.reqBody.bytes;
  }
  get mtls(): boolean {
    return this.ds.tls !== null && this.ds.tls.verified;
  }
  get downstreamTls(): TlsFactsSource | null {
    return this.ds.tls;
  }
  protected chunkedTrailerBytes(): number[] | null {
    return this.respBody.chunked?.trailerBytes ?? null;
  }
  get downstreamLocal(): string {
    // behind a load balancer (PROXY protocol) the address its header says the client reached, as Envoy restores it
    return this.ds.destinationAddress;
  }
  get downstreamRemote(): string {
    // Envoy logs the address found through x-forwarded-for (an address without a port)
    if (this.clientIp !== "") return (this.clientIp.includes(":") ? `[${this.clientIp}]` : this.clientIp) + ":0";
    return this.ds.remoteAddress;
  }
  /** Does the downstream connection end after this exchange? */
  get closeAfter(): boolean {
    return this.closeDownstream || this.head.close || this.ds.port.draining || this.ds.drainStart !== 0;
  }
  /**
   * The response head's Connection value, decided as the head is written (its one caller per
   * response: local reply or the upstream's head). A response that starts before the request
   * is whole ends an HTTP/1.1 connection, as Envoy's connection manager does ("we don't want to
   * wait around for the request to finish"): a client that stops its upload on an early answer
   * (or waits for a 100-continue it will not get) must not have its next request read as the
   * rest of the body. Unless the rest of a content-length body is already read (a small POST in
   * one packet answered 404): that request completes in this same turn.
   */
  responseConnection(): string {
    // an upgrade answered with anything but 101 (a 101 never comes here): the bytes behind its head
    // were meant for the tunnel, never read as requests; the connection ends after this answer, as
    // Envoy's (the upgrade's payload could hide a request a proxy in front never saw as one)
    if (this.head.upgrade !== "") this.closeDownstream = true;
    if (!this.reqBody.done && !this.closeDownstream && !this.ds.h2Stream) {
      const rb = this.reqBody;
      if (rb.kind !== BODY_LENGTH || rb.remaining > this.ds.unread) this.closeDownstream = true;
    }
    return this.closeAfter ? "close" : this.head.minor === 0 ? "keep-alive" : "";
  }

  /** Decide the parsed head in the port's current generation: answer locally or start forwarding. */
  start(): void {
    this.starting = true;
    try {
      this.decide();
    } finally {
      this.starting = false;
    }
  }

  private decide(): void {
    const h = this.head;
    this.reqBody.init(h.contentLength, h.chunked, false);
    if (this.reqBody.chunked !== null) this.reqBody.chunked.trailerBytes = []; // request trailers: kept for an HTTP/2 upstream
    const ds = this.ds;
    const port = ds.port;
    const gen = port.gen;
    this.gen = gen;
    h.port = port.listener.port;
    if (ds.tls !== null) {
      h.scheme = "https";
      this.sni = ds.tls.sni;
    }
    // behind trusted proxies the client's x-forwarded-proto is the scheme (Envoy keeps it when
    // xff_num_trusted_hops > 0): routing, httpsRedirect and the upstream's x-forwarded-proto see it
    if ((gen.snapshot.security?.trustedProxies ?? 0) > 0) h.scheme = forwardedProto(h.header("x-forwarded-proto"), h.scheme);
    const d = dispatch(gen.snapshot, ds, h, Math.random, Math.random, (this.ownDecision ??= new Decision()));
    this.decision = d;
    if (tracer.enabled) this.startTrace();
    const route = d.route;
    if (route !== null) this.routeName = route.name;
    this.responseOps = d.responseHeaders;
    if (h.upgradeRefused && route !== null) {
      // Envoy: a routed request asking an upgrade no upgrade_config names is refused before any
      // filter (403 upgrade_failed), and the connection is closed after it
      this.closeDownstream = true;
      return this.reply(REPLIES.upgrade_failed);
    }
    // RequestAuthentication / AuthorizationPolicy (security-gate.ts): may hold the request
    // (token verification, ext_authz) and then act, or answer 401/403 instead
    const sec = gen.snapshot.security;
    if (sec !== undefined && securityGate(this, sec, d)) return;
    this.act(d);
  }

  /**
   * Tracing is on: the ids Envoy sets before routing (x-request-id made when the client sent
   * none), the sampling decision marked in the id, and the span (workers/tracing.ts).
   */
  private startTrace(): void {
    if (this.requestId === "") localIds(this.head, this.ds.remoteIp, this);
    // the trace fields classified at parse (fields.ts), read in one pass
    readTraceFields(this.head);
    this.trace = tracer.start(this, isLastRequestId(this.requestId), this.ds.remoteIp, this.head.scheme, traceField);
  }

  /**
   * The trace headers (x-envoy-decorator-operation, the span's context) go upstream replacing the
   * client's, and the route's `set` operations of the same names: as lines the head builder writes
   * (t.lines, request-head-bytes.ts); an HTTP/2 stream's fields take them as leading `set`
   * operations (forwardFields).
   */
  private traceHeaders(d: Decision, t: TraceState): void {
    t.operation = tracer.operationOf(d.route, this.head.port);
    tracer.inject(t);
    if (d.requestHeaders.set.length !== 0 && t.lines !== "") d.requestHeaders = withoutTraceSets(d.requestHeaders, tracer.headers(t));
  }

  /** Route again after RequestAuthentication (security-gate.ts): its header changes and claims applied. */
  redecide(set: [string, string][], remove: string[], claims: Record<string, unknown> | null): Decision {
    const d = dispatch(this.gen!.snapshot, this.ds, authenticatedRequest(this.head, set, remove, claims), Math.random, Math.random, this.ownDecision);
    this.decision = d;
    this.routeName = d.route === null ? "" : d.route.name;
    this.responseOps = d.responseHeaders;
    return d;
  }

  /**
   * Carry out the decision once security let it through: the route's fault
   * delay first (Istio's filter order: authn/authz, fault, CORS, router), then
   * proceed().
   */
  act(d: Decision): void {
    this.actOrDelay(d);
  }

  /** Forward, or answer locally. */
  protected proceed(d: Decision): void {
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
    let extra = d.location === "" ? "" : "location: " + d.location + "\r\n";
    for (const [k, v] of d.extraHeaders) extra += k + ": " + v + "\r\n";
    this.reply(d.reply!, d.status, d.body, extra, d.reply!.details, d.bodyBytes);
  }

  private forward(d: Decision): void {
    const h = this.head;
    const dest = d.destination!;
    const cluster = d.cluster!;
    this.upstreamCluster = dest.cluster;
    this.destService = cluster.serviceHost;
    // the same generation as the decision: the runtime exists and has a pool per endpoint;
    // useClientProtocol: an HTTP/2 client's request goes through the cluster's HTTP/2 twin
    const rt = this.gen!.clusters.get(cluster.http2Clients !== undefined && this.ds.h2Stream ? cluster.http2Clients : dest.cluster);
    let pool: EndpointPool | null = null;
    if (rt !== undefined) {
      if (cluster.upstream?.hash != null) this.hashFor(cluster);
      else this.hash = null;
      pool = rt.pick(this.hash);
    }
    if (pool === null) {
      stats.upstreamError(dest.cluster, REPLIES.no_healthy_upstream.flag);
      return this.reply(REPLIES.no_healthy_upstream);
    }
    this.beginForward(d, pool);
    const ct = h.header("content-type");
    if (ct !== undefined && (isGrpcContentType(ct) || grpcWebMode(ct) !== WEB_NONE)) this.grpcTimeout(d);
    else if (this.timeoutMs > 0 || (d.route!.retry?.perTryTimeoutMs ?? 0) > 0) this.timeoutHeaders(d, this.timeoutMs, false);
    if (this.trace !== null) this.traceHeaders(d, this.trace);
    const xfcc = this.ds.tls?.xfcc ?? "";
    // the client's x-envoy-attempt-count is dropped (fields.ts): the gateway sets its own
    const target = d.path ?? this.logPath;
    // an HTTP/2 cluster's streams take the head as fields (mirrors want the HTTP/1.1 bytes)
    const asFields = pool.h2 !== null && this.mirrors === null && this.forwardFields(d, target, xfcc, pool.tls === null ? "http" : "https");
    if (!asFields) {
      // the ids now (the log, a local reply); the head is made when it is sent (a traced request has them already)
      if (this.trace === null) forwardIds(h, this.ds.remoteIp, this);
      this.up.setMaker(this);
    }
    if (h.expectContinue && !this.reqBody.done) this.ds.write(CONTINUE);
    this.connectTo(pool, rt!); // a pool was picked: the runtime is there
    // the request completed while a fault delay held it back
    if (this.reqComplete) this.requestDone();
  }

  /**
   * A gRPC (or gRPC-Web) request: its grpc-timeout is the route timeout, capped by the route's own, as
   * Istio's max_grpc_timeout makes Envoy's router do (src/upstream/grpc-timeout.ts); the route timer
   * runs it from the request's end. The upstream is sent the time it has as its grpc-timeout.
   */
  private grpcTimeout(d: Decision): void {
    const ms = grpcRouteTimeoutMs(this.head.header("grpc-timeout"), this.timeoutMs);
    this.timeoutMs = timerMs(ms);
    this.timeoutHeaders(d, ms, true);
  }

  /**
   * A timeout applies (`routeMs` the route timeout, a gRPC request's from its grpc-timeout; or the
   * retry policy's per-try timeout): the upstream is told the time it has, as Envoy's router does
   * (setTimeoutHeaders, src/upstream/timeout-headers.ts), as x-envoy-expected-rq-timeout-ms and, for
   * gRPC, as its grpc-timeout; a retry is told what is left (UpstreamRequest.timeoutOf). A header
   * the route's operations set or remove is theirs (Envoy applies them after the router's).
   */
  private timeoutHeaders(d: Decision, routeMs: number, grpc: boolean): void {
    const perTry = d.route!.retry?.perTryTimeoutMs ?? 0;
    const ms = expectedTimeoutMs(routeMs, perTry);
    if (ms <= 0) return;
    const up = this.up;
    up.routeMs = routeMs;
    up.perTryMs = perTry;
    const ops = d.requestHeaders;
    if (!overridden(ops, EXPECTED_TIMEOUT)) up.expectedMs = ms;
    if (!grpc || overridden(ops, "grpc-timeout")) return;
    d.requestHeaders = { set: [["grpc-timeout", grpcTimeoutText(ms)], ...ops.set], add: ops.add, remove: ops.remove };
    up.grpcTimeout = true;
  }

  // (hashFor and forwardFields make closures: kept out of forward(), whose every call would
  // otherwise allocate the scopes they capture, 2 per request, measured with heapStats)

  /** The request's consistent hash for `cluster` (this.hash), and the cookie Envoy sets when it made one up. */
  private hashFor(cluster: NonNullable<Decision["cluster"]>): void {
    const ph = pickHash(cluster, this.head, this.ds.remoteIp, () => this.ds.remoteAddress, () => this.ds.localAddress);
    if (ph.setCookie !== "") {
      // Envoy sets the cookie it made up for the request (consistentHash httpCookie with a ttl)
      const ops = this.responseOps;
      this.responseOps = { set: ops.set, add: [...ops.add, ["set-cookie", ph.setCookie]], remove: ops.remove };
    }
    this.hash = ph.hash;
  }

  /**
   * An HTTP/2 cluster's streams take the head as fields (with the ids upstreamH2Fields sets); the
   * HTTP/1.1 bytes are made only if wanted. false: no fields for this request (CONNECT).
   */
  private forwardFields(d: Decision, target: string, xfcc: string, scheme: string): boolean {
    const h = this.head;
    const t = this.trace;
    const ops = t === null || t.lines === "" ? d.requestHeaders : traceOps(d.requestHeaders, tracer.headers(t));
    const f = upstreamH2Fields(h, target, d.authority, this.ds.remoteIp, d.originalPath, ops, this, xfcc, scheme, t !== null);
    if (f === null) return false;
    // a chunked body from an HTTP/1.1 client goes to such a stream as data, not framed as chunks and scanned again
    if (h.chunked && this.reqBody.bytes === 0) this.up.rawBody = true;
    this.up.setFields(f, () => upstreamHeadAgain(h, target, d.authority, "", d.originalPath, d.requestHeaders, this, xfcc, this.up.expectedMs));
    return true;
  }

  /** A connection to `pool` as the cluster's circuit breakers admit it: open now, opening, queued, or 503 UO. */
  protected connectTo(pool: EndpointPool, rt: ClusterRuntime): void {
    this.upSni = pool.tls === null ? "" : upstreamSni(pool.tls, this.decision!.authority);
    const pv = rt.cluster.upstream?.proxyProtocol;
    // the client's address and the one it reached: only connections made with the same header are reused for it
    this.upProxy = pv === undefined ? null : this.ds.proxyHeader(pv);
    const c = rt.acquire(pool, this, this.upSni, this.upProxy);
    if (c === "overflow") {
      stats.upstreamError(this.upstreamCluster, REPLIES.upstream_overflow.flag);
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

  // --- HeadMaker (upstream-request.ts): the HTTP/1.1 head from the request's bytes and the decision, with the ids forwardIds set ---
  upstreamHeadInto(into: Buffer): number {
    const d = this.decision!;
    // the client's address is in `xff` already (forwardIds): not read from the socket again
    return upstreamHeadInto(into, this.head, d.path ?? this.logPath, d.authority, "", d.originalPath, d.requestHeaders, this, this.ds.tls?.xfcc ?? "", this.up.expectedMs);
  }
  upstreamHead(): Buffer {
    const d = this.decision!;
    return upstreamHeadAgain(this.head, d.path ?? this.logPath, d.authority, "", d.originalPath, d.requestHeaders, this, this.ds.tls?.xfcc ?? "", this.up.expectedMs);
  }

  /** Write the request head (and what body arrived) to the now-open connection. */
  private sendHead(): void {
    this.stopWaiting();
    const conn = this.conn!;
    this.tSent = this.starting ? this.t0 : performance.now();
    if (accessLog.enabled) this.upstreamLocal = conn.localAddress;
    const t = this.tries!;
    this.to(WAITING);
    // a retry (the policy's, or a dead reused connection): the body bytes earlier tries sent go again first
    const ok = this.up.sendTo(conn, this.retried || t.count > 1, t.count);
    if (this.reqComplete) t.armPerTry();
    if (ok) this.ds.resume();
    else this.ds.pause();
  }

  /**
   * Request body bytes buf[start, end) from the downstream. Returns where the
   * body ended inside the range, BODY_MORE, or BODY_BAD. Never finishes the
   * exchange: the downstream calls requestComplete() after keeping leftovers.
   */
  feedBody(buf: Buffer, start: number, end: number): number {
    if (this.reqBody.kind === BODY_CHUNKED) return this.feedChunked(buf, start, end);
    const r = this.reqBody.consume(buf, start, end, null);
    if (r === BODY_BAD) return r;
    const stop = r < 0 ? end : r;
    if (stop > start) this.bodyChunk(start === 0 && stop === buf.length ? buf : buf.subarray(start, stop));
    return r;
  }

  /**
   * A chunked request body is decoded and framed again, as Envoy's codec does:
   * each data span becomes one clean chunk, chunk extensions and trailers are
   * dropped (an HTTP/1.1 upstream gets none), the body ends with `0\r\n\r\n`;
   * an HTTP/2 upstream gets the trailers (gRPC clients send some), as Envoy's
   * HTTP/2 codec forwards them.
   */
  private feedChunked(buf: Buffer, start: number, end: number): number {
    // an HTTP/2 stream given the head as fields takes the data spans and the trailers as they are (forward(): up.rawBody)
    const raw = this.up.rawBody;
    // the spans of this read go on as one chunk (one write), as Envoy's codec passes on what one read
    // decoded: a body cut into one-byte chunks cost a buffer and a socket write per chunk (a million
    // of them, 6 MB on the wire, took 3.7 s of a worker's CPU; nginx 20 ms)
    const spans = SPANS;
    spans.length = 0;
    const r = this.reqBody.consume(buf, start, end, pushSpan);
    if (r === BODY_BAD) return r;
    if (spans.length > 0) this.bodyChunk(joinSpans(buf, spans, raw));
    if (r >= 0) this.bodyChunk(raw ? new BodyEnd(trailerObject(this.reqBody.chunked!.trailerBytes)) : this.pool?.h2 != null ? lastChunkWithTrailers(this.reqBody.chunked!.trailerBytes) : LAST_CHUNK);
    return r;
  }

  /** The body will come through feedData / feedEnd (before start()). */
  bodyAsData(): void {
    this.up.rawBody = true;
  }

  /**
   * Body data of a request without a length from an HTTP/2 client stream
   * (its head says chunked): no chunk framing is made and read back; the
   * upstream request frames it if its connection wants chunks
   * (UpstreamRequest.rawBody). The body's bytes are its data.
   */
  feedData(b: Buffer): void {
    this.reqBody.bytes += b.length;
    if (b.length > 0) this.bodyChunk(b);
  }

  /** The end of such a body, with the client's trailers; then requestComplete(). */
  feedEnd(trailers: IncomingHttpHeaders | null): void {
    this.reqBody.done = true;
    this.bodyChunk(new BodyEnd(trailers));
  }

  private bodyChunk(chunk: Uint8Array): void {
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

  /** The request's body framing broke (bad chunk): 400 (431 for over 100 trailer fields, as Envoy's codec), or a reset when the response already started. */
  badBody(): void {
    this.dropUpstream();
    this.closeDownstream = true;
    this.reqComplete = true;
    if (!this.respStarted) this.reply(this.reqBody.chunked?.tooManyTrailers === true ? REPLIES.header_too_large : REPLIES.bad_body);
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
    // NEW: held by a fault delay (forward() takes over); no pool: answered locally
    if (this.state !== NEW && this.pool !== null && !this.finished) this.requestDone();
    this.maybeFinish();
  }

  /**
   * Answer the request from the gateway with a row of the reply table (404,
   * 503, redirect, direct response…); `status`/`body`/`extra` header lines
   * override the row's for redirects and direct responses, `details` for the
   * security replies (the JWT status, the matched policy).
   */
  reply(row: ReplyRow, status = row.status, body = row.body, extra = "", details = row.details, bytes: Uint8Array | null = null): void {
    if (this.respStarted) return;
    const ctype = this.head.header("content-type");
    if (ctype !== undefined) {
      if (grpcWebMode(ctype) !== WEB_NONE) {
        // Envoy answers a gRPC-Web request as a plain one (its connection manager took it for no gRPC), and
        // the grpc_web filter reshapes that: the status stays, the content-type is gRPC-Web's, a body
        // becomes grpc-status (from the status) and grpc-message; an empty one leaves them out
        extra += webLocalReply(status, bytes === null ? body : bytes, wantsText(this.head.header("accept")));
        body = "";
        bytes = null;
      } else if (status >= 400 && isGrpcContentType(ctype)) {
        // a gRPC client reads grpc-status: HTTP 200 Trailers-Only, as Envoy's local replies to gRPC requests
        extra += grpcReplyHeaders(status, bytes === null ? body : "");
        status = 200;
        body = "";
        bytes = null;
      }
    }
    this.to(DONE);
    this.replyRow = row;
    this.status = status;
    this.flags = withFlag(this.flags, row.flag);
    this.details = details;
    this.clearTimers();
    if (!this.reqBody.done) {
      this.discard = true;
      this.up.dropPending();
    }
    // the ids Envoy sets before routing, for the log line (not for a head that did not parse)
    if (accessLog.enabled && this.requestId === "" && row.flag !== "DPE") localIds(this.head, this.ds.remoteIp, this);
    const bodyBytes = bytes !== null ? bytes.length : body === "" ? 0 : Buffer.byteLength(body);
    const ops = this.responseOps;
    const opsExtra = ops === NO_OPS ? "" : localOps(ops);
    const head = localResponseHead(status, bodyBytes, options.serverHeader, httpDate, extra + opsExtra, this.responseConnection());
    const kept = accessLog.respNames;
    if (kept !== null) {
      this.logKept = keptHeaders(kept, keptFromLocalHead(head, kept));
    }
    this.bytesSent = this.head.method === "HEAD" ? 0 : bodyBytes;
    if (this.bytesSent > 0 && bytes !== null) {
      // body.bytes: binary, sent as it is
      this.ds.write(Buffer.concat([Buffer.from(head, "utf8"), bytes]));
    } else this.ds.write(Buffer.from(this.bytesSent === 0 ? head : head + body, "utf8")); // configured text beyond ASCII is UTF-8, with or without a body
    this.maybeFinish();
  }

  /** Finish when both sides are done (or the connection is to be closed anyway). */
  maybeFinish(): void {
    if (this.finished || !this.respDone) return;
    if (!this.reqComplete) {
      this.discard = true;
      // keep reading (and dropping) the request body, so the next request on the connection parses;
      // an HTTP/2 stream has no next request: end its response now (the stream then resets the
      // request side with NO_ERROR, as Envoy does), else the client waits for END_STREAM
      if (!this.closeDownstream && !this.ds.h2Stream) return;
    }
    this.finish();
  }

  finish(): void {
    if (this.finished) return;
    this.to(FINISHED);
    this.clearTimers();
    this.dropUpstream();
    this.stopWaiting();
    this.endRetry();
    if (this.pool !== null) this.pool.active--;
    const dur = (this.endAt > 0 ? this.endAt : performance.now()) - this.t0;
    this.durationMs = Math.round(dur);
    stats.request(this.status, this.flags, this.routeName === "" ? "-" : this.routeName, this.destService, dur, this.reqBody.bytes, this.bytesSent);
    if (accessLog.enabled) accessLog.log(this);
    const t = this.trace;
    if (t !== null) {
      // a local reply of a route (redirect, direct response, 503) is named for the route too
      if (t.operation === "") t.operation = tracer.operationOf(this.decision?.route ?? null, this.head.port);
      tracer.finish(this, t, this.pool !== null && this.pool.h2 !== null ? "HTTP/2" : "HTTP/1.1");
    }
    this.ds.exchangeDone(this, this.closeAfter);
    if (retired.length < SPARE_MAX && this.reusable) retired.push(this); // bounded even if no client socket callback comes to recycle them
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
  onUpstreamFields(conn: UpstreamConn, headers: IncomingHttpHeaders, framing: H2Framing, head: boolean, web: boolean): boolean {
    return onResponseFields(this, conn, headers, framing, head, web);
  }
  onUpstreamEnd(conn: UpstreamConn, trailers: IncomingHttpHeaders | null): void {
    if (conn === this.conn) onResponseEnd(this, conn, trailers);
  }
  onUpstreamDrain(): void {
    this.ds.touch(); // the upstream taking the request body is progress (stream idle)
    if (!this.respDone || this.tunnel) this.ds.resume();
  }
  onUpstreamClose(conn: UpstreamConn, failure: UpstreamFailure): void {
    if (conn !== this.conn) return;
    this.conn = null;
    onUpstreamGone(this, failure);
  }

  /**
   * The client closed with a request head begun but not complete: logged as
   * Envoy logs a stream reset before its headers (status 0, DC), so every
   * request that started logs exactly once.
   */
  headAbandoned(): void {
    const dc = REPLIES.downstream_disconnect;
    this.flags = dc.flag;
    this.details = dc.details;
    this.closeDownstream = true;
    this.reqComplete = true;
    this.finish();
  }

  /** The request head did not complete in time (Downstream.headTimeout): 408, the connection closed. */
  headTimedOut(): void {
    this.closeDownstream = true;
    this.reqComplete = true;
    this.reply(REPLIES.request_header_timeout);
  }

  /**
   * Nothing moved on this exchange for --stream-idle-timeout (Envoy's
   * onIdleTimeout): 408 while the request was still coming, 504 while waiting
   * for the upstream, a reset once the response started.
   */
  streamIdle(): void {
    if (this.finished || this.tunnel) return;
    if (!this.respStarted) {
      this.dropUpstream();
      if (!this.reqComplete) {
        this.closeDownstream = true;
        return this.reply(REPLIES.stream_idle_request);
      }
      stats.upstreamError(this.upstreamCluster, REPLIES.stream_idle_response.flag);
      return this.reply(REPLIES.stream_idle_response);
    }
    this.reset(REPLIES.stream_idle_after_response);
  }

  /** End the exchange with a reset (the client connection, or its HTTP/2 stream, is closed) and log `row`. */
  reset(row: ReplyRow): void {
    if (this.finished) return;
    this.replyRow = row;
    this.flags = withFlag(this.flags, row.flag);
    this.details = row.details;
    this.dropUpstream();
    this.closeDownstream = true;
    this.reqComplete = true;
    if (this.state !== DONE && this.state !== TUNNEL) this.to(DONE);
    this.ds.abort();
    this.finish();
  }

  /** The downstream connection closed under us. */
  onDownstreamClose(): void {
    if (this.finished) return;
    this.dropUpstream();
    if (!this.respDone) {
      const dc = REPLIES.downstream_disconnect;
      if (this.flags === "-" || this.flags === "DI") this.flags = withFlag(this.flags, dc.flag);
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
    this.conn = this.pool!.connect(this, this.upSni, this.upProxy);
  }
}

/** `ops` without the `set` operations of the trace headers `hs` (the trace's win); the same object when none (a function of its own: its closures would make a scope per call of the caller). */
function withoutTraceSets(ops: HeaderOperations, hs: [string, string][]): HeaderOperations {
  const set = ops.set.filter(([n]) => !hs.some((x) => x[0] === n.toLowerCase()));
  return set.length === ops.set.length ? ops : { set, add: ops.add, remove: ops.remove };
}

/** `ops` with a traced request's headers as the first `set` operations (an HTTP/2 stream's fields: upstreamH2Fields). */
function traceOps(ops: HeaderOperations, hs: [string, string][]): HeaderOperations {
  return { set: [...hs, ...ops.set], add: ops.add, remove: ops.remove };
}

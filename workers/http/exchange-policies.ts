// The route's traffic policies on one exchange (Exchange extends this class):
// the fault delay that holds the decision back, the route timeout over the
// whole response, the retry policy's tries (another try after a retriable
// failure or answer, the per-try timeout), and the mirrors the request is
// copied to. Decisions are src/traffic's; the timers and the moves are here.
import type { Decision } from "../../src/dispatch/decision.ts";
import { REPLIES, type ReplyRow } from "../../src/dispatch/replies.ts";
import type { MirrorPolicy } from "../../src/snapshot/types.ts";
import { mirrorsFor } from "../../src/traffic/mirror.ts";
import type { UpstreamOutcome } from "../../src/traffic/retry.ts";
import type { OutlierResult } from "../../src/upstream/outlier.ts";
import { reportError } from "../context.ts";
import { stats } from "../stats.ts";
import type { ClusterRuntime, Generation } from "./clusters.ts";
import type { ExchangeConn } from "./conn.ts";
import { CONNECTING, ExchangeStates, NEW, STREAMING, WAITING } from "./exchange-state.ts";
import { sendMirrors } from "./mirror.ts";
import type { ResponseHead } from "./parse-response.ts";
import { Tries, type TryOwner } from "./tries.ts";
import type { UpstreamRequest } from "./upstream-request.ts";
import type { EndpointPool } from "./upstream-pool.ts";

const TIMED_OUT: OutlierResult = { kind: "timeout" };

function onTimeout(ex: ExchangePolicies): void {
  ex.timer = null;
  try {
    ex.onTimeout();
  } catch (err) {
    reportError("route timeout", err);
    ex.ds.abort();
  }
}

function afterDelay(ex: ExchangePolicies): void {
  try {
    ex.afterDelay();
  } catch (err) {
    reportError("fault delay", err);
    ex.ds.abort();
  }
}

/** Envoy's response flags joined: `DI` and `FI` → `DI,FI`; `-` is none. */
export function withFlag(flags: string, f: string): string {
  if (flags === "-" || flags === f) return f;
  return f === "-" ? flags : flags + "," + f;
}

export abstract class ExchangePolicies extends ExchangeStates implements TryOwner {
  /** The generation the request was decided in (route table and clusters); set by start(). */
  gen: Generation | null = null;
  decision: Decision | null = null;
  /** The endpoint the current try goes to. */
  pool: EndpointPool | null = null;
  /** The request's consistent hash (DestinationRule consistentHash), or null: a retry picks with it again. */
  protected hash: bigint | null = null;
  /** A retry of this request is counted in its cluster's circuit breaker (max_retries). */
  private retryCounted = false;
  /** The route's retry policy at work: tries, endpoints tried, timers (set when forwarding starts: `ownTries`). */
  protected tries: Tries | null = null;
  /** This exchange's Tries: made at its first forward, reset for each later request of a made-again exchange (kept by renewPolicies). */
  private ownTries: Tries | null = null;
  /** The fault delay in progress (flag DI), then the decision it held back. */
  private delayTimer: ReturnType<typeof setTimeout> | null = null;
  private delayed: Decision | null = null;
  /** Mirrors this request is copied to once it is complete. */
  protected mirrors: MirrorPolicy[] | null = null;
  /** The route timeout (ms, 0: none) and its timer. */
  timeoutMs = 0;
  timer: ReturnType<typeof setTimeout> | null = null;

  /** Every field as a new exchange has it (Exchange.make); the state too. `ownTries` is kept (reset when forwarding begins). */
  protected renewPolicies(): void {
    this.state = NEW;
    this.gen = null;
    this.decision = null;
    this.pool = null;
    this.hash = null;
    this.retryCounted = false;
    this.tries = null;
    this.delayTimer = null;
    this.delayed = null;
    this.mirrors = null;
    this.timeoutMs = 0;
    this.timer = null;
  }

  // --- what the policies need of the exchange ---
  abstract readonly ds: ExchangeConn;
  abstract reqComplete: boolean;
  abstract discard: boolean;
  abstract respBuf: Buffer | null;
  abstract resp: ResponseHead | null;
  protected abstract readonly up: UpstreamRequest;
  /** Forward or answer locally as `d` says. */
  protected abstract proceed(d: Decision): void;
  /** Open (or reuse) a connection to `pool` (an endpoint of `rt`, the upstream cluster's runtime in this generation) and send the request. */
  protected abstract connectTo(pool: EndpointPool, rt: ClusterRuntime): void;
  abstract dropUpstream(): void;
  abstract reply(row: ReplyRow, status?: number, body?: string, extra?: string, details?: string, bytes?: Uint8Array | null): void;
  abstract failAfterResponse(row: ReplyRow): void;

  /** Act on `d` now, or after the route's fault delay (flag DI; body bytes are held meanwhile). */
  protected actOrDelay(d: Decision): void {
    if (d.delayMs <= 0) return this.proceed(d);
    this.flags = "DI";
    this.delayed = d;
    this.delayTimer = setTimeout(afterDelay, d.delayMs, this);
  }

  /** The fault delay is over: go on with the decision it held back. */
  afterDelay(): void {
    this.delayTimer = null;
    const d = this.delayed;
    this.delayed = null;
    if (d !== null && !this.finished) this.proceed(d);
  }

  /** Forwarding starts on `pool` under the route's retry policy, timeout and mirrors. */
  protected beginForward(d: Decision, pool: EndpointPool): void {
    const route = d.route!;
    const policy = route.retry ?? null;
    let t = this.ownTries;
    if (t === null) t = this.ownTries = new Tries(policy, this);
    else t.reset(policy);
    this.tries = t;
    this.usePool(pool);
    this.timeoutMs = route.timeoutMs;
    const mirrors = mirrorsFor(route.mirrors, Math.random);
    if (mirrors.length > 0) this.mirrors = mirrors;
  }

  /** `pool` serves the current try: counted active there, logged as the upstream host. */
  private usePool(pool: EndpointPool): void {
    if (this.pool !== null) this.pool.active--;
    this.pool = pool;
    pool.active++;
    this.upstreamHost = pool.hostPort;
    this.tries!.went(pool);
  }

  /**
   * A final response head arrived (`buf[0, end)`): when the retry policy
   * retries it (gateway-error, a listed status, a gRPC status…), it is dropped
   * with its connection and another try starts; true then.
   */
  retryResponse(r: ResponseHead, buf: Buffer | null, end: number): boolean {
    const t = this.tries;
    if (t === null || t.policy === null || r.status === 101) return false;
    const outcome = t.responseOutcome(r, buf);
    if (outcome === null) return false; // the policy's table says no: the common case, nothing made
    const pool = this.pool;
    if (!this.tryAgain(outcome, null)) return false;
    pool?.outcome({ kind: "status", status: r.status }); // outlier detection sees the retried answer too
    return true;
  }

  /**
   * Retry under the route's policy when `outcome` is retriable, tries are left
   * and the body sent so far is still held: the connection is dropped and the
   * next try starts after Envoy's back-off, on another endpoint when there is
   * one. `row`: the failure's reply (counted against the cluster), null for a
   * retriable response.
   */
  protected tryAgain(outcome: UpstreamOutcome, row: ReplyRow | null): boolean {
    const t = this.tries;
    if (t === null || this.finished || this.respStarted || this.discard || this.up.lost || !t.allows(outcome)) return false;
    // Envoy's max_retries circuit breaker: one retry in flight per request counted
    const breaker = this.gen!.clusters.get(this.upstreamCluster)?.breaker;
    if (!this.retryCounted && breaker !== undefined) {
      if (!breaker.admitRetry()) return false;
      breaker.retries++;
      this.retryCounted = true;
    }
    if (row !== null) stats.upstreamError(this.upstreamCluster, row.flag);
    this.dropUpstream();
    this.respBuf = null;
    this.resp = null;
    this.to(CONNECTING);
    t.schedule();
    return true;
  }

  /** The back-off is over: the next try, on an endpoint not tried yet when the policy says so. */
  nextTry(): void {
    const rt = this.gen!.clusters.get(this.upstreamCluster);
    const pool = this.tries!.pick(rt, this.hash);
    if (this.finished || this.state !== CONNECTING) return;
    if (pool === null) return this.reply(REPLIES.no_healthy_upstream);
    this.usePool(pool);
    this.connectTo(pool, rt!); // a pool was picked: the runtime is there
  }

  abortOnError(): void {
    this.ds.abort();
  }

  /** The retry counted in the circuit breaker is over (the exchange ends). */
  protected endRetry(): void {
    if (!this.retryCounted) return;
    this.retryCounted = false;
    const b = this.gen?.clusters.get(this.upstreamCluster)?.breaker;
    if (b !== undefined && b.retries > 0) b.retries--;
  }

  /** The per-try timeout fired before a response head: retried when the policy says so, else 504. */
  onPerTryTimeout(): void {
    if (this.finished || this.resp !== null || this.respDone) return;
    this.pool?.outcome(TIMED_OUT);
    const row = REPLIES.per_try_timeout;
    if (this.tryAgain({ kind: "per_try_timeout" }, row)) return;
    this.dropUpstream();
    stats.upstreamError(this.upstreamCluster, row.flag);
    this.reply(row);
  }

  /** The route timeout fired: 504 before the response started; after, the client's stream is reset. */
  onTimeout(): void {
    if (this.finished || this.respDone) return;
    if (this.resp === null) this.pool?.outcome(TIMED_OUT);
    this.dropUpstream();
    this.tries?.clearPerTry();
    if (this.respStarted) return this.failAfterResponse(REPLIES.response_timeout_after_response);
    stats.upstreamError(this.upstreamCluster, REPLIES.response_timeout.flag);
    this.reply(REPLIES.response_timeout);
  }

  /** The whole request is here and forwarding has begun: the route timeout, the per-try timeout, the copies to mirrors. */
  protected requestDone(): void {
    if (this.up.endedAt === 0) this.up.endedAt = performance.now();
    if (this.timeoutMs > 0 && this.timer === null && (this.state === CONNECTING || this.state === WAITING || this.state === STREAMING)) {
      // Envoy's route timeout: from the end of the request to the end of the response
      this.timer = setTimeout(onTimeout, this.timeoutMs, this);
    }
    if (this.state === WAITING && this.resp === null) this.tries?.armPerTry();
    const m = this.mirrors;
    if (m === null) return;
    this.mirrors = null;
    if (this.up.lost) return; // too big to copy: not mirrored
    sendMirrors(this.gen!, m, this.up.head, this.decision!.authority, this.up.body(), this.ds);
  }

  protected clearRouteTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** No timer of this exchange left (answered, finished). */
  protected clearTimers(): void {
    this.clearRouteTimer();
    this.tries?.clear();
    if (this.delayTimer !== null) {
      clearTimeout(this.delayTimer);
      this.delayTimer = null;
    }
  }
}

// The per-request side of a route's retry policy (decisions: src/traffic/retry.ts):
// tries made and the endpoints they went to, the back-off and per-try timers.
// The body bytes a retry sends again are upstream-request.ts's copy.
import type { RetryPolicy } from "../../src/snapshot/types.ts";
import { backoffMs, grpcStatusOf, pickForRetry, retryCondition, triesLeft, type UpstreamOutcome } from "../../src/traffic/retry.ts";
import { reportError } from "../context.ts";
import type { ClusterRuntime } from "./clusters.ts";
import { fieldCount, fieldNameEnds, fieldStarts, type ResponseHead } from "./parse-response.ts";
import { bytesEqLower, lit } from "./fields.ts";
import type { EndpointPool } from "./upstream-pool.ts";

/** What the timers call back (the Exchange). */
export interface TryOwner {
  nextTry(): void;
  onPerTryTimeout(): void;
  abortOnError(): void;
}

function call(owner: TryOwner, what: "nextTry" | "onPerTryTimeout"): void {
  try {
    owner[what]();
  } catch (err) {
    reportError(what === "nextTry" ? "retry" : "per-try timeout", err);
    owner.abortOnError();
  }
}
const afterBackoff = (o: TryOwner) => call(o, "nextTry");
const afterPerTry = (o: TryOwner) => call(o, "onPerTryTimeout");

const GRPC_CONDITIONS = ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"];

/** Statuses 100–599 have a row in a policy's table; others take the long way (retryCondition). */
const STATUSES = 600;

/**
 * A policy's answers for response heads, computed once per policy (policies
 * are shared, immutable snapshot data) so that a response that is not retried,
 * the common case, costs one table read: `status[s]` = 1 when retryCondition
 * retries status s without a gRPC status; `grpc` = the policy retries some gRPC
 * status (then a 200's head is searched for grpc-status).
 */
export interface RetryTable {
  status: Uint8Array;
  grpc: boolean;
}
const tables = new WeakMap<RetryPolicy, RetryTable>();

export function retryTable(p: RetryPolicy): RetryTable {
  let t = tables.get(p);
  if (t === undefined) {
    const status = new Uint8Array(STATUSES);
    for (let s = 100; s < STATUSES; s++) status[s] = retryCondition(p, { kind: "response", status: s, grpcStatus: -1 }) === "" ? 0 : 1;
    t = { status, grpc: p.retryOn.some((c) => GRPC_CONDITIONS.includes(c)) };
    tables.set(p, t);
  }
  return t;
}

const GRPC_STATUS = lit("grpc-status");

/** The grpc-status value of the response head just parsed (parse-response.ts's field offsets), or "" when it has none. */
function grpcStatusField(buf: Buffer): string {
  for (let k = 0; k < fieldCount; k++) {
    const st = fieldStarts[k]!;
    const ne = fieldNameEnds[k]!;
    if (ne - st === 11 && bytesEqLower(buf, st, GRPC_STATUS)) return buf.toString("latin1", ne + 1, fieldStarts[k + 1]!).trim();
  }
  return "";
}

/**
 * One per exchange (ExchangePolicies.beginForward makes it at the first
 * forward, a made-again exchange resets it for its next request): no object
 * per request. A request answered by its first try makes nothing here.
 */
export class Tries {
  /** Tries made so far, the first included (x-envoy-attempt-count of the current one). */
  count = 1;
  /** The endpoint of the first try; `more`: every try's, in order, once a second one went (made then). */
  private first: EndpointPool | null = null;
  private more: EndpointPool[] | null = null;
  private backoff: ReturnType<typeof setTimeout> | null = null;
  private perTry: ReturnType<typeof setTimeout> | null = null;

  constructor(
    public policy: RetryPolicy | null,
    private readonly owner: TryOwner,
  ) {}

  /** As a new Tries for `policy` (the same owner): no try counted or endpoint kept, no timer left. */
  reset(policy: RetryPolicy | null): void {
    this.clear();
    this.policy = policy;
    this.count = 1;
    this.first = null;
    this.more = null;
  }

  /** A try goes to `pool`. */
  went(pool: EndpointPool): void {
    if (this.first === null) this.first = pool;
    else (this.more ??= [this.first]).push(pool);
  }

  /** Endpoints the tries went to, in order. */
  get tried(): readonly EndpointPool[] {
    const m = this.more;
    if (m !== null) return m;
    return this.first === null ? [] : [this.first];
  }

  /** May `outcome` be tried again (condition met, tries left)? */
  allows(outcome: UpstreamOutcome): boolean {
    const p = this.policy;
    return p !== null && retryCondition(p, outcome) !== "" && triesLeft(p, this.count);
  }

  /**
   * The outcome of the final response head just parsed into `r` (its bytes
   * start buf): its status and, for a trailers-only gRPC answer, its
   * grpc-status; null when the policy cannot retry it (no object made then).
   */
  /** `buf`: the head's bytes (the fields parseResponseHead left), or null for a head given as fields (r.grpcStatus). */
  responseOutcome(r: ResponseHead, buf: Buffer | null): UpstreamOutcome | null {
    const p = this.policy;
    if (p === null) return null;
    const t = retryTable(p);
    const s = r.status;
    let grpc = -1;
    if (s === 200 && t.grpc) {
      const v = buf === null ? r.grpcStatus : grpcStatusField(buf);
      if (v !== "") grpc = grpcStatusOf(v);
    }
    if (grpc < 0 && s >= 100 && s < STATUSES && t.status[s] === 0) return null;
    return { kind: "response", status: s, grpcStatus: grpc };
  }

  /** Count the next try and start its back-off (Envoy's jittered exponential). */
  schedule(): void {
    this.clearPerTry();
    this.count++;
    this.backoff = setTimeout(afterBackoff, backoffMs(this.policy!, this.count - 1, Math.random()), this.owner);
  }

  /**
   * The endpoint for the next try (previous hosts avoided when the policy says
   * so), or null. With a consistent hash the same hash picks again: Istio
   * drops the previous-hosts predicate then (DefaultConsistentHashPolicy).
   */
  pick(rt: ClusterRuntime | undefined, hash: bigint | null): EndpointPool | null {
    this.backoff = null;
    if (rt === undefined) return null;
    if (hash !== null) return rt.pick(hash);
    return pickForRetry(this.policy!, () => rt.pick(null), this.tried);
  }

  /** Start the per-try timeout (once per try, when the request is complete). */
  armPerTry(): void {
    const p = this.policy;
    if (p === null || p.perTryTimeoutMs <= 0 || this.perTry !== null) return;
    this.perTry = setTimeout(afterPerTry, p.perTryTimeoutMs, this.owner);
  }

  /** The per-try timer fired or a response head came: no per-try timeout any more. */
  clearPerTry(): void {
    if (this.perTry !== null) {
      clearTimeout(this.perTry);
      this.perTry = null;
    }
  }

  /** The exchange ends: no timer left. */
  clear(): void {
    this.clearPerTry();
    if (this.backoff !== null) {
      clearTimeout(this.backoff);
      this.backoff = null;
    }
  }
}

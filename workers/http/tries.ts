// The per-request side of a route's retry policy (decisions: src/traffic/retry.ts):
// tries made and the endpoints they went to, the back-off and per-try timers.
// The body bytes a retry sends again are upstream-request.ts's copy.
import type { RetryPolicy } from "../../src/snapshot/types.ts";
import { backoffMs, grpcStatusOf, pickForRetry, retryCondition, triesLeft, type UpstreamOutcome } from "../../src/traffic/retry.ts";
import { reportError } from "../context.ts";
import type { ClusterRuntime } from "./clusters.ts";
import type { ResponseHead } from "./parse-response.ts";
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

/** Does the policy retry on a gRPC status (cached per policy: policies are shared, immutable snapshot data)? */
const grpcPolicies = new WeakMap<RetryPolicy, boolean>();
function retriesGrpc(p: RetryPolicy): boolean {
  let v = grpcPolicies.get(p);
  if (v === undefined) grpcPolicies.set(p, (v = p.retryOn.some((c) => GRPC_CONDITIONS.includes(c))));
  return v;
}

export class Tries {
  /** Tries made so far, the first included (x-envoy-attempt-count of the current one). */
  count = 1;
  /** Endpoints the tries went to, in order. */
  readonly tried: EndpointPool[] = [];
  private backoff: ReturnType<typeof setTimeout> | null = null;
  private perTry: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly policy: RetryPolicy | null,
    private readonly owner: TryOwner,
  ) {}

  /** May `outcome` be tried again (condition met, tries left)? */
  allows(outcome: UpstreamOutcome): boolean {
    const p = this.policy;
    return p !== null && retryCondition(p, outcome) !== "" && triesLeft(p, this.count);
  }

  /** The outcome of a final response head `buf[0, end)`: its status and, for a trailers-only gRPC answer, its grpc-status. */
  responseOutcome(r: ResponseHead, buf: Buffer, end: number): UpstreamOutcome {
    let grpc = -1;
    if (r.status === 200 && this.policy !== null && retriesGrpc(this.policy)) {
      const at = buf.indexOf("grpc-status:", 0, "latin1");
      if (at >= 0 && at < end) grpc = grpcStatusOf(buf.toString("latin1", at + 12, buf.indexOf("\r", at)).trim());
    }
    return { kind: "response", status: r.status, grpcStatus: grpc };
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

// Outlier detection for one cluster's endpoints, as Envoy's detector
// (source/common/upstream/outlier_detection_impl.cc) runs the consecutive-error
// kinds; pure, the clock passed in.
//
// - Each result is counted per endpoint. Without splitExternalLocalOriginErrors
//   a failed connect counts as a 503 and a timeout as a 504; with it they
//   count only as local-origin failures (and a connect that succeeds resets
//   that counter). A 5xx adds to consecutive 5xx; 502/503/504 also to
//   consecutive gateway failures; anything else resets both.
// - A counter reaching its threshold asks for an ejection (then restarts).
//   It happens only when (ejected + 1) / endpoints ≤ maxEjectionPercent.
// - An ejection lasts min(base × backoff, max), backoff growing by one per
//   ejection; it ends at the first interval tick past that time (counters
//   reset). A tick also lowers the backoff of an endpoint that has stayed
//   unejected for an interval.
// - Panic (Envoy's healthy_panic_threshold, Istio's minHealthPercent): when
//   the share of unejected endpoints is below it, every endpoint is used.
import type { OutlierPolicy } from "../snapshot/upstream.ts";

export type OutlierResult =
  /** The upstream answered with this status. */
  | { kind: "status"; status: number }
  /** The connection could not be made (refused, reset, TLS failure). */
  | { kind: "connectFailed" }
  /** No answer in time. */
  | { kind: "timeout" }
  /** The connection was made (reported before the response). */
  | { kind: "connected" };

export type EjectionKind = "consecutive_5xx" | "consecutive_gateway_failure" | "consecutive_local_origin_failure";

interface HostState {
  c5xx: number;
  cGateway: number;
  cLocal: number;
  ejected: boolean;
  ejectedAt: number;
  /** -1: never unejected. */
  unejectedAt: number;
  backoff: number;
  ejections: number;
}

export interface OutlierEvent {
  host: number;
  action: "eject" | "uneject" | "overflow";
  kind?: EjectionKind;
}

function isGatewayError(s: number): boolean {
  return s === 502 || s === 503 || s === 504;
}

export class OutlierDetector {
  private readonly hosts: HostState[];
  ejectedCount = 0;
  /** Ejections refused by maxEjectionPercent (Envoy's ejections_overflow). */
  overflows = 0;
  /** Ejections done (Envoy's ejections_enforced_total). */
  enforced = 0;
  /** Grows at every ejection and every ejection's end: a cached view of the ejected set is stale when it differs. */
  version = 0;

  constructor(
    readonly policy: OutlierPolicy,
    hostCount: number,
  ) {
    this.hosts = [];
    for (let i = 0; i < hostCount; i++) this.hosts.push({ c5xx: 0, cGateway: 0, cLocal: 0, ejected: false, ejectedAt: 0, unejectedAt: -1, backoff: 0, ejections: 0 });
  }

  get size(): number {
    return this.hosts.length;
  }

  isEjected(i: number): boolean {
    return this.hosts[i]?.ejected ?? false;
  }

  /** Times endpoint `i` was ejected. */
  ejections(i: number): number {
    return this.hosts[i]?.ejections ?? 0;
  }

  /** Too few endpoints unejected: balance over all of them (Envoy's panic mode). */
  get panic(): boolean {
    const n = this.hosts.length;
    if (n === 0 || this.ejectedCount === 0) return false;
    return (100 * (n - this.ejectedCount)) / n < this.policy.panicThresholdPercent;
  }

  /** May endpoint `i` be picked now? */
  usable(i: number): boolean {
    return !this.isEjected(i) || this.panic;
  }

  /** Count one result of endpoint `i`; returns what happened (an ejection, a refused one) or null. */
  report(i: number, r: OutlierResult, now: number): OutlierEvent | null {
    const h = this.hosts[i];
    if (h === undefined) return null;
    const p = this.policy;
    if (p.splitExternalLocalOriginErrors) {
      if (r.kind === "connected") {
        h.cLocal = 0;
        return null;
      }
      if (r.kind === "connectFailed" || r.kind === "timeout") {
        h.cLocal++;
        if (p.consecutiveLocalOriginFailure > 0 && h.cLocal === p.consecutiveLocalOriginFailure) {
          h.cLocal = 0;
          return this.tryEject(i, "consecutive_local_origin_failure", now);
        }
        return null;
      }
      return this.status(i, r.status, now);
    }
    if (r.kind === "connected") return null;
    return this.status(i, r.kind === "status" ? r.status : r.kind === "timeout" ? 504 : 503, now);
  }

  private status(i: number, status: number, now: number): OutlierEvent | null {
    const h = this.hosts[i]!;
    const p = this.policy;
    if (status < 500 || status > 599) {
      h.c5xx = 0;
      h.cGateway = 0;
      return null;
    }
    let ev: OutlierEvent | null = null;
    if (isGatewayError(status)) {
      h.cGateway++;
      if (p.consecutiveGatewayFailure > 0 && h.cGateway === p.consecutiveGatewayFailure) {
        h.cGateway = 0;
        ev = this.tryEject(i, "consecutive_gateway_failure", now);
      }
    } else h.cGateway = 0;
    h.c5xx++;
    if (p.consecutive5xx > 0 && h.c5xx === p.consecutive5xx) {
      h.c5xx = 0;
      ev = this.tryEject(i, "consecutive_5xx", now) ?? ev;
    }
    return ev;
  }

  private tryEject(i: number, kind: EjectionKind, now: number): OutlierEvent | null {
    const h = this.hosts[i]!;
    if (h.ejected) return null;
    const p = this.policy;
    if ((100 * (this.ejectedCount + 1)) / this.hosts.length > p.maxEjectionPercent) {
      this.overflows++;
      return { host: i, action: "overflow", kind };
    }
    h.ejected = true;
    h.ejectedAt = now;
    h.ejections++;
    if (h.backoff * p.baseEjectionTimeMs < p.maxEjectionTimeMs + p.baseEjectionTimeMs) h.backoff++;
    this.ejectedCount++;
    this.enforced++;
    this.version++;
    return { host: i, action: "eject", kind };
  }

  /** How long endpoint `i`'s current ejection lasts (ms), 0 when not ejected. */
  ejectionTime(i: number): number {
    const h = this.hosts[i];
    if (h === undefined || !h.ejected) return 0;
    return Math.min(this.policy.baseEjectionTimeMs * h.backoff, this.policy.maxEjectionTimeMs);
  }

  /** The interval sweep: end ejections whose time is up, lower the backoff of healthy endpoints. */
  tick(now: number): OutlierEvent[] {
    const out: OutlierEvent[] = [];
    const p = this.policy;
    for (let i = 0; i < this.hosts.length; i++) {
      const h = this.hosts[i]!;
      if (h.ejected && this.ejectionTime(i) <= now - h.ejectedAt) {
        h.ejected = false;
        h.unejectedAt = now;
        h.c5xx = h.cGateway = h.cLocal = 0;
        this.ejectedCount--;
        this.version++;
        out.push({ host: i, action: "uneject" });
      }
    }
    for (const h of this.hosts) {
      if (!h.ejected && h.unejectedAt >= 0 && now - h.unejectedAt >= p.intervalMs && h.backoff > 0) h.backoff--;
    }
    return out;
  }
}

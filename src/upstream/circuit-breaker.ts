// Envoy's circuit breakers for one cluster (per worker, as Envoy's are per
// cluster and shared by its threads — gangway's workers do not share them):
// open connections (max_connections), requests waiting for a connection
// (max_pending_requests), requests in flight (max_requests) and retries in
// flight (max_retries). Istio writes 2^32 − 1 for the ones a DestinationRule
// leaves unset; here 0 means unlimited. Pure counters: the pool asks, then
// tells what it did.
//
// A request's admission, as Envoy's connection pool (ConnPoolImplBase
// newStream): over max_requests → overflow; an idle connection → use it;
// else it must wait for a connection, which needs a pending slot (over
// max_pending_requests → overflow, 503 flag UO), and a new connection is
// opened for it when fewer than max_connections are open.
import type { CircuitBreakers } from "../snapshot/upstream.ts";

export type Admission = "use_idle" | "connect" | "queue" | "overflow";

export class CircuitBreaker {
  connections = 0;
  pending = 0;
  active = 0;
  retries = 0;
  /** Overflows counted (Envoy's upstream_rq_pending_overflow + upstream_cx_overflow ...), by which limit. */
  overflows = { connections: 0, pending: 0, requests: 0, retries: 0 };

  constructor(public limits: CircuitBreakers) {}

  private under(n: number, max: number): boolean {
    return max === 0 || n < max;
  }

  /** What to do with a new request given whether an idle connection is at hand. */
  admit(idleAvailable: boolean): Admission {
    if (!this.under(this.active, this.limits.maxRequests)) {
      this.overflows.requests++;
      return "overflow";
    }
    if (idleAvailable) return "use_idle";
    if (!this.under(this.pending, this.limits.maxPendingRequests)) {
      this.overflows.pending++;
      return "overflow";
    }
    return this.under(this.connections, this.limits.maxConnections) ? "connect" : "queue";
  }

  /** May a retry start (max_retries)? Counts an overflow when not. */
  admitRetry(): boolean {
    if (this.under(this.retries, this.limits.maxRetries)) return true;
    this.overflows.retries++;
    return false;
  }

  /** May the connection that just closed be replaced for a waiting request? */
  canConnect(): boolean {
    return this.under(this.connections, this.limits.maxConnections);
  }
}

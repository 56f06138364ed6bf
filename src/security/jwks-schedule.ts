// When the primary fetches jwksUri keys again, after istiod's JWKS resolver: every
// refresh interval (--jwks-refresh, Istio's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, 20 min)
// while fetches succeed; a URI left without keys (its first fetch failed: that issuer's
// tokens are refused) is tried again 1 s apart, 7 times (istiod's background retries);
// while fetches fail, after 1 min, then doubling (istiod doubles up to 60 min; here up to
// the refresh interval, never slower than with no failure).
export const JWKS_RETRY_MS = 1000;
export const JWKS_RETRIES = 7;
export const JWKS_FAILURE_MS = 60_000;

/** When to refresh next, and whether only the URIs without keys are fetched then. */
export interface JwksNext {
  ms: number;
  missingOnly: boolean;
}

export class JwksSchedule {
  private quick = 0;
  private failedBefore = false;
  private delay: number;

  constructor(private readonly refreshMs: number) {
    this.delay = refreshMs;
  }

  /** After a load left a URI without keys: its retries 1 s apart. */
  missing(): JwksNext {
    this.quick = JWKS_RETRIES;
    return { ms: Math.min(JWKS_RETRY_MS, this.refreshMs), missingOnly: true };
  }

  /** After a refresh ran: `missing`, a URI still has no keys; `failing`, some fetch failed. */
  next(missing: boolean, failing: boolean): JwksNext {
    if (missing && this.quick > 0) {
      this.quick--;
      return { ms: Math.min(JWKS_RETRY_MS, this.refreshMs), missingOnly: true };
    }
    this.quick = 0;
    if (!failing) {
      this.failedBefore = false;
      this.delay = this.refreshMs;
    } else {
      this.delay = this.failedBefore ? Math.min(this.delay * 2, this.refreshMs) : Math.min(JWKS_FAILURE_MS, this.refreshMs);
      this.failedBefore = true;
    }
    return { ms: this.delay, missingOnly: false };
  }
}

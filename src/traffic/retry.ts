// Envoy's router retry decisions as pure functions (RetryStateImpl): whether
// an upstream outcome is retried under a route's retry policy, how long to back
// off, and which endpoint the next try takes (previous_hosts predicate). The
// worker keeps the per-request state (tries made, endpoints tried) and asks.
//
// Conditions (Envoy's x-envoy-retry-on / retry_on):
// - connect-failure: the connection could not be made (refused, timeout);
// - reset-before-request: a reset before any request byte reached the upstream;
// - reset, 5xx, gateway-error: any reset, including a per-try timeout, also a
//   connect failure (Envoy counts a reset as a "5xx" since it becomes one);
// - 5xx: a response status ≥ 500; gateway-error: 502, 503, 504;
// - retriable-4xx: 409; retriable-status-codes: the codes written in retryOn;
// - cancelled, deadline-exceeded, internal, resource-exhausted, unavailable:
//   the grpc-status of a trailers-only response (1, 4, 13, 8, 14);
// - refused-stream: an HTTP/2 stream the upstream refused (RST_STREAM
//   REFUSED_STREAM, or above a GOAWAY's last stream id): it was not processed.
import type { RetryPolicy } from "../snapshot/types.ts";
import { MAX_TIMER_MS } from "../decode/duration.ts";

export type UpstreamOutcome =
  /** The connection to the endpoint failed (refused, reset during connect, connect timeout). */
  | { kind: "connect_failure" }
  /** The upstream closed or reset before a response head; `sent`: some request bytes were written; `refused`: an HTTP/2 stream the upstream refused. */
  | { kind: "reset"; sent: boolean; refused?: boolean }
  /** The per-try timeout fired before a response head. */
  | { kind: "per_try_timeout" }
  /** A response head arrived; grpcStatus -1 when it carries none. */
  | { kind: "response"; status: number; grpcStatus: number };

const GRPC: Record<string, number> = { cancelled: 1, "deadline-exceeded": 4, "resource-exhausted": 8, internal: 13, unavailable: 14 };

/** The retry_on condition that makes this outcome retriable under `p`, or "" (not retriable). */
export function retryCondition(p: RetryPolicy | null | undefined, o: UpstreamOutcome): string {
  if (!p) return "";
  const on = p.retryOn;
  const has = (c: string) => on.includes(c);
  switch (o.kind) {
    case "connect_failure":
      if (has("connect-failure")) return "connect-failure";
      if (has("reset-before-request")) return "reset-before-request";
      return anyReset(on);
    case "reset":
      if (o.refused === true && has("refused-stream")) return "refused-stream";
      if (!o.sent && has("reset-before-request")) return "reset-before-request";
      return anyReset(on);
    case "per_try_timeout":
      return anyReset(on);
    case "response": {
      const s = o.status;
      if (s >= 500 && has("5xx")) return "5xx";
      if ((s === 502 || s === 503 || s === 504) && has("gateway-error")) return "gateway-error";
      if (s === 409 && has("retriable-4xx")) return "retriable-4xx";
      if (has("retriable-status-codes") && p.retriableStatusCodes.includes(s)) return "retriable-status-codes";
      if (o.grpcStatus >= 0) for (const c of on) if (GRPC[c] === o.grpcStatus) return c;
      return "";
    }
  }
}

function anyReset(on: string[]): string {
  for (const c of ["5xx", "gateway-error", "reset"]) if (on.includes(c)) return c;
  return "";
}

/**
 * Envoy's jittered exponential back-off before retry number `n` (1 = the
 * first retry): uniform in [0, min((2^n − 1) × base, max)).
 */
export function backoffMs(p: RetryPolicy, n: number, draw: number): number {
  const mult = 2 ** Math.min(n, 30) - 1;
  const base = mult * p.backoffBaseMs;
  const cap = base <= p.backoffMaxMs ? base : p.backoffMaxMs;
  // a timer fires after 1 ms above 2^31-1 ms: a huge back-off must not become none
  return Math.min(Math.floor(draw * cap), MAX_TIMER_MS);
}

/** May try number `tries + 1` start? (`tries` made so far, the first included.) */
export function triesLeft(p: RetryPolicy | null | undefined, tries: number): boolean {
  return !!p && tries <= p.numRetries;
}

/**
 * The endpoint for the next try: with previous_hosts, pick again (up to
 * `hostSelectionRetryMaxAttempts` more times) while the pick was tried
 * already; the last pick is used when every pick was tried.
 */
export function pickForRetry<T>(p: RetryPolicy, pick: () => T | null, tried: readonly T[]): T | null {
  let e = pick();
  if (!p.retryPreviousHosts) return e;
  for (let i = 0; i < p.hostSelectionRetryMaxAttempts && e !== null && tried.includes(e); i++) e = pick();
  return e;
}

/** grpc-status of a response head (trailers-only), or -1. */
export function grpcStatusOf(value: string | undefined): number {
  if (value === undefined || !/^[0-9]{1,2}$/.test(value)) return -1;
  return Number(value);
}

// gRPC deadlines at the gateway, as Istio configures Envoy's router for a gateway
// route: `max_grpc_timeout` set to the route's timeout (0: no cap) — istiod's
// setTimeout (pilot/pkg/networking/core/route/route.go) uses that deprecated field,
// not max_stream_duration, for every proxy but proxyless gRPC. Envoy's
// FilterUtility::finalTimeout then takes a gRPC request's `grpc-timeout` as the
// route timeout, capped by max_grpc_timeout (a header absent or 0 is "infinity",
// so the cap alone). That timeout is the route timer's: it starts when the
// downstream request is complete and its expiry is the route timeout's answer
// (504 UT "upstream request timeout", grpc-status 14 to a gRPC client; a reset
// once the response started). setTimeoutHeaders also rewrites `grpc-timeout` on
// the request sent upstream to the time the upstream has (the per-try timeout
// when it is shorter), so the server's own deadline matches.
import { MAX_TIMER_MS } from "../decode/duration.ts";
import { expectedTimeoutMs } from "./timeout-headers.ts";

/** grpc-timeout units (gRPC PROTOCOL-HTTP2.md: TimeoutValue of at most 8 digits, then H M S m u n) in ms. */
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * The grpc-timeout header's value in ms (rounded up: `1n` is 1), or null when absent or malformed
 * (then ignored, as Envoy does). A value of 0 (`0m`, `0n`...) is 0: Envoy's getGrpcTimeout reads it
 * as 0, which max_grpc_timeout takes as infinity (the cap alone), not as a deadline already past.
 */
export function parseGrpcTimeout(v: string | undefined): number | null {
  if (v === undefined || !/^\d{1,8}[HMSmun]$/.test(v)) return null;
  const ms = Number(v.slice(0, -1)) * UNIT_MS[v[v.length - 1]!]!;
  return Math.ceil(ms);
}

/**
 * The route timeout (ms, 0: none) of a gRPC request on a route whose `timeout` is `routeTimeoutMs`
 * (Istio's max_grpc_timeout): the header's, capped by the route's when that is set; the route's when
 * the header is absent, malformed or 0.
 */
export function grpcRouteTimeoutMs(header: string | undefined, routeTimeoutMs: number): number {
  const t = parseGrpcTimeout(header);
  if (t === null || t === 0) return routeTimeoutMs;
  return routeTimeoutMs > 0 && routeTimeoutMs < t ? routeTimeoutMs : t;
}

/** `ms` as a timer can wait it: a timer fires after 1 ms for anything above 2^31-1 ms (`720H`, 30 days, would end the call at once). */
export function timerMs(ms: number): number {
  return ms < MAX_TIMER_MS ? ms : MAX_TIMER_MS;
}

/**
 * The grpc-timeout Envoy sends upstream (setTimeoutHeaders, each try): the route timeout less
 * `elapsedMs` (the time since the request ended, 0 on a first try; at least 1 once it is spent), or
 * the per-try timeout when set and shorter; "" when neither is set (the header is left as the client
 * sent it, or absent).
 */
export function upstreamGrpcTimeout(routeTimeoutMs: number, perTryTimeoutMs: number, elapsedMs = 0): string {
  return grpcTimeoutText(expectedTimeoutMs(routeTimeoutMs, perTryTimeoutMs, elapsedMs));
}

/** `ms` as a grpc-timeout value ("" for 0: none). */
export function grpcTimeoutText(ms: number): string {
  if (ms <= 0) return "";
  // Envoy's toGrpcTimeout: milliseconds, else the largest of S, M, H that fits 8 digits (truncating)
  let unit = "m";
  if (ms > 99_999_999) {
    ms = Math.floor(ms / 1000);
    unit = "S";
    for (const next of ["M", "H"]) {
      if (ms <= 99_999_999) break;
      ms = Math.floor(ms / 60);
      unit = next;
    }
    if (ms > 99_999_999) ms = 99_999_999;
  }
  return String(ms) + unit;
}

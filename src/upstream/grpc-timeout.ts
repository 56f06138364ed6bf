// gRPC deadlines at the gateway: a gRPC request's `grpc-timeout` header bounds the
// whole stream, capped by the route's timeout when it has one, in the shape of
// Envoy's max_stream_duration { grpc_timeout_header_max: <timeout> }. When the
// deadline passes before the response started, the reply is gRPC DEADLINE_EXCEEDED
// (Envoy's onStreamMaxDurationReached: flag DT, details max_duration_timeout);
// after, the stream is reset. (Istio's gateway routes use the older
// max_grpc_timeout instead, whose expiry is the route's 504 UT: README, HTTP/2 and
// gRPC to upstreams.)
import { MAX_TIMER_MS } from "../decode/duration.ts";

/** grpc-timeout units (gRPC PROTOCOL-HTTP2.md: TimeoutValue of at most 8 digits, then H M S m u n) in ms. */
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * The grpc-timeout header's value in ms (rounded up: `1n` is 1), or null when absent or malformed
 * (then ignored, as Envoy does). A value of 0 (`0m`, `0n`...) is 0: Envoy's getGrpcTimeout reads it
 * as 0, which its route config takes as no timeout from the header (not one already past).
 */
export function parseGrpcTimeout(v: string | undefined): number | null {
  if (v === undefined || !/^\d{1,8}[HMSmun]$/.test(v)) return null;
  const ms = Number(v.slice(0, -1)) * UNIT_MS[v[v.length - 1]!]!;
  return Math.ceil(ms);
}

/** The stream deadline (ms from the request's start) for a gRPC request; 0: none. */
export function grpcDeadlineMs(header: string | undefined, routeTimeoutMs: number): number {
  const t = parseGrpcTimeout(header);
  if (t === null || t === 0) return 0; // none (0 included): the route timeout alone, as Envoy
  // a timer fires after 1 ms for anything above 2^31-1 ms: `720H` (30 days) would end the call at once
  return Math.min(routeTimeoutMs > 0 ? Math.min(t, routeTimeoutMs) : t, MAX_TIMER_MS);
}

/** gRPC status codes the gateway's own replies carry where the HTTP status does not say it. */
export const GRPC_DEADLINE_EXCEEDED = 4;

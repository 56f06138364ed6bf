// gRPC deadlines at the gateway, as Istio configures Envoy: every route gets
// max_stream_duration { max_stream_duration: <timeout>, grpc_timeout_header_max:
// <timeout> } (0s when the VirtualService sets no timeout), so a gRPC request's
// `grpc-timeout` header bounds the whole stream, capped by the route's timeout
// when it has one. When the deadline passes before the response started, the
// reply is gRPC DEADLINE_EXCEEDED (Envoy's onStreamMaxDurationReached: flag DT,
// details max_duration_timeout); after, the stream is reset.
import { MAX_TIMER_MS } from "../decode/duration.ts";

/** grpc-timeout units (gRPC PROTOCOL-HTTP2.md: TimeoutValue of at most 8 digits, then H M S m u n) in ms. */
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The grpc-timeout header's value in ms (rounded up, at least 1), or null when absent or malformed (then ignored, as Envoy does). */
export function parseGrpcTimeout(v: string | undefined): number | null {
  if (v === undefined || !/^\d{1,8}[HMSmun]$/.test(v)) return null;
  const ms = Number(v.slice(0, -1)) * UNIT_MS[v[v.length - 1]!]!;
  return Math.max(1, Math.ceil(ms));
}

/** The stream deadline (ms from the request's start) for a gRPC request; 0: none. */
export function grpcDeadlineMs(header: string | undefined, routeTimeoutMs: number): number {
  const t = parseGrpcTimeout(header);
  if (t === null) return 0;
  // a timer fires after 1 ms for anything above 2^31-1 ms: `720H` (30 days) would end the call at once
  return Math.min(routeTimeoutMs > 0 ? Math.min(t, routeTimeoutMs) : t, MAX_TIMER_MS);
}

/** gRPC status codes the gateway's own replies carry where the HTTP status does not say it. */
export const GRPC_DEADLINE_EXCEEDED = 4;

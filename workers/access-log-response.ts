// What an access-log line reads of the response beyond the record's fields:
// a response header as kept (x-envoy-upstream-service-time from the record),
// Envoy's response flag names and bitmask, and the gRPC status of a gRPC
// request, as Envoy's formatter and CEL attributes give them.
import type { AccessRecord } from "./access-log-line.ts";

/** A response header: x-envoy-upstream-service-time from the record's field, the others as the exchange kept them. */
export function responseHeader(r: AccessRecord, name: string): string | null {
  if (name === "x-envoy-upstream-service-time") return r.upstreamServiceTime < 0 ? null : String(r.upstreamServiceTime);
  const v = r.respHeader?.(name);
  return v === undefined || v === "" ? null : v;
}

/** Envoy's long response flag names (ResponseFlagUtils::CORE_RESPONSE_FLAGS), in its order: bit i of CEL response.flags is entry i. */
export const FLAG_NAMES: readonly [string, string][] = [
  ["LH", "FailedLocalHealthCheck"], ["UH", "NoHealthyUpstream"], ["UT", "UpstreamRequestTimeout"], ["LR", "LocalReset"],
  ["UR", "UpstreamRemoteReset"], ["UF", "UpstreamConnectionFailure"], ["UC", "UpstreamConnectionTermination"],
  ["UO", "UpstreamOverflow"], ["NR", "NoRouteFound"], ["DI", "DelayInjected"], ["FI", "FaultInjected"], ["RL", "RateLimited"],
  ["UAEX", "UnauthorizedExternalService"], ["RLSE", "RateLimitServiceError"], ["DC", "DownstreamConnectionTermination"],
  ["URX", "UpstreamRetryLimitExceeded"], ["SI", "StreamIdleTimeout"], ["IH", "InvalidEnvoyRequestHeaders"],
  ["DPE", "DownstreamProtocolError"], ["UMSDR", "UpstreamMaxStreamDurationReached"], ["RFCF", "ResponseFromCacheFilter"],
  ["NFCF", "NoFilterConfigFound"], ["DT", "DurationTimeout"], ["UPE", "UpstreamProtocolError"], ["NC", "NoClusterFound"],
  ["OM", "OverloadManagerTerminated"], ["DF", "DnsResolutionFailed"], ["DO", "DropOverload"], ["DR", "DownstreamRemoteReset"],
  ["UDO", "UnconditionalDropOverload"],
];
const FLAG_INDEX = new Map(FLAG_NAMES.map(([short], i) => [short, i]));

/** `UF,URX` → `UpstreamConnectionFailure,UpstreamRetryLimitExceeded` (Envoy's order), null for none. */
export function longFlags(flags: string): string | null {
  if (flags === "" || flags === "-") return null;
  const out: string[] = [];
  for (const [short, long] of FLAG_NAMES) if (hasFlag(flags, short)) out.push(long);
  return out.length === 0 ? null : out.join(",");
}

function hasFlag(flags: string, short: string): boolean {
  let i = flags.indexOf(short);
  while (i >= 0) {
    const end = i + short.length;
    if ((i === 0 || flags[i - 1] === ",") && (end === flags.length || flags[end] === ",")) return true;
    i = flags.indexOf(short, i + 1);
  }
  return false;
}

/** CEL response.flags: Envoy's legacy bitmask (bit i for FLAG_NAMES[i]). */
export function flagBits(flags: string): number {
  if (flags === "" || flags === "-") return 0;
  let bits = 0;
  for (const f of flags.split(",")) {
    const i = FLAG_INDEX.get(f);
    if (i !== undefined) bits += 2 ** i;
  }
  return bits;
}

/** gRPC status names, as Envoy's GRPC_STATUS writes them (CAMEL_STRING). */
const GRPC_NAMES = [
  "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
  "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
  "Unauthenticated",
];

/** Envoy's Grpc::Utility::httpToGrpcStatus. */
function httpToGrpc(status: number): number {
  switch (status) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
  }
}

/**
 * The gRPC status of a gRPC request (content-type application/grpc…), as Envoy's
 * Grpc::Common::getGrpcStatus: the trailers' grpc-status, else the headers' (a
 * trailers-only response), else the HTTP status mapped; null for another request.
 */
export function grpcStatus(r: AccessRecord): number | null {
  const ct = r.method === "" ? undefined : r.reqHeader?.("content-type");
  // application/grpc, application/grpc+proto…, and gRPC-Web (Envoy's grpc_web filter makes it application/grpc before the log)
  if (ct === undefined || !(ct === "application/grpc" || ct.startsWith("application/grpc+") || ct.startsWith("application/grpc-web"))) return null;
  const v = r.respTrailer?.("grpc-status") ?? r.respHeader?.("grpc-status") ?? null;
  if (v !== null && v !== "") {
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 ? n : null;
  }
  return r.status === 0 ? null : httpToGrpc(r.status);
}

/** The CAMEL_STRING name of a gRPC status (a code past 16: its number). */
export function grpcName(code: number): string {
  return GRPC_NAMES[code] ?? String(code);
}

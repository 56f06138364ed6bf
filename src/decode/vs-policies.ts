// The traffic policies of a VirtualService http route — retries, fault,
// mirror(s), corsPolicy, delegate — checked as Istio's validation checks them
// (pkg/config/validation: ValidateHTTPRetry, validateHTTPFaultInjection,
// validateHTTPMirrors, validateCORSPolicy), so what kubectl would refuse is an
// Error here too.
import { Codes } from "../model/codes.ts";
import type { CorsPolicySpec, DelegateSpec, Destination, HTTPFaultSpec, HTTPMirrorPolicySpec, HTTPRetrySpec, StringMatchSpec, UnsupportedField } from "../model/istio.ts";
import { parseDuration, parseTimerDuration } from "./duration.ts";
import { bool, int, isObj, join, obj, objList, oneOf, str, strList, type Obj, type Reader } from "./read.ts";
import { decodeDestination, decodeStringMatch } from "./vs-match.ts";

/** Envoy's retry_on conditions that Istio's validation accepts. */
export const RETRY_ON = new Set([
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "envoy-ratelimited",
  "http3-post-connect-failure",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
]);

/** gRPC status names (Istio's SupportedGRPCStatus) → code. */
export const GRPC_STATUS: Record<string, number> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** HTTP status codes Go's http.StatusText knows (what Istio counts as a status code in retryOn). */
const STATUS_CODES = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406,
  407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506,
  507, 508, 510, 511,
]);

export function isStatusCode(n: number): boolean {
  return STATUS_CODES.has(n);
}

/** A Duration field in milliseconds; -1 when absent. Istio: at least 1ms, millisecond precision. */
/** `timer`: a duration a timer waits on, capped at MAX_TIMER_MS (not CORS maxAge, a header value). */
export function durationField(r: Reader, o: Obj, key: string, path: string, timer = true): number {
  const v = o[key];
  if (v === undefined || v === null) return -1;
  const p = join(path, key);
  if (typeof v !== "string") {
    r.fail(Codes.WrongType, p, "must be a duration string like 1.5s, 500ms, 1m");
    return -1;
  }
  const ms = timer ? parseTimerDuration(v) : parseDuration(v);
  if (ms === null) {
    r.fail(Codes.InvalidDuration, p, `invalid duration ${JSON.stringify(v)} (like 1.5s, 500ms, 1m)`);
    return -1;
  }
  if (ms < 1) {
    r.fail(Codes.InvalidDuration, p, "duration must be at least 1ms");
    return -1;
  }
  if (ms !== Math.floor(ms)) r.fail(Codes.InvalidDuration, p, "only durations to ms precision are supported");
  return ms;
}

/** A Percent (`{value: 12.5}`); null when absent. Istio: 0, or 0.0001..100. */
export function percentField(r: Reader, o: Obj, key: string, path: string): number | null {
  const po = obj(r, o, key, path);
  if (po === null) return null;
  const p = join(path, key);
  const v = po.value ?? 0;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    r.fail(Codes.WrongType, join(p, "value"), "must be a number");
    return null;
  }
  if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) {
    r.fail(Codes.InvalidValue, join(p, "value"), `percentage ${v} is neither 0.0, nor in range [0.0001, 100.0]`);
    return null;
  }
  return v;
}

function optBool(r: Reader, o: Obj, key: string, path: string): boolean | null {
  return o[key] === undefined || o[key] === null ? null : bool(r, o, key, path);
}

export function decodeRetries(r: Reader, o: Obj, path: string): HTTPRetrySpec {
  const retry: HTTPRetrySpec = {
    attempts: int(r, o, "attempts", path, 0, 0x7fffffff),
    perTryTimeoutMs: Math.max(0, durationField(r, o, "perTryTimeout", path)),
    retryOn: str(r, o, "retryOn", path),
    retryRemoteLocalities: optBool(r, o, "retryRemoteLocalities", path),
    retryIgnorePreviousHosts: optBool(r, o, "retryIgnorePreviousHosts", path),
    backoffMs: Math.max(0, durationField(r, o, "backoff", path)),
  };
  if (retry.attempts === 0 && (retry.perTryTimeoutMs > 0 || retry.retryOn !== "" || retry.retryRemoteLocalities !== null)) {
    r.fail(Codes.InvalidValue, path, "http retry policy configured when attempts are set to 0 (disabled)");
  }
  for (const part of retry.retryOn.split(",")) {
    const t = part.trim();
    if (t === "" || RETRY_ON.has(t)) continue;
    if (/^[0-9]+$/.test(t) && isStatusCode(Number(t))) continue;
    r.fail(Codes.InvalidValue, join(path, "retryOn"), `${JSON.stringify(t)} is not a valid retryOn policy`);
  }
  return retry;
}

export function decodeFault(r: Reader, o: Obj, path: string, unsupported: UnsupportedField[]): HTTPFaultSpec {
  const d = obj(r, o, "delay", path);
  const a = obj(r, o, "abort", path);
  const fault: HTTPFaultSpec = { delay: null, abort: null };
  if (d === null && a === null) r.fail(Codes.MissingField, path, "HTTP fault injection must have an abort and/or a delay");
  if (d !== null) {
    const p = join(path, "delay");
    if (d.exponentialDelay !== undefined && d.exponentialDelay !== null) r.fail(Codes.InvalidValue, join(p, "exponentialDelay"), "exponentialDelay not supported yet");
    const ms = durationField(r, d, "fixedDelay", p);
    let pct = percentField(r, d, "percentage", p);
    if (pct === null) pct = int(r, d, "percent", p, 0, 100); // deprecated integer form
    if (ms > 0) fault.delay = { fixedDelayMs: ms, percentage: pct };
    else if (d.exponentialDelay === undefined) r.fail(Codes.MissingField, join(p, "fixedDelay"), "is required");
    if (ms > 0 && d.percentage === undefined && d.percent === undefined) {
      unsupported.push({ field: join(p, "percentage"), reason: "not written: no request is delayed (Istio's default)" });
    }
  }
  if (a !== null) {
    const p = join(path, "abort");
    if (a.http2Error !== undefined && a.http2Error !== null) r.fail(Codes.InvalidValue, join(p, "http2Error"), "HTTP/2 abort fault injection not supported yet");
    const pct = percentField(r, a, "percentage", p) ?? 0;
    const grpc = str(r, a, "grpcStatus", p);
    let status = 0;
    if (a.httpStatus !== undefined && a.httpStatus !== null) {
      status = int(r, a, "httpStatus", p, 0, 0x7fffffff);
      if (status < 200 || status > 599) r.fail(Codes.InvalidValue, join(p, "httpStatus"), `HTTP status ${status} is not in range 200-599`);
    } else if (grpc !== "") {
      if (GRPC_STATUS[grpc] === undefined) {
        r.fail(Codes.InvalidValue, join(p, "grpcStatus"), `gRPC status ${JSON.stringify(grpc)} is not supported (a name such as UNAVAILABLE or NOT_FOUND)`);
      }
    } else if (a.http2Error === undefined) {
      unsupported.push({ field: p, reason: "abort without httpStatus or grpcStatus: no request is aborted" });
    }
    if (status > 0 || (grpc !== "" && GRPC_STATUS[grpc] !== undefined)) fault.abort = { httpStatus: status, grpcStatus: status > 0 ? "" : grpc, percentage: pct };
    if (fault.abort !== null && a.percentage === undefined) {
      unsupported.push({ field: join(p, "percentage"), reason: "not written: no request is aborted (Istio's default)" });
    }
  }
  return fault;
}

/** `mirror` (a Destination). */
export function decodeMirror(r: Reader, o: Obj, path: string): Destination {
  return decodeDestination(r, o, path);
}

export function decodeMirrors(r: Reader, o: Obj, path: string): HTTPMirrorPolicySpec[] {
  return objList(r, o, "mirrors", path, (m, p) => {
    const d = obj(r, m, "destination", p, true);
    return {
      destination: d === null ? { host: "", subset: "", port: 0 } : decodeDestination(r, d, join(p, "destination")),
      percentage: percentField(r, m, "percentage", p),
    };
  });
}

/**
 * mirrorPercentage, else the deprecated mirrorPercent (integer), also under its
 * proto name `mirror_percent` (the CRD lists both; protojson reads either);
 * null when none is written.
 */
export function decodeMirrorPercentage(r: Reader, o: Obj, path: string): number | null {
  const pct = percentField(r, o, "mirrorPercentage", path);
  if (pct !== null) return pct;
  const key = o.mirrorPercent !== undefined && o.mirrorPercent !== null ? "mirrorPercent" : "mirror_percent";
  const v = o[key];
  if (v === undefined || v === null) return null;
  return int(r, o, key, path, 0, 100);
}

const CORS_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"]);
const HEADER_NAME = /^[-!#$%&'*+.^_`|~0-9A-Za-z]+$/;

export function decodeCors(r: Reader, o: Obj, path: string): CorsPolicySpec {
  const origins: StringMatchSpec[] = objList(r, o, "allowOrigins", path, (m, p) => {
    const sm = decodeStringMatch(r, m, p);
    if (sm === null || sm.value === "") r.fail(Codes.InvalidValue, p, "is not a valid match type for CORS allow origins (exact, prefix or regex, not empty)");
    return sm;
  });
  const legacy = strList(r, o, "allowOrigin", path);
  const cors: CorsPolicySpec = {
    allowOrigins: origins.length > 0 || o.allowOrigins !== undefined ? origins : legacy.map((v) => ({ kind: "exact", value: v })),
    allowMethods: strList(r, o, "allowMethods", path),
    allowHeaders: strList(r, o, "allowHeaders", path),
    exposeHeaders: strList(r, o, "exposeHeaders", path),
    maxAgeSeconds: null,
    allowCredentials: optBool(r, o, "allowCredentials", path),
    unmatchedPreflights: oneOf(r, o, "unmatchedPreflights", path, ["", "UNSPECIFIED", "FORWARD", "IGNORE"] as const, ""),
  };
  cors.allowMethods.forEach((m, i) => {
    if (!CORS_METHODS.has(m)) r.fail(Codes.InvalidValue, `${join(path, "allowMethods")}[${i}]`, `${JSON.stringify(m)} is not a supported HTTP method`);
  });
  for (const key of ["allowHeaders", "exposeHeaders"] as const) {
    cors[key].forEach((h, i) => {
      if (h !== "*" && !HEADER_NAME.test(h)) r.fail(Codes.InvalidValue, `${join(path, key)}[${i}]`, `header name ${JSON.stringify(h)} is not a valid header name`);
    });
  }
  const ms = durationField(r, o, "maxAge", path, false);
  if (ms >= 0) {
    if (ms % 1000 !== 0) r.fail(Codes.InvalidDuration, join(path, "maxAge"), "max_age duration is accurate only to seconds precision");
    cors.maxAgeSeconds = Math.floor(ms / 1000);
  }
  return cors;
}

export function decodeDelegate(r: Reader, o: Obj, path: string): DelegateSpec {
  return { name: str(r, o, "name", path, true), namespace: str(r, o, "namespace", path) };
}

/** Is `o[key]` written (not absent, not null)? */
export function has(o: Obj, key: string): boolean {
  return o[key] !== undefined && o[key] !== null;
}

export { isObj };

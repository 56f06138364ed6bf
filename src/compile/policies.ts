// A VirtualService http route's traffic policies → the snapshot's, as istiod
// translates them for Envoy (pilot/pkg/networking/core/route/route.go and
// route/retry): retry policy (Istio's default when `retries` is absent),
// fault filter settings, request mirror policies, CORS filter policy.
import { Codes } from "../model/codes.ts";
import type { Resource } from "../model/index.ts";
import type { CorsPolicySpec, HTTPFaultSpec, HTTPRetrySpec, HTTPRoute } from "../model/istio.ts";
import { GRPC_STATUS, isStatusCode, RETRY_ON } from "../decode/vs-policies.ts";
import type { CorsPolicy, FaultPolicy, MirrorPolicy, RetryPolicy } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";
import { resolveDestination } from "./destinations.ts";
import { compileStringMatch } from "./matches.ts";

/** Istio's default retry_on (route/retry/retry.go). */
export const DEFAULT_RETRY_ON = ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"];
/** Envoy's default retry back-off base interval. */
export const DEFAULT_BACKOFF_MS = 25;

/** Conditions gangway evaluates; the others are accepted and never fire (reported). */
export const RETRY_ON_SERVED = new Set([
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
]);

/** Istio's DefaultPolicy(): 2 retries, another host each time (5 picks), no per-try timeout. */
export function defaultRetryPolicy(): RetryPolicy {
  return {
    numRetries: 2,
    perTryTimeoutMs: 0,
    retryOn: [...DEFAULT_RETRY_ON],
    retriableStatusCodes: [],
    retryPreviousHosts: true,
    hostSelectionRetryMaxAttempts: 5,
    retryRemoteLocalities: false,
    backoffBaseMs: DEFAULT_BACKOFF_MS,
    backoffMaxMs: DEFAULT_BACKOFF_MS * 10,
    isDefault: true,
  };
}

/** Istio's parseRetryOn: numbers Go knows as status codes become retriable status codes, the rest conditions. */
export function parseRetryOn(text: string): { conditions: string[]; codes: number[] } {
  const conditions: string[] = [];
  const codes: number[] = [];
  for (const part of text.split(",")) {
    const t = part.trim();
    if (t === "") continue;
    if (/^[0-9]+$/.test(t) && isStatusCode(Number(t))) codes.push(Number(t));
    else conditions.push(t);
  }
  if (codes.length > 0 && !conditions.includes("retriable-status-codes")) conditions.push("retriable-status-codes");
  return { conditions, codes };
}

/** ConvertPolicy: null (absent) → Istio's default; `attempts: 0` → null (disabled). */
export function buildRetryPolicy(spec: HTTPRetrySpec | null | undefined): RetryPolicy | null {
  if (spec === null || spec === undefined) return defaultRetryPolicy();
  if (spec.attempts <= 0) return null;
  const p = defaultRetryPolicy();
  p.isDefault = false;
  p.numRetries = spec.attempts;
  if (spec.retryOn !== "") {
    const { conditions, codes } = parseRetryOn(spec.retryOn);
    p.retryOn = conditions.filter((c) => RETRY_ON.has(c));
    p.retriableStatusCodes = codes;
  }
  if (spec.perTryTimeoutMs > 0) p.perTryTimeoutMs = spec.perTryTimeoutMs;
  if (spec.retryIgnorePreviousHosts !== null) p.retryPreviousHosts = spec.retryIgnorePreviousHosts;
  if (spec.retryRemoteLocalities === true) p.retryRemoteLocalities = true;
  if (spec.backoffMs > 0) {
    p.backoffBaseMs = spec.backoffMs;
    p.backoffMaxMs = spec.backoffMs * 10;
  }
  return p;
}

/** Percent 0..100 → per million, as Istio's translatePercentToFractionalPercent (value × 10000, truncated). */
export function perMillion(percent: number): number {
  return Math.min(1_000_000, Math.max(0, Math.floor(percent * 10000)));
}

/** TranslateFault: null when neither part can fire. */
export function buildFault(spec: HTTPFaultSpec | null | undefined): FaultPolicy | null {
  if (spec === null || spec === undefined) return null;
  const f: FaultPolicy = { delayMs: 0, delayPerMillion: 0, abortStatus: 0, abortGrpcStatus: -1, abortPerMillion: 0 };
  if (spec.delay !== null) {
    f.delayMs = spec.delay.fixedDelayMs;
    f.delayPerMillion = perMillion(spec.delay.percentage);
  }
  if (spec.abort !== null) {
    if (spec.abort.httpStatus > 0) f.abortStatus = spec.abort.httpStatus;
    else {
      // Envoy's fault filter: a gRPC abort answers HTTP 200 carrying the gRPC status
      f.abortStatus = 200;
      f.abortGrpcStatus = GRPC_STATUS[spec.abort.grpcStatus] ?? 2;
    }
    f.abortPerMillion = perMillion(spec.abort.percentage);
  }
  if (f.delayMs === 0 && f.abortStatus === 0) return null;
  return f;
}

/** TranslateCORSPolicy. */
export function buildCors(spec: CorsPolicySpec | null | undefined): CorsPolicy | null {
  if (spec === null || spec === undefined) return null;
  return {
    allowOrigins: spec.allowOrigins.map((m) => compileStringMatch(m)),
    allowMethods: spec.allowMethods.join(","),
    allowHeaders: spec.allowHeaders.join(","),
    exposeHeaders: spec.exposeHeaders.join(","),
    maxAge: spec.maxAgeSeconds === null ? "" : String(spec.maxAgeSeconds),
    allowCredentials: spec.allowCredentials === true,
    forwardNotMatchingPreflights: spec.unmatchedPreflights !== "IGNORE",
  };
}

/**
 * `mirror` (+ `mirrorPercentage`/`mirrorPercent`) first, then `mirrors`, as
 * Istio appends them; a mirror at 0% is left out. Clusters resolve like route
 * destinations (same findings).
 */
export function buildMirrors(ctx: CompileContext, origin: Resource, http: HTTPRoute, listenerPort: number, path: string): MirrorPolicy[] {
  const out: MirrorPolicy[] = [];
  if (http.mirror) {
    const pct = http.mirrorPercentage ?? 100;
    if (pct > 0) {
      const d = resolveDestination(ctx, origin, http.mirror, 0, listenerPort, `${path}.mirror`);
      out.push({ cluster: d.cluster, host: d.host, port: d.port, subset: d.subset, perMillion: perMillion(pct) });
    }
  }
  (http.mirrors ?? []).forEach((m, i) => {
    const pct = m.percentage ?? 100;
    if (pct <= 0) return;
    const d = resolveDestination(ctx, origin, m.destination, 0, listenerPort, `${path}.mirrors[${i}].destination`);
    out.push({ cluster: d.cluster, host: d.host, port: d.port, subset: d.subset, perMillion: perMillion(pct) });
  });
  return out;
}

/** Findings for what a route's policies ask and gangway cannot do as asked. */
export function reportPolicyLimits(ctx: CompileContext, origin: Resource, http: HTTPRoute, path: string): void {
  const r = http.retries;
  if (r && r.attempts > 0 && r.retryOn !== "") {
    for (const c of parseRetryOn(r.retryOn).conditions) {
      if (RETRY_ON_SERVED.has(c)) continue;
      ctx.report("Warning", Codes.RouteFeatureUnsupported, origin, `retryOn ${c} is not evaluated by gangway: it never causes a retry`, `${path}.retries.retryOn`);
    }
  }
  if (r && r.retryRemoteLocalities === true) {
    ctx.report(
      "Info",
      Codes.RouteFeatureUnsupported,
      origin,
      "retryRemoteLocalities is accepted but not applied: a retry draws its locality priority as the first try did (Envoy's previous_priorities would avoid the priorities already tried)",
      `${path}.retries.retryRemoteLocalities`,
    );
  }
  if ((http.retries || http.mirror || http.mirrors || http.corsPolicy || http.timeoutSet) && http.route.length === 0 && !http.delegate) {
    const which = [http.retries && "retries", (http.mirror || http.mirrors) && "mirror", http.corsPolicy && "corsPolicy", http.timeoutSet && "timeout"].filter(Boolean);
    ctx.report(
      "Warning",
      Codes.RouteFeatureUnsupported,
      origin,
      `${which.join(", ")} on a route that does not forward (redirect or directResponse): not applied, as in Envoy`,
      path,
    );
  }
}

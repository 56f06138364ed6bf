// Envoy's CORS filter as a pure decision (source/extensions/filters/http/cors):
// a request with a non-empty Origin on a route with a CORS policy is a CORS
// request; OPTIONS with Access-Control-Request-Method is a preflight, which the
// gateway answers itself (200, no body; an allowed origin's answer also carries
// Access-Control-Expose-Headers, as Envoy's answer passes through the filter's
// own encodeHeaders) — unless the origin is not allowed and unmatched
// preflights are forwarded (Istio's default). Any other CORS request
// goes upstream, and its response gets Access-Control-Allow-Origin (the
// request's origin), -Allow-Credentials and -Expose-Headers when the origin is
// allowed. Only forward routes carry a policy (Envoy skips the filter on
// redirect and direct-response routes).
import { matchString } from "../route/lookup.ts";
import type { CorsPolicy } from "../snapshot/types.ts";

export type HeaderList = [string, string][];

export type CorsDecision =
  /** Not a CORS request (no policy, no Origin): nothing to do. */
  | { kind: "none" }
  /** A preflight the gateway answers: 200 with these headers (Envoy: details `cors_response`). */
  | { kind: "preflight"; headers: HeaderList }
  /**
   * Forward the request; when the response head comes, add `responseHeaders`
   * (empty when the origin is not allowed: the response is left as it is).
   */
  | { kind: "forward"; responseHeaders: HeaderList };

const NONE: CorsDecision = { kind: "none" };

/** Envoy's isOriginAllowed: a matcher that accepts `*` (as a string) allows every origin. */
export function originAllowed(p: CorsPolicy, origin: string): boolean {
  const ms = p.allowOrigins;
  for (let i = 0; i < ms.length; i++) if (matchString(ms[i]!, "*") || matchString(ms[i]!, origin)) return true;
  return false;
}

/** Headers a simple (non-preflight) CORS response gets for an allowed origin. */
export function corsResponseHeaders(p: CorsPolicy, origin: string): HeaderList {
  const out: HeaderList = [["access-control-allow-origin", origin]];
  if (p.allowCredentials) out.push(["access-control-allow-credentials", "true"]);
  if (p.exposeHeaders !== "") out.push(["access-control-expose-headers", p.exposeHeaders]);
  return out;
}

/** Request headers by lower-case name (undefined when absent): the request view dispatch has. */
export interface HeaderSource {
  header(name: string): string | undefined;
}

/** The decision for one request. */
export function corsDecision(p: CorsPolicy | null | undefined, method: string, req: HeaderSource): CorsDecision {
  if (p === null || p === undefined) return NONE;
  const origin = req.header("origin");
  if (origin === undefined || origin === "") return NONE;
  const allowed = originAllowed(p, origin);
  const requestMethod = req.header("access-control-request-method");
  if (method !== "OPTIONS" || requestMethod === undefined || requestMethod === "") {
    return { kind: "forward", responseHeaders: allowed ? corsResponseHeaders(p, origin) : [] };
  }
  if (!allowed && p.forwardNotMatchingPreflights) return { kind: "forward", responseHeaders: [] };
  const h: HeaderList = [];
  if (allowed) h.push(["access-control-allow-origin", origin]);
  if (p.allowCredentials) h.push(["access-control-allow-credentials", "true"]);
  if (p.allowMethods !== "") h.push(["access-control-allow-methods", p.allowMethods === "*" ? requestMethod : p.allowMethods]);
  if (p.allowHeaders !== "") {
    const requested = req.header("access-control-request-headers") ?? "";
    if (p.allowHeaders !== "*") h.push(["access-control-allow-headers", p.allowHeaders]);
    else if (requested !== "") h.push(["access-control-allow-headers", requested]);
  }
  if (p.maxAge !== "") h.push(["access-control-max-age", p.maxAge]);
  // Envoy sends its preflight answer through the encoder filters, its own CORS encodeHeaders among
  // them, which adds expose-headers for an allowed origin (the conformance case httproute-cors expects it)
  if (allowed && p.exposeHeaders !== "") h.push(["access-control-expose-headers", p.exposeHeaders]);
  return { kind: "preflight", headers: h };
}

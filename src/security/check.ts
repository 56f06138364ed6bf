// The whole security check of one request, in Envoy's filter order for an
// Istio gateway: ext_authz (CUSTOM) → jwt_authn (RequestAuthentication) →
// RBAC DENY → RBAC ALLOW (istiod's listener builder puts the CUSTOM filters
// first; its validation keeps request.auth.* out of CUSTOM rules). Returns the reply to give or the header changes for
// the upstream. No sockets of its own: the ext_authz call goes through `ask`.
import { authenticate, authnHeaderOps, authnParamsToRemove, NO_TOKEN, wwwAuthenticate, type AuthnResult } from "./authn.ts";
import { authorize, type AuthzDecision, type AuthzInput, type PolicyHit } from "./authz.ts";
import { extractTokens } from "./jwt-extract.ts";
import type { ExtAuthzRequest, ExtAuthzResult } from "./ext-authz.ts";
import type { HeaderSource } from "./jwt-extract.ts";
import { DEFAULT_SPACE_DELIMITED_CLAIMS, type ExtAuthzProvider, type SecurityConfig } from "./types.ts";
import type { ReplyCode } from "../dispatch/replies.ts";

export interface SecurityRequest extends HeaderSource, Omit<AuthzInput, "claims" | "query" | "scheme"> {
  scheme: string;
  /** Path with query, for ext_authz. */
  target: string;
  /** Every header as [lower-case name, value], for ext_authz. */
  headerList(): [string, string][];
}

export type SecurityOutcome =
  | {
      allow: true;
      /** Headers to set / remove on the upstream request. */
      set: [string, string][];
      remove: string[];
      hits: PolicyHit[];
      /** `iss/sub` of the verified JWT, or "". */
      requestPrincipal: string;
      reason: string;
      /** The verified JWT's payload (what `@request.auth.claims` routes match), or null. */
      claims: Record<string, unknown> | null;
      /**
       * RequestAuthentication's own header changes (claim and payload headers, the
       * token dropped), which the route is chosen again with; `set`/`remove` add
       * ext_authz's, which are not.
       */
      authnSet: [string, string][];
      authnRemove: string[];
      /** Query parameters a verified token came from: dropped from the upstream target (Envoy's removeJwt). */
      removeParams: string[];
    }
  | {
      allow: false;
      status: number;
      body: string;
      /** Extra response header lines (`name: value`). */
      headers: [string, string][];
      /** The row of the reply table (src/dispatch/replies.ts): flag and source. */
      code: ReplyCode;
      /** Envoy's response details, for the access log. */
      details: string;
      hits: PolicyHit[];
      reason: string;
    };

export type AskExtAuthz = (p: ExtAuthzProvider, req: ExtAuthzRequest) => Promise<ExtAuthzResult>;

export const RBAC_DENIED_BODY = "RBAC: access denied";

/**
 * The verified payload as Envoy's jwt_authn puts it in metadata, which is what
 * AuthorizationPolicy claims and `@request.auth.claims` routes match in Istio:
 * each top-level claim of `spaceDelimited` holding a string becomes the list of
 * its space-separated parts (`scope: "read write"` → `["read", "write"]`).
 * The payload itself is left as it is (output headers are made from it).
 */
export function normalizedClaims(payload: Record<string, unknown>, spaceDelimited: string[]): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const c of spaceDelimited) {
    const v = payload[c];
    if (typeof v !== "string") continue;
    out ??= { ...payload };
    out[c] = v.split(" ").filter((p) => p !== "");
  }
  return out ?? payload;
}

function principalOf(a: AuthnResult): string {
  if (a.kind !== "ok") return "";
  const { iss, sub } = a.jwt.payload;
  return typeof iss === "string" && typeof sub === "string" ? `${iss}/${sub}` : "";
}

/**
 * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method),
 * which Istio's jwt_authn lets through whatever token it carries
 * (bypass_cors_preflight: a preflight carries no user credentials); RBAC still
 * decides it, without a principal.
 */
export function isCorsPreflight(req: { method: string; header(name: string): string | undefined }): boolean {
  return req.method === "OPTIONS" && (req.header("origin") ?? "") !== "" && (req.header("access-control-request-method") ?? "") !== "";
}

/** Envoy's realm: scheme, Host as sent, and the path with its query cut at 256 characters (jwt_authn's MaximumUriLength). */
export const REALM_PATH_MAX = 256;

/**
 * The check without waiting, when it needs nothing asynchronous: no token to
 * verify (none present, or no RequestAuthentication) and no CUSTOM policy to
 * ask. null: run checkSecurity.
 */
export function quickCheck(sec: SecurityConfig, req: SecurityRequest): SecurityOutcome | null {
  if (sec.providers.length > 0 && !isCorsPreflight(req) && extractTokens(sec.providers, req).length > 0) return null;
  const d = authorize(sec, { ...req, claims: null });
  if (d.custom !== "") return null;
  return decided(d, authnHeaderOps(sec.providers, NO_TOKEN), NO_TOKEN, null);
}

function decided(d: AuthzDecision, ops: { set: [string, string][]; remove: string[]; authnSet?: [string, string][] }, authn: AuthnResult, claims: Record<string, unknown> | null): SecurityOutcome {
  if (!d.allow) {
    const hit = d.hits.find((h) => h.action === "DENY" && !h.dryRun);
    return {
      allow: false,
      status: 403,
      body: RBAC_DENIED_BODY,
      headers: [],
      code: "rbac_denied",
      details: hit === undefined ? "rbac_access_denied_matched_policy[none]" : `rbac_access_denied_matched_policy[${hit.policy}]`,
      hits: d.hits,
      reason: d.reason,
    };
  }
  return { allow: true, set: ops.set, remove: ops.remove, hits: d.hits, requestPrincipal: principalOf(authn), reason: d.reason, claims, authnSet: ops.authnSet ?? ops.set, authnRemove: ops.remove, removeParams: authnParamsToRemove(authn) };
}

export async function checkSecurity(sec: SecurityConfig, req: SecurityRequest, ask: AskExtAuthz, nowS: number): Promise<SecurityOutcome> {
  // ext_authz first: CUSTOM rules see no claims (Istio's validation keeps request.auth.* out of them)
  const pre = authorize(sec, { ...req, claims: null });
  let fromExtAuthz: [string, string][] = [];
  if (pre.custom !== "") {
    const p = sec.extAuthz.get(pre.custom)!;
    const r = await ask(p, { method: req.method, authority: req.authority, target: req.target, headers: req.headerList() });
    if (!r.allow) {
      return {
        allow: false,
        status: r.status,
        body: r.body,
        headers: r.headers,
        code: r.error === "" ? "ext_authz_denied" : "ext_authz_error",
        details: r.error === "" ? "ext_authz_denied" : "ext_authz_error",
        hits: pre.hits,
        reason: r.error === "" ? `ext_authz provider ${p.name} denied (${r.status})` : `ext_authz provider ${p.name} failed: ${r.error}`,
      };
    }
    fromExtAuthz = r.upstream;
  }
  const authn = isCorsPreflight(req) ? NO_TOKEN : await authenticate(sec.providers, req, nowS);
  if (authn.kind === "fail") {
    return {
      allow: false,
      status: authn.status,
      body: authn.body,
      headers: [["www-authenticate", wwwAuthenticate(req.scheme, req.authority, req.target.slice(0, REALM_PATH_MAX), false)]],
      code: "jwt_denied",
      details: `jwt_authn_access_denied{${authn.body.replace(/ /g, "_")}}`,
      hits: pre.hits,
      reason: `RequestAuthentication ${authn.provider?.source ?? ""}: ${authn.body}`,
    };
  }
  const claims = authn.kind === "ok" ? normalizedClaims(authn.jwt.payload, authn.provider.spaceDelimitedClaims ?? DEFAULT_SPACE_DELIMITED_CLAIMS) : null;
  const d = claims === null ? pre : authorize(sec, { ...req, claims, header: (n) => req.header(n) });
  const ops: { set: [string, string][]; remove: string[]; authnSet?: [string, string][] } = authnHeaderOps(sec.providers, authn);
  ops.authnSet = ops.set.slice();
  // ext_authz's headers were added before jwt_authn ran, which removes the claim and token headers it owns
  const owned = new Set([...ops.remove, ...ops.set.map(([n]) => n)].map((n) => n.toLowerCase()));
  ops.set = [...fromExtAuthz.filter(([n]) => !owned.has(n.toLowerCase())), ...ops.set];
  return decided(d, ops, authn, claims);
}

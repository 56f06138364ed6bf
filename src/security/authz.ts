// AuthorizationPolicy evaluation, in Istio's order: CUSTOM (decides whether
// the ext_authz provider is asked), DENY, then ALLOW (no ALLOW policy: allow;
// ALLOW policies that match nothing: deny); AUDIT and dry-run policies are
// evaluated and reported, never enforced. Pure: the request's attributes in,
// the decision out (the ext_authz call itself is made by the caller).
import { withoutHostDot } from "../route/authority.ts";
import { matches, matchesAny } from "./matchers.ts";
import type { AuthzPolicy, AuthzRule, Check, Matcher, SecurityConfig } from "./types.ts";

/** What the policies look at. Strings are "" / undefined when absent. */
export interface AuthzInput {
  method: string;
  /** Host header / :authority as sent (port included). */
  authority: string;
  /** Path without the query (normalized, as routed). */
  path: string;
  /** Query without `?` ("" when none; absent: none). Envoy's `:path` header carries it. */
  query?: string;
  /** `http` / `https` (`:scheme`); absent: `http`. */
  scheme?: string;
  /** Local port the request arrived on (Envoy's destination.port). */
  port: number;
  header(name: string): string | undefined;
  /** The peer's address (source.ip, ipBlocks). */
  sourceIp: string;
  /** The client address after --trusted-proxies (remote.ip, remoteIpBlocks). */
  remoteIp: string;
  destinationIp: string;
  /** Verified client certificate's SPIFFE id without `spiffe://`, or "". */
  principal: string;
  sni: string;
  /** Claims of the verified JWT, or null. */
  claims: Record<string, unknown> | null;
}

export interface PolicyHit {
  policy: string;
  action: AuthzPolicy["action"];
  rule: number;
  dryRun: boolean;
}

/**
 * `custom`: the ext_authz provider to ask first ("" when no CUSTOM policy
 * matches); its denial wins over this decision, as Envoy's ext_authz filter
 * runs before the RBAC filters.
 */
export interface AuthzDecision {
  allow: boolean;
  custom: string;
  reason: string;
  hits: PolicyHit[];
}

function claim(claims: Record<string, unknown> | null, path: string[]): unknown {
  let v: unknown = claims;
  for (const k of path) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A claim as the strings it holds (a string, or the strings of a list). */
function claimStrings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}

function listMatches(ms: Matcher[], values: string[]): boolean {
  for (const v of values) if (matchesAny(ms, v)) return true;
  return false;
}

function pairMatches(pairs: [Matcher, Matcher][], claims: Record<string, unknown> | null): boolean {
  if (claims === null) return false;
  const iss = typeof claims.iss === "string" ? claims.iss : undefined;
  const sub = typeof claims.sub === "string" ? claims.sub : undefined;
  for (const [mi, ms] of pairs) if (matches(mi, iss) && matches(ms, sub)) return true;
  return false;
}

/**
 * `request.headers[name]` as Envoy's RBAC header matcher reads it: repeated
 * fields joined with ","; the pseudo-headers too (`:path` with its query,
 * `:method`, `:authority`, `:scheme`), and `host`, which Envoy keeps as
 * `:authority`. A DENY on `request.headers[:path]` would otherwise never match.
 */
function requestHeader(inp: AuthzInput, name: string): string | undefined {
  switch (name) {
    case ":path":
      return inp.query === undefined || inp.query === "" ? inp.path : inp.path + "?" + inp.query;
    case ":method":
      return inp.method;
    case ":authority":
    case "host":
      return inp.authority === "" ? undefined : inp.authority;
    case ":scheme":
      return inp.scheme ?? "http";
  }
  return inp.header(name);
}

function scalar(c: Check, inp: AuthzInput): string | undefined {
  switch (c.attr) {
    case "host":
      return withoutHostDot(inp.authority);
    case "method":
      return inp.method;
    case "path":
      return inp.path;
    case "port":
      return String(inp.port);
    case "source.ip":
      return inp.sourceIp;
    case "remote.ip":
      return inp.remoteIp;
    case "destination.ip":
      return inp.destinationIp;
    case "source.principal":
    case "source.namespace":
      return inp.principal === "" ? undefined : inp.principal;
    case "connection.sni":
      return inp.sni === "" ? undefined : inp.sni;
    case "request.headers":
      return requestHeader(inp, c.key[0]!);
    default:
      return undefined;
  }
}

/** One check: some value matches (when values are given) and no notValue does. */
export function checkMatches(c: Check, inp: AuthzInput, fixed: boolean): boolean {
  if (c.fixed === true) return fixed;
  if (c.attr === "request.auth.principal") {
    if ((c.principals?.length ?? 0) > 0 && !pairMatches(c.principals!, inp.claims)) return false;
    if ((c.notPrincipals?.length ?? 0) > 0 && pairMatches(c.notPrincipals!, inp.claims)) return false;
    return true;
  }
  if (c.attr === "request.auth.audiences" || c.attr === "request.auth.presenter" || c.attr === "request.auth.claims") {
    const path = c.attr === "request.auth.claims" ? c.key : [c.attr === "request.auth.audiences" ? "aud" : "azp"];
    const vs = claimStrings(claim(inp.claims, path));
    if (c.values.length > 0 && !listMatches(c.values, vs)) return false;
    if (c.notValues.length > 0 && listMatches(c.notValues, vs)) return false;
    return true;
  }
  const v = scalar(c, inp);
  const ci = c.ignoreCase === true;
  if (c.values.length > 0 && !matchesAny(c.values, v, ci)) return false;
  if (c.notValues.length > 0 && matchesAny(c.notValues, v, ci)) return false;
  return true;
}

function allMatch(cs: Check[], inp: AuthzInput, fixed: boolean): boolean {
  for (let i = 0; i < cs.length; i++) if (!checkMatches(cs[i]!, inp, fixed)) return false;
  return true;
}

function anyMatch(groups: Check[][], inp: AuthzInput, fixed: boolean): boolean {
  if (groups.length === 0) return true;
  for (let i = 0; i < groups.length; i++) if (allMatch(groups[i]!, inp, fixed)) return true;
  return false;
}

/**
 * Does the rule match? `fixed` is what a check gangway cannot apply counts
 * as: false in ALLOW policies (the rule never allows), true otherwise (a DENY
 * or CUSTOM rule applies more widely): both fail closed.
 */
export function ruleMatches(r: AuthzRule, inp: AuthzInput, fixed: boolean): boolean {
  return anyMatch(r.from, inp, fixed) && anyMatch(r.to, inp, fixed) && allMatch(r.when, inp, fixed);
}

/** Index of the first rule of `p` that matches, or -1 (a policy without rules matches nothing). */
export function policyMatch(p: AuthzPolicy, inp: AuthzInput): number {
  const fixed = p.action !== "ALLOW";
  for (let i = 0; i < p.rules.length; i++) if (ruleMatches(p.rules[i]!, inp, fixed)) return i;
  return -1;
}

/** The decision of the RBAC policies, and which ext_authz provider to ask first. */
export function authorize(sec: SecurityConfig, inp: AuthzInput): AuthzDecision {
  const hits: PolicyHit[] = [];
  if (sec.failClosed.length > 0) return { allow: false, custom: "", reason: `fail closed: ${sec.failClosed[0]}`, hits };
  let custom = "";
  let denied = "";
  let anyAllow = false;
  let allowed = false;
  const ps = sec.policies;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    const enforced = !p.dryRun;
    if (p.action === "ALLOW" && enforced) anyAllow = true;
    const rule = policyMatch(p, inp);
    if (rule < 0) continue;
    hits.push({ policy: p.name, action: p.action, rule, dryRun: p.dryRun });
    if (!enforced) continue;
    if (p.action === "CUSTOM" && custom === "") {
      const prov = sec.extAuthz.get(p.provider);
      if (prov === undefined || prov.broken !== "") denied ||= `${p.name}: provider ${p.provider} cannot be used${prov ? `: ${prov.broken}` : ""}`;
      else custom = p.provider;
    } else if (p.action === "DENY" && denied === "") denied = `${p.name} rule ${rule} (DENY)`;
    else if (p.action === "ALLOW") allowed = true;
  }
  if (denied !== "") return { allow: false, custom, reason: denied, hits };
  if (anyAllow && !allowed) return { allow: false, custom, reason: "no ALLOW policy matches", hits };
  return { allow: true, custom, reason: anyAllow ? "an ALLOW policy matches" : "no DENY policy matches and no ALLOW policy applies", hits };
}

// "Which security policies apply to this request, and why is it denied?" —
// the request walked through the same check the workers run (check.ts), with
// each policy's first matching rule or the first condition that failed. The
// ext_authz provider is not called: explain says it would be asked.
import { authenticate } from "./authn.ts";
import { checkSecurity, normalizedClaims, type SecurityRequest } from "./check.ts";
import { checkMatches, policyMatch, type AuthzInput } from "./authz.ts";
import { describeMatcher } from "./matchers.ts";
import { DEFAULT_SPACE_DELIMITED_CLAIMS, type AuthzRule, type Check, type SecurityConfig } from "./types.ts";

export interface SecurityExplainRequest {
  method: string;
  /** Host header as sent. */
  authority: string;
  /** Path with optional `?query`. */
  path: string;
  headers: Record<string, string>;
  scheme: string;
  /** Local port (Envoy's destination.port). */
  port: number;
  sourceIp: string;
  /** Client address after --trusted-proxies ("" → sourceIp). */
  remoteIp?: string;
  /** SPIFFE id of a client certificate, without `spiffe://`. */
  principal?: string;
  sni?: string;
}

export interface PolicyExplain {
  name: string;
  action: string;
  dryRun: boolean;
  /** Index of the first matching rule, or -1. */
  rule: number;
  /** Why no rule matched (per rule: the first failing condition), or what matched. */
  why: string;
}

export interface SecurityExplain {
  jwtProviders: string[];
  policies: PolicyExplain[];
  failClosed: string[];
  /** ext_authz provider the request would be sent to, or "". */
  extAuthz: string;
  allow: boolean;
  status: number;
  body: string;
  reason: string;
  /** Allowed with a verified token: RequestAuthentication's header changes and claims, which the route is chosen again with; else null. */
  authn: { set: [string, string][]; remove: string[]; claims: Record<string, unknown> | null } | null;
}

function checkText(c: Check): string {
  if (c.fixed === true) return `${c.field} (not applied by gangway: fails closed)`;
  const vals = c.principals !== undefined ? [...(c.principals ?? []), ...(c.notPrincipals ?? [])].map(([i, s]) => `${describeMatcher(i)}/${describeMatcher(s)}`) : [...c.values, ...c.notValues].map(describeMatcher);
  return `${c.field} [${vals.join(", ")}]`;
}

function failing(r: AuthzRule, inp: AuthzInput, fixed: boolean): string {
  const group = (gs: Check[][]): Check | null => {
    if (gs.length === 0) return null;
    let first: Check | null = null;
    for (const g of gs) {
      const bad = g.find((c) => !checkMatches(c, inp, fixed));
      if (bad === undefined) return null;
      first ??= bad;
    }
    return first;
  };
  const bad = group(r.from) ?? group(r.to) ?? r.when.find((c) => !checkMatches(c, inp, fixed)) ?? null;
  return bad === null ? "matches" : `${checkText(bad)} does not match`;
}

/** Evaluate `req` against the security part of a snapshot (JWKS must already be inlined). */
export async function explainSecurity(sec: SecurityConfig | undefined, req: SecurityExplainRequest, nowS: number): Promise<SecurityExplain | null> {
  if (sec === undefined || (!sec.active && sec.trustedProxies === 0)) return null;
  const q = req.path.indexOf("?");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  const sreq: SecurityRequest = {
    method: req.method,
    authority: req.authority,
    path: q < 0 ? req.path : req.path.slice(0, q),
    query: q < 0 ? "" : req.path.slice(q + 1),
    target: req.path,
    scheme: req.scheme,
    port: req.port,
    header: (n) => headers[n],
    headerList: () => Object.entries(headers),
    sourceIp: req.sourceIp,
    remoteIp: req.remoteIp || req.sourceIp,
    destinationIp: "127.0.0.1",
    principal: req.principal ?? "",
    sni: req.sni ?? "",
  };
  let extAuthz = "";
  const out = await checkSecurity(sec, sreq, async (p) => ((extAuthz = p.name), { allow: true, upstream: [], error: "" }), nowS);
  // the claims the policies saw (for the per-policy reasons)
  const claims = await claimsOf(sec, sreq, nowS);
  const inp: AuthzInput = { ...sreq, claims };
  const policies = sec.policies.map((p) => {
    const rule = policyMatch(p, inp);
    const fixed = p.action !== "ALLOW";
    const why = rule >= 0 ? `rule ${rule} matches` : p.rules.length === 0 ? "no rules: matches nothing" : p.rules.map((r, i) => `rule ${i}: ${failing(r, inp, fixed)}`).join("; ");
    return { name: p.name, action: p.action, dryRun: p.dryRun, rule, why };
  });
  return {
    jwtProviders: sec.providers.map((p) => `${p.source} issuer ${p.issuer}${p.jwksError !== "" ? ` (keys unavailable: ${p.jwksError})` : p.jwks === "" ? " (keys not fetched)" : ""}`),
    policies,
    failClosed: sec.failClosed,
    extAuthz,
    allow: out.allow,
    status: out.allow ? 0 : out.status,
    body: out.allow ? "" : out.body,
    reason: out.reason,
    authn: out.allow && (out.claims !== null || out.authnSet.length > 0 || out.authnRemove.length > 0) ? { set: out.authnSet, remove: out.authnRemove, claims: out.claims } : null,
  };
}

async function claimsOf(sec: SecurityConfig, req: SecurityRequest, nowS: number): Promise<Record<string, unknown> | null> {
  const a = await authenticate(sec.providers, req, nowS);
  return a.kind === "ok" ? normalizedClaims(a.jwt.payload, a.provider.spaceDelimitedClaims ?? DEFAULT_SPACE_DELIMITED_CLAIMS) : null;
}

export function formatSecurity(e: SecurityExplain): string[] {
  const lines: string[] = [];
  for (const p of e.jwtProviders) lines.push(`jwt provider:  ${p}`);
  for (const f of e.failClosed) lines.push(`fail closed:   ${f}`);
  for (const p of e.policies) lines.push(`  policy ${p.name} ${p.action}${p.dryRun ? " (dry-run)" : ""}: ${p.rule >= 0 ? "MATCH" : "no"} — ${p.why}`);
  if (e.extAuthz !== "") lines.push(`ext_authz:     provider ${e.extAuthz} would be asked (not called by explain)`);
  lines.push(`security:      ${e.allow ? "allowed" : `denied ${e.status} ${JSON.stringify(e.body)}`}: ${e.reason}`);
  return lines;
}

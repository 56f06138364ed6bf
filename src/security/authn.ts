// RequestAuthentication as Istio configures Envoy's jwt_authn for a workload:
// a token present must be valid, a request without one passes (allow_missing;
// an AuthorizationPolicy decides what a missing principal means). Istio's
// requirement is, for one rule, `any(P, allow_missing)`; for several,
// `any(P1, ..., Pn, all(any(P1, allow_missing), ..., any(Pn, allow_missing)))`.
// Envoy verifies every token a provider's locations hold and fails on the
// first bad one ("all of them must be valid", so a bad token cannot ride along
// beside a good one to an upstream that reads the wrong one). Hence: a
// request passes when one provider finds tokens and all of them are valid, or
// when no provider finds any token. Else 401 with Envoy's status string (403
// for audiences). Async (signature checks); no sockets.
import { providerTokens, type FoundToken, type HeaderSource } from "./jwt-extract.ts";
import { JwtStatus, parseJwt, verifyJwt, type ParsedJwt } from "./jwt-verify.ts";
import type { JwtProvider } from "./types.ts";

export type AuthnResult =
  | { kind: "none" }
  /** `headers`, `params`: where the provider's tokens came from (all verified; removed unless forwardOriginalToken). */
  | { kind: "ok"; provider: JwtProvider; jwt: ParsedJwt; headers: string[]; params: string[] }
  | { kind: "fail"; status: number; body: string; provider: JwtProvider | null };

export const NO_TOKEN: AuthnResult = { kind: "none" };

const BAD_HEADER_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

type TokenCheck = { status: string; jwt: ParsedJwt | null };

/** One token against one provider: "" when valid, else Envoy's status (parse, issuer, time, audience, signature). */
async function tokenStatus(p: JwtProvider, f: FoundToken, nowS: number): Promise<TokenCheck> {
  const jwt = parseJwt(f.token);
  if (typeof jwt === "string") return { status: jwt, jwt: null };
  // the token belongs to another provider reading the same location, or to none
  if (p.issuer !== "" && jwt.payload.iss !== p.issuer) return { status: JwtStatus.UnknownIssuer, jwt };
  return { status: await verifyJwt(p, jwt, nowS), jwt };
}

type ProviderOutcome = { status: string; ok: { jwt: ParsedJwt; headers: string[]; params: string[] } | null };

/**
 * Envoy's authenticator for one provider: Missing without tokens; else the
 * tokens are verified from the last found to the first, the first failure is
 * the provider's status, and all valid is OK (the first token found is the
 * one the claims come from, verified last, as Envoy's metadata ends up).
 */
async function providerOutcome(p: JwtProvider, tokens: FoundToken[], nowS: number, seen: Map<string, TokenCheck>): Promise<ProviderOutcome> {
  if (tokens.length === 0) return { status: JwtStatus.Missing, ok: null };
  for (let i = tokens.length - 1; i >= 0; i--) {
    const f = tokens[i]!;
    const key = `${f.provider}\u0000${f.token}`;
    let r = seen.get(key);
    if (r === undefined) {
      r = await tokenStatus(p, f, nowS);
      seen.set(key, r);
    }
    if (r.status !== "") return { status: r.status, ok: null };
  }
  const f = tokens[0]!;
  const headers = [...new Set(tokens.map((t) => t.header).filter((h) => h !== ""))];
  const params = [...new Set(tokens.map((t) => t.param).filter((h) => h !== ""))];
  return { status: "", ok: { jwt: seen.get(`${f.provider}\u0000${f.token}`)!.jwt!, headers, params } };
}

/** Envoy's requires_any aggregation of failed children: the last error that is not Missing/UnknownIssuer, else UnknownIssuer, else Missing. */
function aggregate(statuses: string[]): string {
  let out: string = JwtStatus.Missing;
  for (const s of statuses) if ((s !== JwtStatus.Missing && s !== JwtStatus.UnknownIssuer) || out === JwtStatus.Missing) out = s;
  return out;
}

/** Verify the tokens every provider finds, as Istio's jwt_authn requirement decides. */
export async function authenticate(providers: JwtProvider[], req: HeaderSource, nowS: number): Promise<AuthnResult> {
  if (providers.length === 0) return NO_TOKEN;
  const perProvider = providers.map((p, i) => providerTokens(p, i, req));
  if (perProvider.every((t) => t.length === 0)) return NO_TOKEN;
  const seen = new Map<string, TokenCheck>();
  const statuses: string[] = [];
  for (let i = 0; i < providers.length; i++) {
    const o = await providerOutcome(providers[i]!, perProvider[i]!, nowS, seen);
    if (o.ok !== null) return { kind: "ok", provider: providers[i]!, jwt: o.ok.jwt, headers: o.ok.headers, params: o.ok.params };
    statuses.push(o.status);
  }
  // every provider failed or found nothing, and some token was found: denied.
  // all(any(Pi, allow_missing)) fails with the first status that is not Missing.
  const firstFound = statuses.find((s) => s !== JwtStatus.Missing)!;
  const status = providers.length === 1 ? statuses[0]! : aggregate([...statuses, firstFound]);
  const at = statuses.indexOf(status);
  return { kind: "fail", status: status === JwtStatus.AudienceNotAllowed ? 403 : 401, body: status, provider: at >= 0 ? providers[at]! : null };
}

/** `Bearer realm="<scheme>://<host><path>"`, with `error="invalid_token"` for a token that failed, as Envoy answers. */
export function wwwAuthenticate(scheme: string, authority: string, path: string, missing: boolean): string {
  const v = `Bearer realm="${scheme}://${authority}${path}"`;
  return missing ? v : v + ', error="invalid_token"';
}

/**
 * A number claim as Envoy writes it into a header: an integer in [0, 2^64) in
 * digits (no exponent), anything else as C's `%f` (six decimals: `1.500000`, `-5.000000`).
 */
export function claimNumberText(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v >= 0 && v < 2 ** 64 && Number.isInteger(v)) return BigInt(v).toString();
  return v.toFixed(6);
}

/** A claim by `a.b` path (Istio's nested claims in outputClaimToHeaders), as header text; undefined when absent or not a scalar. */
export function claimText(payload: Record<string, unknown>, path: string[]): string | undefined {
  let v: unknown = payload;
  for (const k of path) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === "string") return v === "" ? undefined : v; // Envoy adds no header for an empty value
  if (typeof v === "number") return claimNumberText(v);
  if (typeof v === "boolean") return String(v);
  return undefined;
}

/**
 * Header changes for the upstream after authentication: the verified token's
 * header removed (unless forwardOriginalToken), outputPayloadToHeader (the
 * payload, base64url) and outputClaimToHeaders set. Headers a client sent under
 * those names are removed in any case, so a client cannot pose as a verified claim.
 */
/** The query parameters a verified token came from, to drop before forwarding (none with forwardOriginalToken). */
export function authnParamsToRemove(r: AuthnResult): string[] {
  return r.kind === "ok" && !r.provider.forwardOriginalToken ? r.params : [];
}

export function authnHeaderOps(providers: JwtProvider[], r: AuthnResult): { set: [string, string][]; remove: string[] } {
  const set: [string, string][] = [];
  const remove: string[] = [];
  for (const p of providers) {
    if (p.outputPayloadToHeader !== "") remove.push(p.outputPayloadToHeader);
    for (const c of p.outputClaimToHeaders) remove.push(c.header);
  }
  if (r.kind !== "ok") return { set, remove };
  const p = r.provider;
  if (!p.forwardOriginalToken) for (const h of r.headers) remove.push(h);
  if (p.outputPayloadToHeader !== "") set.push([p.outputPayloadToHeader, r.jwt.payloadB64]);
  for (const c of p.outputClaimToHeaders) {
    const v = claimText(r.jwt.payload, c.claim.split("."));
    // a claim that is not a valid header value (CR, LF, other controls) is not sent: no header injection
    if (v !== undefined && !BAD_HEADER_VALUE.test(v)) set.push([c.header, v]);
  }
  return { set, remove };
}

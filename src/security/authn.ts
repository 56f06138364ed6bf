// RequestAuthentication as Istio configures Envoy's jwt_authn for a workload:
// every provider may take the request (requires_any) and a request without a
// token passes (allow_missing) — an AuthorizationPolicy decides what a missing
// principal means. A token present but invalid is refused: 401 with Envoy's
// status string (403 for audiences). Async (signature checks); no sockets.
import { extractTokens, type HeaderSource } from "./jwt-extract.ts";
import { JwtStatus, parseJwt, verifyJwt, type ParsedJwt } from "./jwt-verify.ts";
import type { JwtProvider } from "./types.ts";

export type AuthnResult =
  | { kind: "none" }
  | { kind: "ok"; provider: JwtProvider; jwt: ParsedJwt; header: string }
  | { kind: "fail"; status: number; body: string; provider: JwtProvider | null };

export const NO_TOKEN: AuthnResult = { kind: "none" };

const BAD_HEADER_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Verify the tokens the providers find; the first valid one wins. */
export async function authenticate(providers: JwtProvider[], req: HeaderSource, nowS: number): Promise<AuthnResult> {
  if (providers.length === 0) return NO_TOKEN;
  const found = extractTokens(providers, req);
  if (found.length === 0) return NO_TOKEN;
  let failure: AuthnResult | null = null;
  const done = new Set<string>();
  for (const f of found) {
    const p = providers[f.provider]!;
    const key = `${f.provider}\u0000${f.token}`;
    if (done.has(key)) continue;
    done.add(key);
    const jwt = parseJwt(f.token);
    let status: string;
    if (typeof jwt === "string") status = jwt;
    else if (jwt.payload.iss !== p.issuer && p.issuer !== "") {
      // the token belongs to another provider reading the same location, or to none
      status = JwtStatus.UnknownIssuer;
    } else {
      status = await verifyJwt(p, jwt, nowS);
      if (status === "") return { kind: "ok", provider: p, jwt, header: f.header };
    }
    // keep the most telling error: one from the token's own issuer beats "issuer is not configured"
    if (failure === null || (failure.kind === "fail" && failure.body === JwtStatus.UnknownIssuer && status !== JwtStatus.UnknownIssuer)) {
      failure = { kind: "fail", status: status === JwtStatus.AudienceNotAllowed ? 403 : 401, body: status, provider: p };
    }
  }
  return failure ?? NO_TOKEN;
}

/** `Bearer realm="<scheme>://<host><path>"`, with `error="invalid_token"` for a token that failed, as Envoy answers. */
export function wwwAuthenticate(scheme: string, authority: string, path: string, missing: boolean): string {
  const v = `Bearer realm="${scheme}://${authority}${path}"`;
  return missing ? v : v + ', error="invalid_token"';
}

/** A claim by `a.b` path (Istio's nested claims in outputClaimToHeaders), as header text; undefined when absent or not a scalar. */
export function claimText(payload: Record<string, unknown>, path: string[]): string | undefined {
  let v: unknown = payload;
  for (const k of path) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

/**
 * Header changes for the upstream after authentication: the verified token's
 * header removed (unless forwardOriginalToken), outputPayloadToHeader (the
 * payload, base64url) and outputClaimToHeaders set. Headers a client sent under
 * those names are removed in any case, so a client cannot pose as a verified claim.
 */
export function authnHeaderOps(providers: JwtProvider[], r: AuthnResult): { set: [string, string][]; remove: string[] } {
  const set: [string, string][] = [];
  const remove: string[] = [];
  for (const p of providers) {
    if (p.outputPayloadToHeader !== "") remove.push(p.outputPayloadToHeader);
    for (const c of p.outputClaimToHeaders) remove.push(c.header);
  }
  if (r.kind !== "ok") return { set, remove };
  const p = r.provider;
  if (!p.forwardOriginalToken && r.header !== "") remove.push(r.header);
  if (p.outputPayloadToHeader !== "") set.push([p.outputPayloadToHeader, r.jwt.payloadB64]);
  for (const c of p.outputClaimToHeaders) {
    const v = claimText(r.jwt.payload, c.claim.split("."));
    // a claim that is not a valid header value (CR, LF, other controls) is not sent: no header injection
    if (v !== undefined && !BAD_HEADER_VALUE.test(v)) set.push([c.header, v]);
  }
  return { set, remove };
}

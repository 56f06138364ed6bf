// Where a JWT is read from, as Envoy's jwt_authn extractor does it: each
// provider's `fromHeaders` (value after the prefix), `fromParams` (query
// parameters), `fromCookies`; a provider without locations reads
// `Authorization: Bearer <token>` and the `access_token` parameter. Pure.
import type { JwtProvider } from "./types.ts";

export interface HeaderSource {
  /** First value of a lower-case header name, or undefined. */
  header(name: string): string | undefined;
  /** Query string without `?` ("" when none). */
  query: string;
}

/** A token found, with where: the header it came from is removed unless forwardOriginalToken. */
export interface FoundToken {
  token: string;
  /** Lower-case header name, or "" (query parameter or cookie). */
  header: string;
  /** Index in the providers list that reads this location. */
  provider: number;
}

const DEFAULT_HEADER = "authorization";
const DEFAULT_PREFIX = "Bearer ";
const DEFAULT_PARAM = "access_token";

/** Characters a JWT can hold (base64url and the dots); a token ends at the first other one. */
function tokenEnd(s: string, from: number): number {
  let i = from;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95 || c === 46 || c === 61;
    if (!ok) break;
    i++;
  }
  return i;
}

/** The token in a header value after `prefix` (Envoy looks for the prefix anywhere in the value), or "". */
export function tokenFromHeader(value: string, prefix: string): string {
  if (prefix === "") return value.trim();
  const at = value.indexOf(prefix);
  if (at < 0) return "";
  const start = at + prefix.length;
  return value.slice(start, tokenEnd(value, start));
}

export function queryParam(query: string, name: string): string | undefined {
  if (query === "") return undefined;
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k !== name) continue;
    const v = eq < 0 ? "" : part.slice(eq + 1);
    try {
      return decodeURIComponent(v.replace(/\+/g, " "));
    } catch {
      return v;
    }
  }
  return undefined;
}

export function cookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return undefined;
}

/** Every token the providers' locations hold, in provider order (the same token once per provider). */
export function extractTokens(providers: JwtProvider[], req: HeaderSource): FoundToken[] {
  const out: FoundToken[] = [];
  for (let i = 0; i < providers.length; i++) {
    const p = providers[i]!;
    const none = p.fromHeaders.length === 0 && p.fromParams.length === 0 && p.fromCookies.length === 0;
    const headers = none ? [{ name: DEFAULT_HEADER, prefix: DEFAULT_PREFIX }] : p.fromHeaders;
    const params = none ? [DEFAULT_PARAM] : p.fromParams;
    for (const h of headers) {
      const v = req.header(h.name);
      if (v === undefined) continue;
      const t = tokenFromHeader(v, h.prefix);
      if (t !== "") out.push({ token: t, header: h.name, provider: i });
    }
    for (const name of params) {
      const v = queryParam(req.query, name);
      if (v !== undefined && v !== "") out.push({ token: v, header: "", provider: i });
    }
    if (p.fromCookies.length > 0) {
      const c = req.header("cookie");
      for (const name of p.fromCookies) {
        const v = cookie(c, name);
        if (v !== undefined && v !== "") out.push({ token: v, header: "", provider: i });
      }
    }
  }
  return out;
}

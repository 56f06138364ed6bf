// Where a JWT is read from, as Envoy's jwt_authn extractor does it: each
// provider's `fromHeaders` (every value of the header, the token after the
// prefix), `fromParams` (the first value of the query parameter), `fromCookies`;
// a provider without locations reads `Authorization: Bearer <token>` and the
// `access_token` parameter. Every token found is returned: Envoy verifies them
// all (authn.ts), so a bad token cannot ride along beside a good one. Pure.
import type { JwtProvider } from "./types.ts";

export interface HeaderSource {
  /** Value of a lower-case header name (repeated ones joined with ","), or undefined. */
  header(name: string): string | undefined;
  /** Every value of a lower-case header name, one per field line; absent: `[header(name)]`. */
  headerValues?(name: string): string[];
  /** Query string without `?` ("" when none). */
  query: string;
}

/** A token found, with where: the header it came from is removed unless forwardOriginalToken. */
export interface FoundToken {
  token: string;
  /** Lower-case header name, or "" (query parameter or cookie). */
  header: string;
  /** Query parameter name, or "" (header or cookie). */
  param: string;
  /** Index in the providers list that reads this location. */
  provider: number;
}

const DEFAULT_HEADER = "authorization";
const DEFAULT_PREFIX = "Bearer ";
const DEFAULT_PARAM = "access_token";

/** Base64url characters and the dot: what Envoy's extractor takes as a token (no `=`, no space). */
function isTokenChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95 || c === 46;
}

/**
 * The token in a header value, as Envoy's extractJWT finds it: undefined when
 * the prefix is not in the value (Envoy looks for it anywhere); else the first
 * run of token characters after the prefix, skipping what comes before it
 * (`Bearer  t`, `Bearer "t"`). No token character at all: the whole value,
 * which then fails to parse (401), as Envoy hands it on. Without a prefix the
 * value is the token as it is.
 */
export function tokenFromHeader(value: string, prefix: string): string | undefined {
  if (prefix === "") return value;
  const at = value.indexOf(prefix);
  if (at < 0) return undefined;
  let start = at + prefix.length;
  while (start < value.length && !isTokenChar(value.charCodeAt(start))) start++;
  if (start === value.length) return value;
  let end = start;
  while (end < value.length && isTokenChar(value.charCodeAt(end))) end++;
  return value.slice(start, end);
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

/**
 * `target` (path and query) without the parameters named `names`, every
 * occurrence (Envoy removes a verified token's parameter unless
 * forwardOriginalToken); the other parameters stay as sent.
 */
export function withoutParams(target: string, names: readonly string[]): string {
  const q = target.indexOf("?");
  if (q < 0 || names.length === 0) return target;
  const kept = target
    .slice(q + 1)
    .split("&")
    .filter((part) => {
      const eq = part.indexOf("=");
      return !names.includes(eq < 0 ? part : part.slice(0, eq));
    });
  return kept.length === 0 ? target.slice(0, q) : target.slice(0, q + 1) + kept.join("&");
}

/** The first cookie `name` in one Cookie header value (quotes around the value dropped), or undefined. */
export function cookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return undefined;
}

function valuesOf(req: HeaderSource, name: string): string[] {
  if (req.headerValues !== undefined) return req.headerValues(name);
  const v = req.header(name);
  return v === undefined ? [] : [v];
}

/** The tokens one provider's locations hold, in Envoy's order: headers, then parameters, then cookies. */
export function providerTokens(p: JwtProvider, index: number, req: HeaderSource): FoundToken[] {
  const out: FoundToken[] = [];
  const none = p.fromHeaders.length === 0 && p.fromParams.length === 0 && p.fromCookies.length === 0;
  const headers = none ? [{ name: DEFAULT_HEADER, prefix: DEFAULT_PREFIX }] : p.fromHeaders;
  const params = none ? [DEFAULT_PARAM] : p.fromParams;
  for (const h of headers) {
    for (const v of valuesOf(req, h.name)) {
      const t = tokenFromHeader(v, h.prefix);
      if (t !== undefined) out.push({ token: t, header: h.name, param: "", provider: index });
    }
  }
  for (const name of params) {
    const v = queryParam(req.query, name);
    if (v !== undefined) out.push({ token: v, header: "", param: name, provider: index });
  }
  if (p.fromCookies.length > 0) {
    const lines = valuesOf(req, "cookie");
    for (const name of p.fromCookies) {
      for (const line of lines) {
        const v = cookie(line, name);
        if (v === undefined) continue;
        out.push({ token: v, header: "", param: "", provider: index });
        break;
      }
    }
  }
  return out;
}

/** Every token the providers' locations hold, in provider order. */
export function extractTokens(providers: JwtProvider[], req: HeaderSource): FoundToken[] {
  const out: FoundToken[] = [];
  for (let i = 0; i < providers.length; i++) out.push(...providerTokens(providers[i]!, i, req));
  return out;
}

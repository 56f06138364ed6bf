// The conditions of a route's `match[]` entries against a request: uri,
// method, scheme, authority, headers (withoutHeaders), query parameters, port.
// Shared by every route layout (layouts.ts) and by trace/explain.
import type { HeaderMatch, Route, RouteMatch, StringMatch } from "../snapshot/types.ts";
import { withoutHostDot } from "./authority.ts";

/** What a route match needs to know of a request. */
export interface RequestView {
  /** Gateway server port the request arrived on (the Gateway's number, not the local one). */
  port: number;
  /** Lower-case host without port. */
  host: string;
  /**
   * The Host header (or :authority) as sent, port and case kept; an `authority` match compares it
   * without the trailing dot of its host (withoutHostDot), as routing takes the host.
   */
  authority: string;
  /** Path without the query string, as received. */
  path: string;
  /** Query string without the `?`, or "". */
  query: string;
  method: string;
  scheme: string;
  /** Header value by lower-case name, repeated headers joined with "," (as Envoy matches them), or undefined. */
  header(name: string): string | undefined;
  /**
   * The payload of the JWT RequestAuthentication verified, once it did (the
   * gateway then routes again, as Envoy's jwt_authn clears the route cache at
   * gateways); absent or null before, or without a token.
   */
  claims?: Record<string, unknown> | null;
}

export function matchString(m: StringMatch, value: string): boolean {
  switch (m.kind) {
    case "exact":
      return value === m.value;
    case "prefix":
      return value.startsWith(m.value);
    case "regex":
      return m.regex.test(value);
  }
}

/**
 * The uri condition of a match. With `ignoreUriCase` compile stores exact and
 * prefix values lower-cased, so only the path is lower-cased here (regexes are
 * case-sensitive, as in Envoy).
 */
export function matchUri(m: RouteMatch, path: string): boolean {
  const u = m.uri;
  if (u === null) return true;
  if (!m.ignoreUriCase || u.kind === "regex") return matchString(u, path);
  return matchString(u, path.toLowerCase());
}

/** Value of query parameter `name` (raw, not decoded), "" if present without `=`, else undefined. */
export function queryParam(query: string, name: string): string | undefined {
  if (query.length === 0) return undefined;
  let start = 0;
  while (start <= query.length) {
    let amp = query.indexOf("&", start);
    if (amp < 0) amp = query.length;
    const eq = query.indexOf("=", start);
    const keyEnd = eq >= 0 && eq < amp ? eq : amp;
    if (keyEnd - start === name.length && query.startsWith(name, start)) {
      return keyEnd === amp ? "" : query.slice(keyEnd + 1, amp);
    }
    start = amp + 1;
  }
  return undefined;
}

/**
 * A request header by lower-case name; the pseudo-headers Istio matches on are
 * answered from the request line (`:authority` as sent, port and case kept, without the
 * trailing dot of its host: the virtual host was chosen without it).
 */
export function requestHeader(req: RequestView, name: string): string | undefined {
  if (name.charCodeAt(0) !== 58 /* : */) return req.header(name);
  switch (name) {
    case ":authority":
      return withoutHostDot(req.authority);
    case ":method":
      return req.method;
    case ":scheme":
      return req.scheme;
    case ":path":
      return req.query.length === 0 ? req.path : req.path + "?" + req.query;
  }
  return req.header(name);
}

/**
 * A `@request.auth.claims…` match (Istio's metadata matcher on the jwt_authn
 * payload): the claim at `h.claim` is a string that matches, or a list with
 * one string element that matches; presence (`{}`, regex `*`): the claim
 * exists. No verified token: no claim.
 */
export function claimMatches(h: HeaderMatch, claims: Record<string, unknown> | null | undefined): boolean {
  let v: unknown = claims;
  for (const k of h.claim!) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
    v = (v as Record<string, unknown>)[k];
  }
  if (v === undefined || v === null || claims === null || claims === undefined) return false;
  if (h.match === null) return true;
  if (typeof v === "string") return matchString(h.match, v);
  if (!Array.isArray(v)) return false;
  for (const e of v) if (typeof e === "string" && matchString(h.match, e)) return true;
  return false;
}

function headerMatches(h: HeaderMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  return h.match === null || matchString(h.match, value);
}

/** withoutHeaders: inverted; a missing header reads as "" for value matchers (Envoy's treat_missing_header_as_empty). */
function headerExcludes(h: HeaderMatch, value: string | undefined): boolean {
  if (h.match === null) return value !== undefined;
  return matchString(h.match, value === undefined ? "" : value);
}

/** Does one `match[]` entry accept the request? Fields inside are AND'd. */
export function matchOne(m: RouteMatch, req: RequestView): boolean {
  return matchUri(m, req.path) && matchRest(m, req);
}

/** Every condition of a match but its uri. */
export function matchRest(m: RouteMatch, req: RequestView): boolean {
  if (m.port !== 0 && m.port !== req.port) return false;
  if (m.method !== null && !matchString(m.method, req.method)) return false;
  if (m.scheme !== null && !matchString(m.scheme, req.scheme)) return false;
  if (m.authority !== null && !matchString(m.authority, withoutHostDot(req.authority))) return false;
  const hs = m.headers;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    if (h.claim !== undefined ? !claimMatches(h, req.claims) : !headerMatches(h, requestHeader(req, h.name))) return false;
  }
  const without = m.withoutHeaders;
  for (let i = 0; i < without.length; i++) {
    const h = without[i]!;
    // a claim's withoutHeaders is the inverted metadata matcher (a missing claim is no match, so it passes)
    if (h.claim !== undefined ? claimMatches(h, req.claims) : headerExcludes(h, requestHeader(req, h.name))) return false;
  }
  const qs = m.queryParams;
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i]!;
    if (!headerMatches(q, queryParam(req.query, q.name))) return false;
  }
  return true;
}

/** Does the route accept the request? Its `match[]` entries are OR'd; none means all. */
export function routeMatches(route: Route, req: RequestView): boolean {
  const ms = route.matches;
  if (ms.length === 0) return true;
  for (let i = 0; i < ms.length; i++) if (matchOne(ms[i]!, req)) return true;
  return false;
}


// Match conditions: model StringMatchSpec → snapshot StringMatch (regexes
// compiled once, here, by the RE2 engine), HTTPMatchRequest → RouteMatch.
import { compileRe2, type CompiledRegex } from "../decode/regex.ts";
import type { HTTPMatchRequest, KeyedMatchSpec, StringMatchSpec } from "../model/istio.ts";
import type { HeaderMatch, Route, RouteMatch, StringMatch } from "../snapshot/types.ts";

function sharedRegex(source: string): CompiledRegex {
  // one compiled regex per distinct pattern (compileRe2 caches), shared by every route using it
  const c = compileRe2(source);
  // Decode has checked the regex; a failure here would be a bug.
  if (!c.ok) throw new Error(`regex ${JSON.stringify(source)} passed decode but does not compile: ${c.error}`);
  return c.regex;
}

export function compileStringMatch(m: StringMatchSpec, lower = false): StringMatch {
  if (m.kind === "regex") return { kind: "regex", source: m.value, regex: sharedRegex(m.value) };
  return { kind: m.kind, value: lower ? m.value.toLowerCase() : m.value };
}

function keyed(list: KeyedMatchSpec[]): HeaderMatch[] {
  return list.map((h) => {
    const match = h.match === null ? null : compileStringMatch(h.match);
    return h.claim === undefined ? { name: h.name, match } : { name: h.name, match, claim: h.claim };
  });
}

export function compileMatch(m: HTTPMatchRequest, port: number): RouteMatch {
  return {
    name: m.name,
    // ignoreUriCase: exact/prefix stored lower-cased; lookup lower-cases the path.
    uri: m.uri === null ? null : compileStringMatch(m.uri, m.ignoreUriCase),
    ignoreUriCase: m.ignoreUriCase,
    scheme: m.scheme === null ? null : compileStringMatch(m.scheme),
    method: m.method === null ? null : compileStringMatch(m.method),
    // lookup compares the authority as sent (port and case kept), as Envoy's :authority header match
    authority: m.authority === null ? null : compileStringMatch(m.authority),
    headers: keyed(m.headers),
    withoutHeaders: keyed(m.withoutHeaders),
    queryParams: keyed(m.queryParams),
    port: m.port === 0 ? 0 : port,
  };
}

/** A match that accepts every request: none, or only uri prefix `/` / regex `.*`. */
export function isCatchAllMatch(m: RouteMatch): boolean {
  if (m.headers.length > 0 || m.withoutHeaders.length > 0 || m.queryParams.length > 0) return false;
  if (m.method !== null || m.scheme !== null || m.authority !== null) return false;
  const u = m.uri;
  if (u === null) return true;
  if (u.kind === "prefix") return u.value === "/";
  if (u.kind === "regex") return u.source === ".*";
  return false;
}

/** Istio's IsCatchAllRoute for our one-match-per-route shape. */
export function isCatchAllRoute(r: Route): boolean {
  if (r.matches.length === 0) return true;
  return r.matches.length === 1 && isCatchAllMatch(r.matches[0]!);
}

/**
 * Istio's SortVHostRoutes: catch-all routes move to the end of a virtual host
 * (stable), so merging VirtualServices for one host does not hide later routes.
 * `routes` itself when no catch-all route comes before another route (the
 * usual case: one VirtualService ending in its catch-all); else a new array.
 */
export function sortCatchAllLast(routes: Route[]): Route[] {
  let catchAllSeen = false;
  let moves = false;
  for (const r of routes) {
    if (isCatchAllRoute(r)) catchAllSeen = true;
    else if (catchAllSeen) {
      moves = true;
      break;
    }
  }
  if (!moves) return routes;
  const rest: Route[] = [];
  const catchAll: Route[] = [];
  for (const r of routes) (isCatchAllRoute(r) ? catchAll : rest).push(r);
  return catchAll.length === 0 ? routes : rest.concat(catchAll);
}

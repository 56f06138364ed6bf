// What a route's action does to the request: the rewritten path and a
// redirect's Location. Pure; dispatch.ts calls them when it decides.
import type { Route, RouteAction } from "../snapshot/types.ts";
import { matchOne } from "../route/lookup.ts";
import type { DispatchRequest } from "./decision.ts";

/** Replace the matched prefix (or, for exact/regex matches, the whole path) with `to`. */
export function rewritePath(route: Route, h: DispatchRequest, to: string): string {
  const ms = route.matches;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i]!;
    if (!matchOne(m, h)) continue;
    if (m.uri === null) break;
    if (m.uri.kind === "prefix") return to + h.path.slice(m.uri.value.length);
    return to;
  }
  // no uri match: Istio's route matches prefix "/"
  return to + h.path.slice(1);
}

/** Location of a redirect: scheme, authority and port replaced as configured; the query kept unless the new uri has one. */
export function redirectLocation(h: DispatchRequest, a: Extract<RouteAction, { kind: "redirect" }>): string {
  const scheme = a.scheme ?? h.scheme;
  const orig = h.authority;
  const colon = orig.startsWith("[") ? orig.indexOf(":", orig.indexOf("]")) : orig.lastIndexOf(":");
  const origHost = colon >= 0 ? orig.slice(0, colon) : orig;
  const origPort = colon >= 0 ? orig.slice(colon) : "";
  let authority = a.authority ?? origHost;
  const hasPort = authority.startsWith("[") ? authority.indexOf(":", authority.indexOf("]")) >= 0 : authority.includes(":");
  if (a.port > 0) authority = (hasPort ? authority.slice(0, authority.lastIndexOf(":")) : authority) + ":" + a.port;
  else if (a.port === 0 && !hasPort && (a.scheme === null || a.scheme === h.scheme)) authority += origPort;
  let path = a.uri ?? h.path;
  if (a.stripPrefix !== undefined && a.stripPrefix > 0) path = a.uri + h.path.slice(a.stripPrefix);
  if (a.uri === null || !a.uri.includes("?")) if (h.query !== "") path += "?" + h.query;
  return scheme + "://" + authority + path;
}

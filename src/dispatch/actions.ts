// What a route's action does to the request: the rewritten path, the prefix a
// redirect's prefixRewrite replaces (the Location itself: src/traffic/redirect.ts).
// Pure; dispatch.ts calls them when it decides.
import type { Route } from "../snapshot/types.ts";
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

/**
 * The uri prefix of the route's match that accepts the request (a redirect's
 * prefixRewrite replaces it), or null when that match has no uri (`/`).
 */
export function matchedPrefix(route: Route, h: DispatchRequest): string | null {
  const ms = route.matches;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i]!;
    if (!matchOne(m, h)) continue;
    return m.uri !== null && m.uri.kind === "prefix" ? m.uri.value : null;
  }
  return null;
}

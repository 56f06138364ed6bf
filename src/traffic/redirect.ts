// The Location of a VirtualService redirect, as Envoy's Http::Utility::newUri
// builds it from Istio's RedirectAction:
// - scheme: the redirect's, else the request's;
// - host: the redirect's authority as written (the request's port is not
//   carried over), else the request's Host, whose port is dropped when a port
//   is given, or when the scheme changes and the port is the old scheme's
//   default (`http://a:80` → `https://a`); any other port is kept
//   (`http://a:8080` → `https://a:8080`);
// - port: the redirect's port (Istio leaves out 80 for http and 443 for https;
//   -1, set for Gateway API routes: none, not even the request's);
// - path: `uri` replaces the path (the query kept unless `uri` has one);
//   `prefixRewrite` replaces the matched prefix of path and query.
import type { RouteAction } from "../snapshot/types.ts";

export type RedirectAction = Extract<RouteAction, { kind: "redirect" }>;

export interface RedirectRequest {
  /** http or https: the connection's scheme (Envoy's x-forwarded-proto at the edge). */
  scheme: string;
  /** Host / :authority as sent. */
  authority: string;
  /** Path without the query. */
  path: string;
  /** Query without `?`, or "". */
  query: string;
}

/** Where the port of an authority starts (`:` index), or -1. */
function portAt(authority: string): number {
  if (authority.startsWith("[")) {
    const i = authority.lastIndexOf("]:");
    return i < 0 ? -1 : i + 1;
  }
  return authority.lastIndexOf(":");
}

function requestHost(req: RedirectRequest, newScheme: string, newPort: string): string {
  const at = portAt(req.authority);
  if (at < 0) return req.authority;
  const port = req.authority.slice(at);
  let remove = newPort !== "";
  if (newScheme !== req.scheme) remove ||= (req.scheme === "https" && port === ":443") || (req.scheme === "http" && port === ":80");
  return remove ? req.authority.slice(0, at) : req.authority;
}

/**
 * `matchedPrefix`: the prefix of the route's uri match that accepted the
 * request (for prefixRewrite; Istio allows it only with prefix matches), or
 * null when the route had no uri match (then `/` is the prefix).
 */
export function redirectLocation(a: RedirectAction, req: RedirectRequest, matchedPrefix: string | null): string {
  const scheme = a.scheme ?? req.scheme;
  const port = a.port > 0 ? `:${a.port}` : "";
  let host = a.authority ?? requestHost(req, scheme, port);
  // port -1 (Gateway API routes): the Location carries no port at all
  if (a.port < 0 && a.authority === null && portAt(host) >= 0) host = host.slice(0, portAt(host));
  // an authority written with a port and a port given: the port given (Envoy would write both)
  if (a.authority !== null && port !== "" && portAt(host) >= 0) host = host.slice(0, portAt(host));
  let path: string;
  const full = req.query === "" ? req.path : `${req.path}?${req.query}`;
  if (a.prefixRewrite) {
    const prefix = matchedPrefix ?? "/";
    path = full.startsWith(prefix) ? a.prefixRewrite + full.slice(prefix.length) : full;
  } else if (a.uri !== null) {
    path = a.uri.includes("?") || req.query === "" ? a.uri : `${a.uri}?${req.query}`;
  } else path = full;
  return `${scheme}://${host}${port}${path}`;
}

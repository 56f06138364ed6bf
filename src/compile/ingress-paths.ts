// Ingress paths and hosts → VirtualService match entries.
//
// Paths (the Kubernetes Ingress specification, and Istio for the rest):
// - Exact: the path, case-sensitive, trailing slash significant;
// - Prefix: whole path elements (`/foo` and `/foo/` match `/foo`, `/foo/` and
//   `/foo/bar`, not `/foobar`), written as exact `/foo` + prefix `/foo/`, which
//   is what Istio's ingress route semantics make of it (Envoy's path-separated prefix);
// - ImplementationSpecific (and v1beta1 without pathType): Istio's fallback:
//   ``, `*`, `/*`, `.*` → every path; `P/*` or `P.*` → prefix P (whole
//   elements, as above); anything else → exact.
// Per host, routes go longest path first, Exact before Prefix at equal length
// (stable, so equal paths keep creation order). A Prefix path's trailing slash
// does not count (istiod sorts by the written length, so its Prefix `/foo/` goes
// before Exact `/foo` and takes `/foo`; Kubernetes ignores the slash and prefers
// Exact at equal length).
//
// Hosts: `*.foo.com` in an Ingress covers exactly one DNS label (`bar.foo.com`,
// not `baz.bar.foo.com` nor `foo.com`), as the Kubernetes specification says;
// a Gateway's `*.foo.com` (and Istio's conversion) covers any number. The
// derived routes of such a host carry an authority match `[^.]+\.foo\.com`, so
// the virtual host keeps the Gateway semantics for VirtualServices sharing it.
import type { HTTPMatchRequest, HTTPRoute, StringMatchSpec } from "../model/istio.ts";
import type { IngressPath } from "../model/kube.ts";

export type PathUri = { kind: "exact" | "prefix"; value: string } | null;

function trimSlashes(s: string): string {
  let end = s.length;
  while (end > 1 && s.charCodeAt(end - 1) === 47 /* / */) end--;
  return s.slice(0, end);
}

/** An Ingress path → its uri condition (null: every path). Prefixes come without trailing slash (`/` stays). */
export function pathUri(p: IngressPath): PathUri {
  const s = p.path;
  if (p.pathType === "Exact") return { kind: "exact", value: s };
  if (p.pathType === "Prefix") return { kind: "prefix", value: trimSlashes(s) || "/" };
  if (s === "" || s === "*" || s === "/*" || s === ".*") return null;
  if (s.endsWith(".*") || s.endsWith("/*")) return { kind: "prefix", value: trimSlashes(s.slice(0, -2)) || "/" };
  return { kind: "exact", value: s };
}

export function matchRequest(uri: StringMatchSpec | null, authority: StringMatchSpec | null): HTTPMatchRequest {
  return {
    name: "",
    uri,
    scheme: null,
    method: null,
    authority,
    headers: [],
    withoutHeaders: [],
    queryParams: [],
    ignoreUriCase: false,
    port: 0,
    gateways: [],
    sourceLabels: {},
    sourceNamespace: "",
  };
}

/** Match entries of a path: a path-element prefix is two entries (`/foo` exact, `/foo/` prefix). */
export function pathMatches(uri: PathUri): HTTPMatchRequest[] {
  if (uri === null) return [];
  if (uri.kind === "exact") return [matchRequest(uri, null)];
  if (uri.value === "/") return [matchRequest({ kind: "prefix", value: "/" }, null)];
  return [matchRequest({ kind: "exact", value: uri.value }, null), matchRequest({ kind: "prefix", value: uri.value + "/" }, null)];
}

/** Sort key of a path route: its path length (-1: every path), exact or not. */
export interface PathOrder {
  len: number;
  exact: boolean;
}

export function pathOrder(uri: PathUri): PathOrder {
  return uri === null ? { len: -1, exact: false } : { len: uri.value.length, exact: uri.kind === "exact" };
}

/** Longest path first, Exact before Prefix at equal length; stable (Array.prototype.sort is). */
export function sortByPath<T extends { order: PathOrder }>(list: T[]): T[] {
  return list.sort((a, b) => (a.order.len === b.order.len ? Number(b.order.exact) - Number(a.order.exact) : b.order.len - a.order.len));
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|]/g;

/** `*.foo.com` → the authority match of exactly one more label; null for other hosts. */
export function oneLabelAuthority(host: string): StringMatchSpec | null {
  if (!host.startsWith("*.")) return null;
  return { kind: "regex", value: "[^.]+" + host.slice(1).replace(REGEX_SPECIAL, "\\$&") };
}

/** The route narrowed to requests whose host matches `authority` (every match entry gets it). */
export function restrictAuthority(r: HTTPRoute, authority: StringMatchSpec): HTTPRoute {
  const match = r.match.length === 0 ? [matchRequest(null, authority)] : r.match.map((m) => ({ ...m, authority }));
  return { ...r, match };
}

// The route table of one port, as Istio's buildGatewayHTTPRouteConfig: for each
// server (in merge order) and each VirtualService bound to its Gateway, the
// VirtualService hosts that intersect the server's hosts become virtual hosts
// (one per host; routes of later VirtualServices for the same host are
// appended), catch-all routes move last, virtual hosts with the very same
// routes collapse into one with several domains.
import type { VirtualServiceResource } from "../model/istio.ts";
import { intersectHosts, resolveShortname, serverHostsFor, stripNamespace } from "../resolve/hosts.ts";
import type { Route, RouteTable, VirtualHost } from "../snapshot/types.ts";
import { trustedProxies, type CompileContext, type CompileReuseHooks } from "./context.ts";
import { sortCatchAllLast } from "./matches.ts";
import { buildPathIndex, buildRouteTable } from "./pathindex.ts";
import { buildVirtualServiceRoutes } from "./routes.ts";
import { terminatesHTTP, type PortGroup } from "./servers.ts";

/** Extra routes a table gets from outside VirtualServices (Ingress), per host, after them. */
export type ExtraRoutes = Map<string, Route[]>;

interface Draft {
  host: string;
  /** The first VirtualService's route list itself until another's routes are appended (owned: a copy). */
  routes: Route[];
  owned: boolean;
  requireTls: boolean;
}

/**
 * The route of a virtual host under httpsRedirect (Envoy's require_tls ALL).
 * `onlyHttp`: it matches only requests whose scheme is http, and the virtual
 * host's own routes follow it: behind trusted proxies (--trusted-proxies,
 * numTrustedProxies) the scheme is the client's x-forwarded-proto, and Envoy
 * redirects only when that is not https (a proxy in front terminated TLS).
 */
function httpsRedirect(onlyHttp: boolean): Route {
  return {
    name: "https-redirect",
    source: "",
    matches: onlyHttp ? [{ name: "", uri: null, ignoreUriCase: false, scheme: { kind: "exact", value: "http" }, method: null, authority: null, headers: [], withoutHeaders: [], queryParams: [], port: 0 }] : [],
    action: { kind: "redirect", status: 301, scheme: "https", authority: null, port: 0, uri: null },
    timeoutMs: 0,
    requestHeaders: { set: [], add: [], remove: [] },
    responseHeaders: { set: [], add: [], remove: [] },
  };
}

/**
 * Istio's annotation on VirtualServices derived from a Kubernetes Ingress
 * (`internal.istio.io/route-semantics: ingress`). Their hosts are Ingress hosts,
 * taken literally: `exact-path-rules` is that host, not a Service short name.
 */
export const ROUTE_SEMANTICS_ANNOTATION = "internal.istio.io/route-semantics";

/** virtualServiceHosts per VirtualService object: resources are not changed once decoded or derived, and the decode cache hands out the same object while its file is unchanged. */
const vsHostsMemo = new WeakMap<VirtualServiceResource, string[]>();

/** Resolved VirtualService hosts (short names → FQDN in its namespace; Ingress hosts as they are). Shared: not to be changed. */
export function virtualServiceHosts(vs: VirtualServiceResource): string[] {
  let hosts = vsHostsMemo.get(vs);
  if (hosts === undefined) {
    hosts = vs.metadata.annotations[ROUTE_SEMANTICS_ANNOTATION] === "ingress" ? vs.spec.hosts : vs.spec.hosts.map((h) => resolveShortname(h, vs.metadata.namespace));
    vsHostsMemo.set(vs, hosts);
  }
  return hosts;
}

/** `ns/name` per VirtualService object (the routes cache key of compileRouteTable). */
const vsNames = new WeakMap<VirtualServiceResource, string>();

function vsName(vs: VirtualServiceResource): string {
  let n = vsNames.get(vs);
  if (n === undefined) vsNames.set(vs, (n = `${vs.metadata.namespace}/${vs.metadata.name}`));
  return n;
}

/**
 * The hosts of `vs` a server with hosts `serverHosts` gives it: the last result
 * per VirtualService, for the same server hosts array (a Gateway's, the same
 * object while its file is unchanged) and gateway namespace.
 */
const boundHostsMemo = new WeakMap<VirtualServiceResource, { serverHosts: string[]; gwNs: string; hosts: string[] }>();

function boundHosts(serverHosts: string[], gwNs: string, vs: VirtualServiceResource): string[] {
  const m = boundHostsMemo.get(vs);
  if (m !== undefined && m.serverHosts === serverHosts && m.gwNs === gwNs) return m.hosts;
  const hosts = intersectHosts(serverHostsFor(serverHosts, gwNs, vs.metadata.namespace), virtualServiceHosts(vs));
  boundHostsMemo.set(vs, { serverHosts, gwNs, hosts });
  return hosts;
}

export function compileRouteTable(
  ctx: CompileContext,
  group: PortGroup,
  vsByGateway: Map<string, VirtualServiceResource[]>,
  extra: ExtraRoutes | null,
  name = `http.${group.port}`,
): RouteTable {
  const port = group.port;
  const reuse = ctx.opts.reuse;
  const drafts = new Map<string, Draft>();
  // routes per gateway, tls and VirtualService `ns/name` (a VirtualService under several servers of its gateway is built once)
  const cache = new Map<string, Map<string, Route[]>>();
  for (const b of group.servers) {
    if (!terminatesHTTP(b.server)) continue;
    const gwNs = b.gateway.metadata.namespace;
    const tls = b.server.port.protocol === "HTTPS";
    const scopeKey = `${b.gatewayName}\0${tls}`;
    let built = cache.get(scopeKey);
    if (built === undefined) cache.set(scopeKey, (built = new Map()));
    const scope = { port, gateway: b.gatewayName, tls };
    const reuseScope = `${port}\0${b.gatewayName}\0${tls}`;
    // httpsRedirect covers every virtual host the server gives, also the VirtualService hosts narrower than its own
    const redirect = b.server.tls?.httpsRedirect === true && !tls;
    for (const vs of vsByGateway.get(b.gatewayName) ?? []) {
      const hosts = boundHosts(b.server.hosts, gwNs, vs);
      if (hosts.length === 0) continue;
      const key = vsName(vs);
      let routes = built.get(key);
      if (routes === undefined) {
        const build = () => buildVirtualServiceRoutes(ctx, vs, scope);
        routes = reuse === undefined ? build() : reuse.routes(ctx, vs, reuseScope, build);
        built.set(key, routes);
      }
      if (routes.length === 0) continue; // Istio: "no routes matched", the VirtualService adds nothing here
      for (const host of hosts) {
        const d = drafts.get(host);
        if (d === undefined) drafts.set(host, { host, routes, owned: false, requireTls: redirect });
        else {
          if (!d.owned) {
            d.routes = d.routes.slice();
            d.owned = true;
          }
          for (const r of routes) d.routes.push(r);
          if (redirect) d.requireTls = true;
        }
      }
    }
    if (b.server.tls?.httpsRedirect && !tls) {
      for (const h of b.server.hosts.map(stripNamespace)) {
        const d = drafts.get(h);
        if (d === undefined) drafts.set(h, { host: h, routes: [], owned: true, requireTls: true });
        else d.requireTls = true;
      }
    }
  }
  if (extra !== null) {
    for (const [host, routes] of extra) {
      const d = drafts.get(host);
      if (d === undefined) drafts.set(host, { host, routes: [...routes], owned: true, requireTls: false });
      else {
        if (!d.owned) {
          d.routes = d.routes.slice();
          d.owned = true;
        }
        d.routes.push(...routes);
      }
    }
  }
  const prev = reuse?.previousTable(name, port);
  const trustsForwardedProto = trustedProxies(ctx.opts) > 0;
  const table = buildRouteTable(name, collapse(drafts, port, reuse, prev, trustsForwardedProto), reuse?.conditions(name), prev);
  reuse?.keepTable(name, port, table);
  return table;
}

/** Virtual hosts under httpsRedirect (their first route is made here, not by a VirtualService): whether it redirects only http (httpsRedirect's `onlyHttp`). */
const redirectHosts = new WeakMap<VirtualHost, boolean>();

interface Group {
  host: string;
  /** Hosts after the first with the very same routes. */
  more: string[] | null;
  routes: Route[];
  requireTls: boolean;
}

/** sortCatchAllLast per route list a draft holds as it is (a VirtualService's own: not changed once built, and the same object while compile reuse keeps it). */
const catchAllLast = new WeakMap<Route[], Route[]>();

function sortedDraft(d: Draft): Route[] {
  if (d.owned) return sortCatchAllLast(d.routes);
  let sorted = catchAllLast.get(d.routes);
  if (sorted === undefined) catchAllLast.set(d.routes, (sorted = sortCatchAllLast(d.routes)));
  return sorted;
}

/** `a` from index `from` on is `b`, route by route (the same route objects). */
function sameRoutes(a: Route[], b: Route[], from = 0): boolean {
  if (a === b && from === 0) return true;
  if (a.length - from !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[from + i] !== b[i]) return false;
  return true;
}

function sameDomains(domains: string[], g: Group): boolean {
  if (domains[0] !== g.host) return false;
  const more = g.more;
  if (more === null) return domains.length === 1;
  if (domains.length !== more.length + 1) return false;
  for (let i = 0; i < more.length; i++) if (domains[i + 1] !== more[i]) return false;
  return true;
}

/**
 * Drafts → virtual hosts, collapsing hosts whose route lists are the same routes
 * (Istio's collapseDuplicateRoutes). A virtual host of the previous compile's
 * table (`prev`) with the very same domains and routes is taken as it is (its
 * content is a function of those: name from the first domain, path index from
 * the routes); the https redirect's, with the same domains, too.
 */
function collapse(drafts: Map<string, Draft>, port: number, reuse: CompileReuseHooks | undefined, prev: RouteTable | undefined, trustsForwardedProto: boolean): VirtualHost[] {
  const groups: Group[] = [];
  // collapsible groups by their first route; route lists compare by the identity of each route
  const byFirst = new Map<Route, Group | Group[]>();
  let empty: Group | undefined;
  for (const host of [...drafts.keys()].sort()) {
    const d = drafts.get(host)!;
    if (d.requireTls) {
      // behind trusted proxies the host's own routes follow the redirect (for requests already https)
      groups.push({ host, more: null, routes: trustsForwardedProto ? sortedDraft(d) : [], requireTls: true });
      continue;
    }
    const routes = sortedDraft(d);
    const first = routes[0];
    let same: Group | undefined;
    if (first === undefined) same = empty;
    else {
      const at = byFirst.get(first);
      if (at !== undefined) {
        if (!Array.isArray(at)) same = sameRoutes(at.routes, routes) ? at : undefined;
        else same = at.find((g) => sameRoutes(g.routes, routes));
      }
    }
    if (same !== undefined) {
      if (same.more === null) same.more = [host];
      else same.more.push(host);
      continue;
    }
    const g: Group = { host, more: null, routes, requireTls: false };
    if (first === undefined) empty = g;
    else {
      const at = byFirst.get(first);
      if (at === undefined) byFirst.set(first, g);
      else if (Array.isArray(at)) at.push(g);
      else byFirst.set(first, [at, g]);
    }
    groups.push(g);
  }
  // the previous table's virtual hosts are in the order of their first domain, as groups are: walk both
  const old = prev?.virtualHosts ?? [];
  let j = 0;
  const out: VirtualHost[] = new Array(groups.length);
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    while (j < old.length && old[j]!.domains[0]! < g.host) j++;
    const o = old[j];
    // only a virtual host whose first route is named so can be a redirect host (one lookup in the WeakMap per such host, not per host)
    const redirect = o === undefined || o.routes[0]?.name !== "https-redirect" ? undefined : redirectHosts.get(o);
    if (o !== undefined && sameDomains(o.domains, g) && (g.requireTls ? redirect === trustsForwardedProto && sameRoutes(o.routes, g.routes, 1) : redirect === undefined && sameRoutes(o.routes, g.routes))) {
      out[i] = o;
      continue;
    }
    const routes = g.requireTls ? [httpsRedirect(trustsForwardedProto), ...g.routes] : g.routes;
    const domains = g.more === null ? [g.host] : [g.host, ...g.more];
    const vh: VirtualHost = { name: `${g.host}:${port}`, domains, routes, pathIndex: reuse === undefined ? buildPathIndex(routes) : reuse.pathIndex(routes, buildPathIndex) };
    if (g.requireTls) redirectHosts.set(vh, trustsForwardedProto);
    out[i] = vh;
  }
  return out;
}

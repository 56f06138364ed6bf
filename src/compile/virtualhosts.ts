// The route table of one port, as Istio's buildGatewayHTTPRouteConfig: for each
// server (in merge order) and each VirtualService bound to its Gateway, the
// VirtualService hosts that intersect the server's hosts become virtual hosts
// (one per host; routes of later VirtualServices for the same host are
// appended), catch-all routes move last, virtual hosts with the very same
// routes collapse into one with several domains.
import type { VirtualServiceResource } from "../model/istio.ts";
import { intersectHosts, resolveShortname, serverHostsFor, stripNamespace } from "../resolve/hosts.ts";
import type { Route, RouteTable, VirtualHost } from "../snapshot/types.ts";
import type { CompileContext, CompileReuseHooks } from "./context.ts";
import { sortCatchAllLast } from "./matches.ts";
import { buildPathIndex, buildRouteTable } from "./pathindex.ts";
import { buildVirtualServiceRoutes } from "./routes.ts";
import { terminatesHTTP, type PortGroup } from "./servers.ts";

/** Extra routes a table gets from outside VirtualServices (Ingress), per host, after them. */
export type ExtraRoutes = Map<string, Route[]>;

interface Draft {
  host: string;
  routes: Route[];
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

/** Resolved VirtualService hosts (short names → FQDN in its namespace; Ingress hosts as they are). */
export function virtualServiceHosts(vs: VirtualServiceResource): string[] {
  if (vs.metadata.annotations[ROUTE_SEMANTICS_ANNOTATION] === "ingress") return vs.spec.hosts;
  return vs.spec.hosts.map((h) => resolveShortname(h, vs.metadata.namespace));
}

export function compileRouteTable(
  ctx: CompileContext,
  group: PortGroup,
  vsByGateway: Map<string, VirtualServiceResource[]>,
  extra: ExtraRoutes | null,
  name = `http.${group.port}`,
): RouteTable {
  const port = group.port;
  const drafts = new Map<string, Draft>();
  const cache = new Map<string, Route[]>();
  for (const b of group.servers) {
    if (!terminatesHTTP(b.server)) continue;
    const gwNs = b.gateway.metadata.namespace;
    const tls = b.server.port.protocol === "HTTPS";
    for (const vs of vsByGateway.get(b.gatewayName) ?? []) {
      const hosts = intersectHosts(serverHostsFor(b.server.hosts, gwNs, vs.metadata.namespace), virtualServiceHosts(vs));
      if (hosts.length === 0) continue;
      const key = `${b.gatewayName}\0${vs.metadata.namespace}/${vs.metadata.name}\0${tls}`;
      let routes = cache.get(key);
      if (routes === undefined) {
        const scope = { port, gateway: b.gatewayName, tls };
        const build = () => buildVirtualServiceRoutes(ctx, vs, scope);
        routes = ctx.opts.reuse === undefined ? build() : ctx.opts.reuse.routes(ctx, vs, `${port}\0${b.gatewayName}\0${tls}`, build);
        cache.set(key, routes);
      }
      if (routes.length === 0) continue; // Istio: "no routes matched", the VirtualService adds nothing here
      // httpsRedirect covers every virtual host the server gives, also the VirtualService hosts narrower than its own
      const redirect = b.server.tls?.httpsRedirect === true && !tls;
      for (const host of hosts) {
        const d = drafts.get(host);
        if (d === undefined) drafts.set(host, { host, routes: [...routes], requireTls: redirect });
        else {
          d.routes.push(...routes);
          if (redirect) d.requireTls = true;
        }
      }
    }
    if (b.server.tls?.httpsRedirect && !tls) {
      for (const h of b.server.hosts.map(stripNamespace)) {
        const d = drafts.get(h);
        if (d === undefined) drafts.set(h, { host: h, routes: [], requireTls: true });
        else d.requireTls = true;
      }
    }
  }
  if (extra !== null) {
    for (const [host, routes] of extra) {
      const d = drafts.get(host);
      if (d === undefined) drafts.set(host, { host, routes: [...routes], requireTls: false });
      else d.routes.push(...routes);
    }
  }
  const trustsForwardedProto = (ctx.opts.trustedProxies ?? ctx.opts.mesh?.numTrustedProxies ?? 0) > 0;
  return buildRouteTable(name, collapse(drafts, port, ctx.opts.reuse, trustsForwardedProto), ctx.opts.reuse?.conditions(name));
}

/** Drafts → virtual hosts, collapsing hosts whose route lists are the same routes (Istio's collapseDuplicateRoutes). */
function collapse(drafts: Map<string, Draft>, port: number, reuse: CompileReuseHooks | undefined, trustsForwardedProto: boolean): VirtualHost[] {
  const ids = new Map<Route, number>();
  const byKey = new Map<string, VirtualHost>();
  const out: VirtualHost[] = [];
  for (const host of [...drafts.keys()].sort()) {
    const d = drafts.get(host)!;
    const routes = !d.requireTls ? sortCatchAllLast(d.routes) : trustsForwardedProto ? [httpsRedirect(true), ...sortCatchAllLast(d.routes)] : [httpsRedirect(false)];
    let key = "";
    if (!d.requireTls) {
      for (const r of routes) {
        let id = ids.get(r);
        if (id === undefined) ids.set(r, (id = ids.size));
        key += id + ",";
      }
    }
    const same = d.requireTls ? undefined : byKey.get(key);
    if (same !== undefined) {
      same.domains.push(host);
      continue;
    }
    const vh: VirtualHost = { name: `${host}:${port}`, domains: [host], routes, pathIndex: reuse === undefined ? buildPathIndex(routes) : reuse.pathIndex(routes, buildPathIndex) };
    if (!d.requireTls) byKey.set(key, vh);
    out.push(vh);
  }
  return out;
}

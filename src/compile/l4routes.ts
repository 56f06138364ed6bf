// L4 routes: where the bytes of a connection go when the gateway does not
// route HTTP (Envoy's tcp_proxy filters, as Istio's gateway.go builds them):
// - PASSTHROUGH: the `tls:` routes of the VirtualServices bound to the
//   server's Gateway whose hosts meet the server's; each match that applies
//   (port, gateways) routes its `sniHosts`. An SNI name routed earlier on the
//   port is skipped (Istio: "duplicate SNI host names").
// - AUTO_PASSTHROUGH: no VirtualService; the SNI names the cluster,
//   `outbound_.<port>_.<subset>_.<host>`, for every service (and
//   DestinationRule subset) the server's hosts cover: istiod's SNI-DNAT
//   cluster of that name, which keeps only endpoints taking Istio mTLS.
// - TCP servers (plain, or TLS terminated here): the first `tcp:` route that
//   applies, for every connection.
// Destinations become ordinary clusters (resolveDestination).
import { Codes } from "../model/codes.ts";
import type { Resource } from "../model/index.ts";
import type { L4MatchAttributes, L4Route, VirtualServiceResource } from "../model/istio.ts";
import { resolveGatewayRef } from "../resolve/gateways.ts";
import { hostMatches, hostSubsetOf, intersectHosts, serverHostsFor, stripNamespace } from "../resolve/hosts.ts";
import type { TcpRoute, TcpRouteTable, WeightedDestination, WildcardHost } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";
import { resolveDestination, sniDnatClusterName } from "./destinations.ts";
import type { BoundServer } from "./servers.ts";
import { virtualServiceHosts } from "./virtualhosts.ts";

/** A service AUTO_PASSTHROUGH may route to: its host, and the object that defines it (for findings and namespace). */
export interface ServiceRef {
  host: string;
  origin: Resource;
}

/** SNI index over lists of names, first claim wins: exact, `*.suffix` longest first, `*`. */
export function indexNames(lists: string[][]): Pick<TcpRouteTable, "exactHosts" | "wildcardHosts" | "catchAll"> {
  const exactHosts = new Map<string, number>();
  const wildcardHosts: WildcardHost[] = [];
  let catchAll = -1;
  lists.forEach((names, i) => {
    for (const n of names) {
      if (n === "*") {
        if (catchAll < 0) catchAll = i;
      } else if (n.startsWith("*.")) {
        if (!wildcardHosts.some((w) => w.suffix === n.slice(1))) wildcardHosts.push({ suffix: n.slice(1), index: i });
      } else if (!exactHosts.has(n)) exactHosts.set(n, i);
    }
  });
  wildcardHosts.sort((a, b) => b.suffix.length - a.suffix.length);
  return { exactHosts, wildcardHosts, catchAll };
}

function table(name: string, routes: TcpRoute[]): TcpRouteTable {
  return { name, routes, ...indexNames(routes.map((r) => r.sniHosts)) };
}

/** Istio's l4SingleMatch at a gateway: the server's port and the Gateway (source labels do not apply). */
function l4MatchApplies(vs: VirtualServiceResource, m: L4MatchAttributes, port: number, gateway: string): boolean {
  if (m.port !== 0 && m.port !== port) return false;
  if (m.gateways.length === 0) return true;
  const ns = vs.metadata.namespace;
  return m.gateways.some((g) => resolveGatewayRef(g, ns) === gateway);
}

/** A route's `route[]` → weighted clusters (Istio drops 0-weight entries of a split). */
function destinations(ctx: CompileContext, vs: VirtualServiceResource, r: L4Route, path: string, port: number): { destinations: WeightedDestination[]; totalWeight: number } {
  const single = r.route.length === 1;
  const out: WeightedDestination[] = [];
  let total = 0;
  r.route.forEach((d, k) => {
    if (!single && d.weight === 0) return;
    const w = single ? 100 : d.weight;
    out.push(resolveDestination(ctx, vs, d.destination, w, port, `${path}.route[${k}].destination`));
    total += w;
  });
  if (!single && total !== 100) {
    ctx.report("Warning", Codes.WeightsNot100, vs, `destination weights add up to ${total}, not 100: used relatively`, `${path}.route`);
  }
  return { destinations: out, totalWeight: total };
}

/** VirtualServices bound to the server's Gateway whose hosts meet the server's (Istio's pickMatchingGatewayHosts). */
function boundServices(b: BoundServer, vsByGateway: Map<string, VirtualServiceResource[]>): VirtualServiceResource[] {
  const gwNs = b.gateway.metadata.namespace;
  return (vsByGateway.get(b.gatewayName) ?? []).filter(
    (vs) => intersectHosts(serverHostsFor(b.server.hosts, gwNs, vs.metadata.namespace), virtualServiceHosts(vs)).length > 0,
  );
}

function describeServer(b: BoundServer): string {
  const mode = b.server.tls?.mode;
  return `${mode ?? b.server.port.protocol} server on port ${b.server.port.number} (${b.server.hosts.map(stripNamespace).join(", ")})`;
}

/**
 * The `tls:` routes of a PASSTHROUGH server, by SNI. `claimed`: SNI names
 * already routed on this port (name → route), shared by the port's servers.
 */
export function compilePassthroughRoutes(
  ctx: CompileContext,
  b: BoundServer,
  name: string,
  vsByGateway: Map<string, VirtualServiceResource[]>,
  claimed: Map<string, string>,
): TcpRouteTable {
  const port = b.server.port.number;
  const gwNs = b.gateway.metadata.namespace;
  const routes: TcpRoute[] = [];
  for (const vs of boundServices(b, vsByGateway)) {
    const served = serverHostsFor(b.server.hosts, gwNs, vs.metadata.namespace);
    const source = ctx.sourceOf(vs);
    vs.spec.tls.forEach((t, i) => {
      if (t.route.length === 0) return;
      const path = `spec.tls[${i}]`;
      let dests: ReturnType<typeof destinations> | null = null;
      t.match.forEach((m, j) => {
        if (!l4MatchApplies(vs, m, port, b.gatewayName)) return;
        const field = `${path}.match[${j}].sniHosts`;
        const sni: string[] = [];
        for (const h of m.sniHosts) {
          if (served.some((s) => hostMatches(h, s))) sni.push(h);
          else ctx.report("Warning", Codes.HostNotServed, vs, `sniHost ${h} is not a host of the ${describeServer(b)}: never routed there`, field);
        }
        if (sni.length === 0) return;
        const routeName = t.match.length > 1 ? `${vs.metadata.name}.tls.${i}.${j}` : `${vs.metadata.name}.tls.${i}`;
        const dup = sni.filter((h) => claimed.has(h));
        if (dup.length > 0) {
          ctx.report(
            "Warning",
            Codes.DuplicateSniRoute,
            vs,
            `SNI ${dup.join(", ")} on port ${port} is already routed by ${dup.map((h) => claimed.get(h)).join(", ")}: this match is skipped`,
            field,
          );
          return;
        }
        for (const h of sni) claimed.set(h, `${source} ${routeName}`);
        dests ??= destinations(ctx, vs, t, path, port);
        routes.push({ name: routeName, source, sniHosts: sni, ...dests });
      });
    });
  }
  if (routes.length === 0) {
    ctx.report(
      "Warning",
      Codes.L4NoRoute,
      b.gateway,
      `${describeServer(b)}: no VirtualService tls route applies (bound to ${b.gatewayName}, sniHosts among the server's hosts, port ${port}): its connections are closed`,
      `spec.servers[${b.index}]`,
    );
  }
  return table(name, routes);
}

/** AUTO_PASSTHROUGH: a route per `outbound_.<port>_.<subset>_.<host>` of the services the server's hosts cover. */
export function compileAutoPassthroughRoutes(ctx: CompileContext, b: BoundServer, name: string, source: string, services: ServiceRef[]): TcpRouteTable {
  const names = b.server.hosts.map(stripNamespace);
  const port = b.server.port.number;
  const routes: TcpRoute[] = [];
  const seen = new Set<string>();
  for (const ref of services) {
    if (!names.some((n) => hostSubsetOf(ref.host, n))) continue;
    const svc = ctx.registry.lookup(ref.host, ref.origin.metadata.namespace);
    if (svc === null) continue;
    const rule = ctx.rules.lookup(ref.host, svc.namespace);
    const subsets = ["", ...(rule?.subsets.map((s) => s.name) ?? [])];
    for (const p of svc.ports) {
      for (const subset of subsets) {
        const sni = sniDnatClusterName(p.port, subset, ref.host);
        if (seen.has(sni)) continue;
        seen.add(sni);
        const d = resolveDestination(ctx, ref.origin, { host: ref.host, port: p.port, subset }, 100, port, "spec", true);
        routes.push({ name: sni, source, sniHosts: [sni], destinations: [d], totalWeight: 100 });
      }
    }
  }
  if (routes.length === 0) {
    ctx.report("Warning", Codes.L4NoRoute, b.gateway, `${describeServer(b)}: no service matches its hosts: its connections are closed`, `spec.servers[${b.index}].hosts`);
  }
  return table(name, routes);
}

/**
 * A TCP server (plain, or TLS terminated here): the first `tcp:` route of the
 * bound VirtualServices that applies (Istio's buildGatewayNetworkFiltersFromTCPRoutes),
 * as the table's catch-all; none: an empty table and a finding.
 */
export function compileTcpRoutes(ctx: CompileContext, b: BoundServer, name: string, vsByGateway: Map<string, VirtualServiceResource[]>): TcpRouteTable {
  const port = b.server.port.number;
  for (const vs of boundServices(b, vsByGateway)) {
    for (let i = 0; i < vs.spec.tcp.length; i++) {
      const t = vs.spec.tcp[i]!;
      if (t.route.length === 0) continue;
      if (t.match.length > 0 && !t.match.some((m) => l4MatchApplies(vs, m, port, b.gatewayName))) continue;
      const route: TcpRoute = { name: `${vs.metadata.name}.tcp.${i}`, source: ctx.sourceOf(vs), sniHosts: [], ...destinations(ctx, vs, t, `spec.tcp[${i}]`, port) };
      return { name, routes: [route], exactHosts: new Map(), wildcardHosts: [], catchAll: 0 };
    }
  }
  ctx.report(
    "Warning",
    Codes.L4NoRoute,
    b.gateway,
    `${describeServer(b)}: no VirtualService tcp route applies (bound to ${b.gatewayName}, hosts meeting the server's, port ${port}): its connections are closed`,
    `spec.servers[${b.index}]`,
  );
  return { name, routes: [], exactHosts: new Map(), wildcardHosts: [], catchAll: -1 };
}

// Hand-built snapshots for worker tests: listener → route table → virtual
// hosts → routes → clusters, with a trivial path index (every route always
// tested, in order) so lookup.ts falls back to first-match order.
import type {
  Cluster,
  HeaderOperations,
  LbPolicy,
  Listener,
  PathIndex,
  Route,
  RouteAction,
  RouteMatch,
  RouteTable,
  ServerProtocol,
  Snapshot,
  StringMatch,
  VirtualHost,
  WeightedDestination,
} from "../../src/snapshot/types.ts";

export const noOps = (): HeaderOperations => ({ set: [], add: [], remove: [] });

export function uriMatch(uri: StringMatch | null, extra: Partial<RouteMatch> = {}): RouteMatch {
  return {
    name: "",
    uri,
    ignoreUriCase: false,
    scheme: null,
    method: null,
    authority: null,
    headers: [],
    withoutHeaders: [],
    queryParams: [],
    port: 0,
    ...extra,
  };
}

export const prefix = (value: string): StringMatch => ({ kind: "prefix", value });
export const exact = (value: string): StringMatch => ({ kind: "exact", value });

export function dest(cluster: string, weight = 100): WeightedDestination {
  return { cluster, weight, host: cluster, port: 80, subset: "" };
}

export function forward(dests: WeightedDestination[], extra: { rewriteUri?: string; rewriteAuthority?: string } = {}): RouteAction {
  return {
    kind: "forward",
    destinations: dests,
    totalWeight: dests.reduce((a, d) => a + d.weight, 0),
    rewriteUri: extra.rewriteUri ?? null,
    rewriteAuthority: extra.rewriteAuthority ?? null,
  };
}

export interface RouteSpec {
  name?: string;
  match?: RouteMatch[];
  action: RouteAction;
  timeoutMs?: number;
  requestHeaders?: HeaderOperations;
  responseHeaders?: HeaderOperations;
}

export function route(spec: RouteSpec, i = 0): Route {
  return {
    name: spec.name ?? `route-${i}`,
    source: "VirtualService/default/test",
    matches: spec.match ?? [],
    action: spec.action,
    timeoutMs: spec.timeoutMs ?? 0,
    requestHeaders: spec.requestHeaders ?? noOps(),
    responseHeaders: spec.responseHeaders ?? noOps(),
  };
}

export function virtualHost(domains: string[], routes: RouteSpec[]): VirtualHost {
  const rs = routes.map((r, i) => route(r, i));
  return {
    name: `${domains[0]}:80`,
    domains,
    routes: rs,
    pathIndex: {
      exact: new Map(),
      prefixTrie: { children: new Map(), routes: [] },
      always: rs.map((_, i) => i),
      packed: "",
      literals: [],
      literalRoutes: [],
      uriOnly: rs.map(() => 0),
    } as PathIndex, // written to work with the index before and after its literal table was added
  };
}

export function routeTable(name: string, vhosts: VirtualHost[]): RouteTable {
  const exactHosts = new Map<string, number>();
  const wildcardHosts: { suffix: string; index: number }[] = [];
  let catchAll = -1;
  vhosts.forEach((vh, i) => {
    for (const d of vh.domains) {
      if (d === "*") catchAll = i;
      else if (d.startsWith("*.")) wildcardHosts.push({ suffix: d.slice(1), index: i });
      else exactHosts.set(d, i);
    }
  });
  wildcardHosts.sort((a, b) => b.suffix.length - a.suffix.length);
  return { name, virtualHosts: vhosts, exactHosts, wildcardHosts, catchAll };
}

export function listener(bindPort: number, vhosts: VirtualHost[], protocol: ServerProtocol = "HTTP", port = 80): Listener {
  return {
    name: `0.0.0.0_${port}`,
    port,
    bindPort,
    bindAddress: "127.0.0.1",
    protocol,
    routeTable: protocol === "HTTP" ? routeTable(`http.${port}`, vhosts) : null,
    sources: ["Gateway/default/test#0"],
    tls: null,
    tcpRoutes: null,
  } as Listener; // cast: fields added to Listener by other work (tcpRoutes) may or may not be there yet
}

export function cluster(name: string, endpoints: [string, number][], lbPolicy: LbPolicy = "LEAST_REQUEST", connectTimeoutMs = 2000): Cluster {
  return {
    name,
    serviceHost: name,
    port: 80,
    subset: "",
    type: "STATIC",
    lbPolicy,
    connectTimeoutMs,
    endpoints: endpoints.map(([address, port]) => ({ address, port, weight: 1, labels: {} })),
  };
}

let version = 0;

export function snapshot(listeners: Listener[], clusters: Cluster[]): Snapshot {
  return {
    version: ++version,
    hash: `h${version}`,
    credentials: new Map(),
    createdAt: new Date().toISOString(),
    listeners,
    clusters: new Map(clusters.map((c) => [c.name, c])),
    findings: [],
  };
}

/** A port that was free a moment ago, never handed out before (test/helpers/free-port.ts). */
export { freePort } from "../helpers/free-port.ts";

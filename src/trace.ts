// "Which listener, virtual host, route and cluster would this request hit, and
// why?" — answered from a snapshot without sockets, with the very lookups the
// workers run (src/route/lookup.ts). Powers tests, `analyze`, and 404 hunting.
import {
  matchString,
  matchUri,
  misdirected,
  normalizeHost,
  queryParam,
  requestHeader,
  selectRoute,
  selectVirtualHost,
  type RequestView,
} from "./route/lookup.ts";
import { validAuthority } from "./route/authority.ts";
import { normalizePath, type PathNormalization } from "./route/normalize-path.ts";
import type { Endpoint, HeaderMatch, Listener, Route, RouteMatch, Snapshot, StringMatch, TcpRouteTable } from "./snapshot/types.ts";

export interface TraceRequest {
  /** Gateway port (`port.number` of the server), e.g. 80. */
  port: number;
  /** Host header as sent (a port in it is ignored). */
  host: string;
  /** Path, optionally with `?query`. */
  path: string;
  method?: string;
  headers?: Record<string, string>;
  scheme?: string;
  /** TLS server name; on a TLS port it defaults to the host (as curl sends it). */
  sni?: string;
  /** As `--path-normalization`; default BASE. */
  pathNormalization?: PathNormalization;
}

export interface RouteCheck {
  index: number;
  name: string;
  source: string;
  matched: boolean;
  /** Why not (the first condition that failed), or what matched. */
  reason: string;
}

export interface TraceDestination {
  cluster: string;
  weight: number;
  endpoints: Endpoint[];
}

export type TraceOutcome =
  | "forward"
  | "redirect"
  | "direct"
  | "no_listener"
  | "handshake_failed"
  | "misdirected"
  | "not_http"
  | "tcp_forward"
  | "tcp_no_route"
  | "no_virtual_host"
  | "no_route"
  | "no_endpoints"
  | "bad_request";

export interface TraceResult {
  outcome: TraceOutcome;
  /** HTTP status the gateway answers (for forward: 200 meaning "sent upstream"); 0 for not_http. */
  status: number;
  reason: string;
  listener: string | null;
  /** TLS ports: the filter chain the SNI chose. */
  chain: string | null;
  routeTable: string | null;
  virtualHost: string | null;
  route: string | null;
  routeIndex: number;
  /** Routes of the virtual host in order, up to the one chosen (all of them when none matched). */
  considered: RouteCheck[];
  /** Forward: the destinations with their endpoints. */
  destinations: TraceDestination[];
  /** First destination's cluster (the only one unless weighted). */
  cluster: string | null;
  endpoints: Endpoint[];
}

/** The request's path as the workers route it (normalized), or null when they answer 400. */
function tracePath(req: TraceRequest): string | null {
  const q = req.path.indexOf("?");
  return normalizePath(q < 0 ? req.path : req.path.slice(0, q), req.pathNormalization ?? "BASE");
}

/** A RequestView over a plain request description (lower-cased header names). */
export function requestView(req: TraceRequest): RequestView {
  const q = req.path.indexOf("?");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  return {
    port: req.port,
    host: normalizeHost(req.host),
    path: tracePath(req) ?? (q < 0 ? req.path : req.path.slice(0, q)),
    query: q < 0 ? "" : req.path.slice(q + 1),
    method: req.method ?? "GET",
    scheme: req.scheme ?? "http",
    header: (name) => headers[name],
  };
}

function show(m: StringMatch): string {
  return m.kind === "regex" ? `regex ${m.source}` : `${m.kind} ${m.value}`;
}

function keyedReason(what: string, h: HeaderMatch, value: string | undefined, without: boolean): string | null {
  if (!without) {
    if (value === undefined) return `${what} ${h.name} missing`;
    if (h.match !== null && !matchString(h.match, value)) return `${what} ${h.name}=${JSON.stringify(value)} is not ${show(h.match)}`;
    return null;
  }
  if (h.match === null) return value === undefined ? null : `${what} ${h.name} present (withoutHeaders)`;
  return matchString(h.match, value ?? "") ? `${what} ${h.name} is ${show(h.match)} (withoutHeaders)` : null;
}

/** The first condition of `m` the request fails, or null when it matches. Mirrors lookup.matchOne. */
export function explainMatch(m: RouteMatch, req: RequestView): string | null {
  if (m.port !== 0 && m.port !== req.port) return `port ${req.port} is not ${m.port}`;
  if (!matchUri(m, req.path)) return `path ${req.path} is not ${show(m.uri!)}${m.ignoreUriCase ? " (ignoring case)" : ""}`;
  if (m.method !== null && !matchString(m.method, req.method)) return `method ${req.method} is not ${show(m.method)}`;
  if (m.scheme !== null && !matchString(m.scheme, req.scheme)) return `scheme ${req.scheme} is not ${show(m.scheme)}`;
  if (m.authority !== null && !matchString(m.authority, req.host)) return `authority ${req.host} is not ${show(m.authority)}`;
  for (const h of m.headers) {
    const r = keyedReason("header", h, requestHeader(req, h.name), false);
    if (r !== null) return r;
  }
  for (const h of m.withoutHeaders) {
    const r = keyedReason("header", h, requestHeader(req, h.name), true);
    if (r !== null) return r;
  }
  for (const q of m.queryParams) {
    const r = keyedReason("query parameter", q, queryParam(req.query, q.name), false);
    if (r !== null) return r;
  }
  return null;
}

function checkRoute(route: Route, index: number, req: RequestView): RouteCheck {
  const c: RouteCheck = { index, name: route.name, source: route.source, matched: false, reason: "" };
  if (route.matches.length === 0) return { ...c, matched: true, reason: "no match conditions: matches every request" };
  const why: string[] = [];
  for (const m of route.matches) {
    const r = explainMatch(m, req);
    if (r === null) return { ...c, matched: true, reason: m.uri === null ? "matched" : `matched ${show(m.uri)}` };
    why.push(r);
  }
  return { ...c, reason: why.join("; ") };
}

function findListener(s: Snapshot, port: number): Listener | undefined {
  return s.listeners.find((l) => l.port === port) ?? s.listeners.find((l) => l.bindPort === port);
}

export function trace(snapshot: Snapshot, request: TraceRequest): TraceResult {
  const req = requestView(request);
  const out: TraceResult = {
    outcome: "no_listener",
    status: 404,
    reason: "",
    listener: null,
    chain: null,
    routeTable: null,
    virtualHost: null,
    route: null,
    routeIndex: -1,
    considered: [],
    destinations: [],
    cluster: null,
    endpoints: [],
  };
  if (tracePath(request) === null) return { ...out, outcome: "bad_request", status: 400, reason: `path ${JSON.stringify(request.path)} is invalid (%00 or a broken escape)` };
  if (!validAuthority(request.host)) return { ...out, outcome: "bad_request", status: 400, reason: `host ${JSON.stringify(request.host)} is not a valid authority` };
  const l = findListener(snapshot, req.port);
  if (l === undefined) {
    out.reason = `no listener on port ${req.port} (listeners: ${snapshot.listeners.map((x) => x.port).join(", ") || "none"})`;
    return out;
  }
  out.listener = l.name;
  let table = l.routeTable;
  let tcp = l.tcpRoutes;
  const sni = normalizeHost(request.sni ?? request.host);
  if (l.tls !== null) {
    const ci = selectVirtualHost(l.tls, sni);
    if (ci < 0) {
      const names = l.tls.chains.flatMap((c) => c.serverNames);
      return { ...out, outcome: "handshake_failed", status: 0, reason: `no TLS server on ${l.name} for SNI "${sni}" (names: ${names.join(", ") || "none"}): the handshake fails` };
    }
    const chain = l.tls.chains[ci]!;
    out.chain = chain.name;
    if (chain.disabled !== "") {
      return { ...out, outcome: "handshake_failed", status: 0, reason: `${chain.name} (${chain.source}) is disabled: ${chain.disabled}` };
    }
    if (chain.routeTable !== null && misdirected(l.tls, chain, req.host)) {
      return { ...out, outcome: "misdirected", status: 421, reason: `host ${req.host} is served by another server of ${l.name}, not by ${chain.name} (SNI ${sni}): 421 Misdirected Request` };
    }
    table = chain.routeTable;
    tcp = chain.tcpRoutes;
  }
  if (table === null && tcp !== null) return traceTcp(snapshot, out, tcp, sni);
  if (table === null) {
    return { ...out, outcome: "not_http", status: 0, reason: `${l.name} is a ${l.protocol} listener: not HTTP-routed` };
  }
  out.routeTable = table.name;
  const vi = selectVirtualHost(table, req.host);
  if (vi < 0) {
    const domains = table.virtualHosts.flatMap((v) => v.domains);
    return { ...out, outcome: "no_virtual_host", reason: `no virtual host for ${req.host} in ${table.name} (domains: ${domains.join(", ") || "none"})` };
  }
  const vh = table.virtualHosts[vi]!;
  out.virtualHost = vh.name;
  const ri = selectRoute(vh, req);
  const upTo = ri < 0 ? vh.routes.length : ri + 1;
  for (let i = 0; i < upTo; i++) out.considered.push(checkRoute(vh.routes[i]!, i, req));
  if (ri < 0) {
    return { ...out, outcome: "no_route", reason: `no route of ${vh.name} matches ${req.method} ${req.path}` };
  }
  const route = vh.routes[ri]!;
  out.route = route.name;
  out.routeIndex = ri;
  const a = route.action;
  if (a.kind === "redirect") {
    return { ...out, outcome: "redirect", status: a.status, reason: `route ${route.name} redirects (${a.status})` };
  }
  if (a.kind === "direct") {
    return { ...out, outcome: "direct", status: a.status, reason: `route ${route.name} answers ${a.status} directly` };
  }
  if (a.destinations.length > 0 && a.destinations.every((d) => d.cluster === "")) {
    return { ...out, outcome: "direct", status: 500, reason: `route ${route.name}: its backendRefs do not resolve: answers 500` };
  }
  for (const d of a.destinations) {
    out.destinations.push({ cluster: d.cluster, weight: d.weight, endpoints: snapshot.clusters.get(d.cluster)?.endpoints ?? [] });
  }
  const first = out.destinations[0];
  out.cluster = first?.cluster ?? null;
  out.endpoints = first?.endpoints ?? [];
  if (out.destinations.every((d) => d.endpoints.length === 0)) {
    const names = out.destinations.map((d) => d.cluster).join(", ");
    return { ...out, outcome: "no_endpoints", status: 503, reason: `route ${route.name}: cluster ${names || "(none)"} has no endpoints` };
  }
  return { ...out, outcome: "forward", status: 200, reason: `route ${route.name} → ${out.destinations.map((d) => d.cluster).join(", ")}` };
}

/** A TCP/TLS-passthrough connection: the route its SNI selects and where the bytes go. */
function traceTcp(snapshot: Snapshot, out: TraceResult, t: TcpRouteTable, sni: string): TraceResult {
  out.routeTable = t.name;
  const ri = selectVirtualHost(t, sni);
  if (ri < 0) {
    const names = t.routes.flatMap((r) => r.sniHosts);
    return { ...out, outcome: "tcp_no_route", status: 0, reason: `no TCP route of ${t.name} for SNI "${sni}" (routes for: ${names.join(", ") || "none"}): the connection is closed` };
  }
  const r = t.routes[ri]!;
  out.route = r.name;
  out.routeIndex = ri;
  for (const d of r.destinations) {
    out.destinations.push({ cluster: d.cluster, weight: d.weight, endpoints: snapshot.clusters.get(d.cluster)?.endpoints ?? [] });
  }
  out.cluster = out.destinations[0]?.cluster ?? null;
  out.endpoints = out.destinations[0]?.endpoints ?? [];
  const where = out.destinations.map((d) => d.cluster).join(", ");
  if (out.destinations.every((d) => d.endpoints.length === 0)) {
    return { ...out, outcome: "tcp_no_route", status: 0, reason: `route ${r.name} (${r.source}): ${where || "(no destination)"} has no endpoints: the connection is closed` };
  }
  return { ...out, outcome: "tcp_forward", status: 0, reason: `route ${r.name} (${r.source}) splices the connection to ${where}` };
}

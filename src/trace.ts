// "Which listener, virtual host, route and cluster would this request hit, and
// why?" — answered from a snapshot without sockets. The outcome and status
// are the Decision of src/dispatch (the call the workers make for every
// request); this file adds the explanation (each route considered and why it
// did or did not match). Powers `explain`, tests, `analyze`, and 404 hunting.
import { authenticatedRequest } from "./dispatch/authenticated.ts";
import type { ConnFacts, DispatchRequest } from "./dispatch/decision.ts";
import { dispatch, dispatchTcp, listenerFor, selectChain } from "./dispatch/dispatch.ts";
import type { ReplyCode } from "./dispatch/replies.ts";
import { claimMatches, matchString, matchUri, normalizeHost, queryParam, requestHeader, type RequestView } from "./route/lookup.ts";
import type { Endpoint, HeaderMatch, Route, RouteMatch, Snapshot, StringMatch, TcpRouteTable } from "./snapshot/types.ts";
import { validAuthority, withoutHostDot } from "./route/authority.ts";
import { normalizePath, type PathNormalization } from "./route/normalize-path.ts";

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
  /** ALPN protocols the ClientHello offers; absent: not known (AUTO_PASSTHROUGH's ALPN condition is not applied). */
  alpn?: string[];
  /** As `--path-normalization`; default BASE. */
  pathNormalization?: PathNormalization;
  /** The weighted destination pick, in [0, 1) (default: the heaviest destination, the most likely answer). */
  random?: number;
  /**
   * RequestAuthentication's outcome for a verified token: its header changes and
   * claims, which the workers choose the route again with (dispatch/authenticated.ts).
   */
  authn?: { set: [string, string][]; remove: string[]; claims: Record<string, unknown> | null };
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
  | "no_cluster"
  | "no_endpoints"
  | "bad_request"
  /** The route's fault abort answers (src/traffic/fault.ts). */
  | "fault_abort"
  /** A CORS preflight the gateway answers (src/traffic/cors.ts). */
  | "cors_preflight";

export interface TraceResult {
  outcome: TraceOutcome;
  /** HTTP status the gateway answers (for forward: 200 meaning "sent upstream"); 0 for not_http and TCP. */
  status: number;
  reason: string;
  /** The local reply's code in the reply table (src/dispatch/replies.ts), or null (forward, TCP splice, no listener...). */
  reply: ReplyCode | null;
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

/** A request head view over a plain request description (lower-cased header names). */
export function requestView(req: TraceRequest): DispatchRequest {
  const q = req.path.indexOf("?");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  return {
    port: req.port,
    host: normalizeHost(req.host),
    authority: req.host,
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
  if (m.authority !== null && !matchString(m.authority, withoutHostDot(req.authority))) return `authority ${req.authority} is not ${show(m.authority)}`;
  for (const h of m.headers) {
    if (h.claim !== undefined) {
      if (!claimMatches(h, req.claims)) return `claim ${h.name} does not match${req.claims ? "" : " (no verified JWT)"}`;
      continue;
    }
    const r = keyedReason("header", h, requestHeader(req, h.name), false);
    if (r !== null) return r;
  }
  for (const h of m.withoutHeaders) {
    if (h.claim !== undefined) {
      if (claimMatches(h, req.claims)) return `claim ${h.name} matches (withoutHeaders)`;
      continue;
    }
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

const zero = (): number => 0;
/** Fault draws when no pick is given: a fault fires only at 100% (explain shows the percentages beside). */
const noFault = (): number => 0.9999999;

/** The weighted pick trace was given, or null: the heaviest destination (traceHttp), the first (TCP). */
function fixedRandom(r: number | undefined): (() => number) | null {
  if (r === undefined) return null;
  return () => r;
}

/** A pick that lands in the middle of the heaviest destination's share. */
function heaviest(ds: readonly { weight: number }[], total: number): () => number {
  let k = 0;
  let before = 0;
  let acc = 0;
  for (let i = 0; i < ds.length; i++) {
    if (ds[i]!.weight > ds[k]!.weight) {
      k = i;
      before = acc;
    }
    acc += ds[i]!.weight;
  }
  const x = total > 0 ? (before + ds[k]!.weight / 2) / total : 0;
  return () => x;
}

export function trace(snapshot: Snapshot, request: TraceRequest): TraceResult {
  const out: TraceResult = {
    outcome: "no_listener",
    status: 404,
    reason: "",
    reply: null,
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
  if (tracePath(request) === null) return { ...out, outcome: "bad_request", status: 400, reply: "bad_request", reason: `path ${JSON.stringify(request.path)} is invalid (%00 or a broken escape)` };
  if (!validAuthority(request.host)) return { ...out, outcome: "bad_request", status: 400, reply: "bad_request", reason: `host ${JSON.stringify(request.host)} is not a valid authority` };
  const l = listenerFor(snapshot, request.port);
  if (l === null) {
    out.reason = `no listener on port ${request.port} (listeners: ${snapshot.listeners.map((x) => x.port).join(", ") || "none"})`;
    return out;
  }
  out.listener = l.name;
  // the worker: the Gateway port number, and "https" once TLS is terminated
  const view = requestView({ ...request, port: l.port, scheme: request.scheme ?? (l.tls !== null ? "https" : "http") });
  const a = request.authn;
  const req = a === undefined ? view : authenticatedRequest(view, a.set, a.remove, a.claims);
  const random = fixedRandom(request.random);
  const sni = normalizeHost(request.sni ?? request.host);
  if (l.tls !== null) {
    const c = selectChain(l, sni, request.alpn ?? null);
    out.chain = c.chain?.name ?? null;
    if (c.kind === "refuse") {
      if (c.reason === "unknown_sni") {
        const names = l.tls.chains.flatMap((x) => x.serverNames);
        return { ...out, outcome: "handshake_failed", status: 0, reason: `no TLS server on ${l.name} for SNI "${sni}" (names: ${names.join(", ") || "none"}): the handshake fails` };
      }
      return { ...out, outcome: "handshake_failed", status: 0, reason: `${c.chain?.name ?? l.name} (${c.chain?.source ?? "listener"}) is disabled: ${c.why}` };
    }
    if (c.kind === "passthrough" || c.chain.tcpRoutes !== null) return traceTcp(snapshot, out, c.chain.tcpRoutes, sni, random ?? zero);
    return traceHttp(snapshot, out, { listener: l, sni }, req, random);
  }
  if (l.routeTable === null && l.tcpRoutes !== null) return traceTcp(snapshot, out, l.tcpRoutes, sni, random ?? zero);
  if (l.routeTable === null) {
    return { ...out, outcome: "not_http", status: 0, reason: `${l.name} is a ${l.protocol} listener: not HTTP-routed` };
  }
  return traceHttp(snapshot, out, { listener: l, sni: null }, req, random);
}

/** An HTTP request: the Decision (outcome, status), and why (the routes considered). */
function traceHttp(snapshot: Snapshot, out: TraceResult, conn: ConnFacts, req: DispatchRequest, random: (() => number) | null): TraceResult {
  let d = dispatch(snapshot, conn, req, random ?? zero, random ?? noFault);
  const fa = d.route?.action;
  // no pick given: the heaviest destination's fate (the most likely answer)
  if (random === null && fa?.kind === "forward" && fa.destinations.length > 1) d = dispatch(snapshot, conn, req, heaviest(fa.destinations, fa.totalWeight), noFault);
  const reply = d.reply;
  out.reply = reply?.code ?? null;
  out.status = d.kind === "forward" ? 200 : d.status;
  const l = conn.listener;
  const table = d.chain !== null ? d.chain.routeTable : l.routeTable;
  if (reply?.code === "misdirected") {
    const served = d.chain === null ? "" : ` (SNI ${conn.sni})`;
    const by = d.chain === null ? `no server of ${l.name} terminates HTTP for SNI "${conn.sni}"` : `host ${req.host} is served by another server of ${l.name}, not by ${d.chain.name}${served}`;
    return { ...out, outcome: "misdirected", reason: `${by}: 421 Misdirected Request` };
  }
  out.routeTable = table?.name ?? null;
  const vh = d.virtualHost;
  if (vh === null || table === null) {
    const domains = table?.virtualHosts.flatMap((v) => v.domains) ?? [];
    return { ...out, outcome: "no_virtual_host", reason: `no virtual host for ${req.host} in ${table?.name ?? l.name} (domains: ${domains.join(", ") || "none"})` };
  }
  out.virtualHost = vh.name;
  if (req.method === "CONNECT" && d.route === null) {
    return { ...out, outcome: "no_route", reason: "CONNECT matches no route: Envoy routes CONNECT only through connect_matcher routes, which Istio gateways do not configure" };
  }
  const ri = d.route === null ? -1 : vh.routes.indexOf(d.route);
  const upTo = ri < 0 ? vh.routes.length : ri + 1;
  for (let i = 0; i < upTo; i++) out.considered.push(checkRoute(vh.routes[i]!, i, req));
  if (d.route === null) {
    return { ...out, outcome: "no_route", reason: `no route of ${vh.name} matches ${req.method} ${req.path}` };
  }
  const route = d.route;
  out.route = route.name;
  out.routeIndex = ri;
  const a = route.action;
  const delay = d.delayMs > 0 ? ` after a fault delay of ${d.delayMs}ms` : "";
  if (reply?.code === "fault_abort") {
    return { ...out, outcome: "fault_abort", reason: `route ${route.name}: its fault aborts with ${d.status}${delay}` };
  }
  if (reply?.code === "cors_preflight") {
    return { ...out, outcome: "cors_preflight", reason: `route ${route.name}: a CORS preflight, answered by the gateway${delay}` };
  }
  if (a.kind === "redirect") {
    return { ...out, outcome: "redirect", reason: `route ${route.name} redirects (${d.status}) to ${d.location}` };
  }
  if (a.kind === "direct") {
    return { ...out, outcome: "direct", reason: `route ${route.name} answers ${d.status} directly` };
  }
  for (const x of a.destinations) {
    out.destinations.push({ cluster: x.cluster, weight: x.weight, endpoints: snapshot.clusters.get(x.cluster)?.endpoints ?? [] });
  }
  const picked = d.destination;
  out.cluster = picked?.cluster ?? null;
  out.endpoints = picked === null ? [] : (snapshot.clusters.get(picked.cluster)?.endpoints ?? []);
  const of = a.destinations.length > 1 ? ` (picked by weight of ${a.destinations.length})` : "";
  if (reply?.code === "backend_unresolved") {
    return { ...out, outcome: "direct", reason: `route ${route.name}: its backendRef${of} does not resolve: answers 500` };
  }
  if (reply?.code === "cluster_not_found") {
    return { ...out, outcome: "no_cluster", reason: `route ${route.name}: cluster ${picked!.cluster}${of} does not exist` };
  }
  if (d.kind === "reply") {
    return { ...out, outcome: "no_endpoints", reason: `route ${route.name}: cluster ${picked?.cluster ?? "(none)"}${of} has no endpoints` };
  }
  const to = d.path === null ? "" : `, path rewritten to ${d.path}`;
  return { ...out, outcome: "forward", reason: `route ${route.name} → ${out.destinations.map((x) => x.cluster).join(", ")}${of}${to}${delay}` };
}

/** A TCP/TLS-passthrough connection: the route its SNI selects and where the bytes go. */
function traceTcp(snapshot: Snapshot, out: TraceResult, t: TcpRouteTable | null, sni: string, random: () => number): TraceResult {
  out.status = 0;
  out.routeTable = t?.name ?? null;
  const d = dispatchTcp(snapshot, t, sni, random);
  out.reply = d.reply?.code ?? null;
  const r = d.route;
  if (r === null) {
    const names = t?.routes.flatMap((x) => x.sniHosts) ?? [];
    return { ...out, outcome: "tcp_no_route", reason: `no TCP route of ${t?.name ?? "(none)"} for SNI "${sni}" (routes for: ${names.join(", ") || "none"}): the connection is closed` };
  }
  out.route = r.name;
  out.routeIndex = t!.routes.indexOf(r);
  for (const x of r.destinations) {
    out.destinations.push({ cluster: x.cluster, weight: x.weight, endpoints: snapshot.clusters.get(x.cluster)?.endpoints ?? [] });
  }
  out.cluster = d.destination?.cluster ?? null;
  out.endpoints = d.destination === null ? [] : (snapshot.clusters.get(d.destination.cluster)?.endpoints ?? []);
  const where = out.destinations.map((x) => x.cluster).join(", ");
  if (d.kind === "reply") {
    return { ...out, outcome: "tcp_no_route", reason: `route ${r.name} (${r.source}): ${out.cluster ?? where ?? "(no destination)"} has no endpoints: the connection is closed` };
  }
  return { ...out, outcome: "tcp_forward", reason: `route ${r.name} (${r.source}) splices the connection to ${where}` };
}

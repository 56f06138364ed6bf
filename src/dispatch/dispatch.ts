// The one decision path: listener → (TLS: filter chain by SNI, 421 for a Host
// another chain serves) → virtual host → route → action (forward to a
// weighted destination, redirect, direct response) → cluster (missing: 503
// NC, no endpoints: 503 UH). The workers (each HTTP/1.1 exchange, each
// HTTP/2 stream, the TLS chain choice, TCP and passthrough routes) and
// `trace`/`explain` all call these functions, so what explain says is what the
// gateway does. Pure: no sockets, no clock; randomness is injected.
import { misdirected, selectRoute, selectVirtualHost } from "../route/lookup.ts";
import { applyRegexRewrite } from "../route/regex-rewrite.ts";
import type { FilterChain, HeaderOperations, Listener, Snapshot, TcpRouteTable, WeightedDestination } from "../snapshot/types.ts";
import { corsDecision } from "../traffic/cors.ts";
import { faultAbort, faultDelay } from "../traffic/fault.ts";
import { redirectLocation } from "../traffic/redirect.ts";
import { matchedPrefix, rewritePath } from "./actions.ts";
import { Decision, EMPTY_OPS, type ChainDecision, type ConnFacts, type DispatchRequest, type TcpDecision } from "./decision.ts";
import { REPLIES, type ReplyRow } from "./replies.ts";

function reply(d: Decision, r: ReplyRow): Decision {
  d.kind = "reply";
  d.reply = r;
  d.status = r.status;
  d.body = r.body;
  return d;
}

/**
 * One destination of a weighted list (Envoy's weighted_clusters: random by
 * weight); `random` in [0, 1). null when the list is empty.
 */
export function pickWeighted(dests: readonly WeightedDestination[], totalWeight: number, random: () => number): WeightedDestination | null {
  const n = dests.length;
  if (n <= 1) return n === 0 ? null : dests[0]!;
  let r = random() * totalWeight;
  for (let i = 0; i < n; i++) {
    r -= dests[i]!.weight;
    if (r < 0) return dests[i]!;
  }
  return dests[n - 1]!;
}

/**
 * Decide one HTTP request. `req.port` and `req.scheme` are the connection's
 * (the Gateway port number, "https" when TLS was terminated). `random` picks
 * a weighted destination, `faultRandom` draws the route's fault delay and abort.
 * `into`: a Decision to reset and fill (the same answer as a new one; the
 * workers' exchanges reuse theirs), else a new one.
 */
export function dispatch(
  snapshot: Snapshot,
  conn: ConnFacts,
  req: DispatchRequest,
  random: () => number = Math.random,
  faultRandom: () => number = random,
  into: Decision | null = null,
): Decision {
  const d = into === null ? new Decision() : into.reset();
  // `OPTIONS *` (asterisk-form): Envoy's connection manager refuses any path not starting with `/`
  // (404, absolute_path_rejected) before routing; CONNECT has no path and is routed below
  if (req.method !== "CONNECT" && req.path.charCodeAt(0) !== 47 /* / */) return reply(d, REPLIES.absolute_path);
  const l = conn.listener;
  let table = l.routeTable;
  if (conn.sni !== null) {
    const tls = l.tls;
    const ci = tls === null ? -1 : selectVirtualHost(tls, conn.sni);
    const chain = ci < 0 ? null : tls!.chains[ci]!;
    // the connection's server is gone or no longer terminates HTTP here (a reload): the client must reconnect
    if (chain === null || chain.disabled !== "" || chain.routeTable === null) return reply(d, REPLIES.misdirected);
    d.chain = chain;
    // a host the port's other TLS server serves (HTTP/2 connection reuse, a wrong Host)
    if (misdirected(tls!, chain, req.host)) return reply(d, REPLIES.misdirected);
    table = chain.routeTable;
  }
  if (table === null) return reply(d, REPLIES.no_route);
  const vi = selectVirtualHost(table, req.host);
  if (vi < 0) return reply(d, REPLIES.no_route);
  const vh = table.virtualHosts[vi]!;
  d.virtualHost = vh;
  // Envoy routes CONNECT only through connect_matcher routes, which Istio's gateways do not have:
  // path matchers never match it (no :path), so it is 404 NR on HTTP/1.1 and HTTP/2 alike
  if (req.method === "CONNECT") return reply(d, REPLIES.no_route);
  const ri = selectRoute(table, vi, req);
  if (ri < 0) return reply(d, REPLIES.no_route);
  const route = vh.routes[ri]!;
  d.route = route;
  d.requestHeaders = route.requestHeaders;
  d.responseHeaders = route.responseHeaders;
  const a = route.action;
  // Istio's filter order: fault, then CORS, then the router
  const fault = route.fault;
  if (fault) {
    d.delayMs = faultDelay(fault, faultRandom());
    const abort = faultAbort(fault, faultRandom(), isGrpc(req));
    if (abort !== null) {
      reply(d, REPLIES.fault_abort);
      d.status = abort.status;
      d.body = abort.body;
      d.extraHeaders = abort.headers;
      d.responseHeaders = EMPTY_OPS; // a filter's local reply: the route's response headers are the router's
      return d;
    }
  }
  if (a.kind === "redirect") {
    reply(d, REPLIES.redirect);
    d.status = a.status;
    d.location = redirectLocation(a, req, a.prefixRewrite ? matchedPrefix(route, req) : null);
    return d;
  }
  if (a.kind === "direct") {
    reply(d, REPLIES.direct_response);
    d.status = a.status;
    d.body = a.body;
    d.bodyBytes = a.bytes ?? null;
    return d;
  }
  const cors = corsDecision(route.cors, req.method, req);
  if (cors.kind === "preflight") {
    reply(d, REPLIES.cors_preflight);
    d.extraHeaders = cors.headers;
    d.responseHeaders = EMPTY_OPS;
    return d;
  }
  const dest = pickWeighted(a.destinations, a.totalWeight, random);
  if (dest === null) return reply(d, REPLIES.no_healthy_upstream);
  d.destination = dest;
  // a destination of a split with its own headers: its operations (the route's included)
  if (dest.requestHeaders !== undefined) d.requestHeaders = dest.requestHeaders;
  if (dest.responseHeaders !== undefined) d.responseHeaders = dest.responseHeaders;
  // an allowed origin: the CORS headers set on whatever answers (the upstream or the router's 503/504)
  if (cors.kind === "forward" && cors.responseHeaders.length > 0) d.responseHeaders = withSet(d.responseHeaders, cors.responseHeaders);
  if (dest.cluster === "") return reply(d, REPLIES.backend_unresolved);
  const c = snapshot.clusters.get(dest.cluster);
  if (c === undefined) return reply(d, REPLIES.cluster_not_found);
  if (c.endpoints.length === 0) return reply(d, REPLIES.no_healthy_upstream);
  d.cluster = c;
  d.kind = "forward";
  if (a.rewriteUri !== null || a.regexRewrite) {
    // Envoy's regex_rewrite replaces within the path; the query is kept either way
    const p = a.regexRewrite ? applyRegexRewrite(a.regexRewrite, req.path) : rewritePath(route, req, a.rewriteUri!);
    d.originalPath = req.query === "" ? req.path : req.path + "?" + req.query;
    d.path = req.query === "" ? p : p + "?" + req.query;
  }
  // the route's own authority (rewrite.authority, its :authority/host header) wins over a weighted
  // destination's: Envoy applies a cluster weight's host_rewrite_literal, then the route's
  d.authority = a.rewriteAuthority ?? dest.rewriteAuthority ?? (req.authority === "" ? dest.host : req.authority);
  return d;
}

/** gRPC requests (content-type application/grpc…) get a fault's gRPC status the gRPC way. */
function isGrpc(req: DispatchRequest): boolean {
  return req.header("content-type")?.startsWith("application/grpc") === true;
}

/** `ops` with `lines` set after its own sets (so they win). */
function withSet(ops: HeaderOperations, lines: [string, string][]): HeaderOperations {
  return { set: [...ops.set, ...lines], add: ops.add, remove: ops.remove };
}

/** The listener of a Gateway port in `snapshot` (by `port.number`, else by the bound port), or null. */
export function listenerFor(snapshot: Snapshot, port: number): Listener | null {
  return snapshot.listeners.find((l) => l.port === port) ?? snapshot.listeners.find((l) => l.bindPort === port) ?? null;
}

/** Is this chain's TLS spliced untouched (not terminated here)? */
export function isPassthrough(chain: FilterChain): boolean {
  return chain.mode === "PASSTHROUGH" || chain.mode === "AUTO_PASSTHROUGH";
}

/**
 * Istio's mTLS ALPNs (listener.go allIstioMtlsALPNs): an AUTO_PASSTHROUGH filter chain
 * matches only a ClientHello offering one of them, so a client outside the mesh
 * (no ALPN, h2, http/1.1) cannot reach a cluster by naming it in the SNI.
 */
const ISTIO_MTLS_ALPNS: ReadonlySet<string> = new Set(["istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"]);

/**
 * The filter chain for a ClientHello's SNI (lower case, "" when none) and ALPN
 * list: refuse, terminate or splice. `alpn` null: not known (a trace without
 * one), no ALPN condition applied.
 */
export function selectChain(listener: Listener, sni: string, alpn: readonly string[] | null = null): ChainDecision {
  const tls = listener.tls;
  if (tls === null) return { kind: "refuse", reason: "not_tls", why: "not a TLS listener", chain: null };
  const ci = selectVirtualHost(tls, sni);
  if (ci < 0) return { kind: "refuse", reason: "unknown_sni", why: sni === "" ? "no SNI and no server for any name" : "no server for this SNI", chain: null };
  const chain = tls.chains[ci]!;
  if (chain.disabled !== "") return { kind: "refuse", reason: "chain_disabled", why: chain.disabled, chain };
  if (isPassthrough(chain)) {
    if (chain.tcpRoutes === null) return { kind: "refuse", reason: "chain_disabled", why: "passthrough server without routes", chain };
    if (chain.mode === "AUTO_PASSTHROUGH" && alpn !== null && !alpn.some((a) => ISTIO_MTLS_ALPNS.has(a))) {
      return { kind: "refuse", reason: "no_alpn_match", why: `AUTO_PASSTHROUGH takes a ClientHello offering an Istio mTLS ALPN (${[...ISTIO_MTLS_ALPNS].join(", ")}); offered: ${alpn.join(", ") || "none"}`, chain };
    }
    return { kind: "passthrough", chain };
  }
  if (chain.routeTable === null && chain.tcpRoutes === null) return { kind: "refuse", reason: "chain_disabled", why: "server has neither HTTP nor TCP routes", chain };
  return { kind: "terminate", chain };
}

/**
 * Where a TCP connection goes: the route of `table` for `sni` (a TCP
 * server's one route is the catch-all), one of its destinations by weight,
 * and that destination's cluster. `table` null: no route.
 */
export function dispatchTcp(snapshot: Snapshot, table: TcpRouteTable | null, sni: string, random: () => number = Math.random): TcpDecision {
  const out: TcpDecision = { kind: "reply", reply: REPLIES.no_route, route: null, destination: null, cluster: null };
  if (table === null) return out;
  const i = selectVirtualHost(table, sni);
  if (i < 0) return out;
  const r = table.routes[i]!;
  out.route = r;
  const dest = pickWeighted(r.destinations, r.totalWeight, random);
  if (dest === null) {
    out.reply = REPLIES.no_healthy_upstream;
    return out;
  }
  out.destination = dest;
  const c = snapshot.clusters.get(dest.cluster);
  if (c === undefined) {
    out.reply = REPLIES.cluster_not_found;
    return out;
  }
  if (c.endpoints.length === 0) {
    out.reply = REPLIES.no_healthy_upstream;
    return out;
  }
  out.cluster = c;
  out.kind = "forward";
  out.reply = null;
  return out;
}

// The one decision path: listener → (TLS: filter chain by SNI, 421 for a Host
// another chain serves) → virtual host → route → action (forward to a
// weighted destination, redirect, direct response) → cluster (missing: 503
// NC, no endpoints: 503 UH). The workers (each HTTP/1.1 exchange, each
// HTTP/2 stream, the TLS chain choice, TCP and passthrough routes) and
// `trace`/`explain` all call these functions, so what explain says is what the
// gateway does. Pure: no sockets, no clock; randomness is injected.
import { misdirected, selectRoute, selectVirtualHost } from "../route/lookup.ts";
import type { FilterChain, Listener, Snapshot, TcpRouteTable, WeightedDestination } from "../snapshot/types.ts";
import { redirectLocation, rewritePath } from "./actions.ts";
import { Decision, type ChainDecision, type ConnFacts, type DispatchRequest, type TcpDecision } from "./decision.ts";
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
 * (the Gateway port number, "https" when TLS was terminated).
 */
export function dispatch(snapshot: Snapshot, conn: ConnFacts, req: DispatchRequest, random: () => number = Math.random): Decision {
  const d = new Decision();
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
  const ri = selectRoute(vh, req);
  if (ri < 0) return reply(d, REPLIES.no_route);
  const route = vh.routes[ri]!;
  d.route = route;
  d.requestHeaders = route.requestHeaders;
  d.responseHeaders = route.responseHeaders;
  const a = route.action;
  if (a.kind === "redirect") {
    reply(d, REPLIES.redirect);
    d.status = a.status;
    d.location = redirectLocation(req, a);
    return d;
  }
  if (a.kind === "direct") {
    reply(d, REPLIES.direct_response);
    d.status = a.status;
    d.body = a.body;
    return d;
  }
  const dest = pickWeighted(a.destinations, a.totalWeight, random);
  if (dest === null) return reply(d, REPLIES.no_healthy_upstream);
  d.destination = dest;
  if (dest.cluster === "") return reply(d, REPLIES.backend_unresolved);
  const c = snapshot.clusters.get(dest.cluster);
  if (c === undefined) return reply(d, REPLIES.cluster_not_found);
  if (c.endpoints.length === 0) return reply(d, REPLIES.no_healthy_upstream);
  d.cluster = c;
  d.kind = "forward";
  if (a.rewriteUri !== null) {
    const p = rewritePath(route, req, a.rewriteUri);
    d.originalPath = req.query === "" ? req.path : req.path + "?" + req.query;
    d.path = req.query === "" ? p : p + "?" + req.query;
  }
  d.authority = a.rewriteAuthority ?? (req.authority === "" ? dest.host : req.authority);
  return d;
}

/** The listener of a Gateway port in `snapshot` (by `port.number`, else by the bound port), or null. */
export function listenerFor(snapshot: Snapshot, port: number): Listener | null {
  return snapshot.listeners.find((l) => l.port === port) ?? snapshot.listeners.find((l) => l.bindPort === port) ?? null;
}

/** Is this chain's TLS spliced untouched (not terminated here)? */
export function isPassthrough(chain: FilterChain): boolean {
  return chain.mode === "PASSTHROUGH" || chain.mode === "AUTO_PASSTHROUGH";
}

/** The filter chain for a ClientHello's SNI (lower case, "" when none): refuse, terminate or splice. */
export function selectChain(listener: Listener, sni: string): ChainDecision {
  const tls = listener.tls;
  if (tls === null) return { kind: "refuse", reason: "not_tls", why: "not a TLS listener", chain: null };
  const ci = selectVirtualHost(tls, sni);
  if (ci < 0) return { kind: "refuse", reason: "unknown_sni", why: sni === "" ? "no SNI and no server for any name" : "no server for this SNI", chain: null };
  const chain = tls.chains[ci]!;
  if (chain.disabled !== "") return { kind: "refuse", reason: "chain_disabled", why: chain.disabled, chain };
  if (isPassthrough(chain)) {
    if (chain.tcpRoutes === null) return { kind: "refuse", reason: "chain_disabled", why: "passthrough server without routes", chain };
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

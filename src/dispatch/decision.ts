// What dispatch decides for one request (or one TCP/TLS connection), and what
// it needs to know. Plain values; no sockets. The workers act on a Decision,
// `explain` prints it: both get it from the same call (dispatch.ts).
//
// Extending it (traffic features):
// - a policy applied while forwarding (retries, timeout, mirror, CORS headers,
//   outlier ejection) is compiled onto the Route (src/snapshot/types.ts) and
//   read by the worker from `decision.route` (or `decision.virtualHost`);
//   the Exchange keeps the Decision for its whole life (`ex.decision`; an
//   HTTP/1.1 exchange made again dispatches into the same one, reset: a new
//   field goes into Decision.reset too);
// - a step that can answer before forwarding (fault abort, CORS preflight,
//   JWT/AuthorizationPolicy denial) belongs in dispatch() when it depends only
//   on the snapshot and the request head: it returns reply(d, REPLIES.<code>)
//   with a new row in replies.ts, so explain shows it too; when it needs
//   the clock or I/O (a delay, a JWKS fetch) the worker does it after
//   dispatch and answers with ex.reply(REPLIES.<code>, status?, body?, headers?).
import type { Cluster, FilterChain, HeaderOperations, Listener, Route, TcpRoute, VirtualHost, WeightedDestination } from "../snapshot/types.ts";
import type { RequestView } from "../route/lookup.ts";
import type { ReplyRow } from "./replies.ts";

/** What dispatch knows of the connection a request came on. */
export interface ConnFacts {
  /** The listener of the connection's port, from the snapshot the request is decided in. */
  listener: Listener;
  /**
   * TLS terminated on this connection: the SNI of its handshake (lower case,
   * "" when the client sent none). The filter chain (hence the route table)
   * is looked up by it in `listener`, so a kept-alive connection follows
   * reloads; only its certificate stays the handshake's. null: plain text.
   */
  sni: string | null;
}

/** The request head as dispatch reads it: the route lookup's view plus the authority as sent. */
export interface DispatchRequest extends RequestView {
  /** Host header (or :authority, or an absolute-form target's authority) as sent, port included; "" when absent. */
  authority: string;
}

export const EMPTY_OPS: HeaderOperations = Object.freeze({ set: [], add: [], remove: [] }) as HeaderOperations;
/** No extra header lines (shared, frozen: a Decision's lines are replaced, never pushed onto). */
const NO_EXTRA = Object.freeze([]) as unknown as [string, string][];

/**
 * "forward": send the request to `cluster` (an endpoint of it, chosen by the
 * worker's load balancer), with `path`/`authority` and the route's header
 * operations. "reply": answer locally with `reply` (a row of the reply table)
 * and `status`/`body`/`location` (the route's, for redirects and direct
 * responses). Later traffic features (retries, timeouts, mirrors, CORS, auth)
 * read their policy from `route` (and `virtualHost`); a feature that can
 * refuse a request before forwarding turns the Decision into a reply with its
 * own row.
 */
export class Decision {
  kind: "forward" | "reply" = "reply";
  /** reply: the row (no_route, misdirected, redirect...); forward: null. */
  reply: ReplyRow | null = null;
  /** reply: the status to send (the row's, or the route's redirect/direct status). */
  status = 0;
  /** reply: the body (the row's, or a direct response's). */
  body = "";
  /** redirect: the Location header value; "" otherwise. */
  location = "";
  /** TLS: the filter chain the connection's SNI selects in this snapshot. */
  chain: FilterChain | null = null;
  virtualHost: VirtualHost | null = null;
  route: Route | null = null;
  /** forward (and a reply for a destination that cannot be served): the weighted destination picked. */
  destination: WeightedDestination | null = null;
  /** forward: the destination's cluster (endpoints > 0). */
  cluster: Cluster | null = null;
  /** forward: path and query to send upstream; null: as received. */
  path: string | null = null;
  /** forward: the path and query as received when `path` rewrote it (x-envoy-original-path), else "". */
  originalPath = "";
  /** forward: :authority / Host to send upstream. */
  authority = "";
  /** Header operations of the route (EMPTY_OPS when none was chosen). */
  requestHeaders: HeaderOperations = EMPTY_OPS;
  responseHeaders: HeaderOperations = EMPTY_OPS;
  // --- traffic policies of the route (src/traffic) ---
  /** The route's fault delays the request this long before it is forwarded or answered (flag DI). */
  delayMs = 0;
  /** reply: header lines the reply carries besides the row's (a CORS preflight's, a gRPC fault abort's). */
  extraHeaders: [string, string][] = NO_EXTRA;
  /** direct response: `body.bytes` (sent instead of `body`), or null. */
  bodyBytes: Uint8Array | null = null;

  /** Every field as a new Decision has it (dispatch into a reused one: the worker's exchanges keep theirs). */
  reset(): this {
    this.kind = "reply";
    this.reply = null;
    this.status = 0;
    this.body = "";
    this.location = "";
    this.chain = null;
    this.virtualHost = null;
    this.route = null;
    this.destination = null;
    this.cluster = null;
    this.path = null;
    this.originalPath = "";
    this.authority = "";
    this.requestHeaders = EMPTY_OPS;
    this.responseHeaders = EMPTY_OPS;
    this.delayMs = 0;
    this.extraHeaders = NO_EXTRA;
    this.bodyBytes = null;
    return this;
  }
}

/** TLS filter-chain choice for a ClientHello (workers/tls/listener.ts). */
export type ChainDecision =
  | { kind: "refuse"; reason: "not_tls" | "unknown_sni" | "chain_disabled" | "no_alpn_match"; why: string; chain: FilterChain | null }
  /** Terminate TLS with the chain's credential, then HTTP (routeTable) or TCP routes (tcpRoutes). */
  | { kind: "terminate"; chain: FilterChain }
  /** Splice the bytes untouched along the chain's TCP routes. */
  | { kind: "passthrough"; chain: FilterChain };

/** Where a TCP / TLS-passthrough connection goes. */
export interface TcpDecision {
  kind: "forward" | "reply";
  /** reply: no_route, cluster_not_found or no_healthy_upstream. */
  reply: ReplyRow | null;
  route: TcpRoute | null;
  destination: WeightedDestination | null;
  cluster: Cluster | null;
}

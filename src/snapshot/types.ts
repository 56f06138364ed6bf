// The compiled snapshot: the one immutable value the primary builds from the
// configuration and every worker serves from. Plain data that survives
// postMessage (structured clone keeps Map; a compiled regex keeps only its
// source and is revived by the worker, see CompiledRegex); the admin listener
// serialises it with `toJSON` helpers in snapshot/dump.ts.
//
// Shape follows Envoy's: listener (one per gateway port) → route table
// (virtual hosts by domain) → routes (first match wins) → clusters → endpoints.

import type { TracingConfig } from "./tracing.ts";
import type { Credential } from "../credentials/parse.ts";
import type { StatusItem } from "./status.ts";
import type { UpstreamPolicy } from "./upstream.ts";
import type { SecurityConfig } from "../security/types.ts";
import type { AccessLogConfig } from "./access-log.ts";

export type { Credential };
export type { UpstreamPolicy };

export type ServerProtocol = "HTTP" | "HTTPS" | "HTTP2" | "GRPC" | "TCP" | "TLS" | "MONGO" | "REDIS";

export interface Snapshot {
  /** Monotonic version, bumped on every successful compile that changed something. */
  version: number;
  /** Digest of the inputs that produced it; a reload with the same digest is skipped. */
  hash: string;
  createdAt: string;
  listeners: Listener[];
  /** Keyed by cluster name, e.g. `outbound|8000||httpbin.default.svc.cluster.local`. */
  clusters: Map<string, Cluster>;
  /** TLS credentials in use, keyed `namespace/secret-name` (private keys redacted in dumps). */
  credentials: Map<string, Credential>;
  /** Problems found while compiling; Error findings dropped the object they name. */
  findings: Finding[];
  /** Gateway API status of the Gateways served and the routes attached to them (empty without Gateway API objects). */
  gatewayStatus?: StatusItem[];
  /** RequestAuthentication / AuthorizationPolicy / client address settings (src/security/types.ts); absent: none. */
  security?: SecurityConfig;
  /**
   * Where access-log lines go, in which format, for which requests (src/compile/access-log.ts);
   * absent: the workers' start-up options (--access-log, --log-format).
   */
  accessLog?: AccessLogConfig;
  /** Distributed tracing (src/compile/tracing.ts); absent: off, nothing per request. */
  tracing?: TracingConfig;
}

export interface Listener {
  /** `0.0.0.0_80`, as Envoy names gateway listeners (address_port of the Gateway port). */
  name: string;
  /** Port as written in the Gateway server (`port.number`). */
  port: number;
  /** Local port actually bound (after `--port-map`). */
  bindPort: number;
  bindAddress: string;
  /** Protocol of the servers on this port (all servers of one port share it). */
  protocol: ServerProtocol;
  /** For HTTP listeners: the route table (`http.80`). Null for TCP/TLS listeners. */
  routeTable: RouteTable | null;
  /** Gateway servers that contributed, `Gateway/ns/name` + server index, for dumps. */
  sources: string[];
  /** For HTTPS/TLS listeners: the filter chains chosen by SNI. Null for plain-text listeners. */
  tls: TlsListener | null;
  /** For TCP listeners (plain-text, not HTTP): where connections go. Null otherwise. */
  tcpRoutes: TcpRouteTable | null;
}

export type TlsMode = "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL" | "PASSTHROUGH" | "AUTO_PASSTHROUGH" | "ISTIO_MUTUAL";

/**
 * The filter chains of a TLS port and their SNI index: exact name, then the
 * longest `*.suffix`, then the chain of a `*` server (the only one a client
 * without SNI reaches). No chain: the handshake fails.
 */
export interface TlsListener {
  chains: FilterChain[];
  exactHosts: Map<string, number>;
  wildcardHosts: WildcardHost[];
  catchAll: number;
}

/** One TLS server of a Gateway (Envoy's filter chain, matched by SNI). */
export interface FilterChain {
  /** `https.443.https.mygateway.istio-system` (Istio's route name for the server). */
  name: string;
  /** `Gateway/ns/name#<server index>` */
  source: string;
  /** SNI names (server hosts without namespace, lower case; `*.x` and `*` allowed). */
  serverNames: string[];
  mode: TlsMode;
  /** Key in snapshot.credentials, or "" (passthrough). */
  credential: string;
  /** Non-empty: why this chain is disabled (broken credential ...): its names fail the handshake. */
  disabled: string;
  /** `TLSv1.2`, `TLSv1.3` ... */
  minVersion: string;
  maxVersion: string;
  /** OpenSSL cipher list (known names only), or "" for the defaults. */
  ciphers: string;
  /** Accepted client certificate SANs (MUTUAL); empty: any certificate the CA signed. */
  subjectAltNames: string[];
  /** ISTIO_MUTUAL: clients need a URI SAN `spiffe://<trustDomain>/...`. */
  trustDomain?: string;
  /**
   * MUTUAL / OPTIONAL_MUTUAL: key in snapshot.credentials of the CA-only credential clients
   * are verified with, instead of the credential's own CA (a Gateway API `tls.frontend`
   * caCertificateRef). Absent: the credential's CA.
   */
  clientCa?: string;
  /** MUTUAL / OPTIONAL_MUTUAL: a client certificate the CA did not sign is accepted too, as unverified (`insecureSkipVerify`, AllowInsecureFallback). */
  acceptUntrusted?: true;
  /** MUTUAL / OPTIONAL_MUTUAL: the client certificate's SHA-256 (lower-case hex) must be one of these, or its SPKI's one of `verifySpki`. */
  verifyHashes?: string[];
  /** Base64 SHA-256 hashes of accepted client certificates' SPKIs (with `verifyHashes`: either matching is enough). */
  verifySpki?: string[];
  /** MUTUAL / OPTIONAL_MUTUAL: revocation list(s), PEM, from the server's `caCrl` file (else the CA credential's own `crl`). */
  crl?: string;
  /** HTTPS terminated here: the route table of this server; null otherwise. */
  routeTable: RouteTable | null;
  /**
   * Where the bytes go when HTTP is not routed here: PASSTHROUGH and
   * AUTO_PASSTHROUGH chains (routes by SNI, TLS untouched), or a TLS server
   * terminated here with `tcp:` routes (its one route). Null otherwise.
   */
  tcpRoutes: TcpRouteTable | null;
  /**
   * A Gateway API listener's chain: a Host that a more specific chain of the
   * port serves is misdirected (421) even though this chain's names cover it
   * (the conformance suite's rule). Absent for Istio Gateway servers.
   */
  ownHostsOnly?: true;
}

/**
 * Where a TCP connection's bytes go (Envoy's tcp_proxy): for a PASSTHROUGH
 * chain, its VirtualService `tls:` routes by SNI (exact, longest `*.suffix`,
 * then `*`, as Envoy's filter chain match); for AUTO_PASSTHROUGH, one route
 * per `outbound_.<port>_.<subset>_.<host>` name; for a TCP server, the first
 * `tcp:` route that applies, as the catch-all. No route found: the connection
 * is closed.
 */
export interface TcpRouteTable {
  /** `tcp.31400`, or the filter chain's name. */
  name: string;
  routes: TcpRoute[];
  /** Lower-case SNI → index in routes. */
  exactHosts: Map<string, number>;
  /** `*.example.com` SNI names as suffix `.example.com`, longest first. */
  wildcardHosts: WildcardHost[];
  /** Index of the route for any SNI (`*`, or a TCP server's route, also without SNI), or -1. */
  catchAll: number;
}

export interface TcpRoute {
  /** `<vs name>.tls.<i>`, `<vs name>.tcp.<i>`, or the SNI name (AUTO_PASSTHROUGH). */
  name: string;
  /** `VirtualService/ns/name`, or the Gateway server (AUTO_PASSTHROUGH). */
  source: string;
  /** SNI names that select it (lower case; `*.x` and `*` allowed); empty for `tcp:` routes. */
  sniHosts: string[];
  /** Weighted clusters (Envoy's weighted_clusters); one destination gets weight 100. */
  destinations: WeightedDestination[];
  totalWeight: number;
}

export interface RouteTable {
  /** `http.80` */
  name: string;
  virtualHosts: VirtualHost[];
  /** Lower-case exact host → index in virtualHosts. */
  exactHosts: Map<string, number>;
  /** `*.example.com` entries as suffix `.example.com`, longest suffix first. */
  wildcardHosts: WildcardHost[];
  /** Index of the `*` virtual host, or -1. */
  catchAll: number;
  /** The virtual hosts' route program, with the exact hosts hashed into it; absent: the maps above are used. */
  program?: RouteProgram | null;
}

export interface WildcardHost {
  suffix: string;
  index: number;
}

export interface VirtualHost {
  /** `httpbin.example.com:80` */
  name: string;
  /** Domains this virtual host answers (lower case; may start with `*.` or be `*`). */
  domains: string[];
  /** In first-match order. */
  routes: Route[];
  /**
   * Compile-time index that narrows the routes worth testing for a path. The
   * route table's program (RouteTable.program) holds the same index flattened,
   * and the lookup runs that instead when it has this virtual host's part.
   * A virtual host is not written to after compile: snapshots share it.
   */
  pathIndex: PathIndex;
}

/**
 * One per route table (byte format written out next to its writer,
 * src/compile/pathindex.ts). `code` holds the exact hosts' records and, for
 * each virtual host with a packed path index, its literals in order of their
 * first route: a count, then per literal
 * `[kind | 4 if its first route is uriOnly 1, length, first route, n]`, the
 * literal's UTF-16 code units, and n list entries `[route, uriOnly flag,
 * index in conditions]` (n = 0 when the first route is uriOnly 1; else the
 * literal's ascending route list). Kinds as in PathIndex.literals.
 * `conditions`: the distinct `matches` lists of the routes the program tests
 * (equal content shares one entry, so thousands of virtual hosts repeating a
 * condition test one object; src/compile/conditions.ts). The program names
 * virtual hosts and routes by index and holds no reference to them, so
 * snapshots share virtual hosts as they are.
 */
export interface RouteProgram {
  code: Uint16Array;
  conditions: RouteMatch[][];
  /**
   * The exact hosts (as `exactHosts`), open addressing over `hostHash`:
   * two numbers per slot, the hash and 1 + the offset in `code` of a host
   * record `[length, UTF-16 code units…, virtual host index (low 16 bits,
   * high 16 bits), its program offset (low, high)]` (0: empty slot). A
   * virtual host's program follows the record of its first exact host.
   */
  hostSlots: Int32Array;
  /** Per virtual host: offset of its program in `code`, or -1 (no program). */
  programAt: Int32Array;
}

/**
 * Narrows candidate routes by path without changing first-match order.
 * Routes are filed under "literals": their case-sensitive exact or prefix uri,
 * or a regex uri's literal prefix (`/items/[0-9]+` → prefix `/items/`; the
 * regex is then tested). Routes the path cannot narrow (no uri, ignoreUriCase,
 * a regex without literal prefix) are always tested. Two layouts:
 * - few literals (the usual case): `packed`, `literals`, `literalRoutes`, one
 *   list in route order, always-tested routes included (kind 2); `always` is
 *   also filled, for reading, but the lookup does not use it;
 * - many: `exact` (path → ascending route indices), `prefixTrie` (trie over
 *   path characters; each node lists ascending route indices whose prefix ends
 *   there) and `always`; `literals` is then empty.
 * The lookup takes the smallest index among the candidates that fully matches.
 */
export interface PathIndex {
  exact: Map<string, number[]>;
  prefixTrie: TrieNode;
  always: number[];
  /** All packed literal strings, concatenated. */
  packed: string;
  /**
   * Six numbers per literal: start and length in `packed`, kind (0 exact,
   * 1 prefix, 2 always), its first route, 1 if that route is uriOnly, index
   * into `literalRoutes`; literals ordered by their first route.
   */
  literals: number[];
  /** Per literal: ascending route indices. */
  literalRoutes: number[][];
  /**
   * Per route: 1 when its only condition is a case-sensitive exact/prefix uri
   * (or it has none): an index hit then matches without testing the route;
   * 2 when its one match has such a uri and other conditions: an index hit
   * tests only those; 0: the route is tested whole.
   */
  uriOnly: number[];
}

export interface TrieNode {
  /** Child nodes by next character (one UTF-16 code unit). */
  children: Map<string, TrieNode>;
  /** Route indices whose prefix ends at this node, ascending. */
  routes: number[];
}

export type StringMatch =
  | { kind: "exact"; value: string }
  | { kind: "prefix"; value: string }
  | { kind: "regex"; source: string; regex: CompiledRegex };

/**
 * An RE2 pattern compiled by src/decode/regex.ts (linear-time engine). Every
 * regex of the snapshot is one of these. Its engine does not survive
 * postMessage: a worker calls `reviveRegexes` on each snapshot it receives.
 */
export interface CompiledRegex {
  readonly source: string;
  readonly engine: "re2";
  /** Does the whole of `input` match (Envoy's safe_regex full match)? */
  test(input: string): boolean;
  /** Every non-overlapping match replaced; `\1`…`\9` in `substitution` are groups (Envoy's regex_rewrite). */
  replaceAll(input: string, substitution: string): string;
}

export interface HeaderMatch {
  /** Lower-case header name (or query parameter name for queryParams; the claim reference as written for a claim). */
  name: string;
  /** null: presence only (`{}` in Istio) */
  match: StringMatch | null;
  /** `@request.auth.claims…`: the path of the verified JWT's claim matched instead of a header. */
  claim?: string[];
}

export interface RouteMatch {
  name: string;
  uri: StringMatch | null;
  ignoreUriCase: boolean;
  scheme: StringMatch | null;
  method: StringMatch | null;
  authority: StringMatch | null;
  headers: HeaderMatch[];
  withoutHeaders: HeaderMatch[];
  queryParams: HeaderMatch[];
  /** Gateway server port this match is narrowed to, or 0. */
  port: number;
}

export interface WeightedDestination {
  /** "" : an unresolved Gateway API backendRef: its share of requests answers 500. */
  cluster: string;
  /** Weight as configured (Istio: 0..100; a single destination gets 100). */
  weight: number;
  host: string;
  port: number;
  subset: string;
  /**
   * One destination of a weighted split with its own `headers`: the header
   * operations to use instead of the route's when it is picked (its own
   * first, then the route's, as Envoy applies weighted-cluster headers before
   * route headers), and its authority rewrite. Absent: the route's.
   */
  requestHeaders?: HeaderOperations;
  responseHeaders?: HeaderOperations;
  rewriteAuthority?: string | null;
}

export interface HeaderOperations {
  set: [string, string][];
  add: [string, string][];
  remove: string[];
}

export type RouteAction =
  | {
      kind: "forward";
      destinations: WeightedDestination[];
      totalWeight: number;
      /** Replace the matched uri prefix (or whole path for exact/regex) with this. */
      rewriteUri: string | null;
      rewriteAuthority: string | null;
      /** rewrite.uriRegexRewrite: every match of `regex` in the path replaced (RE2 GlobalReplace). */
      regexRewrite?: RegexRewrite | null;
    }
  | {
      kind: "redirect";
      status: number;
      scheme: string | null;
      authority: string | null;
      /** 0: the request's port is kept (unless the scheme changes); -1: no port in the Location. */
      port: number;
      uri: string | null;
      /** redirect.prefixRewrite: the matched uri prefix replaced with this (the query kept). */
      prefixRewrite?: string | null;
    }
  | {
      kind: "direct";
      status: number;
      /** `body.string` ("" for none). */
      body: string;
      /** `body.bytes` as given (binary-safe); sent instead of `body` when present. */
      bytes?: Uint8Array | null;
    };

/** rewrite.uriRegexRewrite, compiled (see src/route/regex-rewrite.ts). */
export interface RegexRewrite {
  /** The RE2 pattern as written. */
  pattern: string;
  /** `pattern` compiled (decode/regex.ts); its replaceAll is RE2's GlobalReplace. */
  regex: CompiledRegex;
  /** Substitution as written (`\1`..`\9` groups, `\0` the whole match, `\\` a backslash). */
  substitution: string;
}

/**
 * Envoy's retry policy as Istio configures it: a VirtualService's `retries`,
 * or Istio's default when it has none (2 retries on connect-failure,
 * refused-stream, unavailable, cancelled, retriable-status-codes; another
 * host each time, up to 5 picks).
 */
export interface RetryPolicy {
  /** Retries after the first try (Envoy num_retries; Istio `attempts`). */
  numRetries: number;
  /** 0: none (the route timeout alone bounds the tries). */
  perTryTimeoutMs: number;
  /** Envoy retry_on conditions (`5xx`, `gateway-error`, `reset`, `connect-failure`...). */
  retryOn: string[];
  /** retriable-status-codes: the status codes written in retryOn. */
  retriableStatusCodes: number[];
  /** Envoy's previous_hosts predicate: a retry picks an endpoint not tried yet when there is one. */
  retryPreviousHosts: boolean;
  /** Picks allowed to find such an endpoint (Istio: 5). */
  hostSelectionRetryMaxAttempts: number;
  /** Accepted; gangway has a single priority level, so it changes nothing. */
  retryRemoteLocalities: boolean;
  /** Envoy's exponential back-off with full jitter: base interval, cap 10× base. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Istio's default policy (the route wrote no `retries`). */
  isDefault: boolean;
}

/** HTTPFaultInjection as Envoy's fault filter runs it; percentages per million (Envoy's FractionalPercent). */
export interface FaultPolicy {
  /** 0: no delay. */
  delayMs: number;
  delayPerMillion: number;
  /** HTTP status of the abort; 0: no abort. A gRPC abort answers 200 with `grpcStatus`. */
  abortStatus: number;
  /** gRPC status code of a grpcStatus abort, or -1. */
  abortGrpcStatus: number;
  abortPerMillion: number;
}

/** One mirror (Envoy request_mirror_policies): a fire-and-forget copy of the request. */
export interface MirrorPolicy {
  cluster: string;
  host: string;
  port: number;
  subset: string;
  /** Share of requests mirrored, per million. */
  perMillion: number;
}

/** corsPolicy as Envoy's CORS filter reads it (Istio's TranslateCORSPolicy). */
export interface CorsPolicy {
  allowOrigins: StringMatch[];
  /** Comma-joined as Istio joins them; "" when not written. */
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  /** Seconds as a string; "" when not written. */
  maxAge: string;
  allowCredentials: boolean;
  /** A preflight from an origin not allowed goes upstream (unmatchedPreflights FORWARD, the default) instead of a 200 without CORS headers (IGNORE). */
  forwardNotMatchingPreflights: boolean;
}

export interface Route {
  /** Istio route name, or `<vs name>.<index>`. */
  name: string;
  /** `VirtualService/ns/name` (or `Ingress/ns/name`) it came from. */
  source: string;
  /** OR'd; an empty list matches every request. */
  matches: RouteMatch[];
  action: RouteAction;
  /** Route timeout in ms; 0 means none (Istio's default for HTTP routes). */
  timeoutMs: number;
  requestHeaders: HeaderOperations;
  responseHeaders: HeaderOperations;
  // Traffic policies (absent: none; routes built by compile/routes.ts always set them).
  /** null: retries disabled (`attempts: 0`, or a route that does not forward). */
  retry?: RetryPolicy | null;
  fault?: FaultPolicy | null;
  mirrors?: MirrorPolicy[];
  /** Forward routes only (Envoy's CORS filter skips redirect and direct-response routes). */
  cors?: CorsPolicy | null;
}

export type ClusterType = "EDS" | "STATIC" | "STRICT_DNS" | "ORIGINAL_DST";
export type LbPolicy = "LEAST_REQUEST" | "ROUND_ROBIN" | "RANDOM" | "PASSTHROUGH" | "RING_HASH" | "MAGLEV";

export interface Cluster {
  /** `outbound|8000|v1|httpbin.default.svc.cluster.local` */
  name: string;
  serviceHost: string;
  port: number;
  subset: string;
  type: ClusterType;
  lbPolicy: LbPolicy;
  connectTimeoutMs: number;
  /** For STATIC/EDS: IP addresses; for STRICT_DNS: host names, resolved at connect. */
  endpoints: Endpoint[];
  /** DestinationRule trafficPolicy beyond lbPolicy/connectTimeout (src/snapshot/upstream.ts); absent: none set. */
  upstream?: UpstreamPolicy;
  /**
   * useClientProtocol: the key in snapshot.clusters of this cluster's HTTP/2 twin,
   * which the workers forward HTTP/2 clients' requests through (Envoy's
   * use_downstream_protocol; one Envoy cluster, two pools per endpoint here).
   */
  http2Clients?: string;
  /** The HTTP/2 twin of a useClientProtocol cluster: the name of the cluster it stands for. */
  http2ClientsOf?: string;
  /**
   * Locality load balancing applied to the endpoints (their `priority`,
   * `localityWeight`: compile/locality-lb.ts); absent: none.
   */
  localityLb?: ClusterLocalityLb;
}

export interface ClusterLocalityLb {
  /** distribute: locality-weighted; failover / failoverPriority: priorities. */
  mode: "distribute" | "failover" | "failoverPriority";
  /** The gateway's locality it was computed for ("" when it has none). */
  gatewayLocality: string;
  /** Where the setting came from: `DestinationRule/ns/name` or `mesh config`. */
  source: string;
}

export interface Endpoint {
  address: string;
  port: number;
  /** Relative weight (WorkloadEntry/ServiceEntry weight; 1 by default). */
  weight: number;
  labels: Record<string, string>;
  /** `region/zone/subzone` (src/resolve/locality.ts); absent: none known. */
  locality?: string;
  /**
   * Envoy's priority of the endpoint's LocalityLbEndpoints (0 first), from the
   * cluster's locality load balancing (compile/locality-lb.ts); absent: 0.
   */
  priority?: number;
  /**
   * With `distribute`: the weight of the endpoint's locality (Envoy's
   * LocalityLbEndpoints load_balancing_weight); absent: not locality weighted.
   */
  localityWeight?: number;
  /**
   * Istio's TLS mode where the labels do not give it: `istio` for a
   * WorkloadEntry (or ServiceEntry endpoint) with a serviceAccount and no
   * `security.istio.io/tlsMode` label (compile/sni-dnat.ts endpointTlsMode).
   */
  tlsMode?: string;
}

export type FindingLevel = "Error" | "Warning" | "Info";

export interface Finding {
  /** Stable code, e.g. `GW0101`; see src/analyze/codes.ts. */
  code: string;
  level: FindingLevel;
  message: string;
  /** `Kind/namespace/name` */
  resource?: string;
  file?: string;
  /** 0-based index of the document inside the file. */
  doc?: number;
  /** Dotted path of the offending field, e.g. `spec.http[0].route[0].destination.host`. */
  field?: string;
}

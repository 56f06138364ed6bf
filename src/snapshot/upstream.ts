// The compiled upstream side of a cluster (a DestinationRule's trafficPolicy
// for one port and subset, and the port's protocol), with Envoy's defaults as
// Istio hands them to Envoy already applied: the data plane reads numbers, never
// "unset". Plain data, part of the snapshot.

export interface UpstreamPolicy {
  /** HTTP2: h2c, or h2 by ALPN over TLS; HTTP1: HTTP/1.1. */
  protocol: "HTTP1" | "HTTP2";
  /** Why HTTP2 (`port name grpc-echo`, `appProtocol kubernetes.io/h2c`, `h2UpgradePolicy UPGRADE` ...); "" for HTTP1. */
  protocolSource: string;
  /** trafficPolicy.tls (not DISABLE); null: plaintext. */
  tls: UpstreamTls | null;
  /** loadBalancer.consistentHash; null: the cluster's lbPolicy picks. */
  hash: HashPolicy | null;
  limits: CircuitBreakers;
  /** outlierDetection; null: no ejection (and no panic threshold to apply). */
  outlier: OutlierPolicy | null;
  /**
   * connectionPool.http.useClientProtocol: this cluster (HTTP1) serves HTTP/1.1
   * clients; HTTP/2 clients are forwarded through the cluster named in
   * Cluster.http2Clients, the same but HTTP2. Absent: the protocol above for all.
   */
  useClientProtocol?: true;
  /**
   * trafficPolicy.proxyProtocol: every connection to the endpoints starts
   * with a PROXY protocol header of this version (before TLS) naming the
   * downstream client and the address it connected to. Absent: none.
   */
  proxyProtocol?: 1 | 2;
  /**
   * loadBalancer.warmup / warmupDurationSecs on a ROUND_ROBIN or LEAST_REQUEST
   * cluster (Envoy's slow_start_config): an endpoint added to the cluster gets
   * a share growing over the window (src/upstream/slow-start.ts). Absent: none.
   */
  slowStart?: SlowStartPolicy;
}

/** Envoy's slow_start_config, as istiod writes it. */
export interface SlowStartPolicy {
  /** slow_start_window in ms (whole ms, as Envoy reads it; at least 1). */
  windowMs: number;
  /** aggression (> 0): the weight grows as (time in window / window)^(1 / aggression). */
  aggression: number;
  /** min_weight_percent: the smallest share of its weight a new endpoint gets, 0-100. */
  minWeightPercent: number;
}

export interface UpstreamTls {
  mode: "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
  /**
   * Key in snapshot.credentials: its certChain/privateKey are the client
   * certificate (MUTUAL, ISTIO_MUTUAL), its caCert the CA that verifies the
   * upstream. "" with systemRoots: SIMPLE without CA.
   */
  credential: string;
  /** No CA given: the upstream is verified against the system's roots (Istio's caCertificates "system"). */
  systemRoots: boolean;
  /** SNI sent; "": the request's host (Istio's auto SNI). */
  sni: string;
  /**
   * Names the upstream certificate must carry (DNS or URI SANs). Empty: the SNI
   * is checked as a host name (Istio's auto SAN validation), or, for
   * ISTIO_MUTUAL, any `spiffe://<trustDomain>/` identity.
   */
  subjectAltNames: string[];
  /** ISTIO_MUTUAL: the SPIFFE trust domain (--trust-domain). "" otherwise. */
  spiffeTrustDomain: string;
  insecureSkipVerify: boolean;
  /** ALPN offered: `h2` for HTTP2 clusters, `http/1.1` otherwise (ISTIO_MUTUAL adds `istio`). */
  alpn: string[];
  /** Non-empty: the credentials are missing or broken: requests get 503 (UF) with this reason. */
  problem: string;
}

export type HashKey =
  | { kind: "header"; name: string }
  /** `attributes`: added to a generated cookie after Path (absent: none). */
  | { kind: "cookie"; name: string; path: string; ttlMs: number; attributes?: { name: string; value: string }[] }
  | { kind: "sourceIp" }
  | { kind: "query"; name: string };

export interface HashPolicy {
  key: HashKey;
  algorithm: "RING_HASH" | "MAGLEV";
  /** Envoy's ring_hash_lb_config: minimum 1024, maximum 8M entries by default. */
  minimumRingSize: number;
  maximumRingSize: number;
  /** Envoy's maglev_lb_config table_size: 65537 by default, a prime. */
  tableSize: number;
}

/** Envoy's circuit-breaker thresholds and HTTP protocol options; 0: unlimited / not set (Istio sets unlimited). */
export interface CircuitBreakers {
  maxConnections: number;
  /** http1MaxPendingRequests (Envoy max_pending_requests). */
  maxPendingRequests: number;
  /** http2MaxRequests (Envoy max_requests). */
  maxRequests: number;
  maxRetries: number;
  maxRequestsPerConnection: number;
  /** Upstream connection idle timeout; 0: Envoy's default (1 h). */
  idleTimeoutMs: number;
  /** A TCP route's session idle in both directions this long is closed (tcp.idleTimeout, Envoy's tcp_proxy idle_timeout); absent: 1 h, 0: never. */
  tcpIdleTimeoutMs?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS asked of the upstream; 0: the upstream's. */
  maxConcurrentStreams: number;
  tcpKeepalive: { probes: number; timeMs: number; intervalMs: number } | null;
}

/** Envoy's outlier_detection as Istio writes it; thresholds 0: that detector is off. */
export interface OutlierPolicy {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  /** Counted only when splitExternalLocalOriginErrors. */
  consecutiveLocalOriginFailure: number;
  splitExternalLocalOriginErrors: boolean;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
  /** healthy_panic_threshold (Istio: minHealthPercent, default 0 = never panic). */
  panicThresholdPercent: number;
}

export const NO_LIMITS: CircuitBreakers = {
  maxConnections: 0,
  maxPendingRequests: 0,
  maxRequests: 0,
  maxRetries: 0,
  maxRequestsPerConnection: 0,
  idleTimeoutMs: 0,
  maxConcurrentStreams: 0,
  tcpKeepalive: null,
};

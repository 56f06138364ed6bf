// Istio networking kinds (networking.istio.io v1alpha3/v1beta1/v1), decoded and
// checked: every field has its type and its default; absent optional values are
// "", 0, [] or null, never undefined. Field names follow the Istio API.
import type { ServerProtocol } from "../snapshot/types.ts";
import type { ResourceBase } from "./meta.ts";

// ---- Gateway -------------------------------------------------------------

export type ServerTLSMode = "PASSTHROUGH" | "SIMPLE" | "MUTUAL" | "AUTO_PASSTHROUGH" | "ISTIO_MUTUAL" | "OPTIONAL_MUTUAL";

export interface ServerTLS {
  httpsRedirect: boolean;
  mode: ServerTLSMode;
  /** Secret name in the gateway namespace (or `ns/name`), as written. */
  credentialName: string;
  credentialNames: string[];
  serverCertificate: string;
  privateKey: string;
  caCertificates: string;
  subjectAltNames: string[];
  minProtocolVersion: string;
  maxProtocolVersion: string;
  cipherSuites: string[];
  // The fields below are absent (not "" or []) when not written: most servers
  // are built by code (Ingress, Gateway API) that never sets them.
  /**
   * MUTUAL / OPTIONAL_MUTUAL: the CA clients are verified with, instead of the
   * credential's own CA: a Secret name (or `ns/name`) as written in an Istio Gateway,
   * or istiod's resource name (`configmap://ns/name-cacert`,
   * `kubernetes-gateway://ns/name-cacert`) on servers derived from a Gateway API
   * Gateway's `tls.frontend`.
   */
  caCertCredentialName?: string;
  /** MUTUAL / OPTIONAL_MUTUAL: a client certificate the CA did not sign is accepted too (Envoy's ACCEPT_UNTRUSTED). */
  insecureSkipVerify?: boolean;
  /** MUTUAL / OPTIONAL_MUTUAL: base64 SHA-256 hashes of the SPKIs of the client certificates accepted. */
  verifyCertificateSpki?: string[];
  /** MUTUAL / OPTIONAL_MUTUAL: hex SHA-256 hashes (colons allowed) of the client certificates accepted. */
  verifyCertificateHash?: string[];
  /** File of the certificate revocation list (PEM) client certificates are checked against. */
  caCrl?: string;
  /** Server certificates from files, as serverCertificate/privateKey (an RSA and an ECDSA one). */
  tlsCertificates?: TLSCertificateFiles[];
}

export interface TLSCertificateFiles {
  serverCertificate: string;
  privateKey: string;
  caCertificates: string;
}

export interface ServerPort {
  number: number;
  name: string;
  /** Upper-cased; GRPC-WEB is read as GRPC, HTTP_PROXY as HTTP. */
  protocol: ServerProtocol;
}

export interface Server {
  name: string;
  port: ServerPort;
  bind: string;
  /** `defaultEndpoint` (Istio: NOT IMPLEMENTED): present only when written, reported. */
  defaultEndpoint?: string;
  /** As written, lower-cased: `h`, `*.h`, `*`, `ns/h`, `./h` or `*` + `/h`. */
  hosts: string[];
  tls: ServerTLS | null;
}

export interface GatewaySpec {
  /** Workload labels; empty selects every gateway workload. */
  selector: Record<string, string>;
  servers: Server[];
}

// ---- VirtualService ------------------------------------------------------

/** A string match as written: exact, prefix or (RE2) regex. */
export interface StringMatchSpec {
  kind: "exact" | "prefix" | "regex";
  value: string;
}

/** Header or query parameter match; `match: null` is a presence match (`{}` or regex `*`). */
export interface KeyedMatchSpec {
  name: string;
  match: StringMatchSpec | null;
  /**
   * A header match named `@request.auth.claims.a.b` or `@request.auth.claims[a][b]`
   * (Istio's JWT claim routing): the claim's path, ["a", "b"]; `name` is then kept as
   * written (claims are case-sensitive). Absent for header and query matches.
   */
  claim?: string[];
}

export interface HTTPMatchRequest {
  name: string;
  uri: StringMatchSpec | null;
  scheme: StringMatchSpec | null;
  method: StringMatchSpec | null;
  authority: StringMatchSpec | null;
  /** Sorted by name (lower case), as Istio sorts them. */
  headers: KeyedMatchSpec[];
  withoutHeaders: KeyedMatchSpec[];
  queryParams: KeyedMatchSpec[];
  ignoreUriCase: boolean;
  /** 0: any port. */
  port: number;
  /** Narrow this match to these gateways (`ns/name` or short); empty: all of the route's. */
  gateways: string[];
  sourceLabels: Record<string, string>;
  sourceNamespace: string;
}

export interface Destination {
  host: string;
  subset: string;
  /** 0: not given. */
  port: number;
}

export interface HeaderOperationsSpec {
  set: [string, string][];
  add: [string, string][];
  remove: string[];
}

export interface HeadersSpec {
  request: HeaderOperationsSpec;
  response: HeaderOperationsSpec;
}

export interface HTTPRouteDestination {
  destination: Destination;
  /** 0 when not written (a single destination then takes all traffic). */
  weight: number;
  headers: HeadersSpec | null;
}

export interface HTTPRedirect {
  uri: string;
  prefixRewrite: string;
  authority: string;
  scheme: string;
  /** 0: not given. */
  port: number;
  derivePort: "" | "FROM_PROTOCOL_DEFAULT" | "FROM_REQUEST_PORT";
  /** 301 when not written. */
  redirectCode: number;
  /**
   * Set for routes converted from the Gateway API (never decoded): a Location
   * without a port in the configuration carries none, rather than the port of
   * the request's Host (which may be the local port after --port-map).
   */
  omitRequestPort?: boolean;
}

export interface HTTPDirectResponse {
  status: number;
  /** `body.string`; null without a body or when the body is `body.bytes`. */
  body: string | null;
  /** `body.bytes`, decoded from base64 (any bytes; sent as they are); null otherwise. */
  bytes?: Uint8Array | null;
}

export interface HTTPRewrite {
  uri: string;
  authority: string;
  uriRegexRewrite: { match: string; rewrite: string } | null;
}

/** HTTPRetry. */
export interface HTTPRetrySpec {
  /** Retries after the first try; 0 disables retries. */
  attempts: number;
  /** Milliseconds; 0: not given. */
  perTryTimeoutMs: number;
  /** As written ("" when not given): Envoy conditions and numeric status codes, comma-separated. */
  retryOn: string;
  /** null: not written. */
  retryRemoteLocalities: boolean | null;
  retryIgnorePreviousHosts: boolean | null;
  /** Milliseconds; 0: not given (Envoy's 25 ms base interval). */
  backoffMs: number;
}

/** HTTPFaultInjection; a percentage not written is 0 (Istio: no request is delayed or aborted). */
export interface HTTPFaultSpec {
  delay: { fixedDelayMs: number; percentage: number } | null;
  /** httpStatus, or grpcStatus (a code name, e.g. UNAVAILABLE) with httpStatus 0. */
  abort: { httpStatus: number; grpcStatus: string; percentage: number } | null;
}

export interface HTTPMirrorPolicySpec {
  destination: Destination;
  /** 0..100; null: not written (100). */
  percentage: number | null;
}

export interface CorsPolicySpec {
  /** allowOrigins, or the deprecated allowOrigin strings as exact matches. */
  allowOrigins: StringMatchSpec[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  /** Seconds; null: not written. */
  maxAgeSeconds: number | null;
  /** null: not written. */
  allowCredentials: boolean | null;
  unmatchedPreflights: "" | "UNSPECIFIED" | "FORWARD" | "IGNORE";
}

export interface DelegateSpec {
  name: string;
  /** "": the root VirtualService's namespace. */
  namespace: string;
}

export interface HTTPRoute {
  name: string;
  match: HTTPMatchRequest[];
  route: HTTPRouteDestination[];
  redirect: HTTPRedirect | null;
  directResponse: HTTPDirectResponse | null;
  rewrite: HTTPRewrite | null;
  /** Milliseconds; 0: none. */
  timeoutMs: number;
  headers: HeadersSpec | null;
  // Traffic policies (optional so that routes built from other kinds need not
  // spell them out; absent means not written).
  retries?: HTTPRetrySpec | null;
  fault?: HTTPFaultSpec | null;
  /** `mirror` (the one-destination form). */
  mirror?: Destination | null;
  /** `mirrorPercentage` (or the deprecated `mirrorPercent`), 0..100; null: not written. */
  mirrorPercentage?: number | null;
  /** `mirrors`; null: not written. */
  mirrors?: HTTPMirrorPolicySpec[] | null;
  corsPolicy?: CorsPolicySpec | null;
  delegate?: DelegateSpec | null;
  /** `timeout` was written (also `0s`): a delegate's route keeps its own then. */
  timeoutSet?: boolean;
  /** A route merged from a delegate VirtualService: findings about it name that one. */
  origin?: { resource: VirtualServiceResource; index: number } | null;
}

/** A field read but not acted on (reported by compile as RouteFeatureUnsupported). */
export interface UnsupportedField {
  /** Field path in the document, e.g. `spec.http[0].match[1].statPrefix`. */
  field: string;
  reason: string;
}

export interface L4MatchAttributes {
  port: number;
  gateways: string[];
  sourceLabels: Record<string, string>;
  /** TLS routes only. */
  sniHosts: string[];
}

export interface RouteDestination {
  destination: Destination;
  weight: number;
}

export interface L4Route {
  match: L4MatchAttributes[];
  route: RouteDestination[];
}

export interface VirtualServiceSpec {
  hosts: string[];
  gateways: string[];
  http: HTTPRoute[];
  tcp: L4Route[];
  tls: L4Route[];
  exportTo: string[];
  /** Fields read but not acted on, anywhere in the spec (absent: none). */
  unsupported?: UnsupportedField[];
}

// ---- DestinationRule -----------------------------------------------------

export type SimpleLb = "LEAST_REQUEST" | "LEAST_CONN" | "ROUND_ROBIN" | "RANDOM" | "PASSTHROUGH" | "UNSPECIFIED";

export interface PortTrafficPolicy {
  /** null: not set at this level. */
  simple: SimpleLb | null;
  /** Milliseconds; 0: not set at this level. */
  connectTimeoutMs: number;
  /** Settings read but not applied, as field paths. */
  unsupported: string[];
  /** Field path of this level (`spec.trafficPolicy`, `spec.subsets[0].trafficPolicy.portLevelSettings[1]`). */
  path: string;
  /**
   * Which components this level sets (Istio merges whole components: a subset's
   * `connectionPool` replaces the rule's, a port-level entry replaces all four).
   */
  has: { loadBalancer: boolean; connectionPool: boolean; outlierDetection: boolean; tls: boolean };
  /** loadBalancer.consistentHash; null: not set. */
  consistentHash: ConsistentHashLb | null;
  /** loadBalancer.localityLbSetting; null: not set at this level. */
  localityLb: LocalityLbSetting | null;
  /** loadBalancer.warmup, else warmupDurationSecs (Envoy's defaults filled in); null: neither set. */
  warmup: WarmupLb | null;
  /** connectionPool (tcp + http) beyond connectTimeout; null: not set. */
  pool: ConnectionPoolPolicy | null;
  outlierDetection: OutlierDetectionPolicy | null;
  tls: ClientTlsPolicy | null;
}

/**
 * Istio's LocalityLoadBalancerSetting (DestinationRule loadBalancer.localityLbSetting,
 * MeshConfig localityLbSetting), checked as istiod's ValidateLocalityLbSetting.
 * Localities are `region/zone/subzone`, a trailing `*` matching any.
 */
export interface LocalityLbSetting {
  /** `enabled`; null: not given (on). */
  enabled: boolean | null;
  /** distribute[]: from a locality, each `to` locality's share (1-100, summing to 100), in the order given. */
  distribute: { from: string; to: [string, number][] }[];
  /** failover[]: from a region, the region to try before any other. */
  failover: { from: string; to: string }[];
  /** failoverPriority: label names (or `name=value`), most important first. */
  failoverPriority: string[];
  /** Field path of the setting (`spec.trafficPolicy.loadBalancer.localityLbSetting`, `localityLbSetting`). */
  path: string;
}

/** Slow start (Envoy's slow_start_config as istiod writes it). */
export interface WarmupLb {
  /** warmup.duration / warmupDurationSecs, in ms (at least 1). */
  durationMs: number;
  /** warmup.aggression (> 0); 1 (linear) when unset and for warmupDurationSecs. */
  aggression: number;
  /** warmup.minimumPercent (0-100); 10 when unset and for warmupDurationSecs. */
  minimumPercent: number;
  /** The field it came from (findings name it). */
  field: "warmup" | "warmupDurationSecs";
}

export interface ConsistentHashLb {
  key:
    | { kind: "header"; name: string }
    | { kind: "cookie"; name: string; path: string; ttlMs: number; attributes?: { name: string; value: string }[] }
    | { kind: "sourceIp" }
    | { kind: "query"; name: string };
  /** RING_HASH (also the legacy form) or MAGLEV. */
  algorithm: "RING_HASH" | "MAGLEV";
  /** ringHash.minimumRingSize or the legacy minimumRingSize; 0: Envoy's default 1024. */
  minimumRingSize: number;
  /** maglev.tableSize; 0: Envoy's default 65537. */
  tableSize: number;
}

export type H2UpgradePolicy = "DEFAULT" | "DO_NOT_UPGRADE" | "UPGRADE";

/** ConnectionPoolSettings; 0 / null: not set (unlimited, or the default). */
export interface ConnectionPoolPolicy {
  maxConnections: number;
  /** tcp.tcpKeepalive; null: not set. */
  tcpKeepalive: { probes: number; timeMs: number; intervalMs: number } | null;
  http1MaxPendingRequests: number;
  http2MaxRequests: number;
  maxRequestsPerConnection: number;
  maxRetries: number;
  /** http.idleTimeout (else tcp.idleTimeout); 0: not set. */
  idleTimeoutMs: number;
  /** tcp.idleTimeout alone (a TCP route's idle timeout, Envoy's tcp_proxy idle_timeout); null: not set, 0: none. */
  tcpIdleTimeoutMs: number | null;
  h2UpgradePolicy: H2UpgradePolicy;
  maxConcurrentStreams: number;
  /** http.useClientProtocol: the upstream is spoken to in the protocol the client speaks. */
  useClientProtocol: boolean;
}

/** OutlierDetection; null fields: not written (the defaults then apply as Istio gives them to Envoy). */
export interface OutlierDetectionPolicy {
  consecutive5xxErrors: number | null;
  consecutiveGatewayErrors: number | null;
  consecutiveLocalOriginFailures: number | null;
  splitExternalLocalOriginErrors: boolean;
  intervalMs: number | null;
  baseEjectionTimeMs: number | null;
  maxEjectionPercent: number | null;
  minHealthPercent: number | null;
}

export type ClientTlsMode = "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";

export interface ClientTlsPolicy {
  mode: ClientTlsMode;
  credentialName: string;
  clientCertificate: string;
  privateKey: string;
  caCertificates: string;
  sni: string;
  subjectAltNames: string[];
  insecureSkipVerify: boolean;
}

export interface TrafficPolicy extends PortTrafficPolicy {
  portLevelSettings: { port: number; policy: PortTrafficPolicy }[];
  /**
   * proxyProtocol.version (`{}`: V1); null: not set at this level. Not a
   * portLevelSettings field in Istio's API: a port-level entry keeps the
   * policy's (MergeTrafficPolicy leaves it), a subset's replaces the rule's.
   */
  proxyProtocol: "V1" | "V2" | null;
}

export interface Subset {
  name: string;
  labels: Record<string, string>;
  trafficPolicy: TrafficPolicy | null;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy: TrafficPolicy | null;
  subsets: Subset[];
  exportTo: string[];
  /** `workloadSelector.matchLabels`; null: the rule applies to every workload (absent). */
  workloadSelector: Record<string, string> | null;
}

// ---- ServiceEntry / WorkloadEntry ------------------------------------------

export interface ServiceEntryPort {
  number: number;
  name: string;
  protocol: string;
  /** 0: same as number (or the endpoint's named port). */
  targetPort: number;
}

export interface WorkloadEntrySpec {
  address: string;
  /** Port name → port number on this workload. */
  ports: Record<string, number>;
  labels: Record<string, string>;
  network: string;
  locality: string;
  /** 0: not given (counts as 1). */
  weight: number;
  serviceAccount: string;
}

/** DYNAMIC_DNS (Envoy's dynamic forward proxy for wildcard hosts) is read to be reported: gangway has no such cluster. */
export type Resolution = "NONE" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN" | "DYNAMIC_DNS";

export interface ServiceEntrySpec {
  hosts: string[];
  addresses: string[];
  ports: ServiceEntryPort[];
  location: "MESH_EXTERNAL" | "MESH_INTERNAL";
  resolution: Resolution;
  endpoints: WorkloadEntrySpec[];
  /** null: none (then `endpoints` are used). */
  workloadSelector: Record<string, string> | null;
  exportTo: string[];
  /** The identities the upstream's certificate may carry, when a DestinationRule's tls names none. */
  subjectAltNames: string[];
}

export type GatewayResource = ResourceBase<"Gateway", GatewaySpec>;
export type VirtualServiceResource = ResourceBase<"VirtualService", VirtualServiceSpec>;
export type DestinationRuleResource = ResourceBase<"DestinationRule", DestinationRuleSpec>;
export type ServiceEntryResource = ResourceBase<"ServiceEntry", ServiceEntrySpec>;
export type WorkloadEntryResource = ResourceBase<"WorkloadEntry", WorkloadEntrySpec>;

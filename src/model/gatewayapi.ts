// Kubernetes Gateway API kinds (gateway.networking.k8s.io), decoded with their
// defaults. The Gateway API `Gateway` is kind `KubernetesGateway` here (Istio's
// own name for it), so it never collides with networking.istio.io `Gateway`.
import type { BackendClientCertificateRef } from "./backendtls.ts";
import type { ResourceBase } from "./meta.ts";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";

export interface ParentReference {
  /** `gateway.networking.k8s.io` when not written. */
  group: string;
  /** `Gateway` when not written. */
  kind: string;
  /** The route's namespace when not written. */
  namespace: string;
  name: string;
  sectionName: string;
  /** 0: not given. */
  port: number;
  /** Which fields were written, to echo them in status. */
  written: { namespace: boolean; sectionName: boolean; port: boolean };
}

export interface HeaderModifier {
  set: [string, string][];
  add: [string, string][];
  remove: string[];
}

export interface PathModifier {
  type: "ReplaceFullPath" | "ReplacePrefixMatch";
  value: string;
}

export interface RequestRedirect {
  scheme: string;
  hostname: string;
  path: PathModifier | null;
  /** 0: not given. */
  port: number;
  /** 302 when not written. */
  statusCode: number;
}

export interface URLRewrite {
  hostname: string;
  path: PathModifier | null;
}

/** RequestMirror: where to, and the share mirrored (percent, or fraction as a percentage); null: all. */
export interface RequestMirror {
  backendRef: BackendRef;
  percent: number | null;
}

/** CORS (experimental channel), with the CRD's default maxAge (5 s). */
export interface CORSFilter {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  allowCredentials: boolean;
  /** Seconds. */
  maxAge: number;
}

export interface RouteFilter {
  type: string;
  requestHeaderModifier: HeaderModifier | null;
  responseHeaderModifier: HeaderModifier | null;
  requestRedirect: RequestRedirect | null;
  urlRewrite: URLRewrite | null;
  requestMirror?: RequestMirror | null;
  cors?: CORSFilter | null;
}

/** HTTPRouteRetry. */
export interface RouteRetry {
  /** Status codes that are retried (besides connection errors). */
  codes: number[];
  /** null: not written (Istio uses 2). */
  attempts: number | null;
  /** Milliseconds; 0: not written. */
  backoffMs: number;
}

export interface BackendRef {
  /** "" (core) when not written. */
  group: string;
  /** `Service` when not written. */
  kind: string;
  name: string;
  /** The route's namespace when not written. */
  namespace: string;
  /** 0: not given. */
  port: number;
  /** 1 when not written. */
  weight: number;
  filters: RouteFilter[];
}

export interface ValueMatch {
  type: "Exact" | "RegularExpression";
  name: string;
  value: string;
}

export interface HTTPRouteMatchSpec {
  path: { type: "Exact" | "PathPrefix" | "RegularExpression"; value: string };
  headers: ValueMatch[];
  queryParams: ValueMatch[];
  /** "": any method. */
  method: string;
}

export interface HTTPRouteRuleSpec {
  name: string;
  /** Never empty: a rule without matches matches PathPrefix `/`. */
  matches: HTTPRouteMatchSpec[];
  filters: RouteFilter[];
  backendRefs: BackendRef[];
  /** Milliseconds; 0: not given. */
  requestTimeoutMs: number;
  backendRequestTimeoutMs: number;
  /** null: not written. */
  retry?: RouteRetry | null;
  /** Fields read but not served (sessionPersistence), as field paths. */
  unsupported: string[];
}

/** A field gangway reads only to say it does not act on it (compile reports it, GW0807). */
export interface NotApplied {
  field: string;
  level: "Info" | "Warning";
  why: string;
}

export interface HTTPRouteSpec {
  parentRefs: ParentReference[];
  hostnames: string[];
  rules: HTTPRouteRuleSpec[];
  /** Absent: none. */
  notApplied?: NotApplied[];
}

/** A GRPCRoute method match: at least one of service and method ("" when not written). */
export interface GRPCMethodMatch {
  type: "Exact" | "RegularExpression";
  service: string;
  method: string;
}

export interface GRPCRouteMatchSpec {
  /** null: any method. */
  method: GRPCMethodMatch | null;
  headers: ValueMatch[];
}

export interface GRPCRouteRuleSpec {
  name: string;
  /** Empty: every call. */
  matches: GRPCRouteMatchSpec[];
  filters: RouteFilter[];
  backendRefs: BackendRef[];
  /** Fields read but not served (sessionPersistence), as field paths. */
  unsupported: string[];
}

export interface GRPCRouteSpec {
  parentRefs: ParentReference[];
  hostnames: string[];
  rules: GRPCRouteRuleSpec[];
  /** Absent: none. */
  notApplied?: NotApplied[];
}

export interface L4RouteSpec {
  parentRefs: ParentReference[];
  /** TLSRoute only. */
  hostnames: string[];
  rules: { backendRefs: BackendRef[] }[];
  /** Absent: none. */
  notApplied?: NotApplied[];
}

export interface SecretObjectReference {
  group: string;
  kind: string;
  name: string;
  namespace: string;
}

export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: string; values: string[] }[];
}

export interface GatewayListener {
  name: string;
  /** "": any host. Lower case. */
  hostname: string;
  port: number;
  protocol: string;
  /** `options`: implementation-specific keys; istiod reads `gateway.istio.io/tls-terminate-mode` and `gateway.istio.io/tls-cipher-suites`. */
  tls: { mode: "Terminate" | "Passthrough"; certificateRefs: SecretObjectReference[]; options: Record<string, string> } | null;
  allowedRoutes: {
    from: "Same" | "All" | "Selector";
    selector: LabelSelector | null;
    /** Empty: the kinds of the protocol. */
    kinds: { group: string; kind: string }[];
  };
}

/** A CA reference (`ObjectReference`): `group` "" is core; `namespace` "" is the Gateway's. */
export interface CACertificateRef {
  group: string;
  kind: string;
  name: string;
  namespace: string;
}

/** `tls.frontend.default` / `perPort[].tls`: how clients' certificates are validated. */
export interface FrontendTLSConfig {
  /** null: `validation` not written (clients are not asked for a certificate). */
  validation: { caCertificateRefs: CACertificateRef[]; mode: "AllowValidOnly" | "AllowInsecureFallback" } | null;
}

/** `spec.tls.frontend`: client certificate validation of the Gateway's TLS-terminating listeners. */
export interface FrontendTLS {
  default: FrontendTLSConfig;
  perPort: { port: number; tls: FrontendTLSConfig }[];
}

/** Gateway `spec.allowedListeners.namespaces`: the namespaces whose ListenerSets may attach. */
export interface AllowedListeners {
  from: "Same" | "All" | "Selector" | "None";
  selector: LabelSelector | null;
}

export interface KubernetesGatewaySpec {
  gatewayClassName: string;
  listeners: GatewayListener[];
  /** null or absent: not written, no ListenerSet may attach. */
  allowedListeners?: AllowedListeners | null;
  /** `infrastructure.parametersRef`, or null. */
  parametersRef: { group: string; kind: string; name: string } | null;
  /** `tls.frontend`, or null. */
  frontendTls: FrontendTLS | null;
  /** `tls.backend.clientCertificateRef`: the certificate presented to BackendTLSPolicy backends; absent or null: none. */
  backendClientCertificateRef?: BackendClientCertificateRef | null;
  /** `spec.addresses` (`type` "" when not written, `value` "" when left out); absent: none. */
  addresses?: GatewaySpecAddress[];
  /** Absent: none. */
  notApplied?: NotApplied[];
}

export interface GatewaySpecAddress {
  type: string;
  value: string;
}

/** ListenerSet (gateway.networking.k8s.io/v1): listeners merged into the Gateway its parentRef names. */
export interface ListenerSetSpec {
  /** group and kind default to the Gateway API's Gateway, namespace to the ListenerSet's. */
  parentRef: { group: string; kind: string; namespace: string; name: string };
  listeners: GatewayListener[];
}

export interface GatewayClassSpec {
  controllerName: string;
  /** Absent: none. */
  notApplied?: NotApplied[];
}

export interface ReferenceGrantSpec {
  from: { group: string; kind: string; namespace: string }[];
  /** `name` "": every object of the kind. */
  to: { group: string; kind: string; name: string }[];
}

export type GatewayClassResource = ResourceBase<"GatewayClass", GatewayClassSpec>;
export type KubernetesGatewayResource = ResourceBase<"KubernetesGateway", KubernetesGatewaySpec>;
export type HTTPRouteResource = ResourceBase<"HTTPRoute", HTTPRouteSpec>;
export type GRPCRouteResource = ResourceBase<"GRPCRoute", GRPCRouteSpec>;
export type TLSRouteResource = ResourceBase<"TLSRoute", L4RouteSpec>;
export type TCPRouteResource = ResourceBase<"TCPRoute", L4RouteSpec>;
export type ReferenceGrantResource = ResourceBase<"ReferenceGrant", ReferenceGrantSpec>;
export type NamespaceResource = ResourceBase<"Namespace", Record<string, never>>;
export type ListenerSetResource = ResourceBase<"ListenerSet", ListenerSetSpec>;

export type GatewayApiResource =
  | GatewayClassResource
  | KubernetesGatewayResource
  | HTTPRouteResource
  | GRPCRouteResource
  | TLSRouteResource
  | TCPRouteResource
  | ReferenceGrantResource
  | NamespaceResource
  | ListenerSetResource;

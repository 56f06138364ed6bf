// The security part of the snapshot: the RequestAuthentication JWT providers
// and AuthorizationPolicies that apply to this gateway, compiled to plain data
// (survives postMessage), with the ext_authz providers CUSTOM policies name.
import type { Cidr } from "./cidr.ts";

export interface SecurityConfig {
  /** False when nothing applies: workers skip the check entirely. */
  active: boolean;
  /** --trusted-proxies (Istio's numTrustedProxies): XFF hops trusted when finding the client address. */
  trustedProxies: number;
  providers: JwtProvider[];
  policies: AuthzPolicy[];
  /** Non-empty: a security object that applies here cannot be applied; every request is denied (403). */
  failClosed: string[];
  /** ext_authz providers by name (the ones CUSTOM policies use). */
  extAuthz: Map<string, ExtAuthzProvider>;
}

export interface JwtProvider {
  /** `RequestAuthentication/ns/name` */
  source: string;
  /** Index of the rule in `spec.jwtRules`. */
  rule: number;
  issuer: string;
  audiences: string[];
  /** Token locations; all empty: `Authorization: Bearer` and `access_token` (Envoy's defaults). */
  fromHeaders: { name: string; prefix: string }[];
  fromParams: string[];
  fromCookies: string[];
  forwardOriginalToken: boolean;
  outputPayloadToHeader: string;
  outputClaimToHeaders: { header: string; claim: string }[];
  jwksUri: string;
  timeoutMs: number;
  /** The JWKS JSON text (inline, or fetched by the primary); "" before the first fetch. */
  jwks: string;
  /** Non-empty: why the keys are unavailable (fetch failed): this issuer's tokens fail, as Istio's stand-in key makes them. */
  jwksError: string;
  /** Top-level claims whose string value is split at spaces into a list before matching (Envoy's normalize_payload_in_metadata): `permission`, `scope` and the rule's spaceDelimitedClaims; absent: the two. */
  spaceDelimitedClaims?: string[];
}

/** Claims istiod always has Envoy split at spaces (`scope: "read write"` matches `read`). */
export const DEFAULT_SPACE_DELIMITED_CLAIMS = ["permission", "scope"];

/** How a value is compared (Istio's string rules: `*` alone, `*suffix`, `prefix*`, exact). */
export type Matcher =
  | { k: "exact"; v: string }
  | { k: "prefix"; v: string }
  | { k: "suffix"; v: string }
  /** Istio's `*` for strings: any non-empty value. */
  | { k: "nonempty" }
  /** `*` for headers: present, maybe empty. */
  | { k: "present" }
  | { k: "regex"; source: string; regex: RegExp }
  | { k: "cidr"; cidr: Cidr };

/**
 * One attribute test: true when the value matches one of `values` (if any)
 * and none of `notValues`. `fixed` (a field gangway cannot apply) replaces
 * the test by a constant chosen to fail closed.
 */
export interface Check {
  attr: Attr;
  /** Header name (lower case) or claim path for keyed attributes. */
  key: string[];
  values: Matcher[];
  notValues: Matcher[];
  /** `request.auth.principal`: matchers on [iss, sub] pairs instead of `values`. */
  principals?: [Matcher, Matcher][];
  notPrincipals?: [Matcher, Matcher][];
  /** Case-insensitive comparison (hosts). */
  ignoreCase?: boolean;
  fixed?: boolean;
  /** Field path, for explain. */
  field: string;
}

export type Attr =
  | "host"
  | "method"
  | "path"
  | "port"
  | "source.ip"
  | "remote.ip"
  | "source.principal"
  | "source.namespace"
  | "request.auth.principal"
  | "request.auth.audiences"
  | "request.auth.presenter"
  | "request.auth.claims"
  | "request.headers"
  | "destination.ip"
  | "connection.sni"
  | "unsupported";

/** A rule matches when one `from` (AND of checks) and one `to` match, and every `when`. Empty lists match. */
export interface AuthzRule {
  from: Check[][];
  to: Check[][];
  when: Check[];
  field: string;
}

export interface AuthzPolicy {
  /** `AuthorizationPolicy/ns/name` */
  name: string;
  action: "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";
  provider: string;
  /** `istio.io/dry-run: "true"`: evaluated and reported, never enforced. */
  dryRun: boolean;
  rules: AuthzRule[];
}

/** Istio's `extensionProviders[].envoyExtAuthzHttp`, with the service resolved to a cluster. */
export interface ExtAuthzProvider {
  name: string;
  service: string;
  port: number;
  /** Cluster in snapshot.clusters holding the endpoints, or "" (no endpoints: error). */
  cluster: string;
  pathPrefix: string;
  timeoutMs: number;
  failOpen: boolean;
  statusOnError: number;
  /** Header names (lower case, `*` rules) copied from the request into the check. */
  includeRequestHeadersInCheck: Matcher[];
  includeAdditionalHeadersInCheck: [string, string][];
  headersToUpstreamOnAllow: Matcher[];
  /** Empty: every header of the denial except Host. */
  headersToDownstreamOnDeny: Matcher[];
  /** Non-empty: why this provider cannot be used (requests it would check are denied). */
  broken: string;
}

export const EMPTY_SECURITY: SecurityConfig = {
  active: false,
  trustedProxies: 0,
  providers: [],
  policies: [],
  failClosed: [],
  extAuthz: new Map(),
};

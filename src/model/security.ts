// Istio security kinds (security.istio.io v1, v1beta1): RequestAuthentication
// and AuthorizationPolicy, decoded and checked. Absent optional values are "",
// [], false or null. What gangway reads but cannot apply is listed in
// `unsupported` (field path and why): compile reports it as an Error and fails
// closed instead of skipping it.
import type { ResourceBase } from "./meta.ts";

/** `targetRef` / `targetRefs[i]` (Istio's PolicyTargetReference). */
export interface PolicyTargetRef {
  group: string;
  kind: string;
  name: string;
  /** "" means the policy's namespace. */
  namespace: string;
}

export interface Unsupported {
  /** Field path in the document, e.g. `spec.rules[0].when[1].key`. */
  field: string;
  reason: string;
}

/** Where a policy applies: `selector.matchLabels` (null: no selector) or target references. */
export interface PolicyScope {
  selector: Record<string, string> | null;
  targetRefs: PolicyTargetRef[];
}

// ---- RequestAuthentication --------------------------------------------------

export interface JWTHeader {
  name: string;
  prefix: string;
}

export interface ClaimToHeader {
  header: string;
  claim: string;
}

export interface JWTRule {
  issuer: string;
  audiences: string[];
  jwksUri: string;
  /** Inline JWKS JSON text as written. */
  jwks: string;
  fromHeaders: JWTHeader[];
  fromParams: string[];
  fromCookies: string[];
  outputPayloadToHeader: string;
  forwardOriginalToken: boolean;
  outputClaimToHeaders: ClaimToHeader[];
  /** JWKS fetch timeout in ms (0: default). */
  timeoutMs: number;
  /** spaceDelimitedClaims as written (istiod adds `permission` and `scope`). */
  spaceDelimitedClaims: string[];
}

export interface RequestAuthenticationSpec extends PolicyScope {
  jwtRules: JWTRule[];
  unsupported: Unsupported[];
}

// ---- AuthorizationPolicy ------------------------------------------------------

export type AuthorizationAction = "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";

/** A field and its `not` form, e.g. `principals` / `notPrincipals`. */
export interface ValuesPair {
  values: string[];
  notValues: string[];
}

export interface SourceSpec {
  principals: ValuesPair;
  requestPrincipals: ValuesPair;
  namespaces: ValuesPair;
  serviceAccounts: ValuesPair;
  /** trustDomains / notTrustDomains: the peer principal's trust domain (its first segment). */
  trustDomains: ValuesPair;
  ipBlocks: ValuesPair;
  remoteIpBlocks: ValuesPair;
}

export interface OperationSpec {
  hosts: ValuesPair;
  ports: ValuesPair;
  methods: ValuesPair;
  paths: ValuesPair;
}

export interface ConditionSpec {
  key: string;
  values: string[];
  notValues: string[];
  /** Field path of this condition (for findings). */
  field: string;
}

export interface RuleSpec {
  /** Each `from[i].source` (a `from` without source matches any source). */
  from: SourceSpec[];
  to: OperationSpec[];
  when: ConditionSpec[];
  /** Field path of the rule. */
  field: string;
}

export interface AuthorizationPolicySpec extends PolicyScope {
  action: AuthorizationAction;
  /** CUSTOM: `provider.name`. */
  provider: string;
  /** null: no `rules` written (an ALLOW policy then matches nothing). */
  rules: RuleSpec[];
  unsupported: Unsupported[];
}

export type RequestAuthenticationResource = ResourceBase<"RequestAuthentication", RequestAuthenticationSpec>;
export type AuthorizationPolicyResource = ResourceBase<"AuthorizationPolicy", AuthorizationPolicySpec>;

/** Another kind of security.istio.io (PeerAuthentication, or one gangway does not know): kept so it is never skipped silently. */
export type OtherSecurityResource = ResourceBase<"OtherSecurityKind", { kind: string; apiVersion: string }>;

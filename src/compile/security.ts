// RequestAuthentication + AuthorizationPolicy + mesh config → the snapshot's
// security part. Which objects apply follows Istio's policy attachment for a
// gateway workload: policies of the root namespace (istio-system) and of the
// gateway namespace; `selector.matchLabels` a subset of --labels; `targetRef(s)`
// only on a Gateway API gateway (labels carry gateway.networking.k8s.io/gateway-name),
// naming that Gateway. What cannot be applied is an Error and fails closed.
import type { MeshConfig } from "../decode/meshconfig.ts";
import { Codes } from "../model/codes.ts";
import { fieldPath } from "../model/meta.ts";
import type { AuthorizationPolicyResource, ConditionSpec, OperationSpec, OtherSecurityResource, PolicyScope, RequestAuthenticationResource, SourceSpec, ValuesPair } from "../model/security.ts";
import { CLUSTER_DOMAIN } from "../resolve/hosts.ts";
import { cidrMatcher, headerMatcher, hostMatcher, namespaceMatcher, pathMatcher, serviceAccountMatcher, stringMatcher } from "../security/matchers.ts";
import { DEFAULT_SPACE_DELIMITED_CLAIMS, type Attr, type AuthzPolicy, type AuthzRule, type Check, type ExtAuthzProvider, type JwtProvider, type Matcher, type SecurityConfig } from "../security/types.ts";
import { readJwks } from "../security/jwks.ts";
import type { CompileContext } from "./context.ts";
import { clusterName } from "./destinations.ts";

/** Istio's root namespace: its policies apply mesh-wide. */
export const ROOT_NAMESPACE = "istio-system";
const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";
const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

type Policy = RequestAuthenticationResource | AuthorizationPolicyResource;

/**
 * Does `p` attach to this gateway? "" when it does, else why not. `served`:
 * the Gateway API Gateways this instance serves (`--gateway NS/NAME`); a
 * targetRef naming one of them applies, as on the proxy Istio deploys for it.
 */
export function whyNotApplied(p: { metadata: { namespace: string }; spec: PolicyScope }, namespace: string, labels: Record<string, string>, served: string[] = []): string {
  const ns = p.metadata.namespace;
  const refs = p.spec.targetRefs;
  const names = (t: { group: string; kind: string; name: string; namespace: string }): string | null =>
    t.kind === "Gateway" && (t.group === GATEWAY_API_GROUP || t.group === "") ? `${t.namespace || ns}/${t.name}` : null;
  if (refs.length > 0 && served.length > 0) {
    for (const t of refs) {
      const ref = names(t);
      if (ref !== null && (t.namespace === "" || t.namespace === ns) && served.includes(ref)) return "";
    }
  }
  if (ns !== ROOT_NAMESPACE && ns !== namespace) return `namespace ${ns} is neither the root namespace ${ROOT_NAMESPACE} nor the gateway namespace ${namespace}`;
  const selected = (): string => {
    const sel = p.spec.selector;
    if (sel === null) return "";
    for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) return `selector ${k}=${v} does not match this gateway's labels`;
    return "";
  };
  const gatewayName = labels[GATEWAY_NAME_LABEL];
  if (gatewayName === undefined) {
    if (refs.length > 0) return `targetRef applies to Gateway API gateways only (this gateway's labels have no ${GATEWAY_NAME_LABEL}${served.length > 0 ? ", and it names none of the --gateway ones" : ""})`;
    return selected();
  }
  if (refs.length === 0) return selected();
  if (ns !== namespace) return `targetRef of a policy in ${ns}: only policies in the gateway namespace ${namespace} target it`;
  for (const t of refs) {
    if (names(t) === null) continue;
    if (t.namespace !== "" && t.namespace !== namespace) continue;
    if (t.name === gatewayName) return "";
  }
  return `no targetRef names Gateway ${namespace}/${gatewayName}`;
}

// ---- checks ------------------------------------------------------------------------

function check(attr: Attr, p: ValuesPair, m: (v: string) => Matcher, field: string, extra: Partial<Check> = {}): Check | null {
  if (p.values.length === 0 && p.notValues.length === 0) return null;
  return { attr, key: [], values: p.values.map(m), notValues: p.notValues.map(m), field, ...extra };
}

const ANY: Matcher = { k: "nonempty" };

/** `iss/sub` with Istio's `*` rules (split at the last `/`). */
export function principalPair(v: string): [Matcher, Matcher] {
  const at = v.lastIndexOf("/");
  const found = at >= 0;
  const iss = found ? v.slice(0, at) : v;
  const sub = found ? v.slice(at + 1) : "";
  if (v === "*") return [ANY, ANY];
  if (v.startsWith("*")) {
    if (!found) return [ANY, { k: "suffix", v: v.slice(1) }];
    return [iss === "*" ? ANY : { k: "suffix", v: iss.slice(1) }, { k: "exact", v: sub }];
  }
  if (v.endsWith("*")) {
    if (!found) return [{ k: "prefix", v: v.slice(0, -1) }, ANY];
    return [{ k: "exact", v: iss }, sub === "*" ? ANY : { k: "prefix", v: sub.slice(0, -1) }];
  }
  return [{ k: "exact", v: iss }, { k: "exact", v: sub }];
}

function principalsCheck(p: ValuesPair, field: string): Check | null {
  if (p.values.length === 0 && p.notValues.length === 0) return null;
  return { attr: "request.auth.principal", key: [], values: [], notValues: [], principals: p.values.map(principalPair), notPrincipals: p.notValues.map(principalPair), field };
}

function trustDomainMatcher(v: string): Matcher {
  if (v === "*") return ANY;
  const esc = v.split("*").map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*");
  const source = `^${esc}/.*$`;
  return { k: "regex", source, regex: new RegExp(source) };
}

function sourceChecks(s: SourceSpec, field: string, ns: string): Check[] {
  const out = [
    check("source.principal", s.principals, stringMatcher, `${field}.principals`),
    principalsCheck(s.requestPrincipals, `${field}.requestPrincipals`),
    check("source.principal", s.namespaces, namespaceMatcher, `${field}.namespaces`),
    check("source.principal", s.serviceAccounts, (v) => serviceAccountMatcher(v, ns), `${field}.serviceAccounts`),
    check("source.principal", s.trustDomains, trustDomainMatcher, `${field}.trustDomains`),
    check("source.ip", s.ipBlocks, cidrMatcher, `${field}.ipBlocks`),
    check("remote.ip", s.remoteIpBlocks, cidrMatcher, `${field}.remoteIpBlocks`),
  ];
  return out.filter((c): c is Check => c !== null);
}

function operationChecks(o: OperationSpec, field: string): Check[] {
  const paths = check("path", o.paths, pathMatcher, `${field}.paths`);
  const out = [
    check("host", o.hosts, hostMatcher, `${field}.hosts`, { ignoreCase: true }),
    check("port", o.ports, (v) => ({ k: "exact", v: String(Number(v)) }), `${field}.ports`),
    check("method", o.methods, headerMatcher, `${field}.methods`),
    paths,
  ];
  return out.filter((c): c is Check => c !== null);
}

/** `request.headers[x]`, `request.auth.claims[a][b]` → the bracketed names. */
function bracketed(key: string): string[] {
  const out: string[] = [];
  const re = /\[([^\[\]]+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key)) !== null) out.push(m[1]!);
  return out;
}

function whenCheck(c: ConditionSpec, ns: string): Check {
  const p: ValuesPair = { values: c.values, notValues: c.notValues };
  const f = c.field;
  const k = c.key;
  switch (k) {
    case "source.ip":
    case "remote.ip":
    case "destination.ip":
      return check(k, p, cidrMatcher, f)!;
    case "source.namespace":
      return check("source.principal", p, namespaceMatcher, f)!;
    case "source.serviceAccount":
      return check("source.principal", p, (v) => serviceAccountMatcher(v, ns), f)!;
    case "source.trustDomain":
      return check("source.principal", p, trustDomainMatcher, f)!;
    case "source.principal":
    case "connection.sni":
    case "request.auth.audiences":
    case "request.auth.presenter":
      return check(k, p, stringMatcher, f)!;
    case "request.auth.principal":
      return principalsCheck(p, f)!;
    case "destination.port":
      return check("port", p, (v) => ({ k: "exact", v: String(Number(v)) }), f)!;
  }
  if (k.startsWith("request.headers[")) return check("request.headers", p, headerMatcher, f, { key: bracketed(k).map((h) => h.toLowerCase()) })!;
  if (k.startsWith("request.auth.claims[")) return check("request.auth.claims", p, stringMatcher, f, { key: bracketed(k) })!;
  return { attr: "unsupported", key: [], values: [], notValues: [], fixed: true, field: f };
}

function compilePolicy(ctx: CompileContext, ap: AuthorizationPolicyResource): AuthzPolicy {
  const spec = ap.spec;
  const ns = ap.metadata.namespace;
  const name = `AuthorizationPolicy/${ns}/${ap.metadata.name}`;
  for (const u of spec.unsupported) {
    const effect = spec.action === "ALLOW" ? "the rule never allows" : spec.action === "AUDIT" ? "ignored" : "the rule matches as if the field were absent (fails closed)";
    ctx.report("Error", Codes.SecurityUnsupported, ap, `${u.reason}: ${effect}`, u.field);
  }
  const rules: AuthzRule[] = spec.rules.map((r) => ({
    field: r.field,
    from: r.from.map((s, i) => sourceChecks(s, `${r.field}.from[${i}].source`, ns)),
    to: r.to.map((o, i) => operationChecks(o, `${r.field}.to[${i}].operation`)),
    when: r.when.map((c) => whenCheck(c, ns)),
  }));
  return { name, action: spec.action, provider: spec.provider, dryRun: ap.metadata.annotations["istio.io/dry-run"] === "true", rules };
}

// ---- ext_authz providers ------------------------------------------------------------

function extAuthzProvider(ctx: CompileContext, mesh: MeshConfig, name: string): ExtAuthzProvider {
  const spec = mesh.extensionProviders.find((p) => p.name === name);
  const base: ExtAuthzProvider = {
    name,
    service: "",
    port: 0,
    cluster: "",
    pathPrefix: "",
    timeoutMs: 600_000,
    failOpen: false,
    statusOnError: 403,
    includeRequestHeadersInCheck: [],
    includeAdditionalHeadersInCheck: [],
    headersToUpstreamOnAllow: [],
    headersToDownstreamOnDeny: [],
    broken: "",
  };
  if (spec === undefined) return { ...base, broken: `extension provider ${JSON.stringify(name)} is not defined in the mesh config (--mesh-config)` };
  if (spec.unsupported !== "") return { ...base, broken: spec.unsupported };
  const slash = spec.service.indexOf("/");
  const ns = slash < 0 ? ctx.opts.namespace : spec.service.slice(0, slash);
  let host = slash < 0 ? spec.service : spec.service.slice(slash + 1);
  if (!host.includes(".")) host = `${host}.${ns}.svc.${CLUSTER_DOMAIN}`;
  const svc = ctx.registry.lookup(host, ns);
  const out: ExtAuthzProvider = {
    ...base,
    service: host,
    port: spec.port,
    pathPrefix: spec.pathPrefix,
    timeoutMs: spec.timeoutMs,
    failOpen: spec.failOpen,
    statusOnError: spec.statusOnError,
    includeRequestHeadersInCheck: spec.includeRequestHeadersInCheck.map(stringMatcher),
    includeAdditionalHeadersInCheck: spec.includeAdditionalHeadersInCheck,
    headersToUpstreamOnAllow: spec.headersToUpstreamOnAllow.map(stringMatcher),
    headersToDownstreamOnDeny: spec.headersToDownstreamOnDeny.map(stringMatcher),
  };
  if (svc === null) return { ...out, broken: `service ${host} of extension provider ${JSON.stringify(name)} is no Service or ServiceEntry` };
  const cluster = clusterName(spec.port, "", host);
  if (!ctx.clusters.has(cluster)) ctx.clusters.set(cluster, { name: cluster, host, port: spec.port, subset: "", service: svc, namespace: svc.namespace });
  return { ...out, cluster };
}

// ---- the whole part -----------------------------------------------------------------

function jwtProviders(ctx: CompileContext, ra: RequestAuthenticationResource, failClosed: string[]): JwtProvider[] {
  const source = `RequestAuthentication/${ra.metadata.namespace}/${ra.metadata.name}`;
  for (const u of ra.spec.unsupported) {
    ctx.report("Error", Codes.SecurityUnsupported, ra, `${u.reason}: every request to this gateway is denied until it is fixed (fails closed)`, u.field);
    failClosed.push(`${source}: ${u.field}: ${u.reason}`);
  }
  ra.spec.jwtRules.forEach((j, i) => {
    if (j.jwks === "") return;
    for (const problem of readJwks(j.jwks).problems) ctx.report("Warning", Codes.JwksKeyUnusable, ra, `${problem}: ignored`, `spec.jwtRules[${i}].jwks`);
  });
  return ra.spec.jwtRules.map((j, i) => ({
    source,
    rule: i,
    issuer: j.issuer,
    audiences: j.audiences,
    fromHeaders: j.fromHeaders,
    fromParams: j.fromParams,
    fromCookies: j.fromCookies,
    forwardOriginalToken: j.forwardOriginalToken,
    outputPayloadToHeader: j.outputPayloadToHeader,
    outputClaimToHeaders: j.outputClaimToHeaders,
    jwksUri: j.jwksUri,
    timeoutMs: j.timeoutMs,
    jwks: j.jwks,
    jwksError: "",
    // istiod's buildSpaceDelimitedClaims: the defaults are always there
    spaceDelimitedClaims: [...new Set([...j.spaceDelimitedClaims, ...DEFAULT_SPACE_DELIMITED_CLAIMS])].sort(),
  }));
}

function notApplied(ctx: CompileContext, p: Policy, why: string): void {
  ctx.report("Info", Codes.SecurityNotApplied, p, `not applied to this gateway: ${why}`);
}

export function compileSecurity(
  ctx: CompileContext,
  ras: RequestAuthenticationResource[],
  aps: AuthorizationPolicyResource[],
  mesh: MeshConfig,
  trustedProxies: number,
  others: OtherSecurityResource[] = [],
): SecurityConfig {
  const { namespace, labels } = ctx.opts;
  const failClosed: string[] = [];
  for (const o of others) {
    const ref = `${o.spec.kind}/${o.metadata.namespace}/${o.metadata.name}`;
    const at = { resource: ref, file: o.source.file, doc: o.source.doc };
    if (o.spec.kind === "PeerAuthentication") {
      ctx.findings.push({ ...at, code: Codes.PeerAuthenticationIgnored, level: "Info", message: "PeerAuthentication does not apply to a gateway's listeners (Istio applies it to sidecar inbound traffic): use the Gateway's tls.mode for client certificates" });
      continue;
    }
    const applies = o.metadata.namespace === ROOT_NAMESPACE || o.metadata.namespace === namespace;
    const msg = `${o.spec.apiVersion} ${o.spec.kind} is not a kind gangway can apply${applies ? ": every request to this gateway is denied until it is removed (fails closed)" : " (its namespace does not apply to this gateway)"}`;
    ctx.findings.push({ ...at, field: fieldPath(o.source, "kind"), code: Codes.SecurityUnsupported, level: applies ? "Error" : "Warning", message: msg });
    if (applies) failClosed.push(`${ref}: ${msg}`);
  }
  const providers: JwtProvider[] = [];
  for (const ra of ras) {
    const why = whyNotApplied(ra, namespace, labels, ctx.opts.gateways ?? []);
    if (why !== "") notApplied(ctx, ra, why);
    else providers.push(...jwtProviders(ctx, ra, failClosed));
  }
  const policies: AuthzPolicy[] = [];
  for (const ap of aps) {
    const why = whyNotApplied(ap, namespace, labels, ctx.opts.gateways ?? []);
    if (why !== "") notApplied(ctx, ap, why);
    else policies.push(compilePolicy(ctx, ap));
  }
  const extAuthz = new Map<string, ExtAuthzProvider>();
  const custom = aps.filter((ap) => ap.spec.action === "CUSTOM" && policies.some((p) => p.name === `AuthorizationPolicy/${ap.metadata.namespace}/${ap.metadata.name}`));
  for (const ap of custom) {
    const name = ap.spec.provider;
    if (!extAuthz.has(name)) extAuthz.set(name, extAuthzProvider(ctx, mesh, name));
    const p = extAuthz.get(name)!;
    if (p.broken !== "") ctx.report("Error", Codes.ExtAuthzProvider, ap, `${p.broken}: requests this policy matches are denied`, "spec.provider.name");
  }
  const enforcedProviders = new Set(policies.filter((p) => p.action === "CUSTOM" && !p.dryRun).map((p) => p.provider));
  if (enforcedProviders.size > 1) {
    const msg = `CUSTOM policies on this gateway name ${enforcedProviders.size} providers (${[...enforcedProviders].join(", ")}); Istio allows one per workload: every request is denied`;
    ctx.report("Error", Codes.ExtAuthzMultipleProviders, null, msg);
    failClosed.push(msg);
  }
  return {
    active: providers.length > 0 || policies.length > 0 || failClosed.length > 0,
    trustedProxies,
    providers,
    policies,
    failClosed,
    extAuthz,
  };
}

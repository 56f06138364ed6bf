// DestinationRule lookup for a service host, as a gateway in `proxyNamespace`
// sees them: rules in the gateway's namespace first, then in the service's
// namespace, then any other visible one; within each, an exact host before the
// most specific wildcard. Several rules for one host in one namespace merge
// (Istio does the same): the first (creation order) gives the traffic policy,
// later ones add subsets it does not have.
import type { DestinationRuleResource, PortTrafficPolicy, Subset, TrafficPolicy } from "../model/istio.ts";
import { compareCreation, resourceRef } from "../model/meta.ts";
import type { LbPolicy } from "../snapshot/types.ts";
import { hostSubsetOf, isWildcard, resolveShortname, visibleTo } from "./hosts.ts";

export interface ResolvedRule {
  host: string;
  namespace: string;
  /** `DestinationRule/ns/name` of every rule merged in. */
  sources: string[];
  /** The rule whose trafficPolicy applies (the first by creation order). */
  first: DestinationRuleResource;
  trafficPolicy: TrafficPolicy | null;
  subsets: Subset[];
  /** Subset name → the rule that defines it. */
  subsetOwners: Map<string, DestinationRuleResource>;
}

export interface RuleIndex {
  lookup(host: string, serviceNamespace: string): ResolvedRule | null;
}

function merge(rules: DestinationRuleResource[], host: string): ResolvedRule {
  const first = rules[0]!;
  const out: ResolvedRule = {
    host,
    namespace: first.metadata.namespace,
    sources: [],
    first,
    trafficPolicy: first.spec.trafficPolicy,
    subsets: [],
    subsetOwners: new Map(),
  };
  for (const r of rules) {
    out.sources.push(resourceRef(r));
    for (const s of r.spec.subsets) {
      if (out.subsetOwners.has(s.name)) continue;
      out.subsets.push(s);
      out.subsetOwners.set(s.name, r);
    }
  }
  return out;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/**
 * Istio's SidecarScope.DestinationRule: rules with a workloadSelector apply
 * only to workloads of their own namespace whose labels include the selector,
 * and then in place of the host's rules without one (those with the first
 * matching rule's selector merge); otherwise the rules without a selector.
 */
function selectedRules(rules: DestinationRuleResource[]): DestinationRuleResource[] {
  const selected = rules.filter((r) => r.spec.workloadSelector !== null);
  if (selected.length === 0) return rules;
  const sel = selected[0]!.spec.workloadSelector!;
  return selected.filter((r) => sameLabels(r.spec.workloadSelector!, sel));
}

/** `proxyLabels`: this gateway's labels (--labels), for rules with a workloadSelector. */
export function buildRuleIndex(rules: DestinationRuleResource[], proxyNamespace: string, proxyLabels: Record<string, string> = {}): RuleIndex {
  // namespace → host → rules (creation order)
  const byNs = new Map<string, Map<string, DestinationRuleResource[]>>();
  for (const r of [...rules].sort(compareCreation)) {
    const ns = r.metadata.namespace;
    const sel = r.spec.workloadSelector;
    if (sel !== null) {
      // never exported: only this gateway's own namespace, and only when the selector matches it
      if (ns !== proxyNamespace || !Object.entries(sel).every(([k, v]) => proxyLabels[k] === v)) continue;
    } else if (!visibleTo(r.spec.exportTo, ns, proxyNamespace)) continue;
    const host = resolveShortname(r.spec.host, ns);
    let m = byNs.get(ns);
    if (m === undefined) byNs.set(ns, (m = new Map()));
    const l = m.get(host);
    if (l === undefined) m.set(host, [r]);
    else l.push(r);
  }
  const inNamespace = (ns: string, host: string): ResolvedRule | null => {
    const m = byNs.get(ns);
    if (m === undefined) return null;
    const exact = m.get(host);
    if (exact !== undefined) return merge(selectedRules(exact), host);
    let best: string | null = null;
    for (const h of m.keys()) {
      if (!isWildcard(h) || !hostSubsetOf(host, h)) continue;
      if (best === null || h.length > best.length) best = h;
    }
    return best === null ? null : merge(selectedRules(m.get(best)!), best);
  };
  return {
    lookup(host, serviceNamespace) {
      const order = [proxyNamespace, serviceNamespace, ...[...byNs.keys()].sort()];
      const seen = new Set<string>();
      for (const ns of order) {
        if (seen.has(ns)) continue;
        seen.add(ns);
        const r = inNamespace(ns, host);
        if (r !== null) return r;
      }
      return null;
    },
  };
}

/** Istio's default load balancer for a gateway's clusters. */
export const DEFAULT_LB: LbPolicy = "LEAST_REQUEST";
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function lbOf(p: PortTrafficPolicy | null): LbPolicy | null {
  const s = p?.simple ?? null;
  if (s === null || s === "UNSPECIFIED") return null;
  if (s === "LEAST_CONN") return "LEAST_REQUEST";
  return s;
}

function portLevel(tp: TrafficPolicy | null, port: number): PortTrafficPolicy | null {
  if (tp === null) return null;
  for (const s of tp.portLevelSettings) if (s.port === port) return s.policy;
  return null;
}

type Component = "loadBalancer" | "connectionPool" | "outlierDetection" | "tls";
const COMPONENTS: Component[] = ["loadBalancer", "connectionPool", "outlierDetection", "tls"];

/** The level that supplies each component of a cluster's policy (null: none: the defaults). */
export type EffectiveLevels = Record<Component, PortTrafficPolicy | null>;

export interface EffectivePolicy {
  lbPolicy: LbPolicy;
  connectTimeoutMs: number;
  levels: EffectiveLevels;
  /** trafficPolicy.proxyProtocol: the subset's, else the rule's (port-level entries have none and keep it); null: none. */
  proxyProtocol: "V1" | "V2" | null;
}

/** One policy for one port: its port-level entry replaces it wholesale when there is one. */
function forPort(tp: TrafficPolicy | null, port: number): { level: PortTrafficPolicy; wholesale: boolean } | null {
  if (tp === null) return null;
  const p = portLevel(tp, port);
  return p !== null ? { level: p, wholesale: true } : { level: tp, wholesale: false };
}

/**
 * Effective policy for one cluster, merged as Istio merges it, by whole
 * component (loadBalancer, connectionPool, outlierDetection, tls): the rule's
 * port-level entry for the port replaces the rule's policy; a subset's policy
 * then overrides the components it sets, and a subset's port-level entry
 * replaces all four (omitted ones fall back to the defaults, not to the rule).
 */
export function effectivePolicy(rule: ResolvedRule | null, subset: Subset | null, port: number): EffectivePolicy {
  const levels: EffectiveLevels = { loadBalancer: null, connectionPool: null, outlierDetection: null, tls: null };
  const d = forPort(rule?.trafficPolicy ?? null, port);
  if (d !== null) for (const c of COMPONENTS) if (d.level.has[c]) levels[c] = d.level;
  const s = forPort(subset?.trafficPolicy ?? null, port);
  if (s !== null) {
    for (const c of COMPONENTS) {
      if (s.level.has[c]) levels[c] = s.level;
      else if (s.wholesale) levels[c] = null;
    }
  }
  return {
    lbPolicy: lbOf(levels.loadBalancer) ?? DEFAULT_LB,
    connectTimeoutMs: levels.connectionPool?.connectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS,
    levels,
    proxyProtocol: subset?.trafficPolicy?.proxyProtocol ?? rule?.trafficPolicy?.proxyProtocol ?? null,
  };
}

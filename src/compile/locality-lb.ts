// Locality load balancing of one cluster, as istiod writes it into the
// endpoints it sends a proxy (pilot/pkg/networking/core/loadbalancer): the
// endpoints grouped by locality (Envoy's LocalityLbEndpoints, in locality
// order), then, relative to the gateway's locality,
// - `distribute` (applyLocalityWeights): the first rule whose `from` matches
//   the gateway gives each matching locality its share of the `to` weight
//   (divided among the localities a wildcard matches, by their weights,
//   rounded up); localities no `to` names get nothing (their endpoints are
//   left out). The cluster is then balanced locality-weighted.
// - failover, only when the cluster has outlierDetection (else Envoy would never
//   leave priority 0): `failoverPriority` labels (applyFailoverPriorities: the
//   more leading labels an endpoint shares with the gateway, the higher its
//   priority), then, without failoverPriority or with `failover` too, regions
//   (applyLocalityFailover: same region/zone/subzone 0, region/zone 1, region 2,
//   another region 3, or 3 for a `failover` pair's `to` region and 4 for the
//   rest); priorities renumbered 0..N without gaps.
// Pure: endpoints in, endpoints with `priority` / `localityWeight` out.
import type { LocalityLbSetting } from "../model/istio.ts";
import { LABEL_REGION, LABEL_SUBZONE, LABEL_ZONE } from "../decode/locality-lb.ts";
import { augmentedLabels, splitLocality, type TrafficDistribution } from "../resolve/locality.ts";
import type { Endpoint } from "../snapshot/types.ts";

export const LABEL_NETWORK = "topology.istio.io/network";

/** Istio's default mesh config: `localityLbSetting: {enabled: true}`. */
export const MESH_DEFAULT_LOCALITY_LB: LocalityLbSetting = { enabled: true, distribute: [], failover: [], failoverPriority: [], path: "localityLbSetting" };

export interface LocalityLbInput {
  endpoints: Endpoint[];
  /** The gateway's locality (`region/zone/subzone`, "" when unknown). */
  gatewayLocality: string;
  /** The gateway's labels (--labels), for failoverPriority. */
  gatewayLabels: Record<string, string>;
  /** The effective setting (effectiveLocalityLb). */
  setting: LocalityLbSetting;
  /** The cluster has outlierDetection: failover applies (istiod's enableFailover). */
  enableFailover: boolean;
}

export type LocalityLbMode = "distribute" | "failover" | "failoverPriority" | "none";

export interface LocalityLbResult {
  endpoints: Endpoint[];
  mode: LocalityLbMode;
  /** distribute: endpoints left out (their locality is in no `to` of the matching rule). */
  dropped: Endpoint[];
  /** distribute: the `from` of the rule that matched the gateway; "" when none did. */
  matchedFrom: string;
}

export const LABEL_HOSTNAME = "kubernetes.io/hostname";

/** The setting istiod derives from a Service's trafficDistribution: failoverPriority by topology, failover forced (no outlierDetection needed). */
export function trafficDistributionSetting(td: TrafficDistribution): LocalityLbSetting {
  const zone = [LABEL_NETWORK, LABEL_REGION, LABEL_ZONE];
  const failoverPriority = td === "PreferSameZone" ? zone : [...zone, LABEL_SUBZONE, LABEL_HOSTNAME];
  return { enabled: true, distribute: [], failover: [], failoverPriority, path: "spec.trafficDistribution" };
}

export interface EffectiveLocalityLb {
  setting: LocalityLbSetting;
  /** Failover applies without outlierDetection (a Service's trafficDistribution). */
  force: boolean;
  from: "rule" | "service" | "mesh";
}

/**
 * The setting that applies (istiod's GetEffectiveLbSetting): the
 * DestinationRule's, else the Service's trafficDistribution, else the mesh
 * config's (Istio's default when not given); null when the one that applies
 * has `enabled: false`.
 */
export function effectiveLocalityLb(rule: LocalityLbSetting | null, mesh: LocalityLbSetting | null, td: TrafficDistribution | null = null): EffectiveLocalityLb | null {
  if (rule !== null) return rule.enabled === false ? null : { setting: rule, force: false, from: "rule" };
  if (td !== null) return { setting: trafficDistributionSetting(td), force: true, from: "service" };
  const s = mesh ?? MESH_DEFAULT_LOCALITY_LB;
  return s.enabled === false ? null : { setting: s, force: false, from: "mesh" };
}

/** istiod's LocalityMatch: does `locality` fall under the rule's (`*` anywhere matching any; a missing zone or subzone matching any). */
export function localityMatch(locality: string, rule: string): boolean {
  const [r, z, s] = splitLocality(locality);
  const [rr, rz, rs] = splitLocality(rule);
  return (rr === "*" || rr === r) && (rz === "*" || rz === "" || rz === z) && (rs === "*" || rs === "" || rs === s);
}

/** istiod's LbPriority: 0 same subzone, 1 same zone, 2 same region, 3 another region. */
export function lbPriority(gateway: string, endpoint: string): number {
  const [gr, gz, gs] = splitLocality(gateway);
  const [er, ez, es] = splitLocality(endpoint);
  if (gr !== er) return 3;
  if (gz !== ez) return 2;
  return gs === es ? 0 : 1;
}

/** One LocalityLbEndpoints: its locality, endpoints, priority and weight. */
interface Group {
  locality: string;
  endpoints: Endpoint[];
  priority: number;
  weight: number;
}

function groupByLocality(eps: Endpoint[]): Group[] {
  const m = new Map<string, Endpoint[]>();
  for (const e of eps) {
    const l = e.locality ?? "";
    const g = m.get(l);
    if (g === undefined) m.set(l, [e]);
    else g.push(e);
  }
  return [...m.keys()].sort().map((locality) => {
    const endpoints = m.get(locality)!;
    return { locality, endpoints, priority: 0, weight: endpoints.reduce((a, e) => a + (e.weight > 0 ? e.weight : 1), 0) };
  });
}

/** Renumber the groups' priorities 0..N in order, without gaps. */
function compact(groups: Group[]): void {
  const order = [...new Set(groups.map((g) => g.priority))].sort((a, b) => a - b);
  for (const g of groups) g.priority = order.indexOf(g.priority);
}

function applyWeights(gateway: string, groups: Group[], s: LocalityLbSetting): { kept: Group[]; matchedFrom: string } {
  const rule = s.distribute.find((d) => localityMatch(gateway, d.from));
  if (rule === undefined) return { kept: groups, matchedFrom: "" };
  const unmatched = new Set(groups);
  for (const [to, weight] of rule.to) {
    const hit = groups.filter((g) => unmatched.has(g) && localityMatch(g.locality, to));
    const total = hit.reduce((a, g) => a + g.weight, 0);
    for (const g of hit) {
      unmatched.delete(g);
      const w = (g.weight * weight) / total;
      if (w > 0) g.weight = Math.ceil(w);
    }
  }
  return { kept: groups.filter((g) => !unmatched.has(g)), matchedFrom: rule.from };
}

/** `name` or `name=value` (the gateway's value given outright). */
function priorityLabels(fp: string[]): { name: string; value: string | null }[] {
  return fp.map((l) => {
    const parts = l.split("=");
    return { name: parts[0]!, value: parts.length === 2 ? parts[1]! : null };
  });
}

/** applyFailoverPriorities: each group split by how many leading labels its endpoints share with the gateway. */
function applyFailoverPriority(groups: Group[], gatewayLabels: Record<string, string>, fp: string[]): Group[] {
  if (Object.keys(gatewayLabels).length === 0) return groups;
  const labels = priorityLabels(fp);
  const lowest = fp.length;
  const includesNetwork = fp[0] === LABEL_NETWORK;
  const out: Group[] = [];
  for (const g of groups) {
    const byPriority = new Map<number, Endpoint[]>();
    for (const e of g.endpoints) {
      const el = augmentedLabels(e.labels, e.locality ?? "");
      let priority = 0;
      let adjust = 0;
      for (let j = 0; j < labels.length; j++) {
        const { name, value } = labels[j]!;
        const want = value ?? gatewayLabels[name] ?? "";
        if (want === (el[name] ?? "")) continue;
        if (j === 0 && includesNetwork) {
          adjust = lowest; // another network: after every priority of the gateway's own
          continue;
        }
        priority = lowest - j;
        break;
      }
      priority += adjust;
      const l = byPriority.get(priority);
      if (l === undefined) byPriority.set(priority, [e]);
      else l.push(e);
    }
    for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
      const endpoints = byPriority.get(p)!;
      out.push({ locality: g.locality, endpoints, priority: p, weight: endpoints.reduce((a, e) => a + (e.weight > 0 ? e.weight : 1), 0) });
    }
  }
  compact(out);
  return out;
}

/** applyLocalityFailover: region/zone/subzone priorities under any given already (× 5), then renumbered. */
function applyFailover(gateway: string, groups: Group[], failover: LocalityLbSetting["failover"]): void {
  const [gr] = splitLocality(gateway);
  for (const g of groups) {
    let p = lbPriority(gateway, g.locality);
    if (p === 3) {
      const f = failover.find((x) => x.from === gr);
      if (f !== undefined && splitLocality(g.locality)[0] !== f.to) p = 4;
    }
    g.priority = g.priority * 5 + p;
  }
  compact(groups);
}

/** The cluster's endpoints with the locality load balancing istiod would give them for this gateway. */
export function applyLocalityLb(inp: LocalityLbInput): LocalityLbResult {
  const s = inp.setting;
  const none: LocalityLbResult = { endpoints: inp.endpoints, mode: "none", dropped: [], matchedFrom: "" };
  if (inp.endpoints.length === 0) return none;
  let groups = groupByLocality(inp.endpoints);
  let mode: LocalityLbMode;
  let matchedFrom = "";
  if (s.distribute.length > 0) {
    const w = applyWeights(inp.gatewayLocality, groups, s);
    groups = w.kept;
    matchedFrom = w.matchedFrom;
    mode = "distribute";
  } else if (inp.enableFailover) {
    if (s.failoverPriority.length > 0) {
      groups = applyFailoverPriority(groups, augmentedLabels(inp.gatewayLabels, inp.gatewayLocality), s.failoverPriority);
      if (s.failover.length > 0) applyFailover(inp.gatewayLocality, groups, s.failover);
      mode = "failoverPriority";
    } else {
      applyFailover(inp.gatewayLocality, groups, s.failover);
      mode = "failover";
    }
  } else return none;
  const endpoints: Endpoint[] = [];
  const kept = new Set<Endpoint>();
  for (const g of groups) {
    for (const e of g.endpoints) {
      const out: Endpoint = { ...e };
      if (g.priority > 0) out.priority = g.priority;
      if (mode === "distribute") out.localityWeight = g.weight;
      endpoints.push(out);
      kept.add(e);
    }
  }
  return { endpoints, mode, dropped: inp.endpoints.filter((e) => !kept.has(e)), matchedFrom };
}

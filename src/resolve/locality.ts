// Localities (`region/zone/subzone`) of the gateway and of endpoints, found
// where istiod finds them.
//
// The gateway (istiod's setTopologyLabels for a proxy): its labels
// `topology.kubernetes.io/region`, `topology.kubernetes.io/zone`,
// `topology.istio.io/subzone` (on Kubernetes the registry copies them from the
// node), else the label `topology.istio.io/locality` or `istio-locality`
// (`.` standing for `/`, as label values cannot hold `/`). `--locality` gives it
// outright, as the Envoy node's locality (the bootstrap) would, and wins.
//
// An endpoint: a WorkloadEntry's (or ServiceEntry endpoint's) `locality`, else
// its locality label; a Kubernetes endpoint's locality label (istiod reads it
// from the pod), else the topology labels (istiod's come from the pod's node;
// without pods or nodes, the EndpointSlice's or Endpoints' own labels stand in,
// as they do for subset labels), with an EndpointSlice endpoint's `zone` filling
// in the zone.
import { LABEL_REGION, LABEL_SUBZONE, LABEL_ZONE } from "../decode/locality-lb.ts";

export const LABEL_LOCALITY = "topology.istio.io/locality";
export const LABEL_LOCALITY_LEGACY = "istio-locality";

/** istiod's GetLocalityLabel + SanitizeLocalityLabel: the locality label, `.` read as `/` when it has no `/`; "" without one. */
export function localityLabel(labels: Record<string, string>): string {
  const l = labels[LABEL_LOCALITY] ?? labels[LABEL_LOCALITY_LEGACY] ?? "";
  return l.includes("/") ? l : l.replaceAll(".", "/");
}

/** `region/zone/subzone` without trailing empty parts (istiod's LocalityToString). */
export function localityString(region: string, zone: string, subzone: string): string {
  if (zone === "") return region;
  return subzone === "" ? `${region}/${zone}` : `${region}/${zone}/${subzone}`;
}

/** From the topology labels, or null when none is set. */
function fromTopologyLabels(labels: Record<string, string>, zone = ""): string | null {
  const r = labels[LABEL_REGION];
  const z = labels[LABEL_ZONE] ?? (zone === "" ? undefined : zone);
  const s = labels[LABEL_SUBZONE];
  if (r === undefined && z === undefined && s === undefined) return null;
  return localityString(r ?? "", z ?? "", s ?? "");
}

/** The gateway's locality: `--locality`, else from its labels (topology labels first, as istiod); "" when none. */
export function gatewayLocality(labels: Record<string, string>, flag: string | null | undefined): string {
  if (flag !== null && flag !== undefined && flag !== "") return flag;
  return fromTopologyLabels(labels) ?? localityLabel(labels);
}

/** A Kubernetes endpoint's locality: its locality label, else topology labels (with an EndpointSlice endpoint's `zone`); "" when none. */
export function kubeEndpointLocality(labels: Record<string, string>, sliceZone = ""): string {
  const l = localityLabel(labels);
  if (l !== "") return l;
  return fromTopologyLabels(labels, sliceZone) ?? "";
}

/** A WorkloadEntry's (ServiceEntry endpoint's) locality: its `locality`, else its locality label (istiod's convertWorkloadEntryToWorkloadInstance). */
export function workloadLocality(locality: string, labels: Record<string, string>): string {
  return locality !== "" ? locality : localityLabel(labels);
}

/** The three parts of a locality (istiod's SplitLocalityLabel: parts after a third `/` are dropped). */
export function splitLocality(l: string): [string, string, string] {
  const parts = l.split("/");
  return [parts[0] ?? "", parts[1] ?? "", parts[2] ?? ""];
}

/**
 * Labels as istiod sees a proxy's or an endpoint's for failoverPriority
 * (AugmentLabels): its own, plus the topology labels of its locality.
 */
export function augmentedLabels(labels: Record<string, string>, locality: string): Record<string, string> {
  const out = { ...labels };
  const [r, z, s] = splitLocality(locality);
  if (r !== "") out[LABEL_REGION] = r;
  if (z !== "") out[LABEL_ZONE] = z;
  if (s !== "") out[LABEL_SUBZONE] = s;
  return out;
}

/** istiod's TrafficDistribution preference of a Service (GetTrafficDistribution). */
export type TrafficDistribution = "PreferSameZone" | "PreferSameNode";

/**
 * A Service's `spec.trafficDistribution` (PreferClose and PreferSameZone: same
 * zone; PreferSameNode), else its annotation `networking.istio.io/traffic-distribution`
 * (the same values, any case); null: Any.
 */
export function trafficDistribution(spec: string | undefined, annotation: string | undefined): TrafficDistribution | null {
  if (spec === "PreferClose" || spec === "PreferSameZone") return "PreferSameZone";
  if (spec === "PreferSameNode") return "PreferSameNode";
  const a = (annotation ?? "").toLowerCase();
  if (a === "preferclose" || a === "prefersamezone") return "PreferSameZone";
  if (a === "prefersamenode") return "PreferSameNode";
  return null;
}

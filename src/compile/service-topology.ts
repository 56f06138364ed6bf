// Service topology settings istiod acts on for a proxy and gangway cannot, or
// only in part. `internalTrafficPolicy: Local` keeps istiod to endpoints on the
// gateway's node: gangway knows no node (reported, GW0412, every endpoint
// used). `trafficDistribution` (or the Service's annotation
// `networking.istio.io/traffic-distribution`) is applied as istiod applies it
// (compile/cluster-locality.ts: failover by network, region, zone); its
// PreferSameNode level (subzone, then node) has no node to compare here, and
// a value istiod does not know changes nothing: both reported.
import { Codes } from "../model/codes.ts";
import type { ServiceResource } from "../model/kube.ts";
import { CLUSTER_DOMAIN } from "../resolve/hosts.ts";
import { trafficDistribution } from "../resolve/locality.ts";
import type { Cluster } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";

/** istiod's annotation for trafficDistribution (on the Service, or inherited from its namespace). */
export const TRAFFIC_DISTRIBUTION_ANNOTATION = "networking.istio.io/traffic-distribution";

export function reportServiceTopology(ctx: CompileContext, services: ServiceResource[], clusters: Map<string, Cluster>): void {
  const used = new Set<string>();
  for (const c of clusters.values()) used.add(c.serviceHost);
  for (const s of services) {
    const spec = s.spec;
    const annotated = s.metadata.annotations[TRAFFIC_DISTRIBUTION_ANNOTATION];
    if (spec.internalTrafficPolicy === undefined && spec.trafficDistribution === undefined && annotated === undefined) continue;
    if (!used.has(`${s.metadata.name}.${s.metadata.namespace}.svc.${CLUSTER_DOMAIN}`)) continue;
    if (spec.internalTrafficPolicy !== undefined) {
      ctx.report("Warning", Codes.LocalityLbNotApplied, s, `internalTrafficPolicy ${spec.internalTrafficPolicy} is not applied: istiod keeps a gateway to endpoints on its own node; gangway knows no node and uses every endpoint`, "spec.internalTrafficPolicy");
    }
    const field = spec.trafficDistribution !== undefined ? "spec.trafficDistribution" : `metadata.annotations.${TRAFFIC_DISTRIBUTION_ANNOTATION}`;
    const given = spec.trafficDistribution ?? annotated;
    if (given === undefined) continue;
    const td = trafficDistribution(spec.trafficDistribution, annotated);
    if (td === null) {
      ctx.report("Warning", Codes.LocalityLbNotApplied, s, `traffic distribution ${given} is none istiod acts on (PreferClose, PreferSameZone, PreferSameNode): every endpoint is used alike`, field);
    } else if (td === "PreferSameNode") {
      ctx.report("Info", Codes.LocalityLbNotApplied, s, `traffic distribution ${given}: endpoints of the gateway's network, region, zone and subzone come first, as istiod orders them; its last level, the gateway's node, is not applied (gangway knows no node)`, field);
    }
  }
}

// Service topology settings istiod acts on for a proxy and gangway cannot: it
// knows neither its node nor its locality. `internalTrafficPolicy: Local` keeps
// istiod to endpoints on the gateway's node, `trafficDistribution` makes it
// prefer endpoints of its zone (or node), as does the Service's annotation
// `networking.istio.io/traffic-distribution`. Reported (GW0412) for the Services a
// cluster uses, never dropped silently: gangway balances over all endpoints.
import { Codes } from "../model/codes.ts";
import type { ServiceResource } from "../model/kube.ts";
import { CLUSTER_DOMAIN } from "../resolve/hosts.ts";
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
    if (spec.trafficDistribution !== undefined) {
      ctx.report("Warning", Codes.LocalityLbNotApplied, s, `trafficDistribution ${spec.trafficDistribution} is not applied: istiod prefers endpoints near the gateway; gangway knows no locality and balances over every endpoint`, "spec.trafficDistribution");
    }
    if (annotated !== undefined) {
      ctx.report("Warning", Codes.LocalityLbNotApplied, s, `annotation ${TRAFFIC_DISTRIBUTION_ANNOTATION}: ${annotated} is not applied: istiod prefers endpoints near the gateway; gangway knows no locality and balances over every endpoint`, `metadata.annotations.${TRAFFIC_DISTRIBUTION_ANNOTATION}`);
    }
  }
}

// A cluster's locality load balancing: the localityLbSetting that applies
// (the DestinationRule's, else the one istiod derives from the Service's
// trafficDistribution, else the mesh config's, else Istio's default
// `{enabled: true}`), applied to its endpoints for the gateway's locality
// (compile/locality-lb.ts), and the findings for what does not apply.
import { Codes } from "../model/codes.ts";
import type { DestinationRuleResource, PortTrafficPolicy } from "../model/istio.ts";
import type { EffectivePolicy } from "../resolve/destinationrules.ts";
import type { ServiceInfo } from "../resolve/services.ts";
import { gatewayLocality } from "../resolve/locality.ts";
import type { Cluster } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";
import { applyLocalityLb, effectiveLocalityLb } from "./locality-lb.ts";

export function applyClusterLocality(
  ctx: CompileContext,
  cluster: Cluster,
  policy: EffectivePolicy,
  ownerOf: ((l: PortTrafficPolicy) => DestinationRuleResource) | null,
  service: ServiceInfo | null,
): void {
  const lbLevel = policy.levels.loadBalancer;
  const ruleSetting = lbLevel?.localityLb ?? null;
  const meshSetting = ctx.opts.mesh?.localityLbSetting ?? null;
  const td = service?.trafficDistribution ?? null;
  const eff = effectiveLocalityLb(ruleSetting, meshSetting, td);
  if (eff === null) return;
  const setting = eff.setting;
  const owner = ruleSetting !== null && ownerOf !== null ? ownerOf(lbLevel!) : null;
  const outlier = policy.levels.outlierDetection?.outlierDetection != null;
  const enableFailover = outlier || eff.force;
  if (owner !== null && !outlier && setting.distribute.length === 0 && (setting.failover.length > 0 || setting.failoverPriority.length > 0)) {
    ctx.report("Warning", Codes.LocalityLbPartial, owner, "failover needs outlierDetection (istiod's rule: without it Envoy never leaves priority 0): no locality failover is applied", setting.path);
  }
  const gateway = gatewayLocality(ctx.opts.labels, ctx.opts.locality);
  const r = applyLocalityLb({ endpoints: cluster.endpoints, gatewayLocality: gateway, gatewayLabels: ctx.opts.labels, setting, enableFailover });
  if (r.mode === "none") return;
  if (r.mode !== "distribute" && !r.endpoints.some((e) => (e.priority ?? 0) > 0)) return; // one priority: nothing changes
  const source =
    owner !== null
      ? `DestinationRule/${owner.metadata.namespace}/${owner.metadata.name}`
      : eff.from === "service"
        ? `${service!.source} trafficDistribution ${td}`
        : meshSetting !== null
          ? "mesh config"
          : "mesh default";
  const where = owner ?? null;
  if (gateway === "" && r.mode !== "distribute") {
    const at = owner ?? service?.source ?? null;
    ctx.report("Info", Codes.LocalityLbPartial, at, `${cluster.name}: the gateway has no locality (--locality, or topology labels in --labels): as istiod for a proxy without one, endpoints without a locality come first, the others only when they fail`);
  }
  if (r.mode === "distribute") {
    const at = gateway === "" ? "no locality (--locality, or the gateway's topology labels)" : `locality ${gateway}`;
    if (r.matchedFrom === "") {
      ctx.report("Info", Codes.LocalityLbPartial, where, `${cluster.name}: no distribute rule's from matches the gateway's ${at}: each locality is weighted by its endpoints`, `${setting.path}.distribute`);
    } else if (r.dropped.length > 0) {
      const n = r.dropped.length;
      ctx.report("Info", Codes.LocalityLbPartial, where, `${cluster.name}: distribute from ${r.matchedFrom} names no locality of ${n} endpoint${n === 1 ? "" : "s"} (${[...new Set(r.dropped.map((e) => e.locality ?? "(none)"))].join(", ")}): as istiod, ${n === 1 ? "it gets" : "they get"} no traffic`, `${setting.path}.distribute`);
    }
  }
  cluster.endpoints = r.endpoints;
  cluster.localityLb = { mode: r.mode, gatewayLocality: gateway, source };
}

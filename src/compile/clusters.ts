// Requested clusters → clusters with type, load balancing, connect timeout and
// endpoints (subset labels applied). A cluster whose service is unknown, whose
// port is not the service's, or whose subset is undefined exists with no
// endpoints: its requests get 503, as in Istio.
import { Codes } from "../model/codes.ts";
import type { DestinationRuleResource, TrafficPolicy } from "../model/istio.ts";
import { effectivePolicy } from "../resolve/destinationrules.ts";
import { labelsSubset } from "../resolve/hosts.ts";
import type { Cluster, Endpoint } from "../snapshot/types.ts";
import type { ClusterRequest, CompileContext } from "./context.ts";

function compileCluster(ctx: CompileContext, req: ClusterRequest): Cluster {
  const svc = req.service;
  const rule = ctx.rules.lookup(req.host, req.namespace);
  const subset = req.subset === "" ? null : (rule?.subsets.find((s) => s.name === req.subset) ?? null);
  const policy = effectivePolicy(rule, subset, req.port);
  if (rule !== null) {
    const levels: [TrafficPolicy | null, DestinationRuleResource][] = [[rule.trafficPolicy, rule.first]];
    if (subset !== null) levels.push([subset.trafficPolicy, rule.subsetOwners.get(subset.name)!]);
    for (const [tp, owner] of levels) {
      if (tp === null) continue;
      const all = [...tp.unsupported, ...tp.portLevelSettings.filter((p) => p.port === req.port).flatMap((p) => p.policy.unsupported)];
      for (const field of all) {
        ctx.report("Warning", Codes.PolicyUnsupported, owner, `${field.slice(field.lastIndexOf(".") + 1)} is not applied by gangway (ignored)`, field);
      }
    }
  }
  const cluster: Cluster = {
    name: req.name,
    serviceHost: req.host,
    port: req.port,
    subset: req.subset,
    type: svc === null ? "EDS" : svc.type,
    lbPolicy: policy.lbPolicy,
    connectTimeoutMs: policy.connectTimeoutMs,
    endpoints: [],
  };
  if (svc === null) return cluster; // reported where the destination was named
  if (svc.type === "ORIGINAL_DST") {
    ctx.report(
      "Warning",
      Codes.PolicyUnsupported,
      svc.source,
      `resolution NONE has no address a gateway can send to: ${req.name} gets 503 (use STATIC or DNS)`,
    );
  }
  const port = svc.ports.find((p) => p.port === req.port);
  if (port === undefined) return cluster;
  if (req.subset !== "" && subset === null) return cluster;
  let eps: Endpoint[] = svc.endpoints(port);
  if (subset !== null) eps = eps.filter((e) => labelsSubset(subset.labels, e.labels));
  cluster.endpoints = eps;
  if (eps.length === 0 && svc.type !== "ORIGINAL_DST") {
    const why =
      subset !== null
        ? `subset ${req.subset} (${Object.entries(subset.labels).map(([k, v]) => `${k}=${v}`).join(",")}) selects no endpoint`
        : svc.source.startsWith("Service/")
          ? "no ready endpoint in its Endpoints/EndpointSlices (or selected WorkloadEntries) for this port"
          : "no endpoint";
    ctx.report("Warning", Codes.NoEndpoints, svc.source, `cluster ${req.name}: ${why}: requests get 503`);
  }
  return cluster;
}

export function compileClusters(ctx: CompileContext): Map<string, Cluster> {
  const out = new Map<string, Cluster>();
  for (const name of [...ctx.clusters.keys()].sort()) out.set(name, compileCluster(ctx, ctx.clusters.get(name)!));
  return out;
}

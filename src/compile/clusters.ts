// Requested clusters → clusters with type, load balancing, connect timeout and
// endpoints (subset labels applied). A cluster whose service is unknown, whose
// port is not the service's, or whose subset is undefined exists with no
// endpoints: its requests get 503, as in Istio.
import { Codes } from "../model/codes.ts";
import type { DestinationRuleResource, PortTrafficPolicy, Subset, TrafficPolicy } from "../model/istio.ts";
import { effectivePolicy, type ResolvedRule } from "../resolve/destinationrules.ts";
import type { ServicePortInfo } from "../resolve/services.ts";
import { labelsSubset } from "../resolve/hosts.ts";
import type { Cluster, Endpoint } from "../snapshot/types.ts";
import type { ClusterRequest, CompileContext } from "./context.ts";
import type { TlsCompileState } from "./tls.ts";
import { compileUpstream } from "./upstream-policy.ts";
import { backendTlsFor } from "./gatewayapi/backendtls.ts";

/** The DestinationRule each policy level came from (the rule's own, or the one that defines the subset). */
function owners(rule: ResolvedRule | null, subset: Subset | null): (level: PortTrafficPolicy) => DestinationRuleResource {
  const m = new Map<PortTrafficPolicy, DestinationRuleResource>();
  if (rule === null) return () => { throw new Error("a policy level without a DestinationRule"); };
  const add = (tp: TrafficPolicy | null, owner: DestinationRuleResource): void => {
    if (tp === null) return;
    m.set(tp, owner);
    for (const p of tp.portLevelSettings) m.set(p.policy, owner);
  };
  add(rule.trafficPolicy, rule.first);
  if (subset !== null) add(subset.trafficPolicy, rule.subsetOwners.get(subset.name) ?? rule.first);
  return (level: PortTrafficPolicy) => m.get(level) ?? rule.first;
}

function compileCluster(ctx: CompileContext, st: TlsCompileState, req: ClusterRequest): Cluster {
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
  const port = svc?.ports.find((p) => p.port === req.port);
  cluster.endpoints = clusterEndpoints(ctx, req, subset, port);
  // BackendTLSPolicy: only where no DestinationRule tls applies (the user's tls wins)
  const backendTls = policy.levels.tls === null ? backendTlsFor(st.backendTls, st.credentials, req.host, req.port, rule) : null;
  if (rule !== null || (port?.protocol ?? "") !== "" || backendTls !== null) {
    const u = compileUpstream(ctx, st, {
      clusterName: req.name,
      host: req.host,
      port: req.port,
      subset: req.subset,
      portProtocol: port?.protocol ?? "",
      endpointCount: cluster.endpoints.length,
      serviceSource: svc?.source ?? null,
      policy,
      ownerOf: owners(rule, subset),
      backendTls,
      serviceSubjectAltNames: svc?.subjectAltNames ?? [],
    });
    cluster.lbPolicy = u.lbPolicy;
    if (u.upstream !== undefined) cluster.upstream = u.upstream;
  }
  // a DestinationRule tls of any mode (DISABLE too) is the user's choice, as istiod's buildUpstreamTLSSettings takes it
  if (policy.levels.tls?.tls == null && cluster.upstream?.tls == null && svc !== null && svc.meshExternal !== true) reportAutoMtls(ctx, cluster, svc.source);
  return cluster;
}

/** istiod's label for an endpoint whose sidecar takes Istio mTLS (set on injected pods, or on a WorkloadEntry). */
export const TLS_MODE_LABEL = "security.istio.io/tlsMode";

/**
 * istiod's auto mTLS: a cluster without DestinationRule tls to a mesh service
 * sends ISTIO_MUTUAL to the endpoints labelled `security.istio.io/tlsMode:
 * istio` and plaintext to the others. gangway has no auto mTLS: said where the
 * labels show it would apply (plaintext to a sidecar that requires mTLS fails).
 */
function reportAutoMtls(ctx: CompileContext, cluster: Cluster, source: string): void {
  const n = cluster.endpoints.filter((e) => e.labels[TLS_MODE_LABEL] === "istio").length;
  if (n === 0) return;
  ctx.report(
    "Warning",
    Codes.PolicyUnsupported,
    source,
    `${cluster.name}: ${n} endpoint${n === 1 ? " is" : "s are"} labelled ${TLS_MODE_LABEL}: istio, to which istiod's auto mTLS sends ISTIO_MUTUAL; gangway has no auto mTLS and sends plaintext (a DestinationRule tls mode ISTIO_MUTUAL, with --mesh-certs, originates it)`,
  );
}

function clusterEndpoints(ctx: CompileContext, req: ClusterRequest, subset: Subset | null, port: ServicePortInfo | undefined): Endpoint[] {
  const svc = req.service;
  if (svc === null) return []; // reported where the destination was named
  if (svc.type === "ORIGINAL_DST") {
    ctx.report(
      "Warning",
      Codes.PolicyUnsupported,
      svc.source,
      `resolution NONE has no address a gateway can send to: ${req.name} gets 503 (use STATIC or DNS)`,
    );
  }
  if (svc.dynamicDns === true) {
    // istiod builds Envoy's dynamic forward proxy cluster: each request's host resolved when it comes
    ctx.report("Warning", Codes.PolicyUnsupported, svc.source, `resolution DYNAMIC_DNS (a dynamic forward proxy resolving each request's host) is not supported by gangway: ${req.name} gets 503 (use DNS with the host names)`, "spec.resolution");
    return [];
  }
  if (port === undefined) return [];
  if (req.subset !== "" && subset === null) return [];
  let eps: Endpoint[] = svc.endpoints(port);
  if (subset !== null) eps = eps.filter((e) => labelsSubset(subset.labels, e.labels));
  if (eps.length === 0 && svc.type !== "ORIGINAL_DST") {
    const why =
      subset !== null
        ? `subset ${req.subset} (${Object.entries(subset.labels).map(([k, v]) => `${k}=${v}`).join(",")}) selects no endpoint`
        : svc.source.startsWith("Service/")
          ? "no ready endpoint in its Endpoints/EndpointSlices (or selected WorkloadEntries) for this port"
          : "no endpoint";
    ctx.report("Warning", Codes.NoEndpoints, svc.source, `cluster ${req.name}: ${why}: requests get 503`);
  }
  return eps;
}

/** The key of a useClientProtocol cluster's HTTP/2 twin. */
export function http2ClientsKey(name: string): string {
  return `${name}|h2-clients`;
}

export function compileClusters(ctx: CompileContext, st: TlsCompileState): Map<string, Cluster> {
  const out = new Map<string, Cluster>();
  for (const name of [...ctx.clusters.keys()].sort()) {
    const c = compileCluster(ctx, st, ctx.clusters.get(name)!);
    out.set(name, c);
    const u = c.upstream;
    if (u?.useClientProtocol === true) {
      // HTTP/2 clients' requests: the same endpoints and policy, spoken to in HTTP/2 (ALPN h2 over TLS)
      const key = http2ClientsKey(name);
      c.http2Clients = key;
      const tls = u.tls === null ? null : { ...u.tls, alpn: [...u.tls.alpn, "h2"] };
      const { http2Clients: _own, ...same } = c;
      out.set(key, { ...same, http2ClientsOf: name, upstream: { ...u, protocol: "HTTP2", tls } });
    }
  }
  return out;
}

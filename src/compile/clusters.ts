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
import { applyClusterLocality } from "./cluster-locality.ts";
import { backendTlsFor } from "./gatewayapi/backendtls.ts";
import { endpointTlsMode, ruleTlsMode, sniDnatEndpoints, TLS_MODE_LABEL } from "./sni-dnat.ts";

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
  const full = effectivePolicy(rule, subset, req.port);
  // istiod's SNI-DNAT clusters apply the rule's policy but neither its tls nor its proxyProtocol (applyTrafficPolicy)
  const policy = req.sniDnat === true ? { ...full, levels: { ...full.levels, tls: null }, proxyProtocol: null } : full;
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
  if (req.sniDnat === true) cluster.endpoints = sniDnatClusterEndpoints(ctx, req, cluster.endpoints, ruleTlsMode(rule?.trafficPolicy ?? null, subset, req.port), rule);
  // BackendTLSPolicy: only where no DestinationRule tls applies (the user's tls wins)
  const backendTls = policy.levels.tls === null && req.sniDnat !== true ? backendTlsFor(st.backendTls, st.credentials, req.host, req.port, rule) : null;
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
  applyClusterLocality(ctx, cluster, policy, rule === null ? null : owners(rule, subset), svc);
  // a DestinationRule tls of any mode (DISABLE too) is the user's choice, as istiod's buildUpstreamTLSSettings takes it
  if (policy.levels.tls?.tls == null && cluster.upstream?.tls == null && svc !== null && svc.meshExternal !== true && req.sniDnat !== true) reportAutoMtls(ctx, cluster, svc.source);
  return cluster;
}

export { TLS_MODE_LABEL } from "./sni-dnat.ts";

/**
 * istiod's auto mTLS: a cluster without DestinationRule tls to a mesh service
 * sends ISTIO_MUTUAL to the endpoints whose TLS mode is `istio` (labelled
 * `security.istio.io/tlsMode: istio`, or a WorkloadEntry with a
 * serviceAccount: sni-dnat.ts endpointTlsMode) and plaintext to the others. gangway has no auto mTLS: said where the
 * labels show it would apply (plaintext to a sidecar that requires mTLS fails).
 */
function reportAutoMtls(ctx: CompileContext, cluster: Cluster, source: string): void {
  const n = cluster.endpoints.filter((e) => endpointTlsMode(e) === "istio").length;
  if (n === 0) return;
  ctx.report(
    "Warning",
    Codes.PolicyUnsupported,
    source,
    `${cluster.name}: ${n} endpoint${n === 1 ? " is" : "s are"} labelled ${TLS_MODE_LABEL}: istio (or a WorkloadEntry with a serviceAccount), to which istiod's auto mTLS sends ISTIO_MUTUAL; gangway has no auto mTLS and sends plaintext (a DestinationRule tls mode ISTIO_MUTUAL, with --mesh-certs, originates it)`,
  );
}

/** An SNI-DNAT cluster's endpoints (sni-dnat.ts), saying what was left out and why. */
function sniDnatClusterEndpoints(ctx: CompileContext, req: ClusterRequest, eps: Endpoint[], mode: ReturnType<typeof ruleTlsMode>, rule: ResolvedRule | null): Endpoint[] {
  const kept = sniDnatEndpoints(eps, mode);
  const dropped = eps.length - kept.length;
  if (dropped === 0) return kept;
  const why =
    mode !== null
      ? `its DestinationRule (${rule!.sources.join(", ")}) sets tls mode ${mode}, not ISTIO_MUTUAL`
      : `${dropped} of its ${eps.length} endpoint${eps.length === 1 ? " is" : "s are"} plain text (neither labelled ${TLS_MODE_LABEL}: istio nor a WorkloadEntry with a serviceAccount)`;
  const then = kept.length === 0 ? "no endpoint is left: its connections are closed (UH)" : "those are left out";
  ctx.report(kept.length === 0 ? "Warning" : "Info", Codes.NoEndpoints, req.service!.source, `AUTO_PASSTHROUGH cluster ${req.name}: ${why}; as istiod, only endpoints taking Istio mTLS are reached by SNI: ${then}`);
  return kept;
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
      "spec.resolution",
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
  eps = withoutUnixSockets(ctx, req, eps);
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

/**
 * A ServiceEntry endpoint (or WorkloadEntry) at a Unix domain socket (`unix:///path`,
 * which Istio allows for STATIC): gangway connects over TCP only, so it is left out
 * of the cluster with a Warning naming its address field (Envoy would connect to it).
 */
function withoutUnixSockets(ctx: CompileContext, req: ClusterRequest, eps: Endpoint[]): Endpoint[] {
  const uds = eps.filter((e) => e.address.startsWith("unix://"));
  if (uds.length === 0) return eps;
  const source = req.service!.source;
  const addr = uds[0]!.address;
  const res = ctx.byRef.get(source);
  const i = res?.kind === "ServiceEntry" ? res.spec.endpoints.findIndex((e) => e.address === addr) : -1;
  const we = i >= 0 ? undefined : [...ctx.byRef.values()].find((r) => r.kind === "WorkloadEntry" && r.spec.address === addr);
  const why = `endpoint ${addr} is a Unix domain socket, which gangway does not connect to (it connects over TCP): left out of ${req.name}`;
  if (we !== undefined) ctx.report("Warning", Codes.PolicyUnsupported, we, why, "spec.address");
  else ctx.report("Warning", Codes.PolicyUnsupported, source, why, i >= 0 ? `spec.endpoints[${i}].address` : "spec.workloadSelector");
  return eps.filter((e) => !e.address.startsWith("unix://"));
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

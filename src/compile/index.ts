// Resources + options → the snapshot workers serve: listeners (one per port of
// the applied Gateways and Ingresses), their route tables, the clusters the
// routes name with their endpoints, and findings. Broken objects are dropped
// with a finding; the rest is served. Pure apart from the clock (createdAt).
import { Codes } from "../model/codes.ts";
import type { Resource } from "../model/index.ts";
import type { GatewayResource, VirtualServiceResource } from "../model/istio.ts";
import { resourceRef } from "../model/meta.ts";
import { buildRuleIndex } from "../resolve/destinationrules.ts";
import { selectGateways, virtualServicesByGateway } from "../resolve/gateways.ts";
import { CLUSTER_DOMAIN } from "../resolve/hosts.ts";
import { buildRegistry } from "../resolve/services.ts";
import type { Finding, Listener, Snapshot } from "../snapshot/types.ts";
import { analyzeClaimRoutes, analyzeSubsetRoutingBypassed, analyzeVirtualServices } from "./analyze.ts";
import { compileClusters } from "./clusters.ts";
import { reportTcpUpstreams } from "./upstream-policy.ts";
import { reportServiceTopology } from "./service-topology.ts";
import { CompileContext, trustedProxies, type CompileOptions } from "./context.ts";
import { convertGatewayApi } from "./gatewayapi/index.ts";
import { mergeDelegates } from "./delegates.ts";
import { convertIngresses } from "./ingress.ts";
import { compileTcpRoutes, type ServiceRef } from "./l4routes.ts";
import { mergeServers, serverSource, terminatesHTTP, type PortGroup } from "./servers.ts";
import { compileRouteTable } from "./virtualhosts.ts";
import { compileTlsListener, indexSecrets, type TlsCompileState } from "./tls.ts";
import { indexConfigMaps } from "./client-ca.ts";
import { compileSecurity } from "./security.ts";
import { EMPTY_MESH } from "../decode/meshconfig.ts";
import { compileAccessLog } from "./access-log.ts";
import { compileTracing } from "./tracing.ts";
import { compileTelemetryLogging } from "./telemetry.ts";

export type { CompileOptions } from "./context.ts";

type ByKind = { [K in Resource["kind"]]: Extract<Resource, { kind: K }>[] };

/** resourceRef per resource object (the decode cache hands out the same objects while their file is unchanged; the same string is hashed once). */
const refs = new WeakMap<Resource, string>();

/**
 * Duplicate definitions reported one by one; past these, one Warning counts the rest
 * (a file of 120,000 copies of one document made as many findings, and log lines).
 */
export const MAX_DUPLICATE_FINDINGS = 100;

/** Later definitions of the same `Kind/ns/name` replace earlier ones (as a later `kubectl apply` would). */
function groupByKind(resources: Resource[], findings: Finding[]): { byKind: ByKind; byRef: Map<string, Resource> } {
  const last = new Map<string, Resource>();
  let duplicates = 0;
  for (const r of resources) {
    let key = refs.get(r);
    if (key === undefined) refs.set(r, (key = resourceRef(r)));
    const prev = last.get(key);
    if (prev !== undefined && ++duplicates > MAX_DUPLICATE_FINDINGS) last.delete(key);
    else if (prev !== undefined) {
      findings.push({
        code: Codes.DuplicateResource,
        level: "Warning",
        message: `defined again in ${r.source.file} document ${r.source.doc}: the later definition is used`,
        resource: key,
        file: prev.source.file,
        doc: prev.source.doc,
      });
      last.delete(key); // re-insert: keeps the later position
    }
    last.set(key, r);
  }
  if (duplicates > MAX_DUPLICATE_FINDINGS) {
    findings.push({
      code: Codes.DuplicateResource,
      level: "Warning",
      message: `${duplicates - MAX_DUPLICATE_FINDINGS} more definitions of a resource defined before are not listed (${duplicates} in all): the later definition is used each time`,
    });
  }
  const out = {
    Gateway: [],
    VirtualService: [],
    DestinationRule: [],
    ServiceEntry: [],
    WorkloadEntry: [],
    Ingress: [],
    IngressClass: [],
    Secret: [],
    ConfigMap: [],
    Service: [],
    Endpoints: [],
    EndpointSlice: [],
    GatewayClass: [],
    KubernetesGateway: [],
    HTTPRoute: [],
    GRPCRoute: [],
    TLSRoute: [],
    TCPRoute: [],
    ReferenceGrant: [],
    BackendTLSPolicy: [],
    ListenerSet: [],
    Namespace: [],
    RequestAuthentication: [],
    AuthorizationPolicy: [],
    OtherSecurityKind: [],
    Telemetry: [],
  } as ByKind;
  for (const r of last.values()) (out[r.kind] as Resource[]).push(r);
  return { byKind: out, byRef: last };
}

/**
 * sha256 of the options and the inputs: for resources read from files, the
 * files' digests (decode computed them: re-serialising 10,000 objects would
 * cost more than compiling them); other resources (mounted secrets) as JSON.
 */
function inputHash(resources: Resource[], opts: CompileOptions): string {
  const h = new Bun.CryptoHasher("sha256");
  // lastGood is not an input: the same files give the same credentials (it also read as {} vs absent: every first reload looked changed)
  h.update(JSON.stringify({ ...opts, lastGood: undefined, reuse: undefined, portMap: [...opts.portMap].sort((a, b) => a[0] - b[0]), certFiles: [...(opts.certFiles ?? [])].sort() }));
  const files = new Set<string>();
  for (const r of resources) {
    const d = r.source.digest;
    if (d === "") h.update(JSON.stringify([r.kind, r.apiVersion, r.metadata, r.spec]));
    else if (!files.has(d)) {
      files.add(d);
      h.update(d);
    }
  }
  return h.digest("hex");
}

/** Services inside the mesh (Kubernetes Services, MESH_INTERNAL ServiceEntries), for AUTO_PASSTHROUGH. */
function meshServices(services: ByKind["Service"], entries: ByKind["ServiceEntry"]): ServiceRef[] {
  const out: ServiceRef[] = services.map((s) => ({ host: `${s.metadata.name}.${s.metadata.namespace}.svc.${CLUSTER_DOMAIN}`, origin: s }));
  for (const e of entries) if (e.spec.location === "MESH_INTERNAL") for (const host of e.spec.hosts) out.push({ host, origin: e });
  return out;
}

function compileListener(ctx: CompileContext, group: PortGroup, vsByGateway: Map<string, VirtualServiceResource[]>, tls: TlsCompileState): Listener {
  const opts = ctx.opts;
  if (group.class === "tls") {
    return {
      name: `0.0.0.0_${group.port}`,
      port: group.port,
      bindPort: opts.portMap.get(group.port) ?? group.port,
      bindAddress: opts.bindAddress,
      protocol: group.protocol,
      routeTable: null,
      sources: group.servers.map((b) => serverSource(ctx, b)),
      tls: compileTlsListener(ctx, tls, group, vsByGateway),
      tcpRoutes: null,
    };
  }
  const http = group.servers.some((b) => terminatesHTTP(b.server));
  let tcpRoutes: Listener["tcpRoutes"] = null;
  if (!http) {
    // a TCP port has one server (mergeServers): its bytes follow its first tcp route
    const b = group.servers[0]!;
    if (b.server.tls !== null) {
      ctx.report(
        "Warning",
        Codes.ServerUnsupported,
        b.gateway,
        `${b.server.port.protocol} server on port ${group.port} with TLS ${b.server.tls.mode}: TLS is not terminated on a ${b.server.port.protocol} port (use protocol TLS); bytes are forwarded as they come`,
        `spec.servers[${b.index}].tls`,
      );
    }
    tcpRoutes = compileTcpRoutes(ctx, b, `tcp.${group.port}`, vsByGateway);
  }
  return {
    name: `0.0.0.0_${group.port}`,
    port: group.port,
    bindPort: opts.portMap.get(group.port) ?? group.port,
    bindAddress: opts.bindAddress,
    protocol: group.protocol,
    routeTable: http ? compileRouteTable(ctx, group, vsByGateway, null) : null,
    sources: group.servers.map((b) => serverSource(ctx, b)),
    tls: null,
    tcpRoutes,
  };
}

export function compileSnapshot(resources: Resource[], opts: CompileOptions, version: number): Snapshot {
  const reuse = opts.reuse;
  if (reuse === undefined) return compileFresh(resources, opts, version);
  reuse.begin(resources, opts);
  try {
    const s = compileFresh(resources, opts, version);
    reuse.end();
    return s;
  } catch (err) {
    reuse.abort();
    throw err;
  }
}

function compileFresh(resources: Resource[], opts: CompileOptions, version: number): Snapshot {
  const early: Finding[] = [];
  const { byKind: k, byRef } = groupByKind(resources, early);
  const registry = buildRegistry({
    services: k.Service,
    endpoints: k.Endpoints,
    slices: k.EndpointSlice,
    serviceEntries: k.ServiceEntry,
    workloadEntries: k.WorkloadEntry,
    proxyNamespace: opts.namespace,
  });
  const ctx = new CompileContext(opts, registry, buildRuleIndex(k.DestinationRule, opts.namespace, opts.labels));
  ctx.byRef = byRef;
  ctx.findings.push(...early);

  const derived = convertIngresses(ctx, k.Ingress, k.IngressClass, k.Service);
  const gatewayApi = convertGatewayApi(ctx, k);
  const gateways: GatewayResource[] = [...k.Gateway, ...derived.gateways, ...gatewayApi.gateways];
  const virtualServices: VirtualServiceResource[] = [...derived.virtualServices, ...mergeDelegates(ctx, k.VirtualService), ...gatewayApi.virtualServices];

  const { applied, skipped } = selectGateways(gateways, opts.labels);
  for (const g of skipped) {
    const sel = Object.entries(g.spec.selector).map(([a, b]) => `${a}=${b}`).join(",");
    ctx.report("Info", Codes.GatewayNotSelected, g, `selector ${sel} does not match this gateway's labels: not served here`, "spec.selector");
  }
  const groups = mergeServers(ctx, applied);
  const { byGateway, hidden } = virtualServicesByGateway(virtualServices, opts.namespace);
  analyzeVirtualServices(ctx, virtualServices, gateways, applied, hidden);
  analyzeSubsetRoutingBypassed(ctx, virtualServices, applied, hidden);

  const tlsState: TlsCompileState = {
    secrets: indexSecrets(k.Secret),
    configMaps: indexConfigMaps(k.ConfigMap),
    credentials: new Map(),
    services: () => meshServices(k.Service, k.ServiceEntry),
    backendTls: gatewayApi.backendTls,
  };
  const listeners = groups.map((g) => compileListener(ctx, g, byGateway, tlsState));
  if (listeners.length === 0 && resources.length > 0) {
    ctx.report(
      "Warning",
      Codes.NoGatewayApplies,
      null,
      `no Gateway or Ingress applies to this gateway (labels ${Object.entries(opts.labels).map(([a, b]) => `${a}=${b}`).join(",")}): nothing is listened on`,
    );
  }
  for (const o of registry.orphans) {
    const fqdn = o.kind === "EndpointSlice" && o.spec.addressType === "FQDN";
    const why = fqdn ? "addressType FQDN (istiod skips FQDN EndpointSlices)" : o.kind === "EndpointSlice" && o.spec.serviceName === "" ? "has no kubernetes.io/service-name label" : "names no Service";
    ctx.report("Warning", Codes.OrphanEndpoints, o, `${why}: its endpoints are not used`, fqdn ? "addressType" : undefined);
  }
  const mesh = opts.mesh ?? EMPTY_MESH;
  const security = compileSecurity(ctx, k.RequestAuthentication, k.AuthorizationPolicy, mesh, trustedProxies(opts), k.OtherSecurityKind);
  if (security.providers.length === 0) analyzeClaimRoutes(ctx, listeners, virtualServices);
  // before compileClusters: the collector's cluster is registered like ext_authz's
  const tracing = compileTracing(ctx, k.Telemetry, mesh);
  const clusters = compileClusters(ctx, tlsState);
  reportServiceTopology(ctx, k.Service, clusters);
  reportTcpUpstreams(ctx, listeners, clusters);
  const telemetry = compileTelemetryLogging(ctx, k.Telemetry, mesh);
  const accessLog = opts.accessLog === undefined ? undefined : compileAccessLog(ctx, mesh, opts.accessLog, telemetry);
  return {
    version,
    hash: inputHash(resources, opts),
    createdAt: new Date().toISOString(),
    listeners,
    clusters,
    credentials: tlsState.credentials,
    findings: ctx.findings,
    gatewayStatus: derived.status.length === 0 ? gatewayApi.status : [...gatewayApi.status, ...derived.status],
    // absent when there is nothing to check or compute (the snapshot dump stays as it was)
    ...(security.active || security.trustedProxies > 0 ? { security } : {}),
    ...(accessLog === undefined ? {} : { accessLog }),
    ...(tracing === undefined ? {} : { tracing }),
  };
}

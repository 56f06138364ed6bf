// Service discovery without a cluster: Kubernetes Services (with their Endpoints,
// EndpointSlices, or selected WorkloadEntries) and ServiceEntries, indexed by
// host name, each port resolved to the endpoints that serve it.
//
// Subset labels. Kubernetes gives an endpoint its pod's labels, and we have no
// pods. An endpoint here carries: the Service's `spec.selector` (every pod it
// selects has those), merged with the `metadata.labels` of the EndpointSlice or
// Endpoints object it came from. So a DestinationRule subset `version: v1`
// selects the EndpointSlices labelled `version: v1`: write one slice per version.
// WorkloadEntries and ServiceEntry endpoints carry their own `labels`, as in Istio.
// Localities: src/resolve/locality.ts.
import type { ServiceEntryResource, WorkloadEntryResource, WorkloadEntrySpec } from "../model/istio.ts";
import type { EndpointSliceResource, EndpointsResource, ServiceResource } from "../model/kube.ts";
import { compareCreation, resourceRef } from "../model/meta.ts";
import type { ClusterType, Endpoint } from "../snapshot/types.ts";
import { kubeEndpointLocality, trafficDistribution, workloadLocality, type TrafficDistribution } from "./locality.ts";
import { kubePortProtocol, serviceEntryPortProtocol } from "./protocol.ts";
import { CLUSTER_DOMAIN, isWildcard, labelsSubset, visibleTo } from "./hosts.ts";

export interface ServicePortInfo {
  name: string;
  port: number;
  /** Number, or a port name to look up on the endpoint; 0/"" → `port`. */
  targetPort: number | string;
  /** Application protocol (resolve/protocol.ts): `HTTP2`, `GRPC`, `HTTP` ...; "" when the port does not say. */
  protocol?: string;
}

export interface ServiceInfo {
  /** FQDN (`httpbin.default.svc.cluster.local`) or the ServiceEntry host. */
  host: string;
  namespace: string;
  /** `Service/ns/name` or `ServiceEntry/ns/name`. */
  source: string;
  ports: ServicePortInfo[];
  type: ClusterType;
  exportTo: string[];
  /**
   * A Kubernetes Service of type ExternalName: its externalName, lower-cased
   * (Istio treats the Service as an alias of that host). Absent otherwise.
   */
  aliasFor?: string;
  /** A ServiceEntry's subjectAltNames (absent or empty: none). */
  subjectAltNames?: string[];
  /** A ServiceEntry of location MESH_EXTERNAL (istiod never originates auto mTLS to it). */
  meshExternal?: boolean;
  /** A ServiceEntry of resolution DYNAMIC_DNS: no endpoints here (reported by compile). */
  dynamicDns?: boolean;
  /** A Kubernetes Service's trafficDistribution (or its annotation): istiod's forced locality failover (resolve/locality.ts). */
  trafficDistribution?: TrafficDistribution;
  /** Endpoints serving one of `ports` (all, before subset filtering). */
  endpoints(port: ServicePortInfo): Endpoint[];
}

export interface Registry {
  /** The service for `host` seen from a VirtualService in `namespace`: its own namespace first, then any visible one. */
  lookup(host: string, namespace: string): ServiceInfo | null;
  /** Is there a Kubernetes Service `name` in `namespace`? */
  hasKubeService(name: string, namespace: string): boolean;
  /** Services or ServiceEntries for `host` whose exportTo hides them from the gateway namespace (when `lookup` finds none). */
  hidden(host: string): ServiceInfo[];
  /** EndpointSlices / Endpoints that belong to no Service. */
  orphans: (EndpointSliceResource | EndpointsResource)[];
}

export interface RegistryInput {
  services: ServiceResource[];
  endpoints: EndpointsResource[];
  slices: EndpointSliceResource[];
  serviceEntries: ServiceEntryResource[];
  workloadEntries: WorkloadEntryResource[];
  /** The gateway workload's namespace: what must be visible to it. */
  proxyNamespace: string;
}

function key(ns: string, name: string): string {
  return `${ns}/${name}`;
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l === undefined) m.set(k, [v]);
  else l.push(v);
}

/** Port of an endpoint (by name), given the ports it lists. Unnamed single ports match each other. */
function endpointPort(sp: ServicePortInfo, ports: { name: string; port: number }[]): number {
  for (const p of ports) if (p.name === sp.name && p.port > 0) return p.port;
  if (ports.length === 1 && (sp.name === "" || ports[0]!.name === "") && ports[0]!.port > 0) return ports[0]!.port;
  return 0;
}

function workloadEndpoint(w: WorkloadEntrySpec, port: number): Endpoint {
  const e: Endpoint = { address: w.address, port, weight: w.weight || 1, labels: w.labels };
  const locality = workloadLocality(w.locality, w.labels);
  if (locality !== "") e.locality = locality;
  // istiod's getTLSModeFromWorkloadEntry: no tlsMode label but a serviceAccount → a mesh workload (mTLS)
  if (w.labels["security.istio.io/tlsMode"] === undefined && w.serviceAccount !== "") e.tlsMode = "istio";
  return e;
}

function withLocality(e: Endpoint, locality: string): Endpoint {
  if (locality !== "") e.locality = locality;
  return e;
}

function dedupe(eps: Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const e of eps) {
    const k = `${e.address}|${e.port}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out;
}

export function buildRegistry(input: RegistryInput): Registry {
  const slicesBySvc = new Map<string, EndpointSliceResource[]>();
  const endpointsBySvc = new Map<string, EndpointsResource>();
  const weByNs = new Map<string, WorkloadEntryResource[]>();
  const kube = new Map<string, ServiceResource>();
  for (const s of input.services) kube.set(key(s.metadata.namespace, s.metadata.name), s);
  const orphans: (EndpointSliceResource | EndpointsResource)[] = [];
  for (const s of input.slices) {
    const k = key(s.metadata.namespace, s.spec.serviceName);
    // istiod skips FQDN slices (istio/istio#34995): their addresses are names, not endpoints
    if (s.spec.serviceName === "" || !kube.has(k) || s.spec.addressType === "FQDN") orphans.push(s);
    else pushTo(slicesBySvc, k, s);
  }
  for (const e of input.endpoints) {
    const k = key(e.metadata.namespace, e.metadata.name);
    if (!kube.has(k)) orphans.push(e);
    else endpointsBySvc.set(k, e);
  }
  for (const w of [...input.workloadEntries].sort(compareCreation)) pushTo(weByNs, w.metadata.namespace, w);

  const byHost = new Map<string, ServiceInfo[]>();

  for (const svc of input.services) {
    const ns = svc.metadata.namespace;
    const k = key(ns, svc.metadata.name);
    const spec = svc.spec;
    const annotation = svc.metadata.annotations["networking.istio.io/exportTo"];
    const td = trafficDistribution(spec.trafficDistribution, svc.metadata.annotations["networking.istio.io/traffic-distribution"]);
    const info: ServiceInfo = {
      host: `${svc.metadata.name}.${ns}.svc.${CLUSTER_DOMAIN}`,
      namespace: ns,
      source: resourceRef(svc),
      ports: spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: kubePortProtocol(p.name, p.appProtocol, p.protocol) })),
      type: spec.type === "ExternalName" ? "STRICT_DNS" : "EDS",
      exportTo: annotation === undefined ? [] : annotation.split(",").map((s) => s.trim()).filter(Boolean),
      ...(spec.type === "ExternalName" ? { aliasFor: spec.externalName } : {}),
      ...(td !== null ? { trafficDistribution: td } : {}),
      endpoints(sp) {
        if (spec.type === "ExternalName") return [{ address: spec.externalName, port: sp.port, weight: 1, labels: {} }];
        const out: Endpoint[] = [];
        const slices = slicesBySvc.get(k);
        if (slices !== undefined) {
          for (const sl of slices) {
            const port = endpointPort(sp, sl.spec.ports);
            if (port === 0) continue;
            const labels = { ...spec.selector, ...sl.metadata.labels };
            for (const e of sl.spec.endpoints) {
              if (!e.ready) continue;
              const locality = kubeEndpointLocality(labels, e.zone);
              for (const a of e.addresses) out.push(withLocality({ address: a, port, weight: 1, labels }, locality));
            }
          }
        } else {
          const eps = endpointsBySvc.get(k);
          if (eps !== undefined) {
            const labels = { ...spec.selector, ...eps.metadata.labels };
            const locality = kubeEndpointLocality(labels);
            for (const sub of eps.spec.subsets) {
              const port = endpointPort(sp, sub.ports);
              if (port === 0) continue;
              for (const a of sub.addresses) out.push(withLocality({ address: a, port, weight: 1, labels }, locality));
            }
          }
        }
        // WorkloadEntries the Service selects (Istio does this for VMs).
        if (Object.keys(spec.selector).length > 0) {
          for (const w of weByNs.get(ns) ?? []) {
            if (!labelsSubset(spec.selector, w.spec.labels)) continue;
            const tp = sp.targetPort;
            const port = typeof tp === "string" ? w.spec.ports[tp] ?? 0 : w.spec.ports[sp.name] ?? tp;
            if (port > 0) out.push(workloadEndpoint(w.spec, port));
          }
        }
        return dedupe(out);
      },
    };
    pushTo(byHost, info.host, info);
  }

  for (const se of [...input.serviceEntries].sort(compareCreation)) {
    const ns = se.metadata.namespace;
    const spec = se.spec;
    // NONE at a gateway: istiod's convertResolution falls back to EDS ("Gateways cannot use passthrough
    // clusters"), so the WorkloadEntries a workloadSelector picks are its endpoints; without one there are none
    const noneWithSelector = spec.resolution === "NONE" && spec.workloadSelector !== null;
    const type: ClusterType =
      spec.resolution === "STATIC" || noneWithSelector ? "STATIC" : spec.resolution === "NONE" ? "ORIGINAL_DST" : "STRICT_DNS";
    for (const host of spec.hosts) {
      const info: ServiceInfo = {
        host,
        namespace: ns,
        source: resourceRef(se),
        ports: spec.ports.map((p) => ({ name: p.name, port: p.number, targetPort: p.targetPort || p.number, protocol: serviceEntryPortProtocol(p.protocol) })),
        type,
        exportTo: spec.exportTo,
        subjectAltNames: spec.subjectAltNames,
        meshExternal: spec.location === "MESH_EXTERNAL",
        ...(spec.resolution === "DYNAMIC_DNS" ? { dynamicDns: true } : {}),
        endpoints(sp) {
          if ((spec.resolution === "NONE" && !noneWithSelector) || spec.resolution === "DYNAMIC_DNS") return [];
          const fallback = typeof sp.targetPort === "number" ? sp.targetPort : sp.port;
          let workloads: WorkloadEntrySpec[] = spec.endpoints;
          if (spec.workloadSelector !== null) {
            const sel = spec.workloadSelector;
            workloads = (weByNs.get(ns) ?? []).filter((w) => labelsSubset(sel, w.spec.labels)).map((w) => w.spec);
          }
          const out = workloads.map((w) => workloadEndpoint(w, w.ports[sp.name] ?? fallback));
          if (out.length === 0 && type === "STRICT_DNS" && !isWildcard(host)) {
            out.push({ address: host, port: fallback, weight: 1, labels: {} });
          }
          return dedupe(out);
        },
      };
      pushTo(byHost, host, info);
    }
  }

  const proxyNs = input.proxyNamespace;
  return {
    lookup(host, namespace) {
      const list = byHost.get(host);
      if (list === undefined) return null;
      for (const s of list) if (s.namespace === namespace && visibleTo(s.exportTo, s.namespace, proxyNs)) return s;
      for (const s of list) if (visibleTo(s.exportTo, s.namespace, proxyNs)) return s;
      return null;
    },
    hasKubeService(name, namespace) {
      return kube.has(key(namespace, name));
    },
    hidden(host) {
      return (byHost.get(host) ?? []).filter((s) => !visibleTo(s.exportTo, s.namespace, proxyNs));
    },
    orphans,
  };
}

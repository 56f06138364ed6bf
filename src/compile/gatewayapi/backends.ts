// backendRefs → Istio destinations (`name.ns.svc.cluster.local:port`), or a
// ResolvedRefs problem (InvalidKind, RefNotPermitted, BackendNotFound,
// InvalidDestination); a route's share for an unresolved ref answers 500.
// Besides core Services, the kinds istiod takes: `multicluster.x-k8s.io`
// ServiceImport (as the Service of its name, istiod without MCS hosts) and
// Istio's `networking.istio.io` Hostname (a ServiceEntry host or a Service's
// FQDN, the destination host as written).
import { Codes } from "../../model/codes.ts";
import type { BackendRef } from "../../model/gatewayapi.ts";
import { GATEWAY_GROUP } from "../../model/gatewayapi.ts";
import type { Resource } from "../../model/index.ts";
import type { Destination, ServiceEntryResource } from "../../model/istio.ts";
import type { ServiceResource } from "../../model/kube.ts";
import { CLUSTER_DOMAIN } from "../../resolve/hosts.ts";
import type { CompileContext } from "../context.ts";
import type { Grants } from "./grants.ts";
import { INVALID_BACKEND_HOST } from "../routes.ts";

export { INVALID_BACKEND_HOST };

export interface RefProblem {
  reason: string;
  message: string;
  /** istiod's hard conversion error (InvalidDestination): a backendRef makes the whole route unconverted, none of it served. */
  hard?: boolean;
}

export interface ResolvedBackend {
  destination: Destination;
  problem: RefProblem | null;
}

/** What backendRefs may name. */
export interface Backends {
  /** `ns/name` → Service. */
  services: Map<string, ServiceResource>;
  /** Hostname → its port numbers: ServiceEntry hosts and Service FQDNs (Istio's Hostname backendRefs). */
  hosts: Map<string, Set<number>>;
}

export const MCS_GROUP = "multicluster.x-k8s.io";
export const ISTIO_NETWORKING_GROUP = "networking.istio.io";

export function indexBackends(services: ServiceResource[], entries: ServiceEntryResource[]): Backends {
  const hosts = new Map<string, Set<number>>();
  const add = (h: string, ports: number[]) => {
    const set = hosts.get(h) ?? new Set<number>();
    for (const p of ports) set.add(p);
    hosts.set(h, set);
  };
  for (const s of services) add(`${s.metadata.name}.${s.metadata.namespace}.svc.${CLUSTER_DOMAIN}`, s.spec.ports.map((p) => p.port));
  for (const e of entries) for (const h of e.spec.hosts) add(h, e.spec.ports.map((p) => p.number));
  return { services: new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s])), hosts };
}

export function resolveBackend(
  ctx: CompileContext,
  route: Resource,
  b: BackendRef,
  field: string,
  backends: Backends,
  grants: Grants,
): ResolvedBackend {
  const invalid = (reason: string, message: string): ResolvedBackend => {
    // InvalidDestination is a hard error in istiod: the route is not converted at all (a mirror is only left out)
    const hard = reason === "InvalidDestination";
    const effect = hard ? "the route is not served (a mirror: left out)" : "its share of requests answers 500";
    ctx.report("Warning", Codes.BackendRefUnresolved, route, `${message} (${reason}): ${effect}`, field);
    return { destination: { host: INVALID_BACKEND_HOST, subset: "", port: 0 }, problem: hard ? { reason, message, hard } : { reason, message } };
  };
  const ns = b.namespace;
  const service = b.group === "" && b.kind === "Service";
  const serviceImport = b.group === MCS_GROUP && b.kind === "ServiceImport";
  const hostname = b.group === ISTIO_NETWORKING_GROUP && b.kind === "Hostname";
  if (!service && !serviceImport && !hostname) return invalid("InvalidKind", `backendRef ${b.group || "core"}/${b.kind} ${b.name} is not a Service`);
  const from = route.metadata.namespace;
  if (ns !== from && !grants.allows(GATEWAY_GROUP, route.kind, from, b.group, b.kind, ns, b.name)) {
    return invalid("RefNotPermitted", `${b.kind} ${ns}/${b.name}: no ReferenceGrant in ${ns} allows ${route.kind}s of ${from}`);
  }
  if (hostname) {
    // istiod: a Hostname names no namespace (InvalidDestination)
    if (ns !== from) return invalid("InvalidDestination", `Hostname ${b.name}: namespace may not be set`);
    const ports = backends.hosts.get(b.name);
    if (ports === undefined) return invalid("BackendNotFound", `no ServiceEntry or Service has the hostname ${b.name}`);
    if (b.port === 0 || !ports.has(b.port)) return invalid("BackendNotFound", `hostname ${b.name} has no port ${b.port}`);
    return { destination: { host: b.name, subset: "", port: b.port }, problem: null };
  }
  // a Service is named by its name, never its hostname (istiod refuses the name, whether or not such a Service exists)
  if (service && b.name.includes(".")) return invalid("InvalidDestination", "service name invalid; the name of the Service must be used, not the hostname.");
  const svc = backends.services.get(`${ns}/${b.name}`);
  if (svc === undefined) return invalid("BackendNotFound", `Service ${ns}/${b.name} not found`);
  if (b.port === 0) return invalid("BackendNotFound", `backendRef to Service ${ns}/${b.name} has no port`);
  const sp = svc.spec.ports.find((p) => p.port === b.port);
  if (sp === undefined) return invalid("BackendNotFound", `Service ${ns}/${b.name} has no port ${b.port}`);
  return { destination: { host: `${b.name}.${ns}.svc.${CLUSTER_DOMAIN}`, subset: "", port: b.port }, problem: null };
}

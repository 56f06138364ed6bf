// Which Gateways apply to this gateway instance, and which VirtualServices bind
// to each of them, in the order Istio considers them.
import type { GatewayResource, VirtualServiceResource } from "../model/istio.ts";
import { compareCreation, timeOf } from "../model/meta.ts";
import { labelsSubset, visibleTo } from "./hosts.ts";

/** The `mesh` pseudo-gateway: sidecars, not us. */
export const MESH = "mesh";

/**
 * A gateway reference as written in a VirtualService → `namespace/name`
 * (Istio's resolveGatewayName): `gw` and `./gw` are in the VirtualService's
 * namespace, `ns/gw` as written, legacy `gw.ns.svc.cluster.local` → `ns/gw`.
 */
export function resolveGatewayRef(ref: string, namespace: string): string {
  if (ref === MESH) return MESH;
  const slash = ref.indexOf("/");
  if (slash >= 0) return ref.startsWith("./") ? `${namespace}/${ref.slice(2)}` : ref;
  const dot = ref.indexOf(".");
  if (dot < 0) return `${namespace}/${ref}`;
  const rest = ref.slice(dot + 1);
  const next = rest.indexOf(".");
  return `${next < 0 ? rest : rest.slice(0, next)}/${ref.slice(0, dot)}`;
}

export function gatewayKey(g: GatewayResource): string {
  return `${g.metadata.namespace}/${g.metadata.name}`;
}

/** Gateways whose selector is a subset of `labels` (creation order), and the others. */
export function selectGateways(
  gateways: GatewayResource[],
  labels: Record<string, string>,
): { applied: GatewayResource[]; skipped: GatewayResource[] } {
  const applied: GatewayResource[] = [];
  const skipped: GatewayResource[] = [];
  for (const g of [...gateways].sort(compareCreation)) (labelsSubset(g.spec.selector, labels) ? applied : skipped).push(g);
  return { applied, skipped };
}

/**
 * VirtualServices bound to each gateway (`ns/name` → list), for a gateway
 * workload in `proxyNamespace`: first those private to that namespace, then
 * those exported to it by name, then public ones (Istio's
 * VirtualServicesForGateway), each group in creation order.
 */
/** What virtualServicesByGateway needs of a VirtualService, once per object (resources are not changed once decoded or derived). */
interface Binding {
  vs: VirtualServiceResource;
  /** compareCreation's keys. */
  time: number;
  name: string;
  namespace: string;
  /** The gateways it names, resolved, each once, without `mesh`. */
  refs: string[];
  /** For `proxyNamespace`: 0 private to it, 1 exported to it by name, 2 public, -1 hidden. */
  proxyNamespace: string;
  group: number;
}

const bindings = new WeakMap<VirtualServiceResource, Binding>();

function bindingOf(vs: VirtualServiceResource, proxyNamespace: string): Binding {
  let b = bindings.get(vs);
  if (b !== undefined && b.proxyNamespace === proxyNamespace) return b;
  const ns = vs.metadata.namespace;
  const ex = vs.spec.exportTo;
  let group: number;
  if (ex.length === 0 || ex.includes("*")) group = 2;
  else if (!visibleTo(ex, ns, proxyNamespace)) group = -1;
  else group = ns === proxyNamespace ? 0 : 1;
  const refs = [...new Set(vs.spec.gateways.map((g) => resolveGatewayRef(g, ns)))].filter((r) => r !== MESH);
  b = { vs, time: timeOf(vs.metadata.creationTimestamp), name: vs.metadata.name, namespace: ns, refs, proxyNamespace, group };
  bindings.set(vs, b);
  return b;
}

/** compareCreation over Bindings (their keys read once per VirtualService, and close together in memory). */
function compareBindings(a: Binding, b: Binding): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return 0;
}

/** Resolved gateway references of a VirtualService, each once, without `mesh` (shared: not to be changed). */
export function gatewayRefsOf(vs: VirtualServiceResource, proxyNamespace: string): string[] {
  return bindingOf(vs, proxyNamespace).refs;
}

/**
 * VirtualServices bound to each gateway (`ns/name` → list), for a gateway
 * workload in `proxyNamespace`: first those private to that namespace, then
 * those exported to it by name, then public ones (Istio's
 * VirtualServicesForGateway), each group in creation order.
 */
export function virtualServicesByGateway(
  services: VirtualServiceResource[],
  proxyNamespace: string,
): { byGateway: Map<string, VirtualServiceResource[]>; hidden: VirtualServiceResource[] } {
  const groups: [Map<string, VirtualServiceResource[]>, Map<string, VirtualServiceResource[]>, Map<string, VirtualServiceResource[]>] = [
    new Map(),
    new Map(),
    new Map(),
  ];
  const hidden: VirtualServiceResource[] = [];
  for (const b of services.map((vs) => bindingOf(vs, proxyNamespace)).sort(compareBindings)) {
    if (b.group < 0) {
      hidden.push(b.vs);
      continue;
    }
    const m = groups[b.group as 0 | 1 | 2];
    for (const ref of b.refs) {
      const list = m.get(ref);
      if (list === undefined) m.set(ref, [b.vs]);
      else list.push(b.vs);
    }
  }
  const byGateway = new Map<string, VirtualServiceResource[]>();
  for (const m of groups) {
    for (const [gw, list] of m) {
      const cur = byGateway.get(gw);
      if (cur === undefined) byGateway.set(gw, [...list]);
      else cur.push(...list);
    }
  }
  return { byGateway, hidden };
}

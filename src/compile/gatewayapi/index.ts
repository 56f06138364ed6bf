// Gateway API objects → derived Istio Gateways and VirtualServices (served by
// the same compile as hand-written ones, as istiod converts them) and the
// status a conformant controller would write.
import type {
  GatewayClassResource,
  GRPCRouteResource,
  HTTPRouteResource,
  KubernetesGatewayResource,
  ListenerSetResource,
  NamespaceResource,
  ReferenceGrantResource,
  TCPRouteResource,
  TLSRouteResource,
} from "../../model/gatewayapi.ts";
import type { GatewayResource, ServiceEntryResource, VirtualServiceResource } from "../../model/istio.ts";
import type { Credential } from "../../credentials/parse.ts";
import type { BackendTLSPolicyResource } from "../../model/backendtls.ts";
import type { ConfigMapResource, SecretResource, ServiceResource } from "../../model/kube.ts";
import { compareCreation } from "../../model/meta.ts";
import type { CompileContext } from "../context.ts";
import type { AttachContext } from "./attach.ts";
import { indexBackends } from "./backends.ts";
import { applyAddresses } from "./apply-addresses.ts";
import { convertBackendTlsPolicies, gatewayClientCertificates, type BackendTlsIndex } from "./backendtls.ts";
import { frontendLookup, serveGateways } from "./gateways.ts";
import { indexGrants, namespaceLabels } from "./grants.ts";
import { convertHTTPRoutes } from "./httproutes.ts";
import { convertL4Routes } from "./l4routes.ts";
import { reportNotApplied } from "./not-applied.ts";
import { grpcAsHttpRoute } from "./grpcroutes.ts";
import { listenerSetStatus, serveListenerSets } from "./listenersets.ts";
import { CONTROLLER_NAME, gatewayClassStatus, withGeneration, type StatusItem } from "./status.ts";

export type { StatusItem } from "./status.ts";
export type { BackendTlsIndex } from "./backendtls.ts";

export interface GatewayApiInput {
  GatewayClass: GatewayClassResource[];
  KubernetesGateway: KubernetesGatewayResource[];
  HTTPRoute: HTTPRouteResource[];
  GRPCRoute: GRPCRouteResource[];
  TLSRoute: TLSRouteResource[];
  TCPRoute: TCPRouteResource[];
  ReferenceGrant: ReferenceGrantResource[];
  Namespace: NamespaceResource[];
  Secret: SecretResource[];
  Service: ServiceResource[];
  BackendTLSPolicy: BackendTLSPolicyResource[];
  ConfigMap: ConfigMapResource[];
  ServiceEntry: ServiceEntryResource[];
  ListenerSet?: ListenerSetResource[];
}

export function convertGatewayApi(
  ctx: CompileContext,
  k: GatewayApiInput,
): { gateways: GatewayResource[]; virtualServices: VirtualServiceResource[]; status: StatusItem[]; backendTls: BackendTlsIndex } {
  const routes = [...k.HTTPRoute, ...k.GRPCRoute, ...k.TLSRoute, ...k.TCPRoute];
  // nothing attaches anywhere: the routes and ListenerSets are still judged below (a parent not found is said)
  if (k.KubernetesGateway.length === 0 && routes.length === 0 && (k.ListenerSet ?? []).length === 0) {
    // BackendTLSPolicy applies to a Service whoever routes to it (an Istio Gateway's VirtualServices too)
    const b = convertBackendTlsPolicies(ctx, { ...k, routes }, new Map(), () => undefined);
    return { gateways: [], virtualServices: [], status: withGenerations(k, [...classStatus(k), ...b.status]), backendTls: b.index };
  }
  const grants = indexGrants(k.ReferenceGrant);
  const { served, derived } = serveGateways(ctx, k.GatewayClass, k.KubernetesGateway, k.Secret, k.ConfigMap, grants);
  const servedKeys = new Set(served.map((g) => `${g.gateway.metadata.namespace}/${g.gateway.metadata.name}`));
  reportNotApplied(ctx, [...k.GatewayClass.filter((c) => c.spec.controllerName === CONTROLLER_NAME), ...served.map((g) => g.gateway), ...routes.filter((r) => r.spec.parentRefs.some((p) => servedKeys.has(`${p.namespace}/${p.name}`)))]);
  const clientCerts = gatewayClientCertificates(ctx, served.map((g) => g.gateway), k.Secret, grants);
  for (const g of served) {
    const c = clientCerts.get(`${g.gateway.metadata.namespace}/${g.gateway.metadata.name}`);
    if (c !== undefined) g.conditions.push(c.condition);
  }
  const known = new Set(k.KubernetesGateway.map((g) => `${g.metadata.namespace}/${g.metadata.name}`));
  const labelsOf = namespaceLabels(k.Namespace);
  const sets = serveListenerSets(ctx, k.ListenerSet ?? [], served, known, labelsOf, frontendLookup(k.Secret, k.ConfigMap, grants), derived);
  applyAddresses(ctx, served, sets, k.Service);
  const ac: AttachContext = {
    served: new Map(served.map((g) => [`${g.gateway.metadata.namespace}/${g.gateway.metadata.name}`, g])),
    known,
    labelsOf,
    listenerSets: new Map(sets.filter((s) => s.allowed).map((s) => [`${s.listenerSet.metadata.namespace}/${s.listenerSet.metadata.name}`, s])),
    knownSets: new Set((k.ListenerSet ?? []).map((s) => `${s.metadata.namespace}/${s.metadata.name}`)),
  };
  const backends = indexBackends(k.Service, k.ServiceEntry);
  const routeStatus: StatusItem[] = [];
  const grpc = k.GRPCRoute.map((g) => {
    const h = grpcAsHttpRoute(g);
    ctx.origins.set(h, g);
    ctx.originFields.set(h, (f) => f); // the same spec, read as an HTTPRoute's
    return h;
  });
  const virtualServices = convertHTTPRoutes(ctx, ac, [...k.HTTPRoute, ...grpc], backends, grants, routeStatus);
  const l4 = [...k.TLSRoute, ...k.TCPRoute].sort(compareCreation);
  virtualServices.push(...convertL4Routes(ctx, ac, l4, backends, grants, routeStatus));
  const status: StatusItem[] = served.map((g) => ({
    apiVersion: g.gateway.apiVersion,
    kind: "Gateway",
    metadata: { namespace: g.gateway.metadata.namespace, name: g.gateway.metadata.name },
    status: {
      ...(g.addresses ? { addresses: g.addresses } : {}),
      conditions: g.conditions,
      listeners: g.listeners.map((l) => ({ ...l.status, attachedRoutes: l.attached.size })),
      ...(g.attachedListenerSets ? { attachedListenerSets: g.attachedListenerSets } : {}),
    },
  }));
  const clients = new Map<string, { key: string; credential: Credential }>();
  for (const [key, c] of clientCerts) if (c.client !== null) clients.set(key, c.client);
  const byKey = new Map(k.KubernetesGateway.map((g) => [`${g.metadata.namespace}/${g.metadata.name}`, g]));
  const b = convertBackendTlsPolicies(ctx, { ...k, routes }, clients, (key) => byKey.get(key));
  const all = [...classStatus(k), ...status, ...sets.map(listenerSetStatus), ...routeStatus, ...b.status];
  return { gateways: derived, virtualServices, status: withGenerations(k, all), backendTls: b.index };
}

/** The GatewayClasses of our controller (written ones: istiod's built-in `istio` has no object to write to). */
function classStatus(k: GatewayApiInput): StatusItem[] {
  return k.GatewayClass.filter((c) => c.spec.controllerName === CONTROLLER_NAME).map(gatewayClassStatus);
}

/** Each item's conditions with its object's `metadata.generation` as `observedGeneration`. */
function withGenerations(k: GatewayApiInput, items: StatusItem[]): StatusItem[] {
  const generations = new Map<string, number>();
  const objects = [...k.GatewayClass, ...k.KubernetesGateway, ...k.HTTPRoute, ...k.GRPCRoute, ...k.TLSRoute, ...k.TCPRoute, ...(k.ListenerSet ?? []), ...k.BackendTLSPolicy];
  for (const o of objects) {
    const kind = o.kind === "KubernetesGateway" ? "Gateway" : o.kind;
    const ns = o.kind === "GatewayClass" ? "" : o.metadata.namespace;
    if (o.metadata.generation !== undefined) generations.set(`${kind}/${ns}/${o.metadata.name}`, o.metadata.generation);
  }
  if (generations.size === 0) return items;
  return items.map((i) => withGeneration(i, generations.get(`${i.kind}/${i.metadata.namespace ?? ""}/${i.metadata.name}`)));
}

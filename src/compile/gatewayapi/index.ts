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
import type { GatewayResource, VirtualServiceResource } from "../../model/istio.ts";
import type { SecretResource, ServiceResource } from "../../model/kube.ts";
import { compareCreation } from "../../model/meta.ts";
import type { CompileContext } from "../context.ts";
import type { AttachContext } from "./attach.ts";
import { serveGateways } from "./gateways.ts";
import { indexGrants, namespaceLabels } from "./grants.ts";
import { convertHTTPRoutes } from "./httproutes.ts";
import { convertL4Routes } from "./l4routes.ts";
import { grpcAsHttpRoute } from "./grpcroutes.ts";
import { listenerSetStatus, serveListenerSets } from "./listenersets.ts";
import type { StatusItem } from "./status.ts";

export type { StatusItem } from "./status.ts";

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
  ListenerSet?: ListenerSetResource[];
}

export function convertGatewayApi(ctx: CompileContext, k: GatewayApiInput): { gateways: GatewayResource[]; virtualServices: VirtualServiceResource[]; status: StatusItem[] } {
  if (k.KubernetesGateway.length === 0) return { gateways: [], virtualServices: [], status: [] };
  const grants = indexGrants(k.ReferenceGrant);
  const { served, derived } = serveGateways(ctx, k.GatewayClass, k.KubernetesGateway, k.Secret, grants);
  const known = new Set(k.KubernetesGateway.map((g) => `${g.metadata.namespace}/${g.metadata.name}`));
  const labelsOf = namespaceLabels(k.Namespace);
  const sets = serveListenerSets(ctx, k.ListenerSet ?? [], served, known, labelsOf, k.Secret, grants, derived);
  const ac: AttachContext = {
    served: new Map(served.map((g) => [`${g.gateway.metadata.namespace}/${g.gateway.metadata.name}`, g])),
    known,
    labelsOf,
    listenerSets: new Map(sets.filter((s) => s.allowed).map((s) => [`${s.listenerSet.metadata.namespace}/${s.listenerSet.metadata.name}`, s])),
    knownSets: new Set((k.ListenerSet ?? []).map((s) => `${s.metadata.namespace}/${s.metadata.name}`)),
  };
  const services = new Map(k.Service.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  const routeStatus: StatusItem[] = [];
  const grpc = k.GRPCRoute.map((g) => {
    const h = grpcAsHttpRoute(g);
    ctx.origins.set(h, g);
    return h;
  });
  const virtualServices = convertHTTPRoutes(ctx, ac, [...k.HTTPRoute, ...grpc], services, grants, routeStatus);
  const l4 = [...k.TLSRoute, ...k.TCPRoute].sort(compareCreation);
  virtualServices.push(...convertL4Routes(ctx, ac, l4, services, grants, routeStatus));
  const status: StatusItem[] = served.map((g) => ({
    apiVersion: g.gateway.apiVersion,
    kind: "Gateway",
    metadata: { namespace: g.gateway.metadata.namespace, name: g.gateway.metadata.name },
    status: {
      conditions: g.conditions,
      listeners: g.listeners.map((l) => ({ ...l.status, attachedRoutes: l.attached.size })),
      ...(g.attachedListenerSets ? { attachedListenerSets: g.attachedListenerSets } : {}),
    },
  }));
  return { gateways: derived, virtualServices, status: status.concat(sets.map(listenerSetStatus), routeStatus) };
}

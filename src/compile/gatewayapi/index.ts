// Gateway API objects → derived Istio Gateways and VirtualServices (served by
// the same compile as hand-written ones, as istiod converts them) and the
// status a conformant controller would write.
import type {
  GatewayClassResource,
  GRPCRouteResource,
  HTTPRouteResource,
  KubernetesGatewayResource,
  NamespaceResource,
  ReferenceGrantResource,
  TCPRouteResource,
  TLSRouteResource,
} from "../../model/gatewayapi.ts";
import type { GatewayResource, ServiceEntryResource, VirtualServiceResource } from "../../model/istio.ts";
import type { SecretResource, ServiceResource } from "../../model/kube.ts";
import { compareCreation } from "../../model/meta.ts";
import type { CompileContext } from "../context.ts";
import type { AttachContext } from "./attach.ts";
import { indexBackends } from "./backends.ts";
import { serveGateways } from "./gateways.ts";
import { indexGrants, namespaceLabels } from "./grants.ts";
import { convertHTTPRoutes } from "./httproutes.ts";
import { convertL4Routes } from "./l4routes.ts";
import { grpcAsHttpRoute } from "./grpcroutes.ts";
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
  ServiceEntry: ServiceEntryResource[];
}

export function convertGatewayApi(ctx: CompileContext, k: GatewayApiInput): { gateways: GatewayResource[]; virtualServices: VirtualServiceResource[]; status: StatusItem[] } {
  if (k.KubernetesGateway.length === 0) return { gateways: [], virtualServices: [], status: [] };
  const grants = indexGrants(k.ReferenceGrant);
  const { served, derived } = serveGateways(ctx, k.GatewayClass, k.KubernetesGateway, k.Secret, grants);
  const ac: AttachContext = {
    served: new Map(served.map((g) => [`${g.gateway.metadata.namespace}/${g.gateway.metadata.name}`, g])),
    known: new Set(k.KubernetesGateway.map((g) => `${g.metadata.namespace}/${g.metadata.name}`)),
    labelsOf: namespaceLabels(k.Namespace),
  };
  const backends = indexBackends(k.Service, k.ServiceEntry);
  const routeStatus: StatusItem[] = [];
  const grpc = k.GRPCRoute.map((g) => {
    const h = grpcAsHttpRoute(g);
    ctx.origins.set(h, g);
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
      conditions: g.conditions,
      listeners: g.listeners.map((l) => ({ ...l.status, attachedRoutes: l.attached.size })),
    },
  }));
  return { gateways: derived, virtualServices, status: status.concat(routeStatus) };
}

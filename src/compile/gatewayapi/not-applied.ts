// Gateway API fields gangway reads only to say it does not act on them (the
// decoder lists them in `notApplied`): each is a GW0807 finding naming the field,
// so none is dropped silently.
import { Codes } from "../../model/codes.ts";
import type { GatewayClassResource, GRPCRouteResource, HTTPRouteResource, KubernetesGatewayResource, TCPRouteResource, TLSRouteResource } from "../../model/gatewayapi.ts";
import type { CompileContext } from "../context.ts";

export function reportNotApplied(ctx: CompileContext, objects: (GatewayClassResource | KubernetesGatewayResource | HTTPRouteResource | GRPCRouteResource | TLSRouteResource | TCPRouteResource)[]): void {
  for (const o of objects) for (const n of o.spec.notApplied ?? []) ctx.report(n.level, Codes.GatewayApiUnsupported, o, n.why, n.field);
}

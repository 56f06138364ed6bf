// TLSRoute (passthrough by SNI) and TCPRoute → derived VirtualServices with
// `tls:`/`tcp:` routes, served by the existing L4 data path (on a TLS
// listener in mode Terminate both become `tcp:` routes of its TLS server:
// the handshake is ended here, the bytes go on as plain TCP). GRPCRoutes are
// served as HTTPRoutes: grpcroutes.ts.
import { Codes } from "../../model/codes.ts";
import type { TCPRouteResource, TLSRouteResource } from "../../model/gatewayapi.ts";
import type { RouteDestination, VirtualServiceResource } from "../../model/istio.ts";
import type { CompileContext } from "../context.ts";
import { ROUTE_SEMANTICS_ANNOTATION } from "../virtualhosts.ts";
import { attachRoute, servedAttachments, type AttachContext } from "./attach.ts";
import { INVALID_BACKEND_HOST, resolveBackend, type Backends, type RefProblem } from "./backends.ts";
import { terminatesTls } from "./gateways.ts";
import type { Grants } from "./grants.ts";
import { cond, type StatusItem } from "./status.ts";

export function convertL4Routes(
  ctx: CompileContext,
  ac: AttachContext,
  routes: (TLSRouteResource | TCPRouteResource)[],
  backends: Backends,
  grants: Grants,
  status: StatusItem[],
): VirtualServiceResource[] {
  const out: VirtualServiceResource[] = [];
  // a TLS Terminate listener's connections follow one route (its TLS server's one tcp: route): the first served
  const takenBy = new Map<string, string>();
  routes.forEach((route, n) => {
    const tls = route.kind === "TLSRoute";
    const parents = attachRoute(ctx, ac, route, tls);
    if (parents.length === 0) return;
    // the last backendRef that does not resolve, as istiod's buildTCPDestination reports it
    let problem = null as RefProblem | null;
    // the first rule routes (an L4 route has one rule); unresolved refs are dropped: no bytes to answer 500 with
    const dests: RouteDestination[] = [];
    (route.spec.rules[0]?.backendRefs ?? []).forEach((b, bi) => {
      const r = resolveBackend(ctx, route, b, `spec.rules[0].backendRefs[${bi}]`, backends, grants);
      // istiod stops at the first weighted ref it cannot convert; that is the one reported
      if (r.problem !== null && problem?.hard !== true && (r.problem.hard !== true || b.weight > 0)) problem = r.problem;
      if (r.destination.host !== INVALID_BACKEND_HOST && b.weight > 0) dests.push({ destination: r.destination, weight: b.weight });
    });
    // a backendRef istiod cannot convert (InvalidDestination): the route is not converted, none of it served
    if (problem?.hard === true) dests.length = 0;
    if (dests.length === 1) dests[0]!.weight = 100;
    for (const p of parents) {
      p.status.conditions.push(problem === null ? cond("ResolvedRefs", true, "ResolvedRefs") : cond("ResolvedRefs", false, problem.reason, problem.message));
      if (dests.length === 0) continue;
      for (const at of servedAttachments(p.attachments)) {
        const sni = tls && !terminatesTls(at.listener.spec);
        if (terminatesTls(at.listener.spec)) {
          const first = takenBy.get(at.listener.key);
          if (first !== undefined) {
            ctx.report("Warning", Codes.TerminateRouteShadowed, route, `listener ${at.listener.spec.name} of Gateway ${at.listener.gateway.metadata.namespace}/${at.listener.gateway.metadata.name} (TLS Terminate) already takes ${first}: its connections go there, not to this route`, `spec.parentRefs[${p.index}]`);
            continue;
          }
          takenBy.set(at.listener.key, `${route.kind} ${route.metadata.namespace}/${route.metadata.name}`);
        }
        const vs: VirtualServiceResource = {
          kind: "VirtualService",
          apiVersion: "networking.istio.io/v1",
          metadata: {
            name: `gateway-api-l4-${String(n).padStart(6, "0")}-${p.index}-${at.listener.index}`,
            namespace: route.metadata.namespace,
            labels: {},
            annotations: { [ROUTE_SEMANTICS_ANNOTATION]: "ingress" },
            creationTimestamp: route.metadata.creationTimestamp,
          },
          spec: {
            hosts: at.hosts,
            gateways: [at.listener.key],
            http: [],
            tls: sni ? [{ match: [{ port: 0, gateways: [], sourceLabels: {}, sniHosts: at.hosts }], route: dests }] : [],
            tcp: sni ? [] : [{ match: [], route: dests }],
            exportTo: [],
          },
          source: route.source,
        };
        ctx.origins.set(vs, route);
        // its one tls/tcp route: matched by the route's hostnames, sent to its first rule's backendRefs
        ctx.originFields.set(vs, (f) => (/^spec\.(tls|tcp)\[0\]\.match/.test(f) ? "spec.hostnames" : /^spec\.(tls|tcp)\[0\]\.route/.test(f) ? "spec.rules[0].backendRefs" : ""));
        out.push(vs);
      }
    }
    status.push({ apiVersion: route.apiVersion, kind: route.kind, metadata: { namespace: route.metadata.namespace, name: route.metadata.name }, status: { parents: parents.map((p) => p.status) } });
  });
  return out;
}

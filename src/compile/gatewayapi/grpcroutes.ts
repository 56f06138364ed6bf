// GRPCRoutes are served as HTTPRoutes are, as istiod converts them: a gRPC
// call is a POST to `/<service>/<method>`, so each method match becomes a
// path match (istio's createGRPCURIMatch): service and method Exact → exact
// `/s/m`; service only → prefix `/s/`; method only → regex `/[^/]+/m`;
// RegularExpression → regex `/s/m` (`/s/.+` without a method). Header
// matches, filters, weights and backend resolution are the HTTPRoute's. A
// call no route matches gets the gRPC-shaped 404: grpc-status 12 UNIMPLEMENTED.
import type { GRPCMethodMatch, GRPCRouteResource, HTTPRouteMatchSpec, HTTPRouteResource, HTTPRouteRuleSpec } from "../../model/gatewayapi.ts";

/** The HTTPRoute path match of a GRPCRoute method match. */
export function grpcPathMatch(m: GRPCMethodMatch | null): HTTPRouteMatchSpec["path"] {
  if (m === null) return { type: "PathPrefix", value: "/" };
  if (m.type === "Exact") {
    if (m.method === "") return { type: "PathPrefix", value: `/${m.service}/` };
    if (m.service === "") return { type: "RegularExpression", value: `/[^/]+/${m.method}` };
    return { type: "Exact", value: `/${m.service}/${m.method}` };
  }
  if (m.method === "") return { type: "RegularExpression", value: `/${m.service}/.+` };
  if (m.service === "") return { type: "RegularExpression", value: `/[^/]+/${m.method}` };
  return { type: "RegularExpression", value: `/${m.service}/${m.method}` };
}

/** The route as an HTTPRoute (kind, metadata and source stay the GRPCRoute's: status and findings name it). */
export function grpcAsHttpRoute(g: GRPCRouteResource): HTTPRouteResource {
  const rules: HTTPRouteRuleSpec[] = g.spec.rules.map((r) => ({
    name: r.name,
    matches: (r.matches.length > 0 ? r.matches : [{ method: null, headers: [] }]).map((m) => ({ path: grpcPathMatch(m.method), headers: m.headers, queryParams: [], method: "" })),
    filters: r.filters,
    backendRefs: r.backendRefs,
    requestTimeoutMs: 0,
    backendRequestTimeoutMs: 0,
    unsupported: r.unsupported,
  }));
  if (rules.length === 0) rules.push({ name: "", matches: [{ path: { type: "PathPrefix", value: "/" }, headers: [], queryParams: [], method: "" }], filters: [], backendRefs: [], requestTimeoutMs: 0, backendRequestTimeoutMs: 0, unsupported: [] });
  return { ...g, spec: { parentRefs: g.spec.parentRefs, hostnames: g.spec.hostnames, rules } } as unknown as HTTPRouteResource;
}

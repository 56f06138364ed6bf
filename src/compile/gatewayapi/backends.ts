// backendRefs → Istio destinations (`name.ns.svc.cluster.local:port`), or a
// ResolvedRefs problem (InvalidKind, RefNotPermitted, BackendNotFound,
// UnsupportedProtocol); a route's share for an unresolved ref answers 500.
import { Codes } from "../../model/codes.ts";
import type { BackendRef } from "../../model/gatewayapi.ts";
import { GATEWAY_GROUP } from "../../model/gatewayapi.ts";
import type { Resource } from "../../model/index.ts";
import type { Destination } from "../../model/istio.ts";
import type { ServiceResource } from "../../model/kube.ts";
import { CLUSTER_DOMAIN } from "../../resolve/hosts.ts";
import type { CompileContext } from "../context.ts";
import type { Grants } from "./grants.ts";
import { INVALID_BACKEND_HOST } from "../routes.ts";

export { INVALID_BACKEND_HOST };

export interface RefProblem {
  reason: string;
  message: string;
}

export interface ResolvedBackend {
  destination: Destination;
  problem: RefProblem | null;
}

/** Backend appProtocols not served (kubernetes.io/h2c is: HTTP/2 prior knowledge, upstream-h2.ts). */
const UNSUPPORTED_APP_PROTOCOLS = new Set<string>();

export function resolveBackend(
  ctx: CompileContext,
  route: Resource,
  b: BackendRef,
  field: string,
  services: Map<string, ServiceResource>,
  grants: Grants,
): ResolvedBackend {
  const invalid = (reason: string, message: string): ResolvedBackend => {
    ctx.report("Warning", Codes.BackendRefUnresolved, route, `${message} (${reason}): its share of requests answers 500`, field);
    return { destination: { host: INVALID_BACKEND_HOST, subset: "", port: 0 }, problem: { reason, message } };
  };
  const ns = b.namespace;
  if (b.group !== "" || b.kind !== "Service") return invalid("InvalidKind", `backendRef ${b.group || "core"}/${b.kind} ${b.name} is not a Service`);
  const from = route.metadata.namespace;
  if (ns !== from && !grants.allows(GATEWAY_GROUP, route.kind, from, "", "Service", ns, b.name)) {
    return invalid("RefNotPermitted", `Service ${ns}/${b.name}: no ReferenceGrant in ${ns} allows ${route.kind}s of ${from}`);
  }
  const svc = services.get(`${ns}/${b.name}`);
  if (svc === undefined) return invalid("BackendNotFound", `Service ${ns}/${b.name} not found`);
  if (b.port === 0) return invalid("BackendNotFound", `backendRef to Service ${ns}/${b.name} has no port`);
  const sp = svc.spec.ports.find((p) => p.port === b.port);
  if (sp === undefined) return invalid("BackendNotFound", `Service ${ns}/${b.name} has no port ${b.port}`);
  if (UNSUPPORTED_APP_PROTOCOLS.has(sp.appProtocol)) {
    ctx.report("Warning", Codes.GatewayApiUnsupported, route, `Service ${ns}/${b.name} port ${b.port} has appProtocol ${sp.appProtocol}: HTTP/2 to backends is not supported yet`, field);
    return { destination: { host: INVALID_BACKEND_HOST, subset: "", port: 0 }, problem: { reason: "UnsupportedProtocol", message: `appProtocol ${sp.appProtocol} is not supported yet` } };
  }
  return { destination: { host: `${b.name}.${ns}.svc.${CLUSTER_DOMAIN}`, subset: "", port: b.port }, problem: null };
}

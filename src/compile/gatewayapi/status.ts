// The status a conformant Gateway API controller would write (there is no API
// server here: `gateway status` prints it and admin `/status` serves it).
// Plain data, carried in the snapshot.
import { GATEWAY_GROUP, type ParentReference } from "../../model/gatewayapi.ts";

export const CONTROLLER_NAME = "istio.io/gateway-controller";

import type { Condition, RouteParentStatus } from "../../snapshot/status.ts";

export type { Condition, ListenerStatus, RouteParentStatus, StatusItem } from "../../snapshot/status.ts";

export function cond(type: string, ok: boolean, reason: string, message = ""): Condition {
  return { type, status: ok ? "True" : "False", reason, message };
}

/** The parentRef as status echoes it: namespace only when it differs from the route's. */
export function statusParentRef(p: ParentReference, routeNamespace: string): RouteParentStatus["parentRef"] {
  const out: RouteParentStatus["parentRef"] = { group: p.group || GATEWAY_GROUP, kind: p.kind, name: p.name };
  if (p.namespace !== routeNamespace) out.namespace = p.namespace;
  if (p.written.sectionName) out.sectionName = p.sectionName;
  if (p.written.port) out.port = p.port;
  return out;
}

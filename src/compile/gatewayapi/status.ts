// The status a conformant Gateway API controller would write (there is no API
// server here: `gateway status` prints it and admin `/status` serves it).
// Plain data, carried in the snapshot.
import { GATEWAY_GROUP, type GatewayClassResource, type ParentReference } from "../../model/gatewayapi.ts";

export const CONTROLLER_NAME = "istio.io/gateway-controller";

import type { Condition, RouteParentStatus, StatusItem } from "../../snapshot/status.ts";

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

/**
 * `observedGeneration` on every condition of `item`: the `metadata.generation` of the object it
 * is the status of (istiod writes obj.Generation on each condition it sets, Gateway listeners and
 * route parents too). Not written (hand-written files): left out, as istiod's 0 is.
 */
export function withGeneration(item: StatusItem, generation: number | undefined): StatusItem {
  if (generation === undefined || generation <= 0) return item;
  const stamp = (cs: Condition[]): Condition[] => cs.map((c) => ({ type: c.type, status: c.status, observedGeneration: generation, reason: c.reason, message: c.message }));
  const s = item.status;
  const status: StatusItem["status"] = { ...s };
  if (s.conditions) status.conditions = stamp(s.conditions);
  if (s.listeners) status.listeners = s.listeners.map((l) => ({ ...l, conditions: stamp(l.conditions) }));
  if (s.parents) status.parents = s.parents.map((p) => ({ ...p, conditions: stamp(p.conditions) }));
  if (s.ancestors) status.ancestors = s.ancestors.map((a) => ({ ...a, conditions: stamp(a.conditions) }));
  return { ...item, status };
}

/** A GatewayClass of our controller: `Accepted`, as istiod's class controller writes it. */
export function gatewayClassStatus(c: GatewayClassResource): StatusItem {
  return {
    apiVersion: c.apiVersion,
    kind: "GatewayClass",
    metadata: { name: c.metadata.name },
    status: { conditions: [cond("Accepted", true, "Accepted", "Handled by Istio controller")] },
  };
}

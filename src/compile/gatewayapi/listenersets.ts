// ListenerSets (gateway.networking.k8s.io/v1): more listeners for a Gateway,
// from the ListenerSet's own namespace, as istiod merges them
// (pilot/pkg/config/kube/gateway ListenerSetCollection, gatewaycommon
// listener_conflict.go):
// - the parent Gateway must allow the ListenerSet's namespace in
//   `spec.allowedListeners.namespaces` (not written: none); otherwise the
//   ListenerSet is Accepted/Programmed False, NotAllowed, and nothing of it is served;
// - its listeners are the Gateway's (one derived Istio Gateway each, served on
//   the Gateway's ports, new ports included), but a route reaches them only
//   through a parentRef of kind ListenerSet, and `allowedRoutes` `Same` means
//   the ListenerSet's namespace; certificateRefs to another namespace need a
//   ReferenceGrant from ListenerSets;
// - precedence: the Gateway's listeners first, then the ListenerSets by
//   creation time, then `namespace/name`, each in order; a listener that cannot
//   share its port with an earlier one that won (same port and hostname, or
//   protocols that cannot share a port) is Conflicted and not served;
// - a ListenerSet is Accepted and Programmed when at least one of its listeners
//   is programmed (else ListenersNotValid); the Gateway's status counts those
//   ListenerSets in `attachedListenerSets`.
import { Codes } from "../../model/codes.ts";
import { GATEWAY_GROUP, type GatewayListener, type ListenerSetResource } from "../../model/gatewayapi.ts";
import type { GatewayResource } from "../../model/istio.ts";
import type { FrontendLookup } from "./frontend-tls.ts";
import type { CompileContext } from "../context.ts";
import { listenerState, type ServedGateway, type ServedListener } from "./gateways.ts";
import { selectorMatches } from "./grants.ts";
import { cond, type Condition, type StatusItem } from "./status.ts";
import { unassignable, type AddressVerdict } from "./addresses.ts";

export interface ServedListenerSet {
  listenerSet: ListenerSetResource;
  parent: ServedGateway;
  /** Its listeners; empty when the parent does not allow it. */
  listeners: ServedListener[];
  /** Every listener on the parent's ports (the parent's `merged`). */
  merged: ServedListener[];
  /** The parent's allowedListeners admit its namespace. */
  allowed: boolean;
  /** The parent's addresses judged for this ListenerSet's ports (addresses.ts); absent when not allowed. */
  address?: AddressVerdict;
}

/** Creation order of ListenerSets as istiod breaks ties: timestamp, then `namespace/name`. */
function compareSets(a: ListenerSetResource, b: ListenerSetResource): number {
  const ta = a.metadata.creationTimestamp === "" ? -Infinity : Date.parse(a.metadata.creationTimestamp);
  const tb = b.metadata.creationTimestamp === "" ? -Infinity : Date.parse(b.metadata.creationTimestamp);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Does the Gateway's `allowedListeners` admit ListenerSets of namespace `ns`? */
function allowedBy(g: ServedGateway, ns: string, labelsOf: (ns: string) => Record<string, string>): boolean {
  const a = g.gateway.spec.allowedListeners ?? null;
  if (a === null) return false;
  if (a.from === "All") return true;
  if (a.from === "Same") return ns === g.gateway.metadata.namespace;
  if (a.from === "Selector") return a.selector !== null && selectorMatches(a.selector, labelsOf(ns));
  return false;
}

/** Which protocols can share a port: HTTP alone; HTTPS and TLS by SNI; TCP alone. */
function family(p: string): string {
  return p === "HTTP" ? "http" : p === "TCP" ? "tcp" : "tls";
}

/** Why `a` cannot share its port with `b` (which came first), or null. */
function conflictWith(a: GatewayListener, b: GatewayListener): string | null {
  if (a.port !== b.port) return null;
  if (family(a.protocol) !== family(b.protocol) || a.protocol === "TCP") return "ProtocolConflict";
  if (a.hostname !== b.hostname) return null;
  return a.protocol === b.protocol ? "HostnameConflict" : "ProtocolConflict";
}

function ownerName(l: ServedListener): string {
  const o = l.owner;
  return `${o.kind === "ListenerSet" ? "ListenerSet" : "Gateway"} ${o.metadata.namespace}/${o.metadata.name}`;
}

/** `a` loses its port to `b`: Accepted, Programmed False and Conflicted True with the reason (istiod's ReportListenerConflict). */
function conflicted(ctx: CompileContext, a: ServedListener, b: ServedListener, reason: string): void {
  const message = `conflicts with listener ${b.spec.name} of ${ownerName(b)} on port ${a.spec.port}`;
  a.accepted = false;
  a.ready = false;
  a.status.conditions = [cond("Accepted", false, reason, message), cond("Conflicted", true, reason, message), cond("Programmed", false, reason, message)];
  ctx.report("Error", Codes.ListenerInvalid, a.owner, `listener ${a.spec.name}: ${reason}: ${message}: not served`, `spec.listeners[${a.index}]`);
}

/**
 * An HTTPS or TLS listener of a ListenerSet without `tls`: istiod's buildListener makes it
 * not Accepted (UnsupportedProtocol; a Gateway's is a placeholder for its ListenerSets').
 */
function withoutTls(l: ServedListener): void {
  l.accepted = false;
  l.ready = false;
  l.status.conditions = [
    cond("Accepted", false, "UnsupportedProtocol", `protocol is ${l.spec.protocol} but no TLS section is defined`),
    cond("Conflicted", false, "NoConflicts"),
    cond("Programmed", false, "Invalid", "no TLS section"),
    cond("ResolvedRefs", true, "ResolvedRefs"),
  ];
}

/**
 * The ListenerSets whose parent Gateway is served here: their listeners (the
 * derived Istio Gateways of the programmed ones are added to `derived`), each
 * served Gateway's `merged` listeners and `attachedListenerSets`.
 */
export function serveListenerSets(
  ctx: CompileContext,
  sets: ListenerSetResource[],
  served: ServedGateway[],
  knownGateways: Set<string>,
  labelsOf: (ns: string) => Record<string, string>,
  look: FrontendLookup,
  derived: GatewayResource[],
): ServedListenerSet[] {
  const byKey = new Map(served.map((g) => [`${g.gateway.metadata.namespace}/${g.gateway.metadata.name}`, g]));
  // winners so far per Gateway: its own listeners that are accepted and not conflicted
  const winners = new Map<ServedGateway, ServedListener[]>();
  for (const g of served) {
    g.merged = [...g.listeners];
    winners.set(g, g.listeners.filter((l) => l.accepted && l.status.conditions.every((c) => c.type !== "Conflicted" || c.status === "False")));
  }
  const out: ServedListenerSet[] = [];
  for (const ls of [...sets].sort(compareSets)) {
    const p = ls.spec.parentRef;
    const key = `${p.namespace}/${p.name}`;
    if (p.group !== GATEWAY_GROUP || p.kind !== "Gateway") {
      ctx.report("Warning", Codes.ListenerSetNotAttached, ls, `parentRef ${p.group}/${p.kind} is not a Gateway: not served`, "spec.parentRef");
      continue;
    }
    const parent = byKey.get(key);
    if (parent === undefined) {
      if (knownGateways.has(key)) ctx.report("Info", Codes.ListenerSetNotAttached, ls, `parent Gateway ${key} is not served by this instance`, "spec.parentRef");
      else ctx.report("Warning", Codes.ListenerSetNotAttached, ls, `parent Gateway ${key} not found`, "spec.parentRef");
      continue;
    }
    if (!allowedBy(parent, ls.metadata.namespace, labelsOf)) {
      ctx.report("Warning", Codes.ListenerSetNotAttached, ls, `Gateway ${key} does not allow ListenerSets of namespace ${ls.metadata.namespace} (spec.allowedListeners): not served (NotAllowed)`, "spec.parentRef");
      out.push({ listenerSet: ls, parent, listeners: [], merged: parent.merged!, allowed: false });
      continue;
    }
    if (unassignable(parent.gateway)) {
      // istiod: the parent is assigned to no address, so neither is the ListenerSet (nothing built)
      ctx.report("Warning", Codes.ListenerSetNotAttached, ls, `parent Gateway ${key} has no address it can be assigned to (UnsupportedAddress): not served`, "spec.parentRef");
      out.push({ listenerSet: ls, parent, listeners: [], merged: parent.merged!, allowed: true });
      continue;
    }
    const listeners = ls.spec.listeners.map((l, i) => listenerState(ctx, parent.gateway, l, i, look, ls));
    for (const l of listeners) if (l.accepted && l.spec.tls === null && (l.spec.protocol === "HTTPS" || l.spec.protocol === "TLS")) withoutTls(l);
    const won = winners.get(parent)!;
    for (const l of listeners) {
      if (!l.accepted) continue; // a protocol or TLS mode not served takes no port
      let lost = false;
      for (const w of won) {
        const reason = conflictWith(l.spec, w.spec);
        if (reason === null) continue;
        conflicted(ctx, l, w, reason);
        lost = true;
        break;
      }
      if (!lost) won.push(l);
    }
    for (const l of listeners) if (l.ready) derived.push(l.derived);
    parent.merged!.push(...listeners);
    if (listeners.some((l) => l.ready)) parent.attachedListenerSets = (parent.attachedListenerSets ?? 0) + 1;
    out.push({ listenerSet: ls, parent, listeners, merged: parent.merged!, allowed: true });
  }
  return out;
}

/** The status a controller would write on each ListenerSet (after routes attached: attachedRoutes). */
export function listenerSetStatus(s: ServedListenerSet): StatusItem {
  const ls = s.listenerSet;
  let conditions: Condition[];
  if (!s.allowed) {
    const message = `Gateway ${s.parent.gateway.metadata.namespace}/${s.parent.gateway.metadata.name} does not allow ListenerSets of namespace ${ls.metadata.namespace} (spec.allowedListeners)`;
    conditions = [cond("Accepted", false, "NotAllowed", message), cond("Programmed", false, "NotAllowed", message)];
  } else {
    // as istiod's ReportListenerSetStatus: the parent's address error, else no valid listener; Programmed from the
    // addresses for this set's ports, a set without a valid listener never programmed
    const a = s.address;
    const valid = s.listeners.some((l) => l.ready) || a?.unserved === true;
    const invalid = "no listener of the ListenerSet is valid";
    conditions = [
      a?.rejected ? cond("Accepted", false, a.rejected.reason, `Parent not accepted: ${a.rejected.message}`) : valid ? cond("Accepted", true, "Accepted") : cond("Accepted", false, "ListenersNotValid", invalid),
      !valid ? cond("Programmed", false, "ListenersNotValid", invalid) : a?.notProgrammed ? cond("Programmed", false, a.notProgrammed.reason, a.notProgrammed.message) : cond("Programmed", true, "Programmed", a?.assigned ?? ""),
    ];
  }
  return {
    apiVersion: ls.apiVersion,
    kind: "ListenerSet",
    metadata: { namespace: ls.metadata.namespace, name: ls.metadata.name },
    status: s.allowed ? { conditions, listeners: s.listeners.map((l) => ({ ...l.status, attachedRoutes: l.attached.size })) } : { conditions },
  };
}

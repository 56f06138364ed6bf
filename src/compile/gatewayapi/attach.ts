// A route's parentRefs → the listeners it attaches to, with the hostnames it
// serves on each (route hostnames intersected with the listener's, minus those
// a more specific listener of the same Gateway and port owns), and the
// Accepted condition of each parent.
import { Codes } from "../../model/codes.ts";
import { GATEWAY_GROUP, type ParentReference } from "../../model/gatewayapi.ts";
import type { Resource } from "../../model/index.ts";
import type { CompileContext } from "../context.ts";
import type { ServedGateway, ServedListener } from "./gateways.ts";
import { selectorMatches } from "./grants.ts";
import { cond, CONTROLLER_NAME, statusParentRef, type Condition, type RouteParentStatus } from "./status.ts";

export interface RouteLike {
  kind: string;
  metadata: { namespace: string; name: string };
  spec: { parentRefs: ParentReference[]; hostnames: string[] };
}

export interface Attachment {
  listener: ServedListener;
  /** Hostnames served on this listener (`*` for any). */
  hosts: string[];
}

/** A route that turned out not accepted after all: its listeners do not count it. */
export function detach(list: Attachment[], route: RouteLike): void {
  for (const a of list) a.listener.attached.delete(`${route.kind}/${route.metadata.namespace}/${route.metadata.name}`);
}

/** Attachments that are served (their listener is programmed). */
export function servedAttachments(list: Attachment[]): Attachment[] {
  return list.filter((a) => a.listener.ready);
}

export interface ParentResult {
  index: number;
  status: RouteParentStatus;
  attachments: Attachment[];
}

/** What a parentRef names: a Gateway, or a ListenerSet (its own listeners only). */
export interface Parent {
  listeners: ServedListener[];
  /** Every listener on the Gateway's ports (its own and its ListenerSets'), for hostname isolation; `listeners` when absent. */
  merged?: ServedListener[];
}

export interface AttachContext {
  served: Map<string, ServedGateway>;
  /** `ns/name` of every Gateway API Gateway in the configuration (served or not). */
  known: Set<string>;
  labelsOf: (ns: string) => Record<string, string>;
  /** ListenerSets attached to a served Gateway (listenersets.ts), by `ns/name`. */
  listenerSets?: Map<string, Parent>;
  /** `ns/name` of every ListenerSet in the configuration (attached or not). */
  knownSets?: Set<string>;
}

function wildcardCovers(wild: string, h: string): boolean {
  const suffix = wild.slice(1); // `.example.com`
  return h.length > suffix.length && h.endsWith(suffix);
}

/** The hostname both a listener ("" = any) and a route hostname accept, or null. */
export function intersectHostname(listener: string, route: string): string | null {
  if (listener === "" || listener === route) return route;
  if (listener.startsWith("*.") && wildcardCovers(listener, route)) return route;
  if (route.startsWith("*.") && wildcardCovers(route, listener)) return listener;
  return null;
}

/** Is `h` owned by a listener more specific than `l` on the same Gateway (with its ListenerSets) and port? */
function ownedElsewhere(g: Parent, l: ServedListener, h: string): boolean {
  for (const o of g.merged ?? g.listeners) {
    if (o === l || !o.ready || o.spec.port !== l.spec.port) continue;
    const oh = o.spec.hostname;
    if (oh === "" || oh === l.spec.hostname) continue;
    const moreSpecific = l.spec.hostname === "" || (l.spec.hostname.startsWith("*.") && (wildcardCovers(l.spec.hostname, oh)));
    if (!moreSpecific) continue;
    if (oh === h || (oh.startsWith("*.") && !h.startsWith("*") && wildcardCovers(oh, h))) return true;
    if (oh.startsWith("*.") && h.startsWith("*.") && wildcardCovers(oh, h)) return true;
  }
  return false;
}

function listenerHosts(g: Parent, l: ServedListener, routeHosts: string[]): string[] {
  const wanted = routeHosts.length === 0 ? [l.spec.hostname === "" ? "*" : l.spec.hostname] : routeHosts;
  const out: string[] = [];
  for (const rh of wanted) {
    const h = rh === "*" ? rh : intersectHostname(l.spec.hostname, rh);
    if (h === null || out.includes(h)) continue;
    if (routeHosts.length > 0 && ownedElsewhere(g, l, h)) continue;
    out.push(h);
  }
  return out;
}

function namespaceAllowed(ac: AttachContext, l: ServedListener, routeNs: string): boolean {
  const a = l.spec.allowedRoutes;
  if (a.from === "All") return true;
  if (a.from === "Same") return routeNs === l.owner.metadata.namespace;
  return a.selector !== null && selectorMatches(a.selector, ac.labelsOf(routeNs));
}

/** Resolve every parentRef of `route` that names a Gateway of ours. */
export function attachRoute(ctx: CompileContext, ac: AttachContext, route: RouteLike & Resource, supportsHostnames: boolean): ParentResult[] {
  const out: ParentResult[] = [];
  const ns = route.metadata.namespace;
  const routeKey = `${route.kind}/${ns}/${route.metadata.name}`;
  route.spec.parentRefs.forEach((p, index) => {
    const set = p.kind === "ListenerSet";
    if (p.group !== GATEWAY_GROUP || (p.kind !== "Gateway" && !set)) return; // another controller's parent kind
    const key = `${p.namespace}/${p.name}`;
    const g: Parent | undefined = set ? ac.listenerSets?.get(key) : ac.served.get(key);
    const field = `spec.parentRefs[${index}]`;
    if (g === undefined) {
      // a ListenerSet that exists but is not attached (not allowed, parent not served) has its finding already
      if (!(set ? ac.knownSets : ac.known)?.has(key)) ctx.report("Warning", Codes.RouteNotAccepted, route, `parent ${p.kind} ${key} not found`, field);
      return;
    }
    const fail = (reason: string, message: string): void => {
      const conditions: Condition[] = [cond("Accepted", false, reason, message)];
      out.push({ index, status: { parentRef: statusParentRef(p, ns), controllerName: CONTROLLER_NAME, conditions }, attachments: [] });
      ctx.report("Warning", Codes.RouteNotAccepted, route, `not accepted by ${p.kind} ${key} (${reason}): ${message}`, field);
    };
    const candidates = g.listeners.filter((l) => (p.sectionName === "" || l.spec.name === p.sectionName) && (p.port === 0 || l.spec.port === p.port));
    if (candidates.length === 0) {
      fail("NoMatchingParent", p.sectionName !== "" ? `no listener named ${p.sectionName}${p.port ? ` on port ${p.port}` : ""}` : `no listener on port ${p.port}`);
      return;
    }
    const ready = candidates.filter((l) => l.accepted);
    if (ready.length === 0) {
      fail("NoMatchingParent", "no listener it names is accepted");
      return;
    }
    // each listener as istiod judges it (referenceAllowed): hostname first, then namespace, then route kind;
    // the parent reports the least severe: a listener that only refuses the namespace or kind wins over a hostname mismatch
    const attachments: Attachment[] = [];
    let notAllowed = "";
    for (const l of ready) {
      const hosts = supportsHostnames ? listenerHosts(g, l, route.spec.hostnames) : ["*"];
      if (hosts.length === 0) continue;
      if (!namespaceAllowed(ac, l, ns)) notAllowed ||= `listener ${l.spec.name} does not allow routes from namespace ${ns}`;
      else if (!l.kinds.includes(route.kind)) notAllowed ||= `listener ${l.spec.name} does not allow ${route.kind}s`;
      else attachments.push({ listener: l, hosts });
    }
    if (attachments.length === 0) {
      if (notAllowed !== "") fail("NotAllowedByListeners", notAllowed);
      else fail("NoMatchingListenerHostname", `no hostname of ${route.spec.hostnames.join(", ")} matches a listener's hostname`);
      return;
    }
    for (const a of attachments) a.listener.attached.add(routeKey);
    out.push({ index, status: { parentRef: statusParentRef(p, ns), controllerName: CONTROLLER_NAME, conditions: [cond("Accepted", true, "Accepted")] }, attachments });
  });
  return out;
}

// HTTPRoutes → derived VirtualServices, one list per (listener, hostname), in
// the Gateway API's precedence across all routes attached there (as istiod's
// sort): exact path, then longest prefix, then regex; then a method match;
// then more header matches; then more query matches; ties keep creation order
// (timestamp, then namespace/name), then rule and match order. The entries
// then become VirtualServices, one per run of entries from one HTTPRoute (so a
// finding names the HTTPRoute), named so they sort in this order.
import type { HTTPRouteMatchSpec, HTTPRouteResource } from "../../model/gatewayapi.ts";
import type { HTTPRoute, VirtualServiceResource } from "../../model/istio.ts";
import type { CompileContext } from "../context.ts";
import { ROUTE_SEMANTICS_ANNOTATION } from "../virtualhosts.ts";
import { attachRoute, detach, servedAttachments, type AttachContext } from "./attach.ts";
import type { Backends, RefProblem } from "./backends.ts";
import type { Grants } from "./grants.ts";
import { matchEntries, ruleAction, type RuleAction } from "./http-rules.ts";
import { cond, type StatusItem } from "./status.ts";

interface Entry {
  route: HTTPRouteResource;
  /** Position of the route in creation order. */
  order: number;
  rule: number;
  match: number;
  m: HTTPRouteMatchSpec;
  action: RuleAction;
}

function uriRank(m: HTTPRouteMatchSpec): number {
  return m.path.type === "Exact" ? 3 : m.path.type === "PathPrefix" ? 2 : 1;
}

/** Negative when `a` goes first. */
export function comparePrecedence(a: Entry, b: Entry): number {
  const ma = a.m;
  const mb = b.m;
  if (uriRank(ma) !== uriRank(mb)) return uriRank(mb) - uriRank(ma);
  if (ma.path.value.length !== mb.path.value.length) return mb.path.value.length - ma.path.value.length;
  if ((ma.method === "") !== (mb.method === "")) return ma.method === "" ? 1 : -1;
  if (ma.headers.length !== mb.headers.length) return mb.headers.length - ma.headers.length;
  if (ma.queryParams.length !== mb.queryParams.length) return mb.queryParams.length - ma.queryParams.length;
  return a.order - b.order || a.rule - b.rule || a.match - b.match;
}

/** Creation order as the spec breaks ties: timestamp, then `namespace/name`. */
function compareRoutes(a: HTTPRouteResource, b: HTTPRouteResource): number {
  const ta = a.metadata.creationTimestamp;
  const tb = b.metadata.creationTimestamp;
  if (ta !== tb) {
    const da = ta === "" ? -Infinity : Date.parse(ta);
    const db = tb === "" ? -Infinity : Date.parse(tb);
    if (da !== db) return da < db ? -1 : 1;
  }
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function convertHTTPRoutes(
  ctx: CompileContext,
  ac: AttachContext,
  routes: HTTPRouteResource[],
  backends: Backends,
  grants: Grants,
  status: StatusItem[],
): VirtualServiceResource[] {
  // (listener key, host) → entries
  const tables = new Map<string, { gateway: string; host: string; entries: Entry[] }>();
  [...routes].sort(compareRoutes).forEach((route, order) => {
    const parents = attachRoute(ctx, ac, route, true);
    if (parents.length === 0) return;
    const actions = route.spec.rules.map((rule, ri) => ruleAction(ctx, route, rule, ri, backends, grants));
    // the last rule's problem, as istiod's conversion keeps the last error of the route's rules
    // a backendRef istiod cannot convert (InvalidDestination): the route is reported with it and none of it is served
    const hard = actions.find((a) => a.hard !== null)?.hard ?? null;
    const problem = hard ?? actions.reduce<RefProblem | null>((p, a) => a.problem ?? p, null);
    const unsupported = [...new Set(actions.flatMap((a) => a.unsupported))];
    for (const p of parents) {
      p.status.conditions.push(problem === null ? cond("ResolvedRefs", true, "ResolvedRefs") : cond("ResolvedRefs", false, problem.reason, problem.message));
      if (p.status.conditions[0]!.status === "True" && unsupported.length > 0) {
        const message = `not supported yet: ${unsupported.join(", ")} (the rules using them answer 500)`;
        if (actions.every((a) => a.unsupported.length > 0)) {
          // nothing of the route is served as written (its requests still answer 500: fail closed)
          p.status.conditions[0] = cond("Accepted", false, "UnsupportedValue", message);
          detach(p.attachments, route);
        } else p.status.conditions.push(cond("PartiallyInvalid", true, "UnsupportedValue", message));
      }
      if (hard !== null) continue;
      for (const at of servedAttachments(p.attachments)) {
        for (const host of at.hosts) {
          const key = `${at.listener.key}\0${host}`;
          let t = tables.get(key);
          if (t === undefined) tables.set(key, (t = { gateway: at.listener.key, host, entries: [] }));
          if (t.entries.some((e) => e.route === route)) continue; // two parentRefs to one listener
          route.spec.rules.forEach((rule, ri) => rule.matches.forEach((m, mi) => t.entries.push({ route, order, rule: ri, match: mi, m, action: actions[ri]! })));
        }
      }
    }
    status.push({
      apiVersion: route.apiVersion,
      kind: route.kind, // HTTPRoute, or a GRPCRoute converted (grpcroutes.ts)
      metadata: { namespace: route.metadata.namespace, name: route.metadata.name },
      status: { parents: parents.map((p) => p.status) },
    });
  });
  const out: VirtualServiceResource[] = [];
  let seq = 0;
  for (const t of tables.values()) {
    const entries = t.entries.sort(comparePrecedence);
    for (let i = 0; i < entries.length; ) {
      const route = entries[i]!.route;
      let j = i;
      const http: HTTPRoute[] = [];
      /** The route's rule each http entry came from. */
      const fields: string[] = [];
      for (; j < entries.length && entries[j]!.route === route; j++) {
        const e = entries[j]!;
        const rule = route.spec.rules[e.rule]!;
        const name = `${route.kind}/${route.metadata.namespace}/${route.metadata.name}/rule/${rule.name || e.rule}/match/${e.match}`;
        const made = matchEntries(e.action, e.m, name);
        http.push(...made);
        for (let k = 0; k < made.length; k++) fields.push(`spec.rules[${e.rule}]`);
      }
      const vs: VirtualServiceResource = {
        kind: "VirtualService",
        apiVersion: "networking.istio.io/v1",
        metadata: {
          name: `gateway-api-${String(seq++).padStart(6, "0")}`,
          namespace: route.metadata.namespace,
          labels: {},
          annotations: { [ROUTE_SEMANTICS_ANNOTATION]: "ingress" },
          creationTimestamp: "",
        },
        spec: { hosts: [t.host], gateways: [t.gateway], http, tcp: [], tls: [], exportTo: [] },
        source: route.source,
      };
      ctx.origins.set(vs, route);
      ctx.originFields.set(vs, (f) => {
        const m = /^spec\.http\[(\d+)\]/.exec(f);
        return m === null ? "" : (fields[Number(m[1])] ?? "");
      });
      out.push(vs);
      i = j;
    }
  }
  return out;
}

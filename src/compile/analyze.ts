// VirtualService checks that do not change what is served but explain what is
// not (istioctl analyze's class of findings): gateway references that name no
// Gateway, hosts no server of their gateways serves, VirtualServices for the
// mesh only or not exported to the gateway's namespace.
import { Codes } from "../model/codes.ts";
import type { GatewayResource, HTTPMatchRequest, VirtualServiceResource } from "../model/istio.ts";
import { gatewayKey, gatewayRefsOf, MESH, resolveGatewayRef } from "../resolve/gateways.ts";
import { intersectHosts, resolveShortname, serverHostsFor } from "../resolve/hosts.ts";
import { resourceRef } from "../model/meta.ts";
import type { Listener, RouteTable } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";
import { destinationHost } from "./destinations.ts";
import { LISTENERSET_SUFFIX, SUFFIX } from "./gatewayapi/gateways.ts";
import { virtualServiceHosts } from "./virtualhosts.ts";

/** "; did you mean …": applied Gateways with a server for one of the VirtualService's hosts. */
function suggestGateway(vs: VirtualServiceResource, applied: GatewayResource[]): string {
  const hosts = virtualServiceHosts(vs);
  const names: string[] = [];
  for (const g of applied) {
    // not the Gateways converted from Gateway API ones: their names are internal (istioctl's ReferencedInternalGateway)
    if (g.metadata.name.includes(`-${SUFFIX}-`) || g.metadata.name.includes(`-${LISTENERSET_SUFFIX}-`)) continue;
    const serves = g.spec.servers.some((srv) => intersectHosts(serverHostsFor(srv.hosts, g.metadata.namespace, vs.metadata.namespace), hosts).length > 0);
    if (serves) names.push(g.metadata.namespace === vs.metadata.namespace ? g.metadata.name : gatewayKey(g));
  }
  return names.length === 0 ? "" : `; did you mean ${names.map((n) => JSON.stringify(n)).join(" or ")}? (it serves ${hosts.join(", ")})`;
}

export function analyzeVirtualServices(
  ctx: CompileContext,
  virtualServices: VirtualServiceResource[],
  allGateways: GatewayResource[],
  applied: GatewayResource[],
  hidden: VirtualServiceResource[],
): void {
  const known = new Map(allGateways.map((g) => [gatewayKey(g), g]));
  const served = new Set(applied.map(gatewayKey));
  const hiddenSet = new Set(hidden);
  for (const vs of hidden) {
    ctx.report(
      "Warning",
      Codes.NotExported,
      vs,
      `exportTo ${vs.spec.exportTo.join(",")} does not include the gateway namespace ${ctx.opts.namespace}: not served`,
      "spec.exportTo",
    );
  }
  const reuse = ctx.opts.reuse;
  for (const vs of virtualServices) {
    if (hiddenSet.has(vs)) continue;
    if (reuse === undefined) analyzeOne(ctx, vs, known, served, applied);
    else reuse.analysis(ctx, vs, () => analyzeOne(ctx, vs, known, served, applied));
  }
}

/** The findings about one VirtualService that is not hidden: a function of it, the gateways and the options. */
function analyzeOne(ctx: CompileContext, vs: VirtualServiceResource, known: Map<string, GatewayResource>, served: Set<string>, applied: GatewayResource[]): void {
  const ns = vs.metadata.namespace;
  const refs = gatewayRefsOf(vs, ctx.opts.namespace);
  if (refs.length === 0) {
    ctx.report("Info", Codes.MeshOnly, vs, "no gateways: it applies to the mesh (sidecars) only and is not served by a gateway", "spec.gateways");
    return;
  }
  const bound = refs.filter((r) => served.has(r));
  if (bound.length < refs.length) {
    vs.spec.gateways.forEach((g, i) => {
      const ref = resolveGatewayRef(g, ns);
      if (ref === MESH || served.has(ref)) return;
      const field = `spec.gateways[${i}]`;
      if (known.has(ref)) {
        ctx.report("Info", Codes.GatewayNotSelected, vs, `gateway ${ref} does not apply to this gateway's labels`, field);
      } else if ([...known.keys()].some((k) => k.startsWith(`${ref}-${SUFFIX}-`))) {
        // istioctl finds the reference (a Gateway API Gateway exists), but nothing binds a VirtualService to one
        ctx.report(
          bound.length === 0 ? "Error" : "Warning",
          Codes.GatewayNotFound,
          vs,
          `gateway ${JSON.stringify(ref)} is a Gateway API Gateway: a VirtualService does not bind to it (an HTTPRoute does)${bound.length === 0 ? ": not served" : ""}`,
          field,
        );
      } else {
        ctx.report(
          bound.length === 0 ? "Error" : "Warning",
          Codes.GatewayNotFound,
          vs,
          `gateway ${JSON.stringify(ref)} not found${bound.length === 0 ? ": not served" : ""}${suggestGateway(vs, applied)}`,
          field,
        );
      }
    });
  }
  if (bound.length === 0) return;
  // VirtualServices converted from Ingresses and Gateway API routes: their rules follow those APIs' precedence
  if (!ctx.origins.has(vs)) analyzeMatches(ctx, vs);
  const hosts = virtualServiceHosts(vs);
  const servesHost = (ref: string, h: string): boolean => {
    const gw = known.get(ref)!;
    return gw.spec.servers.some((s) => intersectHosts(serverHostsFor(s.hosts, gw.metadata.namespace, ns), [h]).length > 0);
  };
  // With `mesh` among its gateways, a host no gateway serves is the sidecars' (istioctl's GatewayAnalyzer
  // checks each gateway against all the hosts, never a host against the gateways).
  const alsoMesh = vs.spec.gateways.some((g) => resolveGatewayRef(g, ns) === MESH);
  if (!alsoMesh) {
    hosts.forEach((h, i) => {
      if (bound.some((ref) => servesHost(ref, h))) return;
      ctx.report(
        "Warning",
        Codes.HostNotServed,
        vs,
        `host ${h} is served by no server of gateway ${bound.join(", ")}: its routes are not reachable for that host`,
        `spec.hosts[${i}]`,
      );
    });
  }
  // A gateway that serves none of the hosts: binding to it has no effect (with one gateway and no mesh,
  // the per-host findings above already say so).
  if (bound.length === 1 && !alsoMesh) return;
  vs.spec.gateways.forEach((g, i) => {
    const ref = resolveGatewayRef(g, ns);
    if (ref === MESH || !served.has(ref) || hosts.some((h) => servesHost(ref, h))) return;
    ctx.report(
      "Warning",
      Codes.HostNotServed,
      vs,
      `gateway ${ref} serves none of the hosts ${hosts.join(", ")}: binding to it has no effect`,
      `spec.gateways[${i}]`,
    );
  });
}

/** A match that matches every request (no condition but a `/` prefix): routes.ts reports the routes after it. */
function matchesAll(m: HTTPMatchRequest): boolean {
  return (
    (m.uri === null || (m.uri.kind === "prefix" && m.uri.value === "/")) &&
    m.scheme === null &&
    m.method === null &&
    m.authority === null &&
    m.headers.length === 0 &&
    m.withoutHeaders.length === 0 &&
    m.queryParams.length === 0 &&
    m.port === 0 &&
    m.gateways.length === 0 &&
    Object.keys(m.sourceLabels).length === 0 &&
    m.sourceNamespace === ""
  );
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Does match `a` accept every request `b` accepts? Each condition of `a` is absent or also `b`'s; a uri prefix covers a longer one. */
function covers(a: HTTPMatchRequest, b: HTTPMatchRequest): boolean {
  if (a.ignoreUriCase !== b.ignoreUriCase) return false;
  if (a.uri !== null) {
    if (b.uri === null) return false;
    if (a.uri.kind === "prefix") {
      if (b.uri.kind === "regex") return false;
      const fold = (v: string) => (a.ignoreUriCase ? v.toLowerCase() : v);
      if (!fold(b.uri.value).startsWith(fold(a.uri.value))) return false;
    } else if (!same(a.uri, b.uri)) return false;
  }
  for (const f of ["scheme", "method", "authority"] as const) if (a[f] !== null && !same(a[f], b[f])) return false;
  for (const f of ["headers", "withoutHeaders", "queryParams"] as const) {
    if (!a[f].every((x) => b[f].some((y) => same(x, y)))) return false;
  }
  if (a.port !== 0 && a.port !== b.port) return false;
  if (a.gateways.length > 0 && !same([...a.gateways].sort(), [...b.gateways].sort())) return false;
  if (!Object.entries(a.sourceLabels).every(([k, v]) => b.sourceLabels[k] === v)) return false;
  return a.sourceNamespace === "" || a.sourceNamespace === b.sourceNamespace;
}

/**
 * http matches that an earlier match of the VirtualService always takes first (istioctl's
 * VirtualServiceUnreachableRule and VirtualServiceIneffectiveMatch): one whose every condition holds for
 * every request of the later one (the same match, its name aside; a shorter uri prefix; fewer conditions).
 * A route all of whose matches are taken can never match (Warning); one such match among others, Info.
 */
function analyzeMatches(ctx: CompileContext, vs: VirtualServiceResource): void {
  const earlier: { i: number; m: HTTPMatchRequest }[] = [];
  for (const [i, h] of vs.spec.http.entries()) {
    if (h.match.length === 0 || h.match.some(matchesAll)) return;
    const taken: [number, string][] = [];
    h.match.forEach((m, j) => {
      const by = earlier.find((e) => covers(e.m, m));
      if (by !== undefined) taken.push([j, `http[${by.i}]`]);
      else earlier.push({ i, m });
    });
    if (taken.length === 0) continue;
    if (taken.length === h.match.length) {
      const by = [...new Set(taken.map(([, b]) => b))].join(", ");
      ctx.report("Warning", Codes.UnreachableRoute, vs, `http[${i}] can never match: ${by} matches its requests first`, `spec.http[${i}]`);
    } else {
      for (const [j, by] of taken) {
        ctx.report("Info", Codes.IneffectiveMatch, vs, `http[${i}].match[${j}] never applies: ${by} matches its requests first`, `spec.http[${i}].match[${j}]`);
      }
    }
  }
}

const NO_CLAIM = { field: "", claim: "" };
/** Per VirtualService (the same object while its file is unchanged): its first claim match, or NO_CLAIM. */
const claimMatches = new WeakMap<VirtualServiceResource, { field: string; claim: string }>();

/** Where the VirtualService's first `@request.auth.claims` match is, or null; allocation-free but for the answer, memoized. */
function firstClaimMatch(vs: VirtualServiceResource): { field: string; claim: string } | null {
  let hit = claimMatches.get(vs);
  if (hit === undefined) {
    hit = NO_CLAIM;
    const http = vs.spec.http;
    scan: for (let i = 0; i < http.length; i++) {
      const ms = http[i]!.match;
      for (let j = 0; j < ms.length; j++) {
        for (const key of ["headers", "withoutHeaders"] as const) {
          const k = ms[j]![key].find((x) => x.claim !== undefined);
          if (k === undefined) continue;
          hit = { field: `spec.http[${i}].match[${j}].${key}`, claim: k.name };
          break scan;
        }
      }
    }
    claimMatches.set(vs, hit);
  }
  return hit === NO_CLAIM ? null : hit;
}

/**
 * Served VirtualServices that route on `@request.auth.claims` when no RequestAuthentication gives this
 * gateway a verified JWT (istioctl's JWTClaimRouteAnalyzer): without one there are no claims, so such a
 * match never matches (and a withoutHeaders one always does). Not per VirtualService: it depends on the
 * RequestAuthentications, so it runs after compileSecurity, outside the reused analysis.
 */
export function analyzeClaimRoutes(ctx: CompileContext, listeners: Listener[], virtualServices: VirtualServiceResource[]): void {
  // The VirtualServices with a claim match, and where the first one is (most have none: no route is looked at).
  const claimed = new Map<string, { vs: VirtualServiceResource; field: string; claim: string }>();
  for (const vs of virtualServices) {
    const hit = firstClaimMatch(vs);
    if (hit !== null) claimed.set(resourceRef(vs), { vs, ...hit });
  }
  if (claimed.size === 0) return;
  // Of those, the ones served here (a route of theirs is in a route table).
  const served = new Set<string>();
  const scan = (t: RouteTable | null) => {
    for (const vh of t?.virtualHosts ?? []) for (const r of vh.routes) if (claimed.has(r.source)) served.add(r.source);
  };
  for (const l of listeners) {
    scan(l.routeTable);
    for (const c of l.tls?.chains ?? []) scan(c.routeTable);
  }
  for (const [ref, { vs, field, claim }] of claimed) {
    if (!served.has(ref)) continue;
    ctx.report(
      "Error",
      Codes.ClaimRouteWithoutAuthn,
      vs,
      `routes on the JWT claim ${claim} but no RequestAuthentication applies to this gateway: there are no verified claims, so the match never holds (a withoutHeaders claim match always does)`,
      field,
    );
  }
}

/**
 * A served VirtualService's destination without subset to a host whose own VirtualService routes it by
 * subset (istioctl's IngressRouteRulesNotAffected): the gateway sends to the destination host directly,
 * the other VirtualService's rules (canary subsets ...) do not apply to this traffic. Across
 * VirtualServices, so outside the reused per-VirtualService analysis; one pass when no VirtualService
 * routes its own host by subset.
 */
export function analyzeSubsetRoutingBypassed(
  ctx: CompileContext,
  virtualServices: VirtualServiceResource[],
  applied: GatewayResource[],
  hidden: VirtualServiceResource[],
): void {
  const bySubset = new Map<string, VirtualServiceResource>();
  for (const vs of virtualServices) {
    const ns = vs.metadata.namespace;
    // its own hosts are resolved only for a VirtualService with a subset destination (most have none)
    let own: Set<string> | null = null;
    for (const h of vs.spec.http) {
      for (const d of h.route) {
        if (d.destination.subset === "") continue;
        own ??= new Set(vs.spec.hosts.map((x) => resolveShortname(x, ns)));
        const host = destinationHost(ctx, d.destination.host, ns);
        if (own.has(host) && !bySubset.has(host)) bySubset.set(host, vs);
      }
    }
  }
  if (bySubset.size === 0) return;
  const served = new Set(applied.map(gatewayKey));
  const hiddenSet = new Set(hidden);
  for (const vs of virtualServices) {
    if (ctx.origins.has(vs) || hiddenSet.has(vs) || !gatewayRefsOf(vs, ctx.opts.namespace).some((r) => served.has(r))) continue;
    vs.spec.http.forEach((h, i) =>
      h.route.forEach((d, j) => {
        if (d.destination.subset !== "") return;
        const host = destinationHost(ctx, d.destination.host, vs.metadata.namespace);
        const other = bySubset.get(host);
        if (other === undefined || other === vs) return;
        ctx.report(
          "Warning",
          Codes.SubsetRoutingBypassed,
          vs,
          `destination ${host} has no subset: the gateway sends to all of its endpoints, the subset routes of ${resourceRef(other)} do not apply to this traffic`,
          `spec.http[${i}].route[${j}].destination`,
        );
      }),
    );
  }
}

// A VirtualService's http[] → snapshot routes for one gateway and port, as
// Istio's BuildHTTPRoutesForVirtualService: one route per surviving match entry
// (so an http[] entry with /status and /delay gives two routes sharing one
// action), entries for other ports/gateways dropped, and nothing after a
// catch-all kept.
import { Codes } from "../model/codes.ts";
import type { HeadersSpec, HeaderOperationsSpec, HTTPMatchRequest, HTTPRoute, VirtualServiceResource } from "../model/istio.ts";
import { labelsSubset } from "../resolve/hosts.ts";
import { resolveGatewayRef } from "../resolve/gateways.ts";
import type { Resource } from "../model/index.ts";
import { compileRegexRewrite } from "../route/regex-rewrite.ts";
import type { CorsPolicy, FaultPolicy, HeaderOperations, MirrorPolicy, RetryPolicy, Route, RouteAction, WeightedDestination } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";
import { resolveDestination } from "./destinations.ts";
import { compileMatch, isCatchAllRoute } from "./matches.ts";
import { buildCors, buildFault, buildMirrors, buildRetryPolicy, reportPolicyLimits } from "./policies.ts";

/** Redirect codes Envoy's RedirectAction has (Istio's ApplyRedirect drops the route for others). */
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/**
 * Destination host of a Gateway API backendRef that does not resolve: its
 * share of requests answers 500 (cluster "").
 */
export const INVALID_BACKEND_HOST = "invalid-backend-ref.gangway.invalid";

export interface RouteScope {
  /** Gateway server port (`port.number`). */
  port: number;
  /** `ns/name` of the Gateway whose server the routes are for. */
  gateway: string;
  /** Server terminates TLS (redirects derive https). */
  tls: boolean;
}

/** Is a match entry for this gateway workload? (Istio's port check + sourceMatchHTTP) */
function matchApplies(ctx: CompileContext, vs: VirtualServiceResource, m: HTTPMatchRequest, scope: RouteScope): boolean {
  if (m.port !== 0 && m.port !== scope.port) return false;
  if (m.gateways.length > 0) {
    const ns = vs.metadata.namespace;
    return m.gateways.some((g) => resolveGatewayRef(g, ns) === scope.gateway);
  }
  if (!labelsSubset(m.sourceLabels, ctx.opts.labels)) return false;
  return m.sourceNamespace === "" || m.sourceNamespace === ctx.opts.namespace;
}

function isInternalHeader(name: string): boolean {
  return name.startsWith(":") || name === "host";
}

function ops(spec: HeaderOperationsSpec | undefined, into: HeaderOperations): string {
  let authority = "";
  if (spec === undefined) return authority;
  for (const [k0, v] of spec.set) {
    const k = k0.toLowerCase();
    if (k === ":authority" || k === "host") authority = v;
    else if (!isInternalHeader(k)) into.set.push([k, v]);
  }
  for (const [k0, v] of spec.add) {
    const k = k0.toLowerCase();
    if (k === ":authority" || k === "host") authority = authority || v;
    else if (!isInternalHeader(k)) into.add.push([k, v]);
  }
  for (const k0 of spec.remove) {
    const k = k0.toLowerCase();
    if (!isInternalHeader(k)) into.remove.push(k);
  }
  return authority;
}

function emptyOps(): HeaderOperations {
  return { set: [], add: [], remove: [] };
}

interface Built {
  /** null: the route cannot be served (dropped with an Error finding). */
  action: RouteAction | null;
  requestHeaders: HeaderOperations;
  responseHeaders: HeaderOperations;
  retry: RetryPolicy | null;
  fault: FaultPolicy | null;
  mirrors: MirrorPolicy[];
  cors: CorsPolicy | null;
}

/** Envoy applies a weighted cluster's header operations before the route's: the route's `set` wins. */
function concatOps(first: HeaderOperations, then: HeaderOperations): HeaderOperations {
  return { set: [...first.set, ...then.set], add: [...first.add, ...then.add], remove: [...first.remove, ...then.remove] };
}

function applyHeaders(h: HeadersSpec | null, b: Built): string {
  if (h === null) return "";
  ops(h.response, b.responseHeaders);
  return ops(h.request, b.requestHeaders);
}

/** The resource and field path findings about route `i` name (the delegate's, for a merged route). */
function routeOrigin(vs: VirtualServiceResource, http: HTTPRoute, i: number): [Resource, string] {
  const o = http.origin;
  return o ? [o.resource, `spec.http[${o.index}]`] : [vs, `spec.http[${i}]`];
}

function buildAction(ctx: CompileContext, vs: VirtualServiceResource, http: HTTPRoute, i: number, scope: RouteScope): Built {
  const [origin, path] = routeOrigin(vs, http, i);
  const b: Built = {
    action: { kind: "direct", status: 404, body: "" },
    requestHeaders: emptyOps(),
    responseHeaders: emptyOps(),
    retry: null,
    fault: buildFault(http.fault),
    mirrors: [],
    cors: null,
  };
  let authority = applyHeaders(http.headers, b);
  reportPolicyLimits(ctx, origin, http, path);
  if (http.redirect !== null) {
    const red = http.redirect;
    if (!REDIRECT_CODES.has(red.redirectCode)) {
      ctx.report(
        "Error",
        Codes.RouteFeatureUnsupported,
        origin,
        `redirectCode ${red.redirectCode} is not one of 301, 302, 303, 307, 308: the route is dropped (Istio builds no route for it)`,
        `${path}.redirect.redirectCode`,
      );
      b.action = null;
      return b;
    }
    let port = red.port;
    if (red.derivePort === "FROM_REQUEST_PORT") port = scope.port;
    const scheme = red.scheme || (scope.tls ? "https" : "http");
    if ((port === 80 && scheme === "http") || (port === 443 && scheme === "https")) port = 0;
    if (port === 0 && red.omitRequestPort === true) port = -1;
    b.action = {
      kind: "redirect",
      status: red.redirectCode,
      scheme: red.scheme || null,
      authority: red.authority || null,
      port,
      uri: red.uri || null,
      prefixRewrite: red.prefixRewrite || null,
    };
    return b;
  }
  if (http.directResponse !== null) {
    const dr = http.directResponse;
    b.action = { kind: "direct", status: dr.status, body: dr.body ?? "", bytes: dr.bytes ?? null };
    return b;
  }
  const single = http.route.length === 1;
  const destinations: WeightedDestination[] = [];
  const own: [WeightedDestination, Built][] = [];
  let total = 0;
  http.route.forEach((d, k) => {
    if (!single && d.weight === 0) return; // Istio drops 0-weight destinations of a split
    const w = single ? 100 : d.weight;
    if (d.destination.host === INVALID_BACKEND_HOST) {
      destinations.push({ cluster: "", weight: w, host: "", port: 0, subset: "" });
      total += w;
      return;
    }
    const wd = resolveDestination(ctx, origin, d.destination, w, scope.port, `${path}.route[${k}].destination`);
    destinations.push(wd);
    total += w;
    if (d.headers !== null) {
      if (single) {
        const a = applyHeaders(d.headers, b);
        authority = authority || a;
      } else {
        const mine: Built = { ...b, requestHeaders: emptyOps(), responseHeaders: emptyOps() };
        const a = applyHeaders(d.headers, mine);
        if (a !== "") wd.rewriteAuthority = a;
        own.push([wd, mine]);
      }
    }
  });
  if (!single && total !== 100) {
    ctx.report("Warning", Codes.WeightsNot100, origin, `destination weights add up to ${total}, not 100: used relatively`, `${path}.route`);
  }
  for (const [wd, mine] of own) {
    wd.requestHeaders = concatOps(mine.requestHeaders, b.requestHeaders);
    wd.responseHeaders = concatOps(mine.responseHeaders, b.responseHeaders);
  }
  const rw = http.rewrite;
  let regexRewrite = null;
  if (rw?.uriRegexRewrite) {
    const c = compileRegexRewrite(rw.uriRegexRewrite.match, rw.uriRegexRewrite.rewrite);
    // decode checked it; a failure here would be a bug
    if (!c.ok) throw new Error(`uriRegexRewrite ${JSON.stringify(rw.uriRegexRewrite.match)} passed decode but does not compile: ${c.error}`);
    regexRewrite = c.rewrite;
  }
  b.action = {
    kind: "forward",
    destinations,
    totalWeight: total,
    rewriteUri: rw !== null && rw.uri !== "" ? rw.uri : null,
    rewriteAuthority: (rw !== null && rw.authority !== "" ? rw.authority : authority) || null,
    regexRewrite,
  };
  b.retry = buildRetryPolicy(http.retries);
  b.mirrors = buildMirrors(ctx, origin, http, scope.port, path);
  b.cors = buildCors(http.corsPolicy);
  return b;
}

/** Routes of `vs` for one gateway server scope, in first-match order (Istio's catch-all trimming included). */
export function buildVirtualServiceRoutes(ctx: CompileContext, vs: VirtualServiceResource, scope: RouteScope): Route[] {
  const out: Route[] = [];
  const source = ctx.sourceOf(vs);
  const http = vs.spec.http;
  for (let i = 0; i < http.length; i++) {
    const h = http[i]!;
    // unnamed: `<vs>.<index>`, the index in the VirtualService that wrote it (a root's or a delegate's)
    const base = h.name || (h.origin ? `${h.origin.resource.metadata.name}.${h.origin.index}` : `${vs.metadata.name}.${i}`);
    let built: Built | null = null;
    const make = (m: HTTPMatchRequest | null): Route | null => {
      built ??= buildAction(ctx, vs, h, i, scope);
      if (built.action === null) return null;
      const forward = built.action.kind === "forward";
      return {
        name: m !== null && m.name !== "" ? `${base}.${m.name}` : base,
        source,
        matches: m === null ? [] : [compileMatch(m, scope.port)],
        action: built.action,
        timeoutMs: forward ? h.timeoutMs : 0,
        requestHeaders: built.requestHeaders,
        responseHeaders: built.responseHeaders,
        retry: built.retry,
        fault: built.fault,
        mirrors: built.mirrors,
        cors: built.cors,
      };
    };
    let catchAll = false;
    if (h.match.length === 0) {
      const r = make(null);
      if (r !== null) out.push(r);
      catchAll = true;
    } else {
      for (const m of h.match) {
        if (!matchApplies(ctx, vs, m, scope)) continue;
        const r = make(m);
        if (r === null) continue;
        out.push(r);
        if (isCatchAllRoute(r)) {
          catchAll = true;
          break;
        }
      }
    }
    if (catchAll) {
      if (i + 1 < http.length) {
        const which = i + 2 === http.length ? `http[${i + 1}]` : `http[${i + 1}..${http.length - 1}]`;
        ctx.report("Warning", Codes.UnreachableRoute, vs, `${which} can never match: http[${i}] matches every request first`, `spec.http[${i + 1}]`);
      }
      break;
    }
  }
  return out;
}

// A VirtualService's http[] → snapshot routes for one gateway and port, as
// Istio's BuildHTTPRoutesForVirtualService: one route per surviving match entry
// (so an http[] entry with /status and /delay gives two routes sharing one
// action), entries for other ports/gateways dropped, and nothing after a
// catch-all kept.
import { Codes } from "../model/codes.ts";
import type { HeadersSpec, HeaderOperationsSpec, HTTPMatchRequest, HTTPRoute, VirtualServiceResource } from "../model/istio.ts";
import { labelsSubset } from "../resolve/hosts.ts";
import { resolveGatewayRef } from "../resolve/gateways.ts";
import type { HeaderOperations, Route, RouteAction, WeightedDestination } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";
import { resolveDestination } from "./destinations.ts";
import { compileMatch, isCatchAllRoute } from "./matches.ts";

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
  action: RouteAction;
  requestHeaders: HeaderOperations;
  responseHeaders: HeaderOperations;
}

function applyHeaders(h: HeadersSpec | null, b: Built): string {
  if (h === null) return "";
  ops(h.response, b.responseHeaders);
  return ops(h.request, b.requestHeaders);
}

function buildAction(ctx: CompileContext, vs: VirtualServiceResource, http: HTTPRoute, i: number, scope: RouteScope): Built {
  const path = `spec.http[${i}]`;
  const b: Built = { action: { kind: "direct", status: 404, body: "" }, requestHeaders: emptyOps(), responseHeaders: emptyOps() };
  let authority = applyHeaders(http.headers, b);
  for (const f of http.unsupported) {
    ctx.report("Warning", Codes.RouteFeatureUnsupported, vs, `${f} is not supported by gangway and is ignored`, `${path}.${f}`);
  }
  if (http.redirect !== null) {
    const red = http.redirect;
    let port = red.port;
    if (red.derivePort === "FROM_REQUEST_PORT") port = scope.port;
    const scheme = red.scheme || (scope.tls ? "https" : "http");
    if ((port === 80 && scheme === "http") || (port === 443 && scheme === "https")) port = 0;
    if (port === 0 && red.omitRequestPort === true) port = -1;
    // prefixRewrite needs the matched prefix: served when the entry has one prefix match
    const only = http.match.length === 1 ? http.match[0]!.uri : null;
    const strip = red.prefixRewrite !== "" && only !== null && only.kind === "prefix" ? only.value.length : 0;
    if (red.prefixRewrite !== "" && strip === 0) {
      ctx.report("Warning", Codes.RouteFeatureUnsupported, vs, "redirect.prefixRewrite is supported for one prefix match only: the path is kept", `${path}.redirect.prefixRewrite`);
    }
    b.action = {
      kind: "redirect",
      status: red.redirectCode,
      scheme: red.scheme || null,
      authority: red.authority || null,
      port,
      uri: strip > 0 ? red.prefixRewrite : red.uri || null,
    };
    if (strip > 0) b.action.stripPrefix = strip;
    return b;
  }
  if (http.directResponse !== null) {
    b.action = { kind: "direct", status: http.directResponse.status, body: http.directResponse.body ?? "" };
    return b;
  }
  const single = http.route.length === 1;
  const destinations: WeightedDestination[] = [];
  let total = 0;
  http.route.forEach((d, k) => {
    if (!single && d.weight === 0) return; // Istio drops 0-weight destinations of a split
    const w = single ? 100 : d.weight;
    if (d.destination.host === INVALID_BACKEND_HOST) {
      destinations.push({ cluster: "", weight: w, host: "", port: 0, subset: "" });
      total += w;
      return;
    }
    destinations.push(resolveDestination(ctx, vs, d.destination, w, scope.port, `${path}.route[${k}].destination`));
    total += w;
    if (d.headers !== null) {
      if (single) {
        const a = applyHeaders(d.headers, b);
        authority = authority || a;
      } else {
        ctx.report("Warning", Codes.RouteFeatureUnsupported, vs, "headers on one destination of a weighted split are not supported and are ignored", `${path}.route[${k}].headers`);
      }
    }
  });
  if (!single && total !== 100) {
    ctx.report("Warning", Codes.WeightsNot100, vs, `destination weights add up to ${total}, not 100: used relatively`, `${path}.route`);
  }
  const rw = http.rewrite;
  if (rw?.uriRegexRewrite) {
    ctx.report("Warning", Codes.RouteFeatureUnsupported, vs, "rewrite.uriRegexRewrite is not supported and is ignored", `${path}.rewrite.uriRegexRewrite`);
  }
  b.action = {
    kind: "forward",
    destinations,
    totalWeight: total,
    rewriteUri: rw !== null && rw.uri !== "" ? rw.uri : null,
    rewriteAuthority: (rw !== null && rw.authority !== "" ? rw.authority : authority) || null,
  };
  return b;
}

/** Routes of `vs` for one gateway server scope, in first-match order (Istio's catch-all trimming included). */
export function buildVirtualServiceRoutes(ctx: CompileContext, vs: VirtualServiceResource, scope: RouteScope): Route[] {
  const out: Route[] = [];
  const source = ctx.sourceOf(vs);
  const http = vs.spec.http;
  for (let i = 0; i < http.length; i++) {
    const h = http[i]!;
    const base = h.name || `${vs.metadata.name}.${i}`;
    let built: Built | null = null;
    const make = (m: HTTPMatchRequest | null): Route => {
      built ??= buildAction(ctx, vs, h, i, scope);
      return {
        name: m !== null && m.name !== "" ? `${base}.${m.name}` : base,
        source,
        matches: m === null ? [] : [compileMatch(m, scope.port)],
        action: built.action,
        timeoutMs: h.timeoutMs,
        requestHeaders: built.requestHeaders,
        responseHeaders: built.responseHeaders,
      };
    };
    let catchAll = false;
    if (h.match.length === 0) {
      out.push(make(null));
      catchAll = true;
    } else {
      for (const m of h.match) {
        if (!matchApplies(ctx, vs, m, scope)) continue;
        const r = make(m);
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

// One HTTPRoute rule (and one of its matches) → Istio http[] entries, as
// istiod converts them: filters to headers/redirect/rewrite, backendRefs to
// weighted destinations, PathPrefix as a path-separated prefix (`/foo` matches
// `/foo` and `/foo/...`, never `/foobar`: an exact and a `/foo/` prefix entry).
import { Codes } from "../../model/codes.ts";
import type { HTTPRouteMatchSpec, HTTPRouteResource, HTTPRouteRuleSpec, HeaderModifier, PathModifier, RouteFilter } from "../../model/gatewayapi.ts";
import type { CorsPolicySpec, HeadersSpec, HTTPMatchRequest, HTTPMirrorPolicySpec, HTTPRetrySpec, HTTPRoute, HTTPRouteDestination, KeyedMatchSpec, StringMatchSpec } from "../../model/istio.ts";
import type { CompileContext } from "../context.ts";
import { resolveBackend, type Backends, type RefProblem } from "./backends.ts";
import type { Grants } from "./grants.ts";

/** What a rule does, settled once for all its matches. */
export interface RuleAction {
  destinations: HTTPRouteDestination[];
  headers: HeadersSpec | null;
  redirect: RouteFilter["requestRedirect"];
  rewrite: RouteFilter["urlRewrite"];
  /** Answer 500 (no backendRefs, all weights 0, a filter gangway cannot apply). */
  fail: boolean;
  timeoutMs: number;
  /** Istio's http[] traffic fields (istiod's convertHTTPRoute); null: not written. */
  retries: HTTPRetrySpec | null;
  mirrors: HTTPMirrorPolicySpec[] | null;
  corsPolicy: CorsPolicySpec | null;
  /**
   * The rule's unresolved reference as istiod reports it in ResolvedRefs: the last backendRef that does
   * not resolve, else the last mirror backend (buildHTTPDestination keeps the last, joinErrors puts the
   * backend's first), or null.
   */
  problem: RefProblem | null;
  /** A backendRef istiod cannot convert (InvalidDestination): the whole route is left out. */
  hard: RefProblem | null;
  /** Filters gangway cannot serve (the rule answers 500): for Accepted False UnsupportedValue. */
  unsupported: string[];
}

const SERVED_FILTERS = new Set(["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "RequestMirror", "CORS"]);

/**
 * The spec: "Implementations SHOULD retry on connection errors (disconnect, reset, timeout, TCP
 * failure) if a retry stanza is configured", then the codes. istiod writes connect-failure,
 * refused-stream, unavailable, cancelled, under which Envoy retries neither a connection the
 * upstream drops after the request nor a per-try (backendRequest) timeout; gangway adds Envoy's
 * `reset` (disconnect, reset, read timeout), as the conformance cases httproute-retry-connection-error
 * and httproute-retry-with-timeouts expect.
 */
const RETRY_ON_CONNECTION = ["connect-failure", "refused-stream", "unavailable", "cancelled", "reset"];

/** HTTPRoute `retry` and `timeouts` → Istio retries and timeout, as istiod converts them (retryOn also `reset`). */
export function retriesAndTimeout(rule: HTTPRouteRuleSpec): { retries: HTTPRetrySpec | null; timeoutMs: number } {
  let retries: HTTPRetrySpec | null = null;
  const rt = rule.retry;
  if (rt) {
    const attempts = rt.attempts ?? 2;
    retries = {
      attempts,
      perTryTimeoutMs: 0,
      retryOn: attempts === 0 ? "" : [...RETRY_ON_CONNECTION, ...rt.codes.map(String)].join(","),
      retryRemoteLocalities: null,
      retryIgnorePreviousHosts: null,
      backoffMs: rt.backoffMs,
    };
  }
  let timeoutMs = rule.requestTimeoutMs;
  if (rule.backendRequestTimeoutMs > 0) {
    // with a retry stanza it bounds each try; without one istiod makes it the route timeout (over `request`)
    if (retries !== null) retries.perTryTimeoutMs = rule.backendRequestTimeoutMs;
    else timeoutMs = rule.backendRequestTimeoutMs;
  }
  return { retries, timeoutMs };
}

/**
 * An allowOrigins entry as a match: exact, or (the Gateway API's wildcards,
 * which istiod still takes literally) `*` for any origin and `*` in the host
 * for one or more characters of it (`https://*.bar.com` matches
 * `https://a.b.bar.com`, never another scheme or port).
 */
export function originMatch(o: string): StringMatchSpec {
  if (o === "*") return { kind: "regex", value: ".*" };
  if (!o.includes("*")) return { kind: "exact", value: o };
  return { kind: "regex", value: o.split("*").map(escapeRegex).join("[^/:]+") };
}

/** CORS filter → corsPolicy (istiod: maxAge only when > 0, allowCredentials only when true). */
function corsPolicy(f: RouteFilter["cors"]): CorsPolicySpec | null {
  if (!f) return null;
  return {
    allowOrigins: f.allowOrigins.filter((o) => o !== "").map(originMatch),
    allowMethods: f.allowMethods,
    allowHeaders: f.allowHeaders,
    exposeHeaders: f.exposeHeaders,
    maxAgeSeconds: f.maxAge > 0 ? f.maxAge : null,
    allowCredentials: f.allowCredentials ? true : null,
    unmatchedPreflights: "",
  };
}

function ops(m: HeaderModifier | null) {
  return m === null ? { set: [], add: [], remove: [] } : { set: m.set, add: m.add, remove: m.remove };
}

function headersOf(filters: RouteFilter[]): HeadersSpec | null {
  const req = filters.find((f) => f.type === "RequestHeaderModifier")?.requestHeaderModifier ?? null;
  const res = filters.find((f) => f.type === "ResponseHeaderModifier")?.responseHeaderModifier ?? null;
  return req === null && res === null ? null : { request: ops(req), response: ops(res) };
}

/** Weights as percentages adding up to 100 (largest remainder), as Istio's split expects. */
function percentages(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w * 100) / total);
  const out = exact.map(Math.floor);
  let left = 100 - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left <= 0) break;
    if (weights[i]! > 0) {
      out[i]!++;
      left--;
    }
  }
  return out;
}

export function ruleAction(ctx: CompileContext, route: HTTPRouteResource, rule: HTTPRouteRuleSpec, ri: number, backends: Backends, grants: Grants): RuleAction {
  const field = `spec.rules[${ri}]`;
  const unsupported: string[] = [];
  rule.filters.forEach((f, i) => {
    if (!SERVED_FILTERS.has(f.type)) {
      unsupported.push(f.type);
      ctx.report("Warning", Codes.GatewayApiUnsupported, route, `filter ${f.type} is not supported yet: rule ${ri} answers 500`, `${field}.filters[${i}]`);
    }
  });
  for (const k of rule.unsupported) ctx.report("Warning", Codes.GatewayApiUnsupported, route, `${k} is not supported yet and is ignored`, `${field}.${k}`);
  let backendProblem = null as RefProblem | null;
  let hard = null as RefProblem | null;
  let mirrorProblem = null as RefProblem | null;
  // RequestMirror → mirrors (in filter order); an unresolved mirror backend is left out and named in ResolvedRefs
  let mirrors: HTTPMirrorPolicySpec[] | null = null;
  rule.filters.forEach((f, i) => {
    if (f.type !== "RequestMirror" || !f.requestMirror) return;
    const m = f.requestMirror;
    const r = resolveBackend(ctx, route, m.backendRef, `${field}.filters[${i}].requestMirror.backendRef`, backends, grants);
    if (r.problem !== null) {
      mirrorProblem = r.problem;
      return;
    }
    (mirrors ??= []).push({ destination: r.destination, percentage: m.percent });
  });
  const cors = corsPolicy(rule.filters.find((f) => f.type === "CORS")?.cors ?? null);
  const { retries, timeoutMs } = retriesAndTimeout(rule);
  const redirect = rule.filters.find((f) => f.type === "RequestRedirect")?.requestRedirect ?? null;
  const rewrite = rule.filters.find((f) => f.type === "URLRewrite")?.urlRewrite ?? null;
  const weights: number[] = [];
  const dests: HTTPRouteDestination[] = [];
  rule.backendRefs.forEach((b, bi) => {
    const bf = `${field}.backendRefs[${bi}]`;
    const r = resolveBackend(ctx, route, b, bf, backends, grants);
    if (r.problem !== null) backendProblem = r.problem;
    // istiod builds the destinations of weighted refs only, and stops at the first it cannot convert
    if (r.problem?.hard === true && b.weight > 0) hard ??= r.problem;
    b.filters.forEach((f, i) => {
      if (f.type !== "RequestHeaderModifier" && f.type !== "ResponseHeaderModifier") {
        unsupported.push(`${f.type} (backendRef)`);
        ctx.report("Warning", Codes.GatewayApiUnsupported, route, `backendRef filter ${f.type} is not supported yet: rule ${ri} answers 500`, `${bf}.filters[${i}]`);
      }
    });
    if (b.weight === 0) return;
    weights.push(b.weight);
    dests.push({ destination: r.destination, weight: b.weight, headers: headersOf(b.filters) });
  });
  const pct = dests.length > 1 ? percentages(weights) : [100];
  dests.forEach((d, i) => (d.weight = pct[i]!));
  return {
    destinations: dests.filter((d) => d.weight > 0),
    headers: headersOf(rule.filters),
    redirect,
    rewrite,
    fail: unsupported.length > 0 || (redirect === null && dests.length === 0),
    timeoutMs,
    retries,
    mirrors,
    corsPolicy: cors,
    problem: backendProblem ?? mirrorProblem,
    hard,
    unsupported,
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The uri variants of a Gateway API path match (PathPrefix is path-separated). */
function uriVariants(path: HTTPRouteMatchSpec["path"]): { uri: StringMatchSpec; prefix: string }[] {
  if (path.type === "Exact") return [{ uri: { kind: "exact", value: path.value }, prefix: "" }];
  if (path.type === "RegularExpression") return [{ uri: { kind: "regex", value: path.value }, prefix: "" }];
  const p = path.value.replace(/\/+$/, "");
  if (p === "") return [{ uri: { kind: "prefix", value: "/" }, prefix: "/" }];
  return [
    { uri: { kind: "exact", value: p }, prefix: "" },
    { uri: { kind: "prefix", value: `${p}/` }, prefix: `${p}/` },
  ];
}

function withSlash(s: string): string {
  return s.endsWith("/") ? s : `${s}/`;
}

function keyed(list: HTTPRouteMatchSpec["headers"], lower: boolean): KeyedMatchSpec[] {
  const out = list.map((h) => ({ name: lower ? h.name.toLowerCase() : h.name, match: { kind: h.type === "Exact" ? ("exact" as const) : ("regex" as const), value: h.value } }));
  return lower ? out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : out;
}

function matchRequest(m: HTTPRouteMatchSpec, uri: StringMatchSpec): HTTPMatchRequest {
  return {
    name: "",
    uri,
    scheme: null,
    method: m.method === "" ? null : { kind: "exact", value: m.method },
    authority: null,
    headers: keyed(m.headers, true),
    withoutHeaders: [],
    queryParams: keyed(m.queryParams, false),
    ignoreUriCase: false,
    port: 0,
    gateways: [],
    sourceLabels: {},
    sourceNamespace: "",
  };
}

function pathFor(mod: PathModifier, prefix: string, exactVariant: boolean): { uri: string; prefixRewrite: string } {
  if (mod.type === "ReplaceFullPath") return { uri: mod.value, prefixRewrite: "" };
  if (exactVariant || prefix === "") return { uri: mod.value || "/", prefixRewrite: "" };
  return { uri: "", prefixRewrite: withSlash(mod.value) };
}

/** The Istio http[] entries of one match of a rule (two for a PathPrefix other than `/`). */
export function matchEntries(a: RuleAction, m: HTTPRouteMatchSpec, name: string): HTTPRoute[] {
  return uriVariants(m.path).map(({ uri: u, prefix }) => {
    let uri = u;
    const exactVariant = m.path.type === "PathPrefix" && u.kind === "exact";
    const out: HTTPRoute = {
      name,
      match: [],
      route: [],
      redirect: null,
      directResponse: null,
      rewrite: null,
      timeoutMs: a.timeoutMs,
      headers: a.headers,
    };
    if (a.fail) out.directResponse = { status: 500, body: null };
    else if (a.redirect !== null) {
      const r = a.redirect;
      const p = r.path === null ? { uri: "", prefixRewrite: "" } : pathFor(r.path, prefix, exactVariant);
      out.redirect = {
        uri: p.uri,
        prefixRewrite: p.prefixRewrite,
        authority: r.hostname,
        scheme: r.scheme,
        port: r.port,
        derivePort: r.port === 0 && r.scheme === "" ? "FROM_REQUEST_PORT" : "",
        redirectCode: r.statusCode,
        omitRequestPort: true,
      };
    } else {
      out.route = a.destinations;
      if (a.retries !== null) out.retries = a.retries;
      if (a.mirrors !== null) out.mirrors = a.mirrors;
      if (a.corsPolicy !== null) out.corsPolicy = a.corsPolicy;
      const rw = a.rewrite;
      if (rw !== null) {
        let path = "";
        if (rw.path !== null) {
          if (rw.path.type === "ReplaceFullPath" && prefix !== "") uri = { kind: "regex", value: `${escapeRegex(prefix)}.*` };
          const p = pathFor(rw.path, prefix, exactVariant);
          path = p.prefixRewrite || p.uri;
        }
        out.rewrite = { uri: path, authority: rw.hostname, uriRegexRewrite: null };
      }
    }
    out.match = [matchRequest(m, uri)];
    return out;
  });
}

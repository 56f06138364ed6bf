// HTTPRoute traffic fields → the snapshot's route policies, as istiod converts
// them (conversion.go) and then builds Envoy routes: RequestMirror → mirrors
// (percent, fraction), CORS → the CORS policy, retry → retries, timeouts.request
// → route timeout, timeouts.backendRequest → per-try timeout (route timeout
// without a retry stanza), backendRef header filters in a weighted split →
// per-destination headers; the status of those rules is Accepted.
import { describe, expect, test } from "bun:test";
import { originMatch, retriesAndTimeout } from "../../src/compile/gatewayapi/http-rules.ts";
import { compileStringMatch } from "../../src/compile/matches.ts";
import { matchString } from "../../src/route/lookup.ts";
import type { HTTPRouteRuleSpec } from "../../src/model/gatewayapi.ts";
import type { Route, Snapshot } from "../../src/snapshot/types.ts";
import { trace } from "../../src/trace.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileSnapshot } from "../../src/compile/index.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import { compileYaml, options } from "./pipeline-helpers.ts";
import { ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";

const BASE = `${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
`;

function service(name: string, ns = "default"): string {
  return `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: ${ns}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{name: http, port: 9000}]
`;
}

const SERVICES = service("a") + service("b") + service("m");

function compileRules(rules: string): Snapshot {
  return compileYaml(`${BASE}${SERVICES}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
${rules}`);
}

/** The snapshot route a GET of `path` takes. */
function routeFor(s: Snapshot, path: string): Route {
  const t = trace(s, { port: 80, host: "example.com", path });
  expect(t.route).not.toBeNull();
  const found: Route[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || typeof v !== "object" || v instanceof Map) return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    const o = v as Record<string, unknown>;
    if (o.name === t.route && "action" in o && "matches" in o) found.push(o as unknown as Route);
    else for (const x of Object.values(o)) walk(x, depth + 1);
  };
  walk(s.listeners, 0);
  expect(found.length).toBeGreaterThan(0);
  return found[0]!;
}

function routeConditions(s: Snapshot): string[] {
  const it = (s.gatewayStatus ?? []).find((i) => i.kind === "HTTPRoute")!;
  return it.status.parents![0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
}

const ACCEPTED = ["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"];

describe("HTTPRoute traffic fields → route policies", () => {
  test("RequestMirror: every request (no percent), percent, fraction (numerator/denominator), several mirrors in filter order", () => {
    const s = compileRules(`  - matches: [{path: {type: PathPrefix, value: /all}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m, port: 8080}}}]
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /pct}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m, port: 8080}, percent: 20}}]
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /frac}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m, port: 8080}, fraction: {numerator: 25, denominator: 50}}}]
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /two}}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: m, port: 8080}, percent: 35}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: b, port: 8080}, fraction: {numerator: 1}}}
    backendRefs: [{name: a, port: 8080}]
`);
    const mirrors = (p: string) => routeFor(s, p).mirrors!.map((m) => [m.cluster, m.perMillion]);
    const M = "outbound|8080||m.default.svc.cluster.local";
    expect(mirrors("/all")).toEqual([[M, 1_000_000]]);
    expect(mirrors("/pct")).toEqual([[M, 200_000]]);
    expect(mirrors("/frac")).toEqual([[M, 500_000]]);
    expect(mirrors("/two")).toEqual([[M, 350_000], ["outbound|8080||b.default.svc.cluster.local", 10_000]]);
    expect(trace(s, { port: 80, host: "example.com", path: "/all" }).cluster).toBe("outbound|8080||a.default.svc.cluster.local");
    expect(routeConditions(s)).toEqual(ACCEPTED);
    expect(s.findings.filter((f) => f.code === "GW0807")).toEqual([]);
  });

  test("a RequestMirror to a missing Service: the mirror is left out, the rule is served, ResolvedRefs False BackendNotFound", () => {
    const s = compileRules(`  - filters: [{type: RequestMirror, requestMirror: {backendRef: {name: nope, port: 8080}}}]
    backendRefs: [{name: a, port: 8080}]
`);
    expect(routeFor(s, "/").mirrors).toEqual([]);
    expect(trace(s, { port: 80, host: "example.com", path: "/" }).status).toBe(200);
    expect(routeConditions(s)).toEqual(["Accepted=True/Accepted", "ResolvedRefs=False/BackendNotFound"]);
  });

  test("CORS: origins as exact matches, methods/headers joined, maxAge (the CRD's default 5), allowCredentials; unmatched preflights go upstream", () => {
    const s = compileRules(`  - matches: [{path: {type: PathPrefix, value: /cors-1}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://www.foo.com", "https://*.bar.com"], allowMethods: [GET, OPTIONS], allowHeaders: [x-header-1, x-header-2], exposeHeaders: [x-header-3], allowCredentials: true, maxAge: 3600}
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /cors-2}}]
    filters: [{type: CORS, cors: {allowOrigins: ["https://www.foo.com"], allowMethods: ["*"]}}]
    backendRefs: [{name: a, port: 8080}]
`);
    const c1 = routeFor(s, "/cors-1").cors!;
    expect(c1.allowOrigins.map((o) => [o.kind, o.kind === "regex" ? o.source : o.value])).toEqual([["exact", "https://www.foo.com"], ["regex", "https://[^/:]+\\.bar\\.com"]]);
    expect([c1.allowMethods, c1.allowHeaders, c1.exposeHeaders, c1.maxAge, c1.allowCredentials, c1.forwardNotMatchingPreflights]).toEqual([
      "GET,OPTIONS", "x-header-1,x-header-2", "x-header-3", "3600", true, true,
    ]);
    const c2 = routeFor(s, "/cors-2").cors!;
    expect([c2.allowMethods, c2.maxAge, c2.allowCredentials]).toEqual(["*", "5", false]);
    expect(routeConditions(s)).toEqual(ACCEPTED);
  });

  test("CORS allowOrigins wildcards (the Gateway API's; istiod takes them literally): * is any origin, * in the host one or more characters of it", () => {
    const rows: [string, string, boolean][] = [
      ["https://www.foo.com", "https://www.foo.com", true],
      ["https://www.foo.com", "https://www.foo.com:443", false],
      ["https://*.bar.com", "https://www.bar.com", true],
      ["https://*.bar.com", "https://xpto.www.bar.com", true],
      ["https://*.bar.com", "https://bar.com", false],
      ["https://*.bar.com", "http://www.bar.com", false],
      ["https://*.bar.com", "https://www.bar.com:8443", false],
      ["https://*.bar.com", "https://www.barxcom", false],
      ["*", "https://foobar.com:12345", true],
    ];
    for (const [allow, origin, ok] of rows) expect([allow, origin, matchString(compileStringMatch(originMatch(allow)), origin)]).toEqual([allow, origin, ok]);
  });

  test("retry: connection errors and the codes; attempts (2 when not written); backoff as the base interval", () => {
    const s = compileRules(`  - matches: [{path: {type: PathPrefix, value: /codes}}]
    retry: {codes: [500, 502], attempts: 3, backoff: 100ms}
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /default-attempts}}]
    retry: {codes: [503]}
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /none}}]
    backendRefs: [{name: a, port: 8080}]
`);
    const r = routeFor(s, "/codes").retry!;
    expect([r.numRetries, r.retryOn, r.retriableStatusCodes, r.backoffBaseMs, r.backoffMaxMs, r.isDefault]).toEqual([
      3, ["connect-failure", "refused-stream", "unavailable", "cancelled", "reset", "retriable-status-codes"], [500, 502], 100, 1000, false,
    ]);
    const d = routeFor(s, "/default-attempts").retry!;
    expect([d.numRetries, d.retriableStatusCodes, d.backoffBaseMs]).toEqual([2, [503], 25]);
    // no retry stanza: Istio's default policy, as for any VirtualService route
    expect(routeFor(s, "/none").retry!.isDefault).toBe(true);
    expect(routeConditions(s)).toEqual(ACCEPTED);
    expect(s.findings.filter((f) => f.code === "GW0807")).toEqual([]);
  });

  test("timeouts: request is the route timeout (0s: none); backendRequest is the per-try timeout with a retry stanza, else the route timeout", () => {
    const s = compileRules(`  - matches: [{path: {type: PathPrefix, value: /request}}]
    timeouts: {request: 500ms}
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /disabled}}]
    timeouts: {request: 0s}
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /backend}}]
    timeouts: {backendRequest: 300ms}
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /both-retry}}]
    timeouts: {request: 2s, backendRequest: 300ms}
    retry: {attempts: 1}
    backendRefs: [{name: a, port: 8080}]
`);
    const at = (p: string) => [routeFor(s, p).timeoutMs, routeFor(s, p).retry!.perTryTimeoutMs];
    expect(at("/request")).toEqual([500, 0]);
    expect(at("/disabled")).toEqual([0, 0]);
    expect(at("/backend")).toEqual([300, 0]);
    expect(at("/both-retry")).toEqual([2000, 300]);
    expect(routeConditions(s)).toEqual(ACCEPTED);
  });

  test("retriesAndTimeout as a table (istiod's convertHTTPRoute)", () => {
    const rule = (over: Partial<HTTPRouteRuleSpec>): HTTPRouteRuleSpec => ({ name: "", matches: [], filters: [], backendRefs: [], requestTimeoutMs: 0, backendRequestTimeoutMs: 0, unsupported: [], ...over });
    const rows: [Partial<HTTPRouteRuleSpec>, number, string | null, number][] = [
      [{}, 0, null, 0],
      [{ requestTimeoutMs: 1000, backendRequestTimeoutMs: 200 }, 200, null, 0],
      // connection errors: istiod's four conditions, and `reset` (a disconnect or a per-try timeout), as the spec asks
      [{ retry: { codes: [], attempts: null, backoffMs: 0 } }, 0, "connect-failure,refused-stream,unavailable,cancelled,reset", 0],
      // attempts 0 (the published schema wants >= 1): no retryOn, as istiod; compile then disables retries
      [{ retry: { codes: [429], attempts: 0, backoffMs: 0 }, backendRequestTimeoutMs: 100 }, 0, "", 100],
    ];
    for (const [over, timeout, retryOn, perTry] of rows) {
      const got = retriesAndTimeout(rule(over));
      expect([got.timeoutMs, got.retries?.retryOn ?? null, got.retries?.perTryTimeoutMs ?? 0]).toEqual([timeout, retryOn, perTry]);
    }
  });

  test("header modifiers on one backendRef of a weighted split: that destination's own headers; Accepted", () => {
    const s = compileRules(`  - backendRefs:
    - {name: a, port: 8080, weight: 50, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-backend, value: a}]}}]}
    - {name: b, port: 8080, weight: 50, filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-from, value: b}]}}]}
`);
    const r = routeFor(s, "/");
    if (r.action.kind !== "forward") throw new Error("not a forward route");
    expect(r.action.destinations.map((d) => [d.cluster, d.weight, d.requestHeaders?.set ?? [], d.responseHeaders?.add ?? []])).toEqual([
      ["outbound|8080||a.default.svc.cluster.local", 50, [["x-backend", "a"]], []],
      ["outbound|8080||b.default.svc.cluster.local", 50, [], [["x-from", "b"]]],
    ]);
    expect(trace(s, { port: 80, host: "example.com", path: "/" }).status).toBe(200);
    expect(routeConditions(s)).toEqual(ACCEPTED);
  });

  test("sessionPersistence: not applied (Istio does not read it either); a GW0807 finding, the rule is served", () => {
    const s = compileRules(`  - sessionPersistence: {sessionName: s, type: Cookie}
    backendRefs: [{name: a, port: 8080}]
`);
    expect(trace(s, { port: 80, host: "example.com", path: "/" }).status).toBe(200);
    expect(s.findings.filter((f) => f.code === "GW0807").map((f) => f.field)).toEqual(["spec.rules[0].sessionPersistence"]);
    expect(routeConditions(s)).toEqual(ACCEPTED);
  });

  test("the ported conformance cases: mirrors, timeouts and CORS of their routes", () => {
    const DIR = join(import.meta.dir, "..", "gatewayapi");
    const compileCase = (name: string): Snapshot => {
      const files = ["base.yaml", `cases/${name}/input.yaml`].map((p) => ({ path: p, text: readFileSync(join(DIR, p), "utf8") }));
      const { resources, errors } = decodeFiles(files);
      expect(errors).toEqual([]);
      return compileSnapshot(resources, options({ gateways: ["gateway-conformance-infra/same-namespace"] }), 1);
    };
    const svc = (n: string) => `outbound|8080||${n}.gateway-conformance-infra.svc.cluster.local`;
    const mirrors = (s: Snapshot, p: string) => routeFor(s, p).mirrors!.map((m) => [m.cluster, m.perMillion]);
    const one = compileCase("httproute-request-mirror");
    expect(mirrors(one, "/mirror")).toEqual([[svc("infra-backend-v2"), 1_000_000]]);
    const multi = compileCase("httproute-request-multiple-mirrors");
    expect(mirrors(multi, "/multi-mirror-and-modify-request-headers")).toEqual([[svc("infra-backend-v2"), 1_000_000], [svc("infra-backend-v3"), 1_000_000]]);
    const pct = compileCase("httproute-request-percentage-mirror");
    expect([mirrors(pct, "/percent-mirror"), mirrors(pct, "/percent-mirror-fraction"), mirrors(pct, "/percent-mirror-and-modify-headers")]).toEqual([
      [[svc("infra-backend-v2"), 200_000]],
      [[svc("infra-backend-v2"), 500_000]],
      [[svc("infra-backend-v2"), 350_000]],
    ]);
    expect(routeFor(pct, "/percent-mirror-and-modify-headers").requestHeaders.set).toEqual([["x-header-set", "set-overwrites-values"]]);
    const req = compileCase("httproute-timeout-request");
    expect([routeFor(req, "/request-timeout").timeoutMs, routeFor(req, "/disable-request-timeout").timeoutMs]).toEqual([500, 0]);
    const be = compileCase("httproute-timeout-backend-request");
    expect([routeFor(be, "/backend-timeout").timeoutMs, routeFor(be, "/disable-backend-timeout").timeoutMs]).toEqual([500, 0]);
    const cors = compileCase("httproute-cors");
    expect([routeFor(cors, "/cors-1").cors!.maxAge, routeFor(cors, "/cors-1").cors!.allowCredentials, routeFor(cors, "/cors-2").cors!.allowMethods]).toEqual(["3600", true, "*"]);
  });
});

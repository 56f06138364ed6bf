// Semantics Istio/Envoy have and gangway got wrong: httpsRedirect for
// VirtualService hosts narrower than the server's, `authority` matched as sent,
// repeated headers matched joined, headers of one destination of a split; and
// VirtualService delegation (root + delegates merged as istiod merges them).
import { describe, expect, test } from "bun:test";
import { routeMatches } from "../../src/route/lookup.ts";
import type { Route, Snapshot } from "../../src/snapshot/types.ts";
import { parseRequestHead, RequestHead } from "../../workers/http/parse-request.ts";
import { compileYaml, findingLines, gatewayAndVS, get, HTTPBIN_SERVICE } from "./pipeline-helpers.ts";

function routesOf(s: Snapshot, host = "*"): Route[] {
  const t = s.listeners[0]!.routeTable!;
  return t.virtualHosts.find((v) => v.domains.includes(host))!.routes;
}

describe("httpsRedirect", () => {
  test("a VirtualService host narrower than the server's `*` is redirected too (Istio sets require_tls on every virtual host of the server)", () => {
    const s = compileYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
    tls: {httpsRedirect: true}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [foo.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: httpbin}}]
---${HTTPBIN_SERVICE}`);
    const foo = get(s, "foo.example.com", "/status/200");
    expect([foo.status, foo.outcome]).toEqual([301, "redirect"]);
    expect(get(s, "other.example.com", "/").status).toBe(301);
  });
});

describe("authority match", () => {
  const s = compileYaml(
    gatewayAndVS({
      http: `  - match: [{authority: {exact: "Api.Example.com:8080"}}]
    directResponse: {status: 201}
  - match: [{authority: {prefix: "b.example.com:"}}]
    directResponse: {status: 202}
  - directResponse: {status: 200}`,
    }),
  );
  const cases: [string, number][] = [
    ["Api.Example.com:8080", 201], // as sent: case and port kept
    ["api.example.com:8080", 200], // case differs
    ["Api.Example.com", 200], // no port
    ["b.example.com:31194", 202],
    ["b.example.com", 200],
  ];
  for (const [authority, status] of cases) {
    test(`Host: ${authority} → ${status}`, () => expect(get(s, authority, "/").status).toBe(status));
  }
});

describe("header match sees repeated headers joined with ',' (as Envoy)", () => {
  const s = compileYaml(
    gatewayAndVS({
      http: `  - match: [{headers: {x-team: {exact: "a,b"}}}]
    directResponse: {status: 201}
  - match: [{headers: {x-team: {regex: ".*,c"}}}]
    directResponse: {status: 202}
  - directResponse: {status: 200}`,
    }),
  );
  const routes = routesOf(s);
  function first(raw: string): number {
    const h = new RequestHead();
    const b = Buffer.from(raw, "latin1");
    expect(parseRequestHead(b, 0, b.length, h)).toBe(0);
    const i = routes.findIndex((r) => routeMatches(r, h));
    const a = routes[i]!.action;
    return a.kind === "direct" ? a.status : 0;
  }
  test("two x-team lines a and b match exact a,b", () => {
    expect(first("GET / HTTP/1.1\r\nHost: x\r\nX-Team: a\r\nx-team: b\r\n\r\n")).toBe(201);
  });
  test("the last of three lines is seen (regex on the joined value)", () => {
    expect(first("GET / HTTP/1.1\r\nHost: x\r\nx-team: a\r\nx-team: b\r\nx-team: c\r\n\r\n")).toBe(202);
  });
  test("a single line is its own value", () => {
    expect(first("GET / HTTP/1.1\r\nHost: x\r\nx-team: a\r\n\r\n")).toBe(200);
  });
});

describe("destination headers on a weighted split", () => {
  test("each destination carries its own operations, then the route's (route set wins, as Envoy orders them), and its authority", () => {
    const s = compileYaml(
      gatewayAndVS({
        http: `  - headers:
      request: {set: {x-route: r, x-both: route}}
    route:
    - destination: {host: httpbin, subset: v1}
      weight: 90
      headers:
        request: {set: {x-dest: v1, x-both: dest, ":authority": v1.internal}, remove: [x-drop]}
        response: {add: {x-served-by: v1}}
    - destination: {host: httpbin, subset: v2}
      weight: 10`,
      }),
    );
    const a = routesOf(s)[0]!.action;
    if (a.kind !== "forward") throw new Error("not forward");
    const [v1, v2] = a.destinations;
    expect(v1!.requestHeaders).toEqual({ set: [["x-dest", "v1"], ["x-both", "dest"], ["x-route", "r"], ["x-both", "route"]], add: [], remove: ["x-drop"] });
    expect(v1!.responseHeaders).toEqual({ set: [], add: [["x-served-by", "v1"]], remove: [] });
    expect(v1!.rewriteAuthority).toBe("v1.internal");
    expect(v2!.requestHeaders).toBeUndefined();
    expect(findingLines(s).filter((l) => l.includes("weighted split"))).toEqual([]);
  });
});

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/*"]
---`;

function vs(name: string, ns: string, spec: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${ns}}
spec:
${spec}
---`;
}

describe("delegate", () => {
  const root = vs(
    "root",
    "istio-system",
    `  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    timeout: 5s
    retries: {attempts: 4, retryOn: 5xx}
    delegate: {name: api, namespace: team}
  - name: missing
    match: [{uri: {prefix: /gone}}]
    delegate: {name: nope}
  - directResponse: {status: 200}`,
  );
  const delegate = vs(
    "api",
    "team",
    `  http:
  - name: v1
    match: [{uri: {prefix: /api/v1}, headers: {x-user: {exact: a}}}]
    route: [{destination: {host: httpbin}}]
  - name: other
    match: [{uri: {prefix: /other}}]
    route: [{destination: {host: httpbin}}]
  - name: rest
    timeout: 1s
    route: [{destination: {host: httpbin}}]`,
  );
  const unused = vs("lonely", "team", "  http:\n  - route: [{destination: {host: httpbin}}]");
  const svc = HTTPBIN_SERVICE.replace("name: httpbin\nspec", "name: httpbin\n  namespace: team\nspec").replace(
    "name: httpbin-1\n  labels",
    "name: httpbin-1\n  namespace: team\n  labels",
  );
  const s = compileYaml(GATEWAY + root + delegate + unused + svc);
  const routes = routesOf(s, "shop.example.com");

  test("the delegate's routes replace the root route, matches intersected, names joined, the root's policies filling gaps", () => {
    expect(routes.map((r) => r.name)).toEqual(["api-v1", "api-rest", "root.2"]);
    const [v1, rest] = routes;
    expect(v1!.matches[0]!.uri).toEqual({ kind: "prefix", value: "/api/v1" });
    expect(v1!.matches[0]!.headers.map((h) => h.name)).toEqual(["x-user"]);
    expect(rest!.matches[0]!.uri).toEqual({ kind: "prefix", value: "/api" }); // no match of its own: the root's
    expect([v1!.timeoutMs, rest!.timeoutMs]).toEqual([5000, 1000]);
    expect([v1!.retry!.numRetries, rest!.retry!.numRetries]).toEqual([4, 4]);
    // short names resolve in the delegate's namespace
    expect(v1!.action.kind === "forward" ? v1!.action.destinations[0]!.cluster : "").toBe("outbound|8000||httpbin.team.svc.cluster.local");
  });

  test("requests route through the merge", () => {
    expect(get(s, "shop.example.com", "/api/v1/x", { headers: { "x-user": "a" } }).route).toBe("api-v1");
    expect(get(s, "shop.example.com", "/api/v1/x").route).toBe("api-rest");
    expect(get(s, "shop.example.com", "/other").route).toBe("root.2");
  });

  test("findings: a conflicting delegate route, a missing delegate, a delegate no one uses", () => {
    const lines = findingLines(s);
    expect(lines).toContain(
      "Warning GW0317 VirtualService/team/api: its match is not inside the match of VirtualService/istio-system/root http[0] that delegates to it: this route is dropped there",
    );
    expect(lines).toContain("Warning GW0315 VirtualService/istio-system/root: delegate VirtualService istio-system/nope not found (a delegate has no hosts): this http route is dropped");
    expect(lines).toContain("Info GW0318 VirtualService/team/lonely: no hosts, so it is a delegate, and no VirtualService delegates to it: it serves nothing");
    expect(lines.filter((l) => l.includes("GW0307"))).toEqual([]); // delegates are not "mesh only"
  });

  test("a delegate not exported to the root's namespace is not merged", () => {
    const hidden = delegate.replace("  http:", "  exportTo: ['.']\n  http:");
    const s2 = compileYaml(GATEWAY + root + hidden + svc);
    expect(routesOf(s2, "shop.example.com").map((r) => r.name)).toEqual(["root.2"]);
    expect(findingLines(s2).some((l) => l.startsWith("Warning GW0316 VirtualService/istio-system/root: delegate VirtualService/team/api is not exported"))).toBe(true);
  });
});

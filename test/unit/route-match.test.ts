// What compile decides about routes (gateway narrowing, merging, routes that
// can never match), through compile + trace. Route order and every match kind
// are the shared layout suite: route-precedence.cases.ts, route-layouts.test.ts.
import { describe, expect, test } from "bun:test";
import { compileYaml, findingLines, gatewayAndVS, get } from "./pipeline-helpers.ts";
import { table } from "./route-precedence.cases.ts";

describe("match.gateways and sourceLabels narrow a match entry to this gateway", () => {
  const s = table([
    "match: [{uri: {prefix: /a}, gateways: [other-gw]}]",
    "match: [{uri: {prefix: /a}, gateways: [gw]}]",
    "match: [{uri: {prefix: /b}, sourceLabels: {app: sidecar}}]",
    "match: [{uri: {prefix: /b}, sourceLabels: {istio: ingressgateway}}]",
  ]);
  test("entry for another gateway dropped", () => expect(get(s, "h", "/a").status).toBe(202));
  test("entry for other source labels dropped", () => expect(get(s, "h", "/b").status).toBe(204));
  test("dropped entries are not in the table", () => {
    expect(s.listeners[0]!.routeTable!.virtualHosts[0]!.routes.map((r) => r.action.kind === "direct" && r.action.status)).toEqual([202, 204]);
  });
});

describe("several VirtualServices for one host merge; catch-all routes move last (Istio's SortVHostRoutes)", () => {
  const vs = (name: string, ts: string, http: string) => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, creationTimestamp: "${ts}"}
spec:
  hosts: [a.example.com]
  gateways: [gw]
  http:
${http}`;
  const s = compileYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com"]
${vs("second", "2024-01-02T00:00:00Z", "  - match: [{uri: {prefix: /x}}]\n    directResponse: {status: 202}")}
${vs("first", "2024-01-01T00:00:00Z", "  - directResponse: {status: 201}")}
`);
  test("creation order first, then the catch-all last", () => {
    const routes = s.listeners[0]!.routeTable!.virtualHosts[0]!.routes;
    expect(routes.map((r) => r.source)).toEqual(["VirtualService/default/second", "VirtualService/default/first"]);
    expect(get(s, "a.example.com", "/x").status).toBe(202);
    expect(get(s, "a.example.com", "/y").status).toBe(201);
  });
});

describe("routes that can never match", () => {
  test("routes after a catch-all are dropped with a finding naming them", () => {
    const s = compileYaml(
      gatewayAndVS({
        http: `
  - route: [{destination: {host: httpbin, port: {number: 8000}}}]
  - match: [{uri: {prefix: /late}}]
    route: [{destination: {host: httpbin, port: {number: 8000}}}]`,
      }),
    );
    expect(findingLines(s).some((l) => l.startsWith("Warning GW0309") && l.includes("http[1] can never match: http[0] matches every request first"))).toBe(true);
    expect(s.findings.find((f) => f.code === "GW0309")!.field).toBe("spec.http[1]");
  });
});

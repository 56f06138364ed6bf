// istiod's own unit cases for gateway route tables, replayed through compile +
// trace (what a request would hit), not through Envoy config shapes:
// - pilot/pkg/networking/core/gateway_test.go TestGatewayHTTPRouteConfig
//   (virtual hosts of port 80/443 from merged Gateways and VirtualServices,
//   httpsRedirect merged across Gateways, case-insensitive and wildcard hosts);
// - pilot/pkg/networking/core/route/route_test.go TestBuildHTTPRoutes (catch-all
//   trimming, port and sourceLabels matches, presence matches, redirects and
//   rewrites, header operations on redirects and direct responses).
import { describe, expect, test } from "bun:test";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { trace } from "../../src/trace.ts";
import { secretYaml } from "../../src/cli/certs.ts";
import { walkthroughPki } from "../helpers/pki.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const SERVICES = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backends, namespace: default}
spec:
  hosts: [example.org, example.default.svc.cluster.local, example1.default.svc.cluster.local, example2.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 8080, name: http-alt, protocol: HTTP}, {number: 8484, name: http-8484, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---`;

const GATEWAYS: Record<string, string> = {
  "gateway-redirect": `servers: [{hosts: [example.org], port: {name: http, number: 80, protocol: HTTP}, tls: {httpsRedirect: true}}]`,
  "gateway-redirect-noroutes": `servers: [{hosts: [example.org], port: {name: http, number: 80, protocol: HTTP}, tls: {httpsRedirect: true}}]`,
  gateway: `servers: [{hosts: [example.org], port: {name: http, number: 80, protocol: HTTP}}]`,
  "case-insensitive-gateway": `servers: [{hosts: [Example.org], port: {name: http, number: 80, protocol: HTTP}}]`,
  "gateway-https": `servers:
  - {hosts: [Example.org], port: {name: http, number: 80, protocol: HTTP}, tls: {httpsRedirect: true}}
  - {hosts: [example.org], port: {name: https, number: 443, protocol: HTTPS}, tls: {mode: SIMPLE, credentialName: cred}}`,
  "gateway-https-redirect": `servers:
  - {hosts: [example.org], port: {name: http, number: 80, protocol: HTTP}, tls: {httpsRedirect: true}}
  - {hosts: [example.org], port: {name: https, number: 443, protocol: HTTPS}, tls: {httpsRedirect: true, mode: SIMPLE, credentialName: cred}}`,
  "gateway-wildcard": `servers: [{hosts: ["*"], port: {name: http, number: 80, protocol: HTTP}}]`,
};

function gateway(name: string): string {
  // gateway-https-redirect and gateway-wildcard stand for Istio's second "gateway-https" and "gateway"
  const metaName = name === "gateway-https-redirect" ? "gateway-https" : name === "gateway-wildcard" ? "gateway" : name;
  return `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${metaName}, namespace: default}
spec:
  selector: {istio: ingressgateway}
  ${GATEWAYS[name]}
---`;
}

const ROUTE_80 = `http: [{route: [{destination: {host: example.org, port: {number: 80}}}]}]`;
const VIRTUAL_SERVICES: Record<string, string> = {
  "virtual-service": `hosts: [example.org]\n  gateways: [gateway, gateway-redirect]\n  ${ROUTE_80}`,
  "virtual-service-copy": `hosts: [example.org]\n  gateways: [gateway, gateway-redirect]\n  ${ROUTE_80}`,
  "virtual-service-case-insensitive": `hosts: [Example.org]\n  gateways: [case-insensitive-gateway, gateway-redirect]\n  ${ROUTE_80}`,
  "virtual-service-wildcard": `hosts: ["*.org"]\n  gateways: [gateway, gateway-redirect]\n  ${ROUTE_80}`,
  "virtual-service-https": `hosts: [example.org]\n  gateways: [gateway-https]\n  http: [{match: [{port: 443}], route: [{destination: {host: example.default.svc.cluster.local, port: {number: 8080}}}]}]`,
};

function virtualService(name: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  ${VIRTUAL_SERVICES[name]}
---`;
}

const pki = await walkthroughPki();
const CRED = `\n${secretYaml("cred", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key)}---`;

function compile(gateways: string[], vss: string[]): Snapshot {
  return compileYaml(SERVICES + gateways.map(gateway).join("") + vss.map(virtualService).join("") + CRED);
}

describe("TestGatewayHTTPRouteConfig", () => {
  // [name, gateways, virtual services, host asked, [status on port 80, routes in its virtual host]]
  const cases: [string, string[], string[], string, number, number][] = [
    ["404 when no services", ["gateway"], [], "example.org", 404, 0],
    ["tls redirect without virtual services", ["gateway-redirect-noroutes"], ["virtual-service"], "example.org", 301, 1],
    ["virtual services with tls redirect", ["gateway-redirect"], ["virtual-service"], "example.org", 301, 1],
    ["merging of virtual services when tls redirect is set", ["gateway-redirect", "gateway"], ["virtual-service", "virtual-service-copy"], "example.org", 301, 1],
    ["reverse merging of virtual services when tls redirect is set", ["gateway", "gateway-redirect"], ["virtual-service", "virtual-service-copy"], "example.org", 301, 1],
    ["merging of virtual services when tls redirect is set without VS", ["gateway", "gateway-redirect-noroutes"], ["virtual-service", "virtual-service-copy"], "example.org", 301, 1],
    ["reverse merging of virtual services when tls redirect is set without VS", ["gateway-redirect-noroutes", "gateway"], ["virtual-service", "virtual-service-copy"], "example.org", 301, 1],
    ["add a route for a virtual service", ["gateway"], ["virtual-service"], "example.org", 200, 1],
    ["duplicate virtual service should merge", ["gateway"], ["virtual-service", "virtual-service-copy"], "example.org", 200, 2],
    ["duplicate virtual service case insensitive", ["gateway", "case-insensitive-gateway"], ["virtual-service", "virtual-service-case-insensitive"], "example.org", 200, 2],
    ["duplicate by wildcard should merge", ["gateway"], ["virtual-service", "virtual-service-wildcard"], "example.org", 200, 2],
    ["wildcard virtual service", ["gateway-wildcard"], ["virtual-service-wildcard"], "foo.org", 200, 1],
    ["http redirection not working when virtualservice not match http port (port 80)", ["gateway-https"], ["virtual-service-https"], "example.org", 301, 1],
    ["http & https redirection not working when virtualservice not match http port (port 80)", ["gateway-https-redirect"], ["virtual-service-https"], "example.org", 301, 1],
  ];
  for (const [name, gws, vss, host, status, routes] of cases) {
    test(name, () => {
      const s = compile(gws, vss);
      const r = trace(s, { port: 80, host, path: "/" });
      expect(r.status).toBe(status);
      // gangway's redirect virtual host holds its one redirect route where Envoy has require_tls and no route
      if (status !== 404) expect(r.considered.length === 0 ? 0 : s.listeners.find((l) => l.port === 80)!.routeTable!.virtualHosts.find((v) => v.name === r.virtualHost)!.routes.length).toBe(routes);
    });
  }

  test("the 443 virtual host of a port-443 match serves it (httpsRedirect on an HTTPS server changes nothing)", () => {
    for (const gws of [["gateway-https"], ["gateway-https-redirect"]]) {
      const s = compile(gws, ["virtual-service-https"]);
      const r = trace(s, { port: 443, host: "example.org", path: "/" });
      expect([r.virtualHost, r.route === null ? null : r.cluster]).toEqual(["example.org:443", "outbound|8080||example.default.svc.cluster.local"]);
    }
  });
});

function vsCompile(http: string, gwPort = 8080): Snapshot {
  return compileYaml(`${SERVICES}
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: some-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{hosts: ["*"], port: {name: http, number: ${gwPort}, protocol: HTTP}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: acme, namespace: default}
spec:
  hosts: ["*"]
  gateways: [some-gateway]
  http:
${http}
---`);
}

function routeNames(s: Snapshot, port = 8080): string[] {
  return s.listeners.find((l) => l.port === port)!.routeTable!.virtualHosts[0]!.routes.map((r) => r.name);
}

const DEST = (n: number) => `[{destination: {host: example${n}.default.svc.cluster.local, port: {number: 8484}}}]`;

describe("TestBuildHTTPRoutes", () => {
  test("for virtual service with catch all route: port match (routes after a port-8080 catch-all are dropped on 8080)", () => {
    const s = vsCompile(`  - name: route 1
    match: [{name: catch-all for 8080, port: 8080}]
    route: ${DEST(1)}
  - name: route 2
    match: [{name: header match, headers: {cookie: {exact: canary}}}]
    route: ${DEST(2)}
  - name: route 3
    route: ${DEST(1)}`);
    expect(routeNames(s)).toEqual(["route 1.catch-all for 8080"]);
    expect(trace(s, { port: 8080, host: "x", path: "/", headers: { cookie: "canary" } }).route).toBe("route 1.catch-all for 8080");
  });

  test("for virtual service with top level catch all route (a sourceLabels match that is not this gateway's is dropped)", () => {
    const s = vsCompile(`  - match: [{name: headers-only, headers: {version: {exact: v2}}, sourceLabels: {version: v1}}]
    route: ${DEST(2)}
  - route: ${DEST(1)}`);
    expect(routeNames(s).length).toBe(1);
    expect(trace(s, { port: 8080, host: "x", path: "/", headers: { version: "v2" } }).cluster).toBe("outbound|8484||example1.default.svc.cluster.local");
  });

  test("for virtual service with multi prefix catch all route (the catch-all match has other sourceLabels: only /a is left)", () => {
    const s = vsCompile(`  - match:
    - {name: catch-all, uri: {prefix: /}, sourceLabels: {matchingNoSrc: xxx}}
    - {name: specific match, uri: {prefix: /a}}
    route: ${DEST(1)}`);
    expect(trace(s, { port: 8080, host: "x", path: "/a" }).status).toBe(200);
    expect(trace(s, { port: 8080, host: "x", path: "/b" }).status).toBe(404);
  });

  test("presence matching on header: {} and regex * are present_match; withoutHeaders inverts it", () => {
    for (const m of ["{}", `{regex: "*"}`]) {
      const s = vsCompile(`  - match: [{headers: {FOO-HEADER: ${m}}}]\n    route: ${DEST(1)}`);
      expect(trace(s, { port: 8080, host: "x", path: "/", headers: { "foo-header": "" } }).status).toBe(200);
      expect(trace(s, { port: 8080, host: "x", path: "/" }).status).toBe(404);
      const w = vsCompile(`  - match: [{withoutHeaders: {FOO-HEADER: ${m}}}]\n    route: ${DEST(1)}`);
      expect(trace(w, { port: 8080, host: "x", path: "/", headers: { "foo-header": "" } }).status).toBe(404);
      expect(trace(w, { port: 8080, host: "x", path: "/" }).status).toBe(200);
    }
  });

  test("regex matching for all cases on query parameter: regex * is present_match", () => {
    const s = vsCompile(`  - match: [{queryParams: {token: {regex: "*"}}}]\n    route: ${DEST(1)}`);
    expect(trace(s, { port: 8080, host: "x", path: "/?token=" }).status).toBe(200);
    expect(trace(s, { port: 8080, host: "x", path: "/?other=1" }).status).toBe(404);
  });

  test("exact, prefix and regex matching on query parameter", () => {
    const s = vsCompile(`  - name: exact
    match: [{queryParams: {token: {exact: foo}}}]
    route: ${DEST(1)}
  - name: prefix
    match: [{queryParams: {token: {prefix: foo-}}}]
    route: ${DEST(1)}
  - name: regex
    match: [{queryParams: {token: {regex: "BAR .+?\\\\..+?\\\\..+?"}}}]
    route: ${DEST(1)}`);
    const r = (q: string) => trace(s, { port: 8080, host: "x", path: `/?${q}` }).route;
    // values are matched as sent, not percent-decoded (Envoy's QueryParamsMulti::parseQueryString)
    expect([r("token=foo"), r("token=foo-1"), r("token=BAR%20a.b.c"), r("token=fo")]).toEqual(["exact", "prefix", null, null]);
  });

  test("for invalid redirect code: the route is dropped with an Error", () => {
    const s = vsCompile(`  - redirect: {uri: example.org, authority: some-authority.default.svc.cluster.local, redirectCode: 317}`);
    expect(findingLines(s).some((l) => l.startsWith("Error") && l.includes("redirectCode 317"))).toBe(true);
    expect(trace(s, { port: 8080, host: "x", path: "/" }).status).toBe(404);
  });

  test("for redirect code / full path redirect / prefix_rewrite redirect", () => {
    const s = vsCompile(`  - match: [{uri: {prefix: /full}}]
    redirect: {uri: /replace-full-path, authority: some-authority.default.svc.cluster.local, redirectCode: 308}
  - redirect: {authority: foo.example.com, prefixRewrite: /, redirectCode: 301}`);
    const full = trace(s, { port: 8080, host: "x", path: "/full/a" });
    expect(full.status).toBe(308);
    const pre = trace(s, { port: 8080, host: "x", path: "/a/b" });
    expect(pre.status).toBe(301);
  });
});

describe("externalNameCases (routing.go) at the gateway", () => {
  const yaml = (dest: string, extra = "") => `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{hosts: ["*"], port: {name: http, number: 80, protocol: HTTP}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ext, namespace: default}
spec:
  hosts: [b-ext-se.default.svc.cluster.local]
  gateways: [gateway]
  http: [{route: [{destination: ${dest}}]}]
---
apiVersion: v1
kind: Service
metadata: {name: b-ext-se, namespace: default}
spec: {type: ExternalName, externalName: b.default.svc.cluster.local${extra}}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: 18080}], selector: {app: b}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: b-1, namespace: default, labels: {kubernetes.io/service-name: b}}
addressType: IPv4
ports: [{name: http, port: 18080}]
endpoints: [{addresses: [10.1.2.3]}]
---`;

  test("gateway: an ExternalName Service without ports, naming an in-mesh Service, is an alias of it", () => {
    const s = compileYaml(yaml("{host: b-ext-se.default.svc.cluster.local, port: {number: 80}}"));
    const r = trace(s, { port: 80, host: "b-ext-se.default.svc.cluster.local", path: "/" });
    expect([r.status, r.cluster, r.endpoints.map((e) => `${e.address}:${e.port}`)]).toEqual([200, "outbound|80||b.default.svc.cluster.local", ["10.1.2.3:18080"]]);
    expect(findingLines(s).filter((l) => l.startsWith("Warning"))).toEqual([]);
  });

  test("without a destination port: the alias's only port", () => {
    const s = compileYaml(yaml("{host: b-ext-se}", `, ports: [{name: http, port: 80}]`));
    expect(trace(s, { port: 80, host: "b-ext-se.default.svc.cluster.local", path: "/" }).cluster).toBe("outbound|80||b.default.svc.cluster.local");
  });
});

// trace(): which listener, virtual host, route and cluster a request hits, and
// why not, for every outcome.
import { describe, expect, test } from "bun:test";
import { trace } from "../../src/trace.ts";
import { compileYaml } from "./pipeline-helpers.ts";

const s = compileYaml(
  `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [httpbin.example.com, empty.example.com]
  - port: {number: 9000, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin}
spec:
  hosts: [httpbin.example.com]
  gateways: [gw]
  http:
  - name: status
    match:
    - uri: {prefix: /status}
    - uri: {prefix: /delay}
    route: [{destination: {host: httpbin, port: {number: 8000}}}]
  - name: admin
    match: [{uri: {prefix: /admin}, method: {exact: POST}, headers: {x-token: {exact: s3cret}}, queryParams: {debug: {}}}]
    directResponse: {status: 204}
  - name: moved
    match: [{uri: {exact: /old}}]
    redirect: {uri: /new}
  - name: nowhere
    match: [{uri: {prefix: /nowhere}}]
    route: [{destination: {host: nowhere, port: {number: 80}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: empty}
spec:
  hosts: [empty.example.com]
  gateways: [gw]
  http:
  - match: [{uri: {exact: /only}}]
    directResponse: {status: 200}
---
apiVersion: v1
kind: Service
metadata: {name: httpbin}
spec: {ports: [{name: http, port: 8000, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: httpbin, labels: {kubernetes.io/service-name: httpbin}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.0.0.1]}]
`,
  { portMap: new Map([[80, 18080]]) },
);

describe("trace answers", () => {
  test("forward: listener, virtual host, route, cluster and endpoints", () => {
    const t = trace(s, { port: 80, host: "httpbin.example.com:31194", path: "/delay/1?x=1" });
    expect(t).toMatchObject({
      outcome: "forward",
      status: 200,
      listener: "0.0.0.0_80",
      routeTable: "http.80",
      virtualHost: "httpbin.example.com:80",
      route: "status",
      routeIndex: 1,
      cluster: "outbound|8000||httpbin.default.svc.cluster.local",
    });
    expect(t.considered.map((c) => [c.index, c.matched, c.reason])).toEqual([
      [0, false, "path /delay/1 is not prefix /status"],
      [1, true, "matched prefix /delay"],
    ]);
    expect(t.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(["10.0.0.1:8080"]);
  });

  test("the local (mapped) port finds the listener too", () => {
    expect(trace(s, { port: 18080, host: "httpbin.example.com", path: "/status/200" }).listener).toBe("0.0.0.0_80");
  });

  test("no listener on the port → 404", () => {
    const t = trace(s, { port: 81, host: "httpbin.example.com", path: "/" });
    expect([t.outcome, t.status, t.reason]).toEqual(["no_listener", 404, "no listener on port 81 (listeners: 80, 9000)"]);
  });

  test("a TCP listener is not HTTP-routed: without a tcp route the connection is closed", () => {
    const t = trace(s, { port: 9000, host: "x", path: "/" });
    expect([t.outcome, t.status, t.listener]).toEqual(["tcp_no_route", 0, "0.0.0.0_9000"]);
  });

  test("no virtual host for the host → 404", () => {
    const t = trace(s, { port: 80, host: "other.example.com", path: "/status/200" });
    expect([t.outcome, t.status]).toEqual(["no_virtual_host", 404]);
    expect(t.reason).toBe("no virtual host for other.example.com in http.80 (domains: empty.example.com, httpbin.example.com)");
  });

  test("no route for the path → 404, each route with why not", () => {
    const t = trace(s, { port: 80, host: "httpbin.example.com", path: "/admin", method: "POST", headers: { "X-Token": "wrong" } });
    expect([t.outcome, t.status, t.virtualHost]).toEqual(["no_route", 404, "httpbin.example.com:80"]);
    expect(t.considered.map((c) => `${c.name}: ${c.reason}`)).toEqual([
      "status: path /admin is not prefix /status", // one route per match entry, as Envoy's
      "status: path /admin is not prefix /delay",
      'admin: header x-token="wrong" is not exact s3cret',
      "moved: path /admin is not exact /old",
      "nowhere: path /admin is not prefix /nowhere",
    ]);
    const t2 = trace(s, { port: 80, host: "httpbin.example.com", path: "/admin", method: "GET" });
    expect(t2.considered[2]!.reason).toBe("method GET is not exact POST");
    const t3 = trace(s, { port: 80, host: "httpbin.example.com", path: "/admin", method: "POST", headers: { "x-token": "s3cret" } });
    expect(t3.considered[2]!.reason).toBe("query parameter debug missing");
  });

  test("direct response and redirect", () => {
    const d = trace(s, { port: 80, host: "httpbin.example.com", path: "/admin?debug", method: "POST", headers: { "x-token": "s3cret" } });
    expect([d.outcome, d.status, d.route]).toEqual(["direct", 204, "admin"]);
    const r = trace(s, { port: 80, host: "httpbin.example.com", path: "/old" });
    expect([r.outcome, r.status, r.route]).toEqual(["redirect", 301, "moved"]);
  });

  test("a cluster without endpoints → 503", () => {
    const t = trace(s, { port: 80, host: "httpbin.example.com", path: "/nowhere" });
    expect([t.outcome, t.status, t.cluster]).toEqual(["no_endpoints", 503, "outbound|80||nowhere.default.svc.cluster.local"]);
    expect(t.reason).toBe("route nowhere: cluster outbound|80||nowhere.default.svc.cluster.local has no endpoints");
  });

  test("CONNECT is 404 no_route, as the worker answers it on HTTP/1.1 and HTTP/2 (Envoy: only connect_matcher routes take it)", () => {
    const t = trace(s, { port: 80, host: "empty.example.com", path: "/only", method: "CONNECT" });
    expect([t.outcome, t.status, t.reply, t.virtualHost]).toEqual(["no_route", 404, "no_route", "empty.example.com:80"]);
    expect(t.reason).toContain("connect_matcher");
  });

  test("a host whose VirtualService has no route for the path", () => {
    const t = trace(s, { port: 80, host: "empty.example.com", path: "/" });
    expect([t.outcome, t.considered.length]).toEqual(["no_route", 1]);
  });
});

describe("trace normalizes the path as the workers do (--path-normalization)", () => {
  test("an encoded or dotted path is routed as its normal form", () => {
    expect(trace(s, { port: 80, host: "httpbin.example.com", path: "/%73tatus/200" }).route).toBe("status");
    expect(trace(s, { port: 80, host: "httpbin.example.com", path: "/x/..\\old" }).route).toBe("moved");
    expect(trace(s, { port: 80, host: "httpbin.example.com", path: "/%73tatus/200", pathNormalization: "NONE" }).route).toBeNull();
  });
  test("%00 and broken escapes are 400 bad_request", () => {
    for (const path of ["/status%00", "/status/%zz"]) {
      const t = trace(s, { port: 80, host: "httpbin.example.com", path });
      expect([t.outcome, t.status]).toEqual(["bad_request", 400]);
    }
  });
});

test("an invalid Host is 400 bad_request, as the workers answer", () => {
  for (const host of ["a.example.com:@evil.com", "h:80:90", "a b"]) {
    const t = trace(s, { port: 80, host, path: "/status/200" });
    expect([t.outcome, t.status]).toEqual(["bad_request", 400]);
  }
});

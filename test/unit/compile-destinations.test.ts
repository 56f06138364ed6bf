// Destinations → clusters → endpoints: Services with EndpointSlices/Endpoints/
// WorkloadEntries, ServiceEntries, DestinationRule subsets and policies, and
// the route actions around them.
import { describe, expect, test } from "bun:test";
import type { Cluster, RouteAction } from "../../src/snapshot/types.ts";
import { compileYaml, findingLines, get } from "./pipeline-helpers.ts";

const GW = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`;

/** Gateway + a VirtualService for host a.com with `http` (indented list) + `extra` documents. */
function setup(http: string, extra: string, over: Parameters<typeof compileYaml>[1] = {}) {
  return compileYaml(`${GW}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [a.com]
  gateways: [gw]
  http:
${http}
---
${extra}`, over);
}

function cluster(s: ReturnType<typeof compileYaml>, name: string): Cluster {
  const c = s.clusters.get(name);
  if (c === undefined) throw new Error(`no cluster ${name}; have ${[...s.clusters.keys()].join(", ")}`);
  return c;
}

const addrs = (c: Cluster) => c.endpoints.map((e) => `${e.address}:${e.port}`);

const SVC = (name: string, ports: string, extra = "") => `apiVersion: v1
kind: Service
metadata: {name: ${name}${extra}}
spec:
  selector: {app: ${name}}
  ports: ${ports}
---
`;

const SLICE = (name: string, svc: string, ports: string, endpoints: string, labels = "") => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}, labels: {kubernetes.io/service-name: ${svc}${labels}}}
addressType: IPv4
ports: ${ports}
endpoints: ${endpoints}
---
`;

describe("Kubernetes Services", () => {
  test("EndpointSlice: Service port → slice port by name; not-ready endpoints left out", () => {
    const s = setup(
      "  - route: [{destination: {host: httpbin, port: {number: 8000}}}]",
      SVC("httpbin", "[{name: http, port: 8000, targetPort: 8080}, {name: metrics, port: 9000}]") +
        SLICE("s1", "httpbin", "[{name: http, port: 8080}, {name: metrics, port: 9090}]", "[{addresses: [10.0.0.1]}, {addresses: [10.0.0.2], conditions: {ready: false}}]") +
        SLICE("s2", "httpbin", "[{name: http, port: 8080}]", "[{addresses: [10.0.0.3, 10.0.0.4]}]"),
    );
    const c = cluster(s, "outbound|8000||httpbin.default.svc.cluster.local");
    expect([c.type, c.lbPolicy, c.connectTimeoutMs, c.serviceHost, c.port, c.subset]).toEqual(["EDS", "LEAST_REQUEST", 10000, "httpbin.default.svc.cluster.local", 8000, ""]);
    expect(addrs(c)).toEqual(["10.0.0.1:8080", "10.0.0.3:8080", "10.0.0.4:8080"]);
    expect(findingLines(s)).toEqual([]);
    const t = get(s, "a.com", "/");
    expect([t.outcome, t.cluster, t.endpoints.length]).toEqual(["forward", "outbound|8000||httpbin.default.svc.cluster.local", 3]);
  });

  test("Endpoints (no slices): ready addresses, port by name; unnamed single ports match", () => {
    const s = setup(
      "  - route: [{destination: {host: one}}]",
      SVC("one", "[{port: 80, targetPort: 8080}]") +
        `apiVersion: v1
kind: Endpoints
metadata: {name: one}
subsets:
- addresses: [{ip: 10.1.0.1}]
  notReadyAddresses: [{ip: 10.1.0.2}]
  ports: [{port: 8080}]
`,
    );
    // no destination port: the Service's only port
    expect(addrs(cluster(s, "outbound|80||one.default.svc.cluster.local"))).toEqual(["10.1.0.1:8080"]);
  });

  test("Service selecting WorkloadEntries (VMs): targetPort or the entry's named port", () => {
    const s = setup(
      "  - route: [{destination: {host: vm, port: {number: 80}}}]",
      SVC("vm", "[{name: http, port: 80, targetPort: 8080}]") +
        `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1}
spec: {address: 192.168.0.10, labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-2}
spec: {address: 192.168.0.11, labels: {app: vm}, ports: {http: 9080}, weight: 3}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: other}
spec: {address: 192.168.0.12, labels: {app: other}}
`,
    );
    const c = cluster(s, "outbound|80||vm.default.svc.cluster.local");
    expect(c.endpoints.map((e) => [e.address, e.port, e.weight])).toEqual([
      ["192.168.0.10", 8080, 1],
      ["192.168.0.11", 9080, 3],
    ]);
  });

  test("ExternalName Service: a DNS cluster to the external name", () => {
    const s = setup(
      "  - route: [{destination: {host: ext, port: {number: 443}}}]",
      "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec: {type: ExternalName, externalName: api.example.org, ports: [{name: https, port: 443}]}\n",
    );
    const c = cluster(s, "outbound|443||ext.default.svc.cluster.local");
    expect([c.type, addrs(c)]).toEqual(["STRICT_DNS", ["api.example.org:443"]]);
  });

  test("`name.namespace` names the Service in that namespace", () => {
    const s = setup("  - route: [{destination: {host: httpbin.web, port: {number: 8000}}}]", SVC("httpbin", "[{name: http, port: 8000}]", ", namespace: web"));
    expect([...s.clusters.keys()]).toEqual(["outbound|8000||httpbin.web.svc.cluster.local"]);
  });
});

describe("Service topology istiod acts on and gangway cannot (no node): reported, every endpoint used", () => {
  const cases: [string, string, string[]][] = [
    ["internalTrafficPolicy Local", ", internalTrafficPolicy: Local", ["spec.internalTrafficPolicy: internalTrafficPolicy Local is not applied: istiod keeps a gateway to endpoints on its own node; gangway knows no node and uses every endpoint"]],
    ["internalTrafficPolicy Cluster (the default): nothing to say", ", internalTrafficPolicy: Cluster", []],
    ["trafficDistribution PreferClose: applied (no locality here: every endpoint at priority 0)", ", trafficDistribution: PreferClose", []],
    ["trafficDistribution PreferSameNode: the node level is not", ", trafficDistribution: PreferSameNode", ["spec.trafficDistribution: traffic distribution PreferSameNode: endpoints of the gateway's network, region, zone and subzone come first, as istiod orders them; its last level, the gateway's node, is not applied (gangway knows no node)"]],
    ["trafficDistribution of another value: changes nothing", ", trafficDistribution: Elsewhere", ["spec.trafficDistribution: traffic distribution Elsewhere is none istiod acts on (PreferClose, PreferSameZone, PreferSameNode): every endpoint is used alike"]],
  ];
  for (const [name, extra, want] of cases) {
    test(name, () => {
      const svc = SVC("reviews", "[{name: http, port: 9080}]").replace("  selector: {app: reviews}\n", `  selector: {app: reviews}\n  ${extra.slice(2)}\n`);
      const s = setup("  - route: [{destination: {host: reviews}}]", svc + SLICE("r1", "reviews", "[{name: http, port: 9080}]", "[{addresses: [10.0.1.1]}, {addresses: [10.0.1.2]}]"));
      expect(s.findings.filter((f) => f.code === "GW0412").map((f) => `${f.field}: ${f.message}`)).toEqual(want);
      expect(addrs(cluster(s, "outbound|9080||reviews.default.svc.cluster.local"))).toEqual(["10.0.1.1:9080", "10.0.1.2:9080"]);
    });
  }

  test("the Service annotation networking.istio.io/traffic-distribution (istiod reads it as trafficDistribution): endpoints of the gateway's zone first", () => {
    const svc = SVC("reviews", "[{name: http, port: 9080}]", ", annotations: {networking.istio.io/traffic-distribution: PreferClose}");
    const slice = SLICE("r1", "reviews", "[{name: http, port: 9080}]", "[{addresses: [10.0.1.1], zone: z1}, {addresses: [10.0.1.2], zone: z2}]", ", topology.kubernetes.io/region: r1");
    const s = setup("  - route: [{destination: {host: reviews}}]", svc + slice, { locality: "r1/z2" });
    expect(s.findings.filter((f) => f.code === "GW0412")).toEqual([]);
    const c = cluster(s, "outbound|9080||reviews.default.svc.cluster.local");
    expect(c.endpoints.map((e) => `${e.address} ${e.locality} p${e.priority ?? 0}`)).toEqual(["10.0.1.1 r1/z1 p1", "10.0.1.2 r1/z2 p0"]);
    expect(c.localityLb).toEqual({ mode: "failoverPriority", gatewayLocality: "r1/z2", source: "Service/default/reviews trafficDistribution PreferSameZone" });
  });
});

describe("what cannot be resolved still compiles, with a finding; requests get 503", () => {
  test("unknown host", () => {
    const s = setup("  - route: [{destination: {host: nope, port: {number: 80}}}]", "");
    expect(cluster(s, "outbound|80||nope.default.svc.cluster.local").endpoints).toEqual([]);
    expect(findingLines(s)).toEqual(["Warning GW0401 VirtualService/default/vs: destination host nope.default.svc.cluster.local is no Service or ServiceEntry: requests get 503"]);
    expect(s.findings[0]!.field).toBe("spec.http[0].route[0].destination.host");
    const t = get(s, "a.com", "/");
    expect([t.outcome, t.status]).toEqual(["no_endpoints", 503]);
  });

  test("no port and several Service ports; a port the Service lacks; no endpoints", () => {
    const s = setup(
      "  - match: [{uri: {prefix: /a}}]\n    route: [{destination: {host: two}}]\n  - route: [{destination: {host: two, port: {number: 7}}}]",
      SVC("two", "[{name: a, port: 80}, {name: b, port: 81}]"),
    );
    expect(findingLines(s)).toEqual([
      "Warning GW0403 VirtualService/default/vs: destination two.default.svc.cluster.local has several ports (80, 81): give port.number; using 80",
      "Warning GW0402 VirtualService/default/vs: port 7 is not a port of Service/default/two (80, 81): requests get 503",
      "Warning GW0405 Service/default/two: cluster outbound|80||two.default.svc.cluster.local: no ready endpoint in its Endpoints/EndpointSlices (or selected WorkloadEntries) for this port: requests get 503",
    ]);
  });

  test("an EndpointSlice without its Service", () => {
    const s = setup("  - directResponse: {status: 200}", SLICE("lost", "ghost", "[{port: 80}]", "[{addresses: [10.0.0.9]}]"));
    expect(findingLines(s)).toEqual(["Warning GW0406 EndpointSlice/default/lost: names no Service: its endpoints are not used"]);
  });

  test("an FQDN EndpointSlice is not used, as istiod skips it (its addresses are names)", () => {
    const fqdn = SLICE("names", "reviews", "[{name: http, port: 9080}]", "[{addresses: [backend.example.com]}]").replace("addressType: IPv4", "addressType: FQDN");
    const s = setup("  - route: [{destination: {host: reviews}}]", SVC("reviews", "[{name: http, port: 9080}]") + fqdn);
    expect(cluster(s, "outbound|9080||reviews.default.svc.cluster.local").endpoints).toEqual([]);
    expect(s.findings.find((f) => f.code === "GW0406")).toMatchObject({ resource: "EndpointSlice/default/names", field: "addressType", message: "addressType FQDN (istiod skips FQDN EndpointSlices): its endpoints are not used" });
  });
});

describe("DestinationRule: subsets select endpoints by label; policies per cluster", () => {
  const backends =
    SVC("reviews", "[{name: http, port: 9080}]") +
    SLICE("reviews-v1", "reviews", "[{name: http, port: 9080}]", "[{addresses: [10.0.1.1]}]", ", version: v1") +
    SLICE("reviews-v2", "reviews", "[{name: http, port: 9080}]", "[{addresses: [10.0.2.1, 10.0.2.2]}]", ", version: v2") +
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {connectTimeout: 250ms}}
    outlierDetection: {consecutive5xxErrors: 3}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {simple: RANDOM}}
`;
  const s = setup(
    `  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 75}
    - {destination: {host: reviews, subset: v2}, weight: 20}
    - {destination: {host: reviews, subset: v3}, weight: 0}`,
    backends,
  );

  test("clusters per subset with the subset's endpoints and the merged policy", () => {
    const v1 = cluster(s, "outbound|9080|v1|reviews.default.svc.cluster.local");
    const v2 = cluster(s, "outbound|9080|v2|reviews.default.svc.cluster.local");
    expect([addrs(v1), v1.lbPolicy, v1.connectTimeoutMs]).toEqual([["10.0.1.1:9080"], "ROUND_ROBIN", 250]);
    expect([addrs(v2), v2.lbPolicy, v2.connectTimeoutMs]).toEqual([["10.0.2.1:9080", "10.0.2.2:9080"], "RANDOM", 250]);
    expect(v1.endpoints[0]!.labels).toEqual({ app: "reviews", "kubernetes.io/service-name": "reviews", version: "v1" });
  });

  test("weighted split: zero weights dropped, weights not adding to 100 reported", () => {
    const route = s.listeners[0]!.routeTable!.virtualHosts[0]!.routes[1]!;
    const a = route.action as Extract<RouteAction, { kind: "forward" }>;
    expect(a.destinations.map((d) => [d.subset, d.weight])).toEqual([
      ["v1", 75],
      ["v2", 20],
    ]);
    expect(a.totalWeight).toBe(95);
    expect(findingLines(s)).toContain("Warning GW0305 VirtualService/default/vs: destination weights add up to 95, not 100: used relatively");
  });

  test("outlierDetection is compiled per cluster; one that can never eject is said so", () => {
    expect(cluster(s, "outbound|9080|v2|reviews.default.svc.cluster.local").upstream?.outlier?.consecutive5xx).toBe(3);
    expect(findingLines(s)).toContain(
      "Info GW0416 DestinationRule/default/reviews: outbound|9080|v2|reviews.default.svc.cluster.local: with 2 endpoints one ejection is 50 % of the hosts, above maxEjectionPercent 10: Envoy (and gangway) never eject here; raise maxEjectionPercent to eject",
    );
  });

  test("trace follows the header match to v2", () => {
    const t = get(s, "a.com", "/", { headers: { "end-user": "jason" } });
    expect([t.routeIndex, t.cluster]).toEqual([0, "outbound|9080|v2|reviews.default.svc.cluster.local"]);
  });

  test("an undefined subset", () => {
    const s2 = setup("  - route: [{destination: {host: reviews, subset: v9}}]", backends);
    expect(findingLines(s2)).toContain('Warning GW0404 VirtualService/default/vs: subset "v9" is not defined in DestinationRule/default/reviews: requests get 503');
    expect(cluster(s2, "outbound|9080|v9|reviews.default.svc.cluster.local").endpoints).toEqual([]);
  });

  test("portLevelSettings override the rule's policy for that port", () => {
    const s3 = setup(
      "  - route: [{destination: {host: reviews}}]",
      SVC("reviews", "[{name: http, port: 9080}]") +
        `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: ROUND_ROBIN}
      connectionPool: {tcp: {connectTimeout: 1s}}
`,
    );
    const c = cluster(s3, "outbound|9080||reviews.default.svc.cluster.local");
    expect([c.lbPolicy, c.connectTimeoutMs]).toEqual(["ROUND_ROBIN", 1000]);
  });
});

describe("DestinationRule workloadSelector (Istio's SidecarScope.DestinationRule)", () => {
  const dr = (name: string, ns: string, lb: string, selector = "") => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${ns}}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: ${lb}}}
${selector === "" ? "" : `  workloadSelector: {matchLabels: ${selector}}\n`}---
`;
  const lb = (rules: string) => cluster(setup("  - route: [{destination: {host: reviews}}]", SVC("reviews", "[{name: http, port: 9080}]") + rules), "outbound|9080||reviews.default.svc.cluster.local").lbPolicy;
  const cases: [string, string, string][] = [
    ["selecting this gateway's labels, in its namespace: applies", dr("sel", "istio-system", "ROUND_ROBIN", "{istio: ingressgateway}"), "ROUND_ROBIN"],
    ["empty matchLabels selects every workload of its namespace", dr("sel", "istio-system", "ROUND_ROBIN", "{}"), "ROUND_ROBIN"],
    ["other labels: not applied", dr("sel", "istio-system", "ROUND_ROBIN", "{app: other}"), "LEAST_REQUEST"],
    ["another namespace: never (not exported)", dr("sel", "default", "ROUND_ROBIN", "{istio: ingressgateway}"), "LEAST_REQUEST"],
    ["a matching one replaces the namespace's rule without selector", dr("all", "istio-system", "RANDOM") + dr("sel", "istio-system", "ROUND_ROBIN", "{istio: ingressgateway}"), "ROUND_ROBIN"],
    ["a rule without selector applies when the selector does not match", dr("all", "istio-system", "RANDOM") + dr("sel", "istio-system", "ROUND_ROBIN", "{app: other}"), "RANDOM"],
  ];
  for (const [name, rules, want] of cases) test(name, () => expect<string>(lb(rules)).toBe(want));
});

describe("ServiceEntry", () => {
  test("STATIC: endpoints with named ports, labels and weights; subsets by label", () => {
    const s = setup(
      "  - route: [{destination: {host: db.internal, port: {number: 5432}, subset: primary}}]",
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.internal]
  ports: [{number: 5432, name: pg, protocol: TCP}]
  resolution: STATIC
  endpoints:
  - {address: 10.9.0.1, ports: {pg: 15432}, labels: {role: primary}, weight: 2}
  - {address: 10.9.0.2, labels: {role: replica}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db}
spec:
  host: db.internal
  subsets: [{name: primary, labels: {role: primary}}]
`,
    );
    const c = cluster(s, "outbound|5432|primary|db.internal");
    expect([c.type, c.endpoints.map((e) => [e.address, e.port, e.weight])]).toEqual(["STATIC", [["10.9.0.1", 15432, 2]]]);
  });

  test("DNS without endpoints: the host itself; with workloadSelector: the selected WorkloadEntries", () => {
    const s = setup(
      "  - match: [{uri: {prefix: /ext}}]\n    route: [{destination: {host: httpbin.org}}]\n  - route: [{destination: {host: vms.example}}]",
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vms}
spec:
  hosts: [vms.example]
  ports: [{number: 80, name: http, targetPort: 8080}]
  resolution: STATIC
  workloadSelector: {labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1}
spec: {address: 192.168.1.1, labels: {app: vm}}
`,
    );
    const ext = cluster(s, "outbound|80||httpbin.org");
    expect([ext.type, addrs(ext)]).toEqual(["STRICT_DNS", ["httpbin.org:80"]]);
    expect(addrs(cluster(s, "outbound|80||vms.example"))).toEqual(["192.168.1.1:8080"]);
  });
});

describe("route actions", () => {
  const s = setup(
    `  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: b.com, redirectCode: 302}
  - match: [{uri: {prefix: /port}}]
    redirect: {scheme: https, port: 443}
  - match: [{uri: {prefix: /teapot}}]
    directResponse: {status: 418, body: {string: "short and stout"}}
  - match: [{uri: {prefix: /api}}]
    rewrite: {uri: /v2, authority: backend.internal}
    timeout: 2.5s
    headers:
      request: {set: {X-Env: prod, Host: ignored.com}, add: {x-add: "1"}, remove: [x-secret]}
      response: {set: {cache-control: no-store}, remove: [server]}
    route: [{destination: {host: httpbin.org}}]
    mirror: {host: shadow}`,
    "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext}\nspec: {hosts: [httpbin.org], ports: [{number: 80, name: http}], resolution: DNS}\n",
  );
  const routes = s.listeners[0]!.routeTable!.virtualHosts[0]!.routes;

  test("redirect: uri, authority, code; default port dropped for the scheme", () => {
    expect(routes[0]!.action).toEqual({ kind: "redirect", status: 302, scheme: null, authority: "b.com", port: 0, uri: "/new", prefixRewrite: null });
    expect(routes[1]!.action).toEqual({ kind: "redirect", status: 301, scheme: "https", authority: null, port: 0, uri: null, prefixRewrite: null });
    expect(get(s, "a.com", "/old/x").status).toBe(302);
  });

  test("directResponse", () => {
    expect(routes[2]!.action).toEqual({ kind: "direct", status: 418, body: "short and stout", bytes: null });
  });

  test("rewrite, timeout, header operations (Host set is the authority rewrite, as Istio)", () => {
    const r = routes[3]!;
    expect(r.action).toMatchObject({ kind: "forward", rewriteUri: "/v2", rewriteAuthority: "backend.internal" });
    expect(r.timeoutMs).toBe(2500);
    expect(r.requestHeaders).toEqual({ set: [["x-env", "prod"]], add: [["x-add", "1"]], remove: ["x-secret"] });
    expect(r.responseHeaders).toEqual({ set: [["cache-control", "no-store"]], add: [], remove: ["server"] });
    expect(r.mirrors).toEqual([{ cluster: "outbound|80||shadow.default.svc.cluster.local", host: "shadow.default.svc.cluster.local", port: 80, subset: "", perMillion: 1_000_000 }]);
  });
});

describe("istiod's auto mTLS (endpoints labelled security.istio.io/tlsMode: istio), which gangway does not do", () => {
  const labelled = ", security.istio.io/tlsMode: istio";
  const slice = SLICE("r1", "reviews", "[{name: http, port: 9080}]", "[{addresses: [10.0.1.1]}]", labelled);
  test("a Service cluster without DestinationRule tls: a Warning naming the cluster (plaintext is sent)", () => {
    const s = setup("  - route: [{destination: {host: reviews}}]", SVC("reviews", "[{name: http, port: 9080}]") + slice);
    expect(findingLines(s).filter((l) => l.includes("GW0407"))).toEqual([
      "Warning GW0407 Service/default/reviews: outbound|9080||reviews.default.svc.cluster.local: 1 endpoint is labelled security.istio.io/tlsMode: istio (or a WorkloadEntry with a serviceAccount), to which istiod's auto mTLS sends ISTIO_MUTUAL; gangway has no auto mTLS and sends plaintext (a DestinationRule tls mode ISTIO_MUTUAL, with --mesh-certs, originates it)",
    ]);
  });
  test("none with a DestinationRule tls, without the label, or to a MESH_EXTERNAL ServiceEntry", () => {
    const dr = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec: {host: reviews, trafficPolicy: {tls: {mode: DISABLE}}}\n---\n";
    const withRule = setup("  - route: [{destination: {host: reviews}}]", SVC("reviews", "[{name: http, port: 9080}]") + slice + dr);
    const plain = setup("  - route: [{destination: {host: reviews}}]", SVC("reviews", "[{name: http, port: 9080}]") + SLICE("r1", "reviews", "[{name: http, port: 9080}]", "[{addresses: [10.0.1.1]}]"));
    const se = (location: string) =>
      `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext}\nspec: {hosts: [ext.example.com], location: ${location}, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], endpoints: [{address: 10.0.2.1, labels: {security.istio.io/tlsMode: istio}}]}\n---\n`;
    const external = setup("  - route: [{destination: {host: ext.example.com}}]", se("MESH_EXTERNAL"));
    const internal = setup("  - route: [{destination: {host: ext.example.com}}]", se("MESH_INTERNAL"));
    for (const s of [withRule, plain, external]) expect(findingLines(s).filter((l) => l.includes("auto mTLS"))).toEqual([]);
    expect(findingLines(internal).filter((l) => l.includes("auto mTLS")).length).toBe(1);
  });
  test("a ServiceEntry endpoint with a serviceAccount and no label counts (istiod's getTLSModeFromWorkloadEntry), one labelled disabled does not", () => {
    const se = (ep: string) =>
      `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: vm}\nspec: {hosts: [vm.example.com], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], endpoints: [${ep}]}\n---\n`;
    const withSa = setup("  - route: [{destination: {host: vm.example.com}}]", se("{address: 10.0.2.1, serviceAccount: vm}"));
    const disabled = setup("  - route: [{destination: {host: vm.example.com}}]", se("{address: 10.0.2.1, serviceAccount: vm, labels: {security.istio.io/tlsMode: disabled}}"));
    expect(findingLines(withSa).filter((l) => l.includes("auto mTLS")).length).toBe(1);
    expect(findingLines(disabled).filter((l) => l.includes("auto mTLS"))).toEqual([]);
  });
});

describe("ServiceEntry resolution DYNAMIC_DNS (a valid Istio value; Envoy's dynamic forward proxy)", () => {
  test("is accepted, and reported as not supported: the cluster has no endpoint (503), the rest is served", () => {
    const se = `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: dyn}\nspec: {hosts: ["*.example.org"], resolution: DYNAMIC_DNS, ports: [{number: 80, name: http, protocol: HTTP}]}\n---\n`;
    const s = setup("  - route: [{destination: {host: '*.example.org', port: {number: 80}}}]", se);
    expect(s.findings.filter((f) => f.level === "Error")).toEqual([]);
    expect(findingLines(s)).toEqual([
      "Warning GW0407 ServiceEntry/default/dyn: resolution DYNAMIC_DNS (a dynamic forward proxy resolving each request's host) is not supported by gangway: outbound|80||*.example.org gets 503 (use DNS with the host names)",
    ]);
    expect(cluster(s, "outbound|80||*.example.org").endpoints).toEqual([]);
    expect(get(s, "a.com", "/").status).toBe(503);
  });
});

describe("ServiceEntry resolution NONE at a gateway (istiod falls back to EDS: gateways cannot use passthrough clusters)", () => {
  const se = (selector: string) =>
    `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: none}\nspec: {hosts: [legacy.internal], resolution: NONE, ports: [{number: 80, name: http, protocol: HTTP}]${selector}}\n---\n` +
    `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: vm1}\nspec: {address: 10.0.3.1, labels: {app: legacy}}\n---\n`;
  test("with a workloadSelector: the WorkloadEntries it picks are the endpoints, no finding", () => {
    const s = setup("  - route: [{destination: {host: legacy.internal, port: {number: 80}}}]", se(", workloadSelector: {labels: {app: legacy}}"));
    expect(addrs(cluster(s, "outbound|80||legacy.internal"))).toEqual(["10.0.3.1:80"]);
    expect(findingLines(s)).toEqual([]);
  });
  test("without one: no address (Warning GW0407), 503", () => {
    const s = setup("  - route: [{destination: {host: legacy.internal, port: {number: 80}}}]", se(""));
    expect(cluster(s, "outbound|80||legacy.internal").endpoints).toEqual([]);
    expect(findingLines(s).filter((l) => l.includes("GW0407"))).toEqual(["Warning GW0407 ServiceEntry/default/none: resolution NONE has no address a gateway can send to: outbound|80||legacy.internal gets 503 (use STATIC or DNS)"]);
  });
});

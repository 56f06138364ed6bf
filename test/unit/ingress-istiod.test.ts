// gangway's Ingress routing against istiod's own Ingress tests (istio/istio
// pilot/pkg/config/kube/ingress: conversion_test.go with testdata/*.yaml.golden,
// controller_test.go, status_test.go). The inputs are small ones written for
// each case's semantics; `istiod` is the backend istiod's generated
// VirtualService sends the request to (its golden order, prefixes as Envoy's
// path_separated_prefix), `gangway` where gangway answers otherwise, with why
// (README, "Kubernetes Ingress"). Notes: /work/notes/istioing.md.
import { beforeAll, describe, expect, test } from "bun:test";
import { secretYaml } from "../../src/cli/certs.ts";
import { EMPTY_MESH } from "../../src/decode/meshconfig.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { findingLines, get } from "./pipeline-helpers.ts";
import { backend, compileIngress, ingress, ingressClass, served, services } from "./ingress-helpers.ts";

/** istiod's harness runs in DEFAULT mode (its inputs carry no class). */
const DEFAULT = { ingressMode: "default" as const };
const path = (p: string, type: string, svc: string, port: number | string = 8080) => `      - {path: "${p}", pathType: ${type}, backend: ${backend(svc, port)}}`;
const rule = (host: string, paths: string[]) => `  - ${host === "" ? "" : `host: "${host}"\n    `}http:\n      paths:\n${paths.join("\n")}`;
const rules = (...r: string[]) => `  rules:\n${r.join("\n")}`;

interface Row {
  host?: string;
  path: string;
  istiod: string | number;
  /** gangway's answer where it differs, and why. */
  gangway?: { got: string | number; why: string };
}

function table(name: string, yaml: () => string, rows: Row[], over = DEFAULT): void {
  describe(name, () => {
    for (const r of rows) {
      const want = r.gangway?.got ?? r.istiod;
      test(`${r.host ?? "a.example"}${r.path} → istiod ${r.istiod}${r.gangway ? `, gangway ${r.gangway.got} (${r.gangway.why})` : ""}`, () => {
        expect(served(compileIngress(yaml(), over), r.host ?? "a.example", r.path)).toBe(want);
      });
    }
  });
}

// testdata/simple.yaml: every path form on one host. ImplementationSpecific as
// istiod's fallback (`P.*`, `P/*` → prefix P; else exact), Exact, Prefix, with and
// without a trailing slash.
const SIMPLE = () =>
  services(["is-path", "is-sub", "is-sub-slash", "is-dotstar", "is-star", "is-slashstar", "ex-sub", "ex-sub-slash", "pre-sub", "pre-sub-slash"], "ns") +
  ingress(
    "simple",
    rules(
      rule("a.example", [
        path("/path", "ImplementationSpecific", "is-path"),
        path("/sub/path", "ImplementationSpecific", "is-sub"),
        path("/sub/path/", "ImplementationSpecific", "is-sub-slash"),
        path("/dotstar.*", "ImplementationSpecific", "is-dotstar"),
        path("/star*", "ImplementationSpecific", "is-star"),
        path("/slashstar/*", "ImplementationSpecific", "is-slashstar"),
        path("/sub/path", "Exact", "ex-sub"),
        path("/sub/path/", "Exact", "ex-sub-slash"),
        path("/sub/path", "Prefix", "pre-sub"),
        path("/sub/path/", "Prefix", "pre-sub-slash"),
      ]),
    ),
    { namespace: "ns" },
  );
const SLASH = "a Prefix path's trailing slash does not make it longer: Kubernetes ignores it, and Exact wins at equal length; istiod sorts by the written length";
table("simple.yaml.golden: path forms", SIMPLE, [
  { path: "/path", istiod: "is-path" },
  { path: "/path/", istiod: 404 },
  { path: "/pathx", istiod: 404 },
  { path: "/sub/path/", istiod: "is-sub-slash" },
  { path: "/sub/path", istiod: "pre-sub-slash", gangway: { got: "is-sub", why: SLASH } },
  { path: "/sub/path/x", istiod: "pre-sub-slash", gangway: { got: "pre-sub", why: "equal Prefix paths keep their order; " + SLASH } },
  { path: "/sub/pathx", istiod: 404 },
  { path: "/dotstar", istiod: "is-dotstar" },
  { path: "/dotstar/x", istiod: "is-dotstar" },
  { path: "/dotstarx", istiod: 404 },
  { path: "/star*", istiod: "is-star" },
  { path: "/star", istiod: 404 },
  { path: "/starx", istiod: 404 },
  { path: "/slashstar", istiod: "is-slashstar" },
  { path: "/slashstar/x/y", istiod: "is-slashstar" },
  { path: "/slashstarx", istiod: 404 },
  { path: "/", istiod: 404 },
]);

// testdata/overlay.yaml: two Ingresses for one host (no timestamps: name order),
// the first with a path-less rule (every path), the second `/second`.
table(
  "overlay.yaml.golden: one host in two Ingresses",
  () =>
    services(["all", "second"], "ns") +
    ingress("one", rules(rule("a.example", [`      - {pathType: ImplementationSpecific, backend: ${backend("all")}}`])), { namespace: "ns" }) +
    ingress("two", rules(rule("a.example", [path("/second", "ImplementationSpecific", "second")])), { namespace: "ns" }),
  [
    { path: "/second", istiod: "second" },
    { path: "/second/", istiod: "all" },
    { path: "/secondx", istiod: "all" },
    { path: "/", istiod: "all" },
  ],
);

// conversion_test.go TestConversion: two Ingresses merged for one host, longest
// path first, Exact before Prefix; `/x.*`, `/x/*` → prefix; `/*` → every path.
table(
  "TestConversion: merged Ingresses, sort, wildcard forms",
  () =>
    services(["t", "tfoo", "t2", "tfb-prefix", "tfb-exact", "t1", "tslash", "all"], "mock") +
    ingress(
      "mock1",
      rules(
        rule("a.example", [path("/test", "ImplementationSpecific", "t"), path("/test/foo", "Prefix", "tfoo")]),
        rule("b.example", [path("/test1.*", "ImplementationSpecific", "t1")]),
        rule("c.example", [path("/test/*", "ImplementationSpecific", "tslash")]),
        rule("d.example", [path("/*", "ImplementationSpecific", "all")]),
      ),
      { namespace: "mock" },
    ) +
    ingress("mock2", rules(rule("a.example", [path("/test2", "ImplementationSpecific", "t2"), path("/test/foo/bar", "Prefix", "tfb-prefix"), path("/test/foo/bar", "Exact", "tfb-exact")])), {
      namespace: "mock",
    }),
  [
    { path: "/test/foo/bar", istiod: "tfb-exact" },
    { path: "/test/foo/bar/x", istiod: "tfb-prefix" },
    { path: "/test/foo/x", istiod: "tfoo" },
    { path: "/test/foo", istiod: "tfoo" },
    { path: "/test2", istiod: "t2" },
    { path: "/test", istiod: "t" },
    { path: "/test/", istiod: 404 },
    { host: "b.example", path: "/test1", istiod: "t1" },
    { host: "b.example", path: "/test1/a", istiod: "t1" },
    { host: "b.example", path: "/test12", istiod: 404 },
    { host: "c.example", path: "/test", istiod: "tslash" },
    { host: "c.example", path: "/test/a", istiod: "tslash" },
    { host: "d.example", path: "/anything", istiod: "all" },
  ],
);

// Merge order is creation time, then name, then namespace (sortRulesByCreationTimestamp);
// an equal path in two Ingresses goes to the older one whatever the names say.
table(
  "one host in several Ingresses: creation time first, then name, then namespace",
  () =>
    services(["old", "young"], "x") +
    services(["by-name-a", "by-name-b"], "y") +
    services(["ns-a"], "a-ns") +
    services(["ns-b"], "b-ns") +
    ingress("zzz", rules(rule("a.example", [path("/p", "Prefix", "old")])), { namespace: "x", annotations: {}, created: "2024-01-01T00:00:00Z" }) +
    ingress("aaa", rules(rule("a.example", [path("/p", "Prefix", "young")])), { namespace: "x", annotations: {}, created: "2024-01-01T00:00:01Z" }) +
    ingress("b", rules(rule("b.example", [path("/p", "Prefix", "by-name-b")])), { namespace: "y", annotations: {}, created: "2024-01-01T00:00:00Z" }) +
    ingress("a", rules(rule("b.example", [path("/p", "Prefix", "by-name-a")])), { namespace: "y", annotations: {}, created: "2024-01-01T00:00:00Z" }) +
    ingress("same", rules(rule("c.example", [path("/p", "Prefix", "ns-b")])), { namespace: "b-ns", annotations: {}, created: "2024-01-01T00:00:00Z" }) +
    ingress("same", rules(rule("c.example", [path("/p", "Prefix", "ns-a")])), { namespace: "a-ns", annotations: {}, created: "2024-01-01T00:00:00Z" }),
  [
    { path: "/p", istiod: "old" },
    { host: "b.example", path: "/p", istiod: "by-name-a" },
    { host: "c.example", path: "/p", istiod: "ns-a" },
  ],
);

// A rule without host is the `*` host: every Host without its own rules, never a
// host that has them (its other paths are 404, as Envoy's virtual hosts).
table(
  "a rule without host",
  () => services(["star", "own"]) + ingress("i", rules(rule("", [path("/s", "Prefix", "star")]), rule("a.example", [path("/own", "Prefix", "own")])), { annotations: {} }),
  [
    { host: "z.example", path: "/s", istiod: "star" },
    { host: "10.1.2.3", path: "/s/x", istiod: "star" },
    { path: "/own", istiod: "own" },
    { path: "/s", istiod: 404 },
  ],
);

// Backends: port by number, by name (resolved through the Service, TestNamedPortIngressConversion),
// a name the Service lacks or a missing Service (the path is dropped), a `resource` backend (dropped),
// a number the Service lacks or a missing Service with a port number (routed, 503).
table(
  "backends: port number, port name, unresolved name, resource",
  () =>
    services(["num", "named"], "mock") +
    ingress(
      "i",
      rules(
        rule("a.example", [
          path("/num", "Prefix", "num", 8080),
          path("/named", "Prefix", "named", "http"),
          path("/badname", "Prefix", "named", "nope"),
          path("/nosvc", "Prefix", "ghost", "http"),
          path("/ghost", "Prefix", "ghost", 80),
          path("/noport", "Prefix", "num", 81),
          `      - {path: /res, pathType: Prefix, backend: {resource: {apiGroup: k8s.example.com, kind: StorageBucket, name: b}}}`,
          path("/", "Prefix", "num"),
        ]),
      ),
      { namespace: "mock" },
    ),
  [
    { path: "/num", istiod: "num" },
    { path: "/named", istiod: "named" },
    { path: "/badname", istiod: "num" },
    { path: "/nosvc", istiod: "num" },
    { path: "/res", istiod: "num" },
    // a port number is taken as written: a cluster with no endpoint (Envoy: no such cluster), 503
    { path: "/ghost", istiod: 503 },
    { path: "/noport", istiod: 503 },
  ],
);

describe("backends: the resolved port", () => {
  test("a named port is the Service's port number (TestNamedPortIngressConversion: 8888), and follows a change of it (TestIngressControllerWithPortName)", () => {
    const svc = (port: number) => `---\napiVersion: v1\nkind: Service\nmetadata: {name: foo, namespace: mock}\nspec: {ports: [{name: test-svc-port, port: ${port}, targetPort: test-port}]}\n`;
    const ing = ingress("i", rules(rule("host.example", [path("/test/*", "ImplementationSpecific", "foo", "test-svc-port")])), { namespace: "mock" });
    for (const port of [8888, 8090]) expect(get(compileIngress(svc(port) + ing, DEFAULT), "host.example", "/test/x").cluster).toBe(`outbound|${port}||foo.mock.svc.cluster.local`);
  });

  test("each path's Service is looked up in its own Ingress's namespace when Ingresses of two namespaces share a host", () => {
    const s = compileIngress(
      services(["svc"], "one") + services(["svc"], "two") + ingress("i", rules(rule("a.example", [path("/one", "Prefix", "svc")])), { namespace: "one" }) + ingress("j", rules(rule("a.example", [path("/two", "Prefix", "svc")])), { namespace: "two" }),
      DEFAULT,
    );
    expect([get(s, "a.example", "/one").cluster, get(s, "a.example", "/two").cluster]).toEqual(["outbound|8080||svc.one.svc.cluster.local", "outbound|8080||svc.two.svc.cluster.local"]);
  });
});

// conversion_test.go TestIngressClass: shouldProcessIngressWithClass, by mode.
describe("TestIngressClass: which Ingresses are served", () => {
  const cases: [mode: "default" | "strict" | "off", annotation: string, cls: "" | "istio" | "other", istiod: boolean][] = [
    ["default", "nginx", "", false],
    ["strict", "nginx", "", false],
    ["off", "istio", "", false],
    ["default", "istio", "", true],
    ["strict", "istio", "", true],
    ["default", "", "", true],
    ["strict", "", "", false],
    ["default", "", "other", false],
    ["strict", "", "other", false],
    ["default", "", "istio", true],
    ["strict", "", "istio", true],
    // Kubernetes refuses both set when they differ; istiod lets the annotation decide
    ["strict", "nginx", "istio", false],
    ["strict", "istio", "other", true],
  ];
  for (const [mode, annotation, cls, want] of cases) {
    test(`mode ${mode}, annotation ${annotation || "-"}, ingressClassName ${cls || "-"} → ${want ? "served" : "not served"}`, () => {
      const spec = `${cls === "" ? "" : `  ingressClassName: ${cls}\n`}${rules(rule("a.example", [path("/", "Prefix", "d")]))}`;
      const yaml = services(["d"]) + ingressClass("istio", "istio.io/ingress-controller") + ingressClass("other", "example.com/other") + ingress("i", spec, { annotations: annotation === "" ? {} : { "kubernetes.io/ingress.class": annotation } });
      expect(served(compileIngress(yaml, { ingressMode: mode }), "a.example", "/")).toBe(want ? "d" : 404);
    });
  }

  test("DEFAULT mode, ingressClassName naming no IngressClass: istiod serves it (no class found counts as none); gangway does not (README: the conformance ingress_class feature)", () => {
    const ing = ingress("i", `  ingressClassName: missing\n${rules(rule("a.example", [path("/", "Prefix", "d")]))}`, { annotations: {} });
    expect(served(compileIngress(services(["d"]) + ing, DEFAULT), "a.example", "/")).toBe(404);
  });

  test("status_test.go: ingressClassName naming a class that does not exist yet is not served (STRICT); once the IngressClass exists it is", () => {
    const ing = ingress("i", `  ingressClassName: istio\n${rules(rule("a.example", [path("/", "Prefix", "d")]))}`, { annotations: {} });
    expect(served(compileIngress(services(["d"]) + ing), "a.example", "/")).toBe(404);
    expect(served(compileIngress(services(["d"]) + ing + ingressClass("istio", "istio.io/ingress-controller")), "a.example", "/")).toBe("d");
  });
});

// TLS (testdata/tls.yaml, tls-no-secret.yaml) and where the Secret is read from.
describe("TLS: tls.yaml, tls-no-secret.yaml, and the Secret's namespace", () => {
  let pki: WalkthroughPki;
  beforeAll(async () => {
    pki = await walkthroughPki();
  });
  const secret = (name: string, ns: string) => "---\n" + secretYaml(name, ns, "tls", pki.httpbin.cert, pki.httpbin.key);
  const tlsIngress = (secretName: string | null, ns = "bar") =>
    ingress("tls", `${secretName === null ? "  tls: [{hosts: [foo.example]}]" : `  tls: [{hosts: [foo.example], secretName: "${secretName}"}]`}\n${rules(rule("foo.example", [path("/*", "ImplementationSpecific", "httpbin", 80)]))}`, {
      namespace: ns,
    });
  const httpbin = (ns = "bar") => `---\napiVersion: v1\nkind: Service\nmetadata: {name: httpbin, namespace: ${ns}}\nspec: {ports: [{name: http, port: 80}]}\n`;
  const on443 = (yaml: string) => get(compileIngress(yaml, DEFAULT), "foo.example", "/any", { port: 443 });

  test("tls.yaml: a Secret in the gateway namespace (where istiod's gateway reads it) serves the host on 443, and on 80", () => {
    const s = compileIngress(httpbin() + secret("myingress-cert", "istio-system") + tlsIngress("myingress-cert"), DEFAULT);
    expect(get(s, "foo.example", "/any", { port: 443 }).cluster).toBe("outbound|80||httpbin.bar.svc.cluster.local");
    expect(get(s, "foo.example", "/any").cluster).toBe("outbound|80||httpbin.bar.svc.cluster.local");
  });

  test("tls-no-secret.yaml: a tls entry without secretName makes no 443 server; port 80 routes", () => {
    const s = compileIngress(httpbin() + tlsIngress(null), DEFAULT);
    expect(s.listeners.map((l) => l.port)).toEqual([80]);
    expect(get(s, "foo.example", "/any").cluster).toBe("outbound|80||httpbin.bar.svc.cluster.local");
    expect(findingLines(s)).toContain("Warning GW0503 Ingress/bar/tls: tls entry without secretName: not served on 443");
  });

  test("the Secret in the Ingress's namespace: served (istiod reads only the gateway's namespace; the Kubernetes Ingress puts it beside the Ingress)", () => {
    expect(on443(httpbin() + secret("c", "bar") + tlsIngress("c")).outcome).toBe("no_endpoints");
  });

  test("the Secret in a third namespace: not found, the host fails the handshake (as istiod)", () => {
    const t = on443(httpbin() + secret("c", "elsewhere") + tlsIngress("c"));
    expect(t.outcome).toBe("handshake_failed");
  });

  for (const name of ["elsewhere/c", "kubernetes://elsewhere/c", "istio-system/c", "kubernetes://c", "C"]) {
    test(`secretName "${name}" (not a Secret name; the API server refuses it, istiod's SDS would refuse a namespace): the handshake fails, Error`, () => {
      const s = compileIngress(httpbin() + secret("c", "elsewhere") + secret("c", "istio-system") + secret("c", "bar") + tlsIngress(name), DEFAULT);
      expect(get(s, "foo.example", "/any", { port: 443 }).outcome).toBe("handshake_failed");
      expect(findingLines(s).some((l) => l.startsWith("Error GW0601 Ingress/bar/tls:") && l.includes("is not a Secret name"))).toBe(true);
    });
  }
});

// status_test.go: the loadBalancer addresses written on each Ingress served.
describe("status_test.go: Ingress status.loadBalancer", () => {
  const svc = (name: string, extra = "", status = "") => `---\napiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: istio-system}\nspec: {ports: [{name: http2, port: 80}]${extra}}\n${status}`;
  const lbIp = (ip: string) => `status: {loadBalancer: {ingress: [{ip: "${ip}"}]}}\n`;
  const ing = (spec = rules(rule("a.example", [path("/", "Prefix", "d")])), annotations: Record<string, string> = { "kubernetes.io/ingress.class": "istio" }) => services(["d"]) + ingress("ingress", spec, { annotations });
  const meshOf = (ingressService: string) => ({ mesh: { ...EMPTY_MESH, ingressService } });
  const lb = (yaml: string, over: Parameters<typeof compileIngress>[1] = {}) =>
    (compileIngress(yaml, over).gatewayStatus ?? []).filter((i) => i.kind === "Ingress").map((i) => `${i.metadata.namespace}/${i.metadata.name} ${JSON.stringify(i.status.loadBalancer)}`);

  test("the ingressService's load balancer IP (TestStatusController, testRunningAddressesWithService)", () => {
    expect(lb(svc("istio-ingress", "", lbIp("1.2.3.4")) + ing(), meshOf("istio-ingress"))).toEqual(['default/ingress {"ingress":[{"ip":"1.2.3.4"}]}']);
  });

  test("a changed IP is reported; a removed Service leaves no address (istiod), where gangway listens when it knows (README)", () => {
    expect(lb(svc("istio-ingress", "", lbIp("5.6.7.8")) + ing(), meshOf("istio-ingress"))).toEqual(['default/ingress {"ingress":[{"ip":"5.6.7.8"}]}']);
    expect(lb(ing(), meshOf("istio-ingress"))).toEqual(["default/ingress {}"]);
    const listen = { ...meshOf("istio-ingress"), listenAddresses: ["127.0.0.2", "::1"] };
    expect(lb(ing(), listen)).toEqual(['default/ingress {"ingress":[{"ip":"127.0.0.2"},{"ip":"::1"}]}']);
    // the Service's addresses win over where gangway listens
    expect(lb(svc("istio-ingress", "", lbIp("5.6.7.8")) + ing(), listen)).toEqual(['default/ingress {"ingress":[{"ip":"5.6.7.8"}]}']);
  });

  test("an Ingress not served (class removed; ingressClassName of a missing IngressClass) has no status; the IngressClass makes it served", () => {
    expect(lb(svc("istio-ingress", "", lbIp("5.6.7.8")) + ing(undefined, {}), meshOf("istio-ingress"))).toEqual([]);
    const named = `  ingressClassName: istio\n${rules(rule("a.example", [path("/", "Prefix", "d")]))}`;
    expect(lb(svc("istio-ingress", "", lbIp("5.6.7.8")) + ing(named, {}), meshOf("istio-ingress"))).toEqual([]);
    expect(lb(svc("istio-ingress", "", lbIp("5.6.7.8")) + ing(named, {}) + ingressClass("istio", "istio.io/ingress-controller"), meshOf("istio-ingress"))).toEqual(['default/ingress {"ingress":[{"ip":"5.6.7.8"}]}']);
  });

  test("a load balancer hostname (testRunningAddressesWithHostname)", () => {
    expect(lb(svc("istio-ingress-hostname", "", "status: {loadBalancer: {ingress: [{hostname: foo.bar.com}]}}\n") + ing(), meshOf("istio-ingress-hostname"))).toEqual(['default/ingress {"ingress":[{"hostname":"foo.bar.com"}]}']);
  });

  test("default ingressService istio-ingressgateway; externalIPs after the load balancer's; IPs before hostnames, each sorted", () => {
    const s = svc("istio-ingressgateway", ", externalIPs: [192.0.2.9]", "status: {loadBalancer: {ingress: [{hostname: z.example}, {ip: 203.0.113.7}, {hostname: a.example}]}}\n");
    expect(lb(s + ing())).toEqual(['default/ingress {"ingress":[{"ip":"192.0.2.9"},{"ip":"203.0.113.7"},{"hostname":"a.example"},{"hostname":"z.example"}]}']);
  });

  test("an ExternalName Service: its externalName", () => {
    expect(lb(`---\napiVersion: v1\nkind: Service\nmetadata: {name: istio-ingressgateway, namespace: istio-system}\nspec: {type: ExternalName, externalName: gw.example.net}\n` + ing())).toEqual(['default/ingress {"ingress":[{"hostname":"gw.example.net"}]}']);
  });

  test('ingressService "" (testRunningAddressesWithPod): istiod reports its gateway pods\' node IPs; gangway reads no Pods or Nodes and reports where it listens', () => {
    expect(lb(svc("istio-ingressgateway", "", lbIp("1.2.3.4")) + ing(), meshOf(""))).toEqual(["default/ingress {}"]);
    expect(lb(svc("istio-ingressgateway", "", lbIp("1.2.3.4")) + ing(), { ...meshOf(""), listenAddresses: ["192.0.2.10"] })).toEqual(['default/ingress {"ingress":[{"ip":"192.0.2.10"}]}']);
  });
});

describe("two Ingresses with TLS for one host", () => {
  test("the 443 server of the Ingress first by name is kept (istiod's derived Gateways have no creation time: name order, CheckDuplicates drops the later); the older Ingress's rules route there", async () => {
    const pki = await walkthroughPki();
    const sec = (n: string) => "---\n" + secretYaml(n, "default", "tls", pki.httpbin.cert, pki.httpbin.key);
    const r = (svc: string, s: string) => `  tls: [{hosts: [a.example], secretName: ${s}}]\n${rules(rule("a.example", [path("/", "Prefix", svc)]))}`;
    const cls = { "kubernetes.io/ingress.class": "istio" };
    const s = compileIngress(services(["old", "young"]) + sec("s-old") + sec("s-young") + ingress("zzz", r("old", "s-old"), { annotations: cls, created: "2024-01-01T00:00:00Z" }) + ingress("aaa", r("young", "s-young"), { annotations: cls, created: "2024-01-02T00:00:00Z" }));
    const chains = s.listeners.find((l) => l.port === 443)!.tls!.chains.map((c) => c.credential);
    expect(chains).toEqual(["default/s-young"]);
    expect(findingLines(s)).toContain("Error GW0202 Ingress/default/zzz: host a.example already served on port 443 by an earlier TLS server: server dropped");
    // istiod binds a.example's VirtualService to zzz's Gateway only: 404 on aaa's server (README: routed here)
    expect(served(s, "a.example", "/", { port: 443 })).toBe("old");
  });
});

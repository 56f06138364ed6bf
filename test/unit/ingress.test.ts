// Kubernetes Ingress → routes: the walkthrough's Ingress, path types (the
// conformance path_rules tables and Istio's ImplementationSpecific rules), and
// rules for one host merged across Ingresses.
import { describe, expect, test } from "bun:test";
import { compileYaml, findingLines, get, HTTPBIN_SERVICE } from "./pipeline-helpers.ts";
import { backend, ingress, served, services } from "./ingress-helpers.ts";

describe("walkthrough: Ingress with the istio class annotation (v1beta1, /status/*)", () => {
  const s = compileYaml(
    HTTPBIN_SERVICE +
      ingress(
        "ingress",
        `  rules:
  - host: httpbin.example.com
    http:
      paths:
      - path: /status/*
        backend: {serviceName: httpbin, servicePort: 8000}`,
        { annotations: { "kubernetes.io/ingress.class": "istio" }, api: "networking.k8s.io/v1beta1" },
      ),
  );
  const cases: [string, string, number][] = [
    ["httpbin.example.com", "/status/200", 200],
    ["httpbin.example.com", "/status", 200],
    ["httpbin.example.com:31194", "/status/418", 200],
    ["httpbin.example.com", "/statusx", 404],
    ["httpbin.example.com", "/headers", 404],
    ["other.example.com", "/status/200", 404],
  ];
  for (const [host, path, status] of cases) test(`${host}${path} → ${status}`, () => expect(get(s, host, path).status).toBe(status));

  test("port 80 listener from the Ingress, cluster as for a VirtualService, no findings", () => {
    expect(s.listeners.map((l) => [l.name, l.sources])).toEqual([["0.0.0.0_80", ["Ingress/default/ingress#0"]]]);
    expect(get(s, "httpbin.example.com", "/status/200").cluster).toBe("outbound|8000||httpbin.default.svc.cluster.local");
    expect(findingLines(s)).toEqual([]);
  });

  test("extensions/v1beta1 reads the same", () => {
    const e = compileYaml(
      HTTPBIN_SERVICE +
        ingress("i", "  rules:\n  - http:\n      paths:\n      - {path: /get, backend: {serviceName: httpbin, servicePort: http}}", {
          annotations: { "kubernetes.io/ingress.class": "istio" },
          api: "extensions/v1beta1",
        }),
    );
    expect(get(e, "any", "/get").cluster).toBe("outbound|8000||httpbin.default.svc.cluster.local");
    expect(get(e, "any", "/get/x").status).toBe(404); // no pathType, no `/*`: exact
  });
});

// kubernetes-sigs/ingress-controller-conformance features/path_rules.feature, as a table
describe("conformance path_rules: Exact, Prefix, mixed, trailing slashes", () => {
  const p = (path: string, type: string, svc: string) => `      - {path: ${path}, pathType: ${type}, backend: ${backend(svc)}}`;
  const s = compileYaml(
    services(["foo-exact", "foo-prefix", "aaa-slash-bbb-prefix", "aaa-prefix", "aaa-slash-bbb-slash-prefix", "foo-slash-exact"]) +
      ingress(
        "path-rules",
        [
          "  rules:",
          "  - host: exact-path-rules\n    http:\n      paths:",
          p("/foo", "Exact", "foo-exact"),
          "  - host: prefix-path-rules\n    http:\n      paths:",
          p("/foo", "Prefix", "foo-prefix"),
          p("/aaa/bbb", "Prefix", "aaa-slash-bbb-prefix"),
          p("/aaa", "Prefix", "aaa-prefix"),
          "  - host: mixed-path-rules\n    http:\n      paths:",
          p("/foo", "Prefix", "foo-prefix"),
          p("/foo", "Exact", "foo-exact"),
          "  - host: trailing-slash-path-rules\n    http:\n      paths:",
          p("/aaa/bbb/", "Prefix", "aaa-slash-bbb-slash-prefix"),
          p("/foo/", "Exact", "foo-slash-exact"),
        ].join("\n"),
      ),
  );
  const cases: [string, string, string | number][] = [
    ["exact-path-rules", "/foo", "foo-exact"],
    ["exact-path-rules", "/foo/", 404],
    ["exact-path-rules", "/FOO", 404],
    ["exact-path-rules", "/bar", 404],
    ["prefix-path-rules", "/foo", "foo-prefix"],
    ["prefix-path-rules", "/foo/", "foo-prefix"],
    ["prefix-path-rules", "/FOO", 404],
    ["prefix-path-rules", "/aaa/bbb", "aaa-slash-bbb-prefix"],
    ["prefix-path-rules", "/aaa/bbb/ccc", "aaa-slash-bbb-prefix"],
    ["prefix-path-rules", "/aaa/ccc", "aaa-prefix"],
    ["prefix-path-rules", "/aaaccc", 404],
    ["mixed-path-rules", "/foo", "foo-exact"],
    ["mixed-path-rules", "/foo/", "foo-prefix"],
    ["trailing-slash-path-rules", "/aaa/bbb", "aaa-slash-bbb-slash-prefix"],
    ["trailing-slash-path-rules", "/aaa/bbb/", "aaa-slash-bbb-slash-prefix"],
    ["trailing-slash-path-rules", "/foo", 404],
    ["trailing-slash-path-rules", "/foo/", "foo-slash-exact"],
  ];
  for (const [host, path, want] of cases) test(`${host}${path} → ${want}`, () => expect(served(s, host, path)).toBe(want));
});

describe("ImplementationSpecific (and no pathType): Istio's rules", () => {
  const names = ["all", "star", "prefix", "dotstar", "exact"];
  const s = compileYaml(
    services(names) +
      ingress(
        "is",
        `  rules:
  - host: a.com
    http:
      paths:
      - {path: "/*", pathType: ImplementationSpecific, backend: ${backend("all")}}
  - host: b.com
    http:
      paths:
      - {path: "/api/*", pathType: ImplementationSpecific, backend: ${backend("prefix")}}
      - {path: "/v1.*", pathType: ImplementationSpecific, backend: ${backend("dotstar")}}
      - {path: "/exact", pathType: ImplementationSpecific, backend: ${backend("exact")}}
  - host: c.com
    http:
      paths:
      - {path: "", pathType: ImplementationSpecific, backend: ${backend("star")}}`,
      ),
  );
  const cases: [string, string, string | number][] = [
    ["a.com", "/", "all"],
    ["a.com", "/anything/at/all", "all"],
    ["c.com", "/x", "star"],
    ["b.com", "/api", "prefix"],
    ["b.com", "/api/x", "prefix"],
    ["b.com", "/apix", 404],
    ["b.com", "/v1", "dotstar"],
    ["b.com", "/v1/users", "dotstar"],
    ["b.com", "/exact", "exact"],
    ["b.com", "/exact/x", 404],
  ];
  for (const [host, path, want] of cases) test(`${host}${path} → ${want}`, () => expect(served(s, host, path)).toBe(want));
});

describe("one host in several Ingresses: merged in creation order, longest path first", () => {
  const s = compileYaml(
    services(["b1", "b2", "b3", "b4", "b5"]) +
      services(["b6"], "other") +
      ingress(
        "one",
        `  rules:
  - host: a.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: ${backend("b1")}}
      - {path: /app/, pathType: Prefix, backend: ${backend("b2")}}
      - {path: /app/exact, pathType: Exact, backend: ${backend("b3")}}`,
        { annotations: { "kubernetes.io/ingress.class": "istio" }, created: "2024-01-01T00:00:00Z" },
      ) +
      ingress(
        "two",
        `  rules:
  - host: a.com
    http:
      paths:
      - {path: /app/long.*, pathType: ImplementationSpecific, backend: ${backend("b4")}}
      - {path: /app/exact, pathType: Prefix, backend: ${backend("b5")}}
      - {path: /app/exact, pathType: Exact, backend: ${backend("b6")}}`,
        { annotations: { "kubernetes.io/ingress.class": "istio" }, created: "2024-01-02T00:00:00Z" },
      ) +
      ingress(
        "three",
        `  rules:
  - host: a.com
    http:
      paths:
      - {path: /app/exact/deeper, pathType: Exact, backend: ${backend("b6")}}
      - {path: /missing, pathType: Exact, backend: ${backend("nowhere")}}`,
        { namespace: "other", annotations: { "kubernetes.io/ingress.class": "istio" }, created: "2024-01-03T00:00:00Z" },
      ),
  );
  const cases: [string, string | number][] = [
    ["/app/exact", "b3"], // exact beats a prefix of the same length; the older Ingress's first
    ["/app/exact/x", "b5"],
    ["/app/exact/deeper", "b6"], // from namespace other: its own Service
    ["/app/longer", "b2"], // /app/long is a path-element prefix
    ["/app/long/x", "b4"],
    ["/app", "b2"], // Prefix /app/ matches /app
    ["/apple", "b1"],
    ["/", "b1"],
  ];
  for (const [path, want] of cases) test(`a.com${path} → ${want}`, () => expect(served(s, "a.com", path)).toBe(want));

  test("each route names the Ingress it came from; findings name the right Ingress", () => {
    const vh = s.listeners[0]!.routeTable!.virtualHosts[0]!;
    expect(vh.routes.map((r) => `${r.name} ${r.source}`)).toEqual([
      "three.0.0 Ingress/other/three",
      "one.0.2 Ingress/default/one",
      "two.0.2 Ingress/default/two",
      "two.0.1 Ingress/default/two",
      "two.0.1 Ingress/default/two",
      "two.0.0 Ingress/default/two",
      "two.0.0 Ingress/default/two",
      "three.0.1 Ingress/other/three",
      "one.0.1 Ingress/default/one",
      "one.0.1 Ingress/default/one",
      "one.0.0 Ingress/default/one",
    ]);
    // b6 lives in namespace other: Ingress two (default) names a Service that is not there
    expect(findingLines(s)).toEqual([
      "Warning GW0401 Ingress/default/two: destination host b6.default.svc.cluster.local is no Service or ServiceEntry: requests get 503",
      "Warning GW0401 Ingress/other/three: destination host nowhere.other.svc.cluster.local is no Service or ServiceEntry: requests get 503",
    ]);
  });
});

describe("another ingress controller's annotations", () => {
  test("each one on a served Ingress is a Warning naming it (GW0503): istiod reads none; the class annotation and others' keys are not", () => {
    const s = compileYaml(
      HTTPBIN_SERVICE +
        ingress("i", "  rules:\n  - http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: httpbin, port: {number: 8000}}}}", {
          annotations: {
            "kubernetes.io/ingress.class": "istio",
            "nginx.ingress.kubernetes.io/rewrite-target": "/",
            "nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8",
            "cert-manager.io/cluster-issuer": "letsencrypt",
          },
        }),
    );
    expect(get(s, "any", "/get").cluster).toBe("outbound|8000||httpbin.default.svc.cluster.local");
    expect(findingLines(s)).toEqual([
      "Warning GW0503 Ingress/default/i: annotation nginx.ingress.kubernetes.io/rewrite-target is another ingress controller's: neither istiod nor gangway reads it, it changes nothing (a VirtualService or AuthorizationPolicy does it the Istio way)",
      "Warning GW0503 Ingress/default/i: annotation nginx.ingress.kubernetes.io/whitelist-source-range is another ingress controller's: neither istiod nor gangway reads it, it changes nothing (a VirtualService or AuthorizationPolicy does it the Istio way)",
    ]);
  });
});

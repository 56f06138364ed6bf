// Ingress defaultBackend, hosts (exact, one-label wildcards, single labels),
// backends resolved through their Service, and TLS servers on 443.
import { beforeAll, describe, expect, test } from "bun:test";
import { secretYaml } from "../../src/cli/certs.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { findingLines, get } from "./pipeline-helpers.ts";
import { backend, compileIngress, ingress, ISTIO_CLASS, served, services } from "./ingress-helpers.ts";

const prefix = (path: string, svc: string) => `      - {path: ${path}, pathType: Prefix, backend: ${backend(svc)}}`;

describe("defaultBackend (honoured; Istio ignores it: istio/istio #43566)", () => {
  test("an Ingress with only a defaultBackend takes every host, path and method (conformance default_backend)", () => {
    const s = compileIngress(services(["echo-service"], "conformance") + ingress("default-backend", `  defaultBackend: ${backend("echo-service")}`, { namespace: "conformance", annotations: ISTIO_CLASS }));
    for (const [method, host, path] of [["GET", "my-host", "/"], ["GET", "my-host", "/sub-path"], ["POST", "some-host", "/"], ["PUT", "127.0.0.1", "/resource"], ["DELETE", "some-host", "/resource"], ["PATCH", "my-host", "/resource"]]) {
      expect(served(s, host!, path!, { method })).toBe("echo-service");
    }
    expect(findingLines(s)).toEqual([]);
  });

  test("v1beta1 spec.backend is the default backend too", () => {
    const s = compileIngress(services(["d"]) + ingress("i", "  backend: {serviceName: d, servicePort: 8080}", { annotations: ISTIO_CLASS, api: "networking.k8s.io/v1beta1" }));
    expect(served(s, "x", "/y")).toBe("d");
  });

  const s = compileIngress(
    services(["d-old", "d-new", "a", "w", "star"]) +
      ingress("old", `  defaultBackend: ${backend("d-old")}`, { annotations: ISTIO_CLASS, created: "2024-01-01T00:00:00Z" }) +
      ingress(
        "new",
        `  defaultBackend: ${backend("d-new")}
  rules:
  - host: a.com
    http:
      paths:
${prefix("/a", "a")}
  - host: "*.w.com"
    http:
      paths:
${prefix("/w", "w")}`,
        { annotations: ISTIO_CLASS, created: "2024-01-02T00:00:00Z" },
      ) +
      ingress("plain", `  rules:\n  - host: b.com\n    http:\n      paths:\n${prefix("/b", "a")}\n  - http:\n      paths:\n${prefix("/star", "star")}`, {
        annotations: ISTIO_CLASS,
        created: "2024-01-03T00:00:00Z",
      }),
  );
  const cases: [string, string, string | number][] = [
    ["a.com", "/a/x", "a"],
    ["a.com", "/other", "d-new"], // its Ingress's own default backend
    ["x.w.com", "/other", "d-new"],
    ["b.com", "/b", "a"],
    ["b.com", "/other", "d-old"], // no default in its Ingress: the oldest default backend
    ["b.com", "/star", "d-old"], // a host with rules does not fall into the rules without host
    ["unknown.com", "/star/1", "star"],
    ["unknown.com", "/other", "d-old"],
    ["y.x.w.com", "/w", "d-old"], // deeper than one label: not the *.w.com rules ...
    ["y.x.w.com", "/star", "star"], // ... but the rules without host
  ];
  for (const [host, path, want] of cases) test(`${host}${path} → ${want}`, () => expect(served(s, host, path)).toBe(want));
});

describe("hosts: exact, and *.foo.com covering one DNS label (conformance host_rules)", () => {
  const s = compileIngress(
    services(["wildcard-foo-com", "foo-bar-com", "single", "star"]) +
      ingress(
        "host-rules",
        `  rules:
  - host: "*.foo.com"
    http:
      paths:
${prefix("/", "wildcard-foo-com")}
  - host: foo.bar.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: ${backend("foo-bar-com", "http")}}
  - host: single-label
    http:
      paths:
${prefix("/", "single")}`,
      ),
  );
  const cases: [string, string | number][] = [
    ["foo.bar.com", "foo-bar-com"],
    ["FOO.bar.com:8080", "foo-bar-com"],
    ["subdomain.bar.com", 404],
    ["bar.foo.com", "wildcard-foo-com"],
    ["baz.bar.foo.com", 404],
    ["foo.com", 404],
    ["single-label", "single"], // taken literally, not as a Service short name (Istio would resolve it)
  ];
  for (const [host, want] of cases) test(`${host} → ${want}`, () => expect(served(s, host, "/")).toBe(want));

  test("a deeper name falls through to the rules without host", () => {
    const t = compileIngress(
      services(["w", "star"]) + ingress("i", `  rules:\n  - host: "*.foo.com"\n    http:\n      paths:\n${prefix("/", "w")}\n  - http:\n      paths:\n${prefix("/s", "star")}`),
    );
    expect([served(t, "a.foo.com", "/s"), served(t, "a.b.foo.com", "/s"), served(t, "a.b.foo.com", "/x")]).toEqual(["w", "star", 404]);
    // and a one-label host the wildcard owns does not: its other paths are 404
    const u = compileIngress(
      services(["w", "star"]) + ingress("i", `  rules:\n  - host: "*.foo.com"\n    http:\n      paths:\n${prefix("/w", "w")}\n  - http:\n      paths:\n${prefix("/s", "star")}`),
    );
    expect([served(u, "a.foo.com", "/w"), served(u, "a.foo.com", "/s"), served(u, "a.b.foo.com", "/s")]).toEqual(["w", 404, "star"]);
  });

  test("a VirtualService sharing *.foo.com keeps the Gateway's any-depth semantics", () => {
    const t = compileIngress(
      services(["w"]) +
        ingress("i", `  rules:\n  - host: "*.foo.com"\n    http:\n      paths:\n${prefix("/i", "w")}`) +
        `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*.foo.com"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ["*.foo.com"]
  gateways: [gw]
  http: [{match: [{uri: {prefix: /vs}}], directResponse: {status: 299}}]
`,
    );
    expect([served(t, "a.foo.com", "/i"), served(t, "a.b.foo.com", "/i"), served(t, "a.b.foo.com", "/vs")]).toEqual(["w", 404, 299]);
  });
});

describe("backends: service.port.number or .name, serviceName/servicePort", () => {
  test("named ports resolve through the Service; unknown names and missing Services skip the path", () => {
    const s = compileIngress(
      services(["httpbin"]) +
        ingress(
          "i",
          `  rules:
  - http:
      paths:
      - {path: /a, pathType: Exact, backend: ${backend("httpbin", "http")}}
      - {path: /b, pathType: Exact, backend: ${backend("httpbin", "grpc")}}
      - {path: /c, pathType: Exact, backend: ${backend("gone", "http")}}
      - {path: /d, pathType: Exact, backend: ${backend("gone", 80)}}
      - {path: /e, pathType: Exact, backend: ${backend("httpbin", 9999)}}`,
        ),
    );
    expect(get(s, "h", "/a").cluster).toBe("outbound|8080||httpbin.default.svc.cluster.local");
    expect([served(s, "h", "/b"), served(s, "h", "/c")]).toEqual([404, 404]);
    expect([get(s, "h", "/d").status, get(s, "h", "/e").status]).toEqual([503, 503]);
    expect(findingLines(s)).toEqual([
      'Warning GW0502 Ingress/default/i: Service default/httpbin has no port named "grpc": skipped',
      'Warning GW0502 Ingress/default/i: Service default/gone not found: port "http" cannot be resolved: skipped',
      "Warning GW0401 Ingress/default/i: destination host gone.default.svc.cluster.local is no Service or ServiceEntry: requests get 503",
      "Warning GW0402 Ingress/default/i: port 9999 is not a port of Service/default/httpbin (8080): requests get 503",
    ]);
    expect(s.findings.find((f) => f.code === "GW0502")?.field).toBe("spec.rules[0].http.paths[1].backend");
  });

  test("a resource backend is not supported: skipped with a finding", () => {
    const s = compileIngress(ingress("i", "  defaultBackend: {resource: {apiGroup: k8s.example.com, kind: StorageBucket, name: static}}"));
    expect(findingLines(s)).toContain("Warning GW0503 Ingress/default/i: a backend without a service (resource backend) is not supported: skipped");
  });
});

describe("TLS: each tls[] serves its hosts on 443 with its Secret", () => {
  let pki: WalkthroughPki;
  beforeAll(async () => {
    pki = await walkthroughPki();
  });
  const secret = (name: string, ns: string) => "---\n" + secretYaml(name, ns, "tls", pki.httpbin.cert, pki.httpbin.key);
  const tlsRule = (host: string, svc: string, secretName: string) =>
    `  tls: [{hosts: [${host}], secretName: ${secretName}}]\n  rules:\n  - host: ${host}\n    http:\n      paths:\n${prefix("/", svc)}`;

  test("the Secret from the Ingress's namespace, else the gateway's; HTTP stays on 80", () => {
    const s = compileIngress(
      services(["a"], "apps") +
        services(["b"]) +
        secret("a-cert", "apps") +
        secret("b-cert", "istio-system") +
        ingress("a", tlsRule("a.com", "a", "a-cert"), { namespace: "apps", annotations: ISTIO_CLASS }) +
        ingress("b", tlsRule("b.com", "b", "b-cert")),
    );
    expect(s.listeners.map((l) => [l.port, l.protocol])).toEqual([[80, "HTTP"], [443, "HTTPS"]]);
    expect([served(s, "a.com", "/", { port: 443 }), served(s, "b.com", "/", { port: 443 }), served(s, "a.com", "/")]).toEqual(["a", "b", "a"]);
    expect([...s.credentials.keys()].sort()).toEqual(["apps/a-cert", "istio-system/b-cert"]);
  });

  test("a missing Secret: its hosts fail the handshake, with a finding on the Ingress", () => {
    const s = compileIngress(services(["a"]) + ingress("i", tlsRule("a.com", "a", "nowhere")));
    const t = get(s, "a.com", "/", { port: 443 });
    expect(t.outcome).toBe("handshake_failed");
    expect(findingLines(s).some((l) => l.startsWith("Error GW0601 Ingress/default/i:") && l.includes("nowhere"))).toBe(true);
    expect(served(s, "a.com", "/")).toBe("a");
  });

  test("TLS in a later Ingress for a host whose rules are in an older one: routed (Istio would 404)", () => {
    const s = compileIngress(
      services(["a", "w"]) +
        secret("c", "default") +
        ingress("rules", `  rules:\n  - host: a.com\n    http:\n      paths:\n${prefix("/", "a")}\n  - host: "*.w.com"\n    http:\n      paths:\n${prefix("/", "w")}`, {
          annotations: ISTIO_CLASS,
          created: "2024-01-01T00:00:00Z",
        }) +
        ingress("certs", "  tls: [{hosts: [a.com, x.w.com], secretName: c}]", { annotations: ISTIO_CLASS, created: "2024-01-02T00:00:00Z" }),
    );
    expect([served(s, "a.com", "/", { port: 443 }), served(s, "x.w.com", "/", { port: 443 })]).toEqual(["a", "w"]);
    expect(get(s, "b.com", "/", { port: 443 }).outcome).toBe("handshake_failed"); // no chain for that name
  });

  test("a TLS name answers as port 80 does: a host rule without paths leaves it to the rules without host", () => {
    const s = compileIngress(services(["star"]) + secret("c", "default") + ingress("i", `  tls: [{hosts: [a.com], secretName: c}]\n  rules:\n  - host: a.com\n  - http:\n      paths:\n${prefix("/s", "star")}`));
    expect([served(s, "a.com", "/s"), served(s, "a.com", "/s", { port: 443 })]).toEqual(["star", "star"]);
  });

  test("tls without hosts covers every host of the Ingresses", () => {
    const s = compileIngress(services(["a", "d"]) + secret("c", "default") + ingress("i", `  tls: [{secretName: c}]\n  defaultBackend: ${backend("d")}\n  rules:\n  - host: a.com\n    http:\n      paths:\n${prefix("/a", "a")}`));
    expect([served(s, "a.com", "/a", { port: 443 }), served(s, "a.com", "/x", { port: 443 }), served(s, "z.com", "/", { port: 443 })]).toEqual(["a", "d", "d"]);
  });
});

// Gateway API → snapshot and status, case by case (decode defaults, hostname
// intersection, weights, what gangway cannot serve yet, certificate refs,
// namespace selectors, GRPCRoute, TCPRoute, class and --gateway selection).
import { describe, expect, test } from "bun:test";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue } from "../../src/certs/generate.ts";
import { intersectHostname } from "../../src/compile/gatewayapi/attach.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import type { StatusItem } from "../../src/snapshot/status.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { trace } from "../../src/trace.ts";
import { compileYaml, decodeOk } from "./pipeline-helpers.ts";
import { ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";

const CLASS = ISTIO_GATEWAY_CLASS;

function gateway(listeners: string, name = "gw", ns = "default"): string {
  return `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: ${ns}}
spec:
  gatewayClassName: istio
  listeners:
${listeners}`;
}

const HTTP = gateway("  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}\n");

function service(name: string, ns = "default", extra = ""): string {
  return `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {ports: [{name: http, port: 8080${extra}}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: ${ns}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{name: http, port: 9000}]
`;
}

function route(spec: string, name = "r", ns = "default", kind = "HTTPRoute", apiVersion = "gateway.networking.k8s.io/v1"): string {
  return `---
apiVersion: ${apiVersion}
kind: ${kind}
metadata: {name: ${name}, namespace: ${ns}}
spec:
${spec}`;
}

function item(s: Snapshot, kind: string, name: string): StatusItem {
  const it = (s.gatewayStatus ?? []).find((i) => i.kind === kind && i.metadata.name === name);
  if (it === undefined) throw new Error(`no status for ${kind} ${name}`);
  return it;
}

function reasons(s: Snapshot, kind: string, name: string): string[] {
  return item(s, kind, name).status.parents![0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
}

const get = (s: Snapshot, path: string, headers: Record<string, string> = {}) => trace(s, { port: 80, host: "example.com", path, headers });
const grpc = (s: Snapshot, path: string, headers: Record<string, string> = {}, random?: number) =>
  trace(s, { port: 80, host: "example.com", path, method: "POST", headers: { "content-type": "application/grpc", ...headers }, random });

describe("decode", () => {
  test("defaults: parentRef group/kind/namespace, backendRef kind and weight, redirect 302, a rule without matches is PathPrefix /", () => {
    // a redirect and backendRefs in one rule: the API server refuses it (the CRD's CEL), so two rules
    const [r] = decodeOk(route("  parentRefs: [{name: gw}]\n  rules:\n  - filters: [{type: RequestRedirect, requestRedirect: {hostname: x.org}}]\n  - backendRefs: [{name: s, port: 80}]\n", "r", "ns1"));
    expect(r!.kind).toBe("HTTPRoute");
    const spec = r!.spec as unknown as { parentRefs: unknown[]; rules: { matches: unknown[]; backendRefs: unknown[]; filters: { requestRedirect: { statusCode: number } }[] }[] };
    expect(spec.parentRefs[0]).toMatchObject({ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "ns1", name: "gw" });
    expect(spec.rules[0]!.matches).toEqual([{ path: { type: "PathPrefix", value: "/" }, headers: [], queryParams: [], method: "" }]);
    expect(spec.rules[1]!.backendRefs[0]).toMatchObject({ group: "", kind: "Service", namespace: "ns1", weight: 1 });
    expect(spec.rules[0]!.filters[0]!.requestRedirect.statusCode).toBe(302);
  });

  test("a Namespace carries kubernetes.io/metadata.name; TLSRoute and TCPRoute in their alpha versions and v1", () => {
    const rs = decodeOk(`apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {env: prod}}\n` +
      route("  rules: [{backendRefs: [{name: s, port: 443}]}]\n", "t1", "default", "TLSRoute", "gateway.networking.k8s.io/v1alpha2") +
      // TLSRoute v1 requires hostnames (the published schema, Gateway API v1.6.1)
      route("  hostnames: [t2.example.com]\n  rules: [{backendRefs: [{name: s, port: 443}]}]\n", "t2", "default", "TLSRoute", "gateway.networking.k8s.io/v1") +
      route("  rules: [{backendRefs: [{name: s, port: 3000}]}]\n", "t3", "default", "TCPRoute", "gateway.networking.k8s.io/v1alpha3"));
    expect(rs.map((r) => r.kind)).toEqual(["Namespace", "TLSRoute", "TLSRoute", "TCPRoute"]);
    expect(rs[0]!.metadata.labels).toEqual({ env: "prod", "kubernetes.io/metadata.name": "team-a" });
  });

  test("malformed fields are errors naming the field: a regex RE2 rejects, a relative path, a bad enum", () => {
    const { errors } = decodeFiles([{ path: "r.yaml", text: route("  rules:\n  - matches: [{path: {type: RegularExpression, value: '(?<=a)b'}}, {path: {type: Exact, value: rel}}, {headers: [{type: Fuzzy, name: a, value: b}]}]\n") }]);
    expect(errors.map((e) => [e.code, e.field])).toEqual([
      ["GW0107", "spec.rules[0].matches[0].path.value"],
      ["GW0106", "spec.rules[0].matches[1].path.value"],
      ["GW0106", "spec.rules[0].matches[2].headers[0].type"],
    ]);
  });
  test("Gateway addresses as the API server admits them: no type is IPAddress (an IP value), Hostname values of valid characters, each value once (the CRD's CEL)", () => {
    const errs = (addresses: string) => decodeFiles([{ path: "g.yaml", text: HTTP.replace("  gatewayClassName: istio\n", `  gatewayClassName: istio\n  addresses: ${addresses}\n`) }]).errors.map((e) => `${e.field}: ${e.message}`);
    expect(errs("[{value: 10.0.0.1}, {value: '::1'}, {type: Hostname, value: '*.gw.example.com'}, {type: NamedAddress, value: Any_Name}, {type: IPAddress}]")).toEqual([]);
    expect(errs("[{value: istio-ingressgateway}]")).toEqual([
      'spec.addresses[0].value: "istio-ingressgateway" is not an IP address (type IPAddress, the default when type is not written; type Hostname or NamedAddress for a name)',
    ]);
    expect(errs("[{type: Hostname, value: Bad_Host}]")).toEqual([expect.stringMatching(/^spec\.addresses\[0\]\.value: Hostname value must be empty or contain only valid characters/)]);
    expect(errs("[{value: 10.0.0.1}, {type: IPAddress, value: 10.0.0.1}, {type: Hostname, value: a.example.com}, {type: Hostname, value: a.example.com}]")).toEqual([
      'spec.addresses[1].value: IPAddress values must be unique: "10.0.0.1" is written twice',
      'spec.addresses[3].value: Hostname values must be unique: "a.example.com" is written twice',
    ]);
  });
});

describe("hostname intersection", () => {
  const cases: [string, string, string | null][] = [
    ["", "a.example.com", "a.example.com"],
    ["a.example.com", "a.example.com", "a.example.com"],
    ["*.example.com", "a.example.com", "a.example.com"],
    ["*.example.com", "a.b.example.com", "a.b.example.com"],
    ["*.example.com", "example.com", null],
    ["a.example.com", "*.example.com", "a.example.com"],
    ["*.foo.example.com", "*.example.com", "*.foo.example.com"],
    ["*.example.com", "*.foo.example.com", "*.foo.example.com"],
    ["a.example.com", "b.example.com", null],
    ["*.example.com", "*.example.org", null],
  ];
  for (const [listener, route, want] of cases) test(`${listener || "(none)"} ∩ ${route} = ${want}`, () => expect(intersectHostname(listener, route)).toBe(want));
});

describe("conversion and status", () => {
  test("weights become shares adding up to 100 (no weight finding); one invalid backendRef answers 500 for its share only", () => {
    const s = compileYaml(CLASS + HTTP + service("a") + service("b") + service("c") + route("  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: a, port: 8080}, {name: b, port: 8080}, {name: c, port: 8080}, {name: missing, port: 8080, weight: 2}]}]\n"));
    const t = get(s, "/");
    expect(t.destinations.map((d) => [d.cluster.split("|")[3] || "(500)", d.weight])).toEqual([
      ["a.default.svc.cluster.local", 20], ["b.default.svc.cluster.local", 20], ["c.default.svc.cluster.local", 20], ["(500)", 40],
    ]);
    expect(s.findings.map((f) => f.code)).not.toContain("GW0305");
    expect(reasons(s, "HTTPRoute", "r")).toEqual(["Accepted=True/Accepted", "ResolvedRefs=False/BackendNotFound"]);
  });

  test("a rule without backendRefs answers 500; so does a rule whose only backend has weight 0", () => {
    const s = compileYaml(CLASS + HTTP + service("a") + route("  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: Exact, value: /none}}]\n  - matches: [{path: {type: Exact, value: /zero}}]\n    backendRefs: [{name: a, port: 8080, weight: 0}]\n"));
    expect([get(s, "/none").status, get(s, "/zero").status]).toEqual([500, 500]);
  });

  test("filters gangway cannot apply (ExtensionRef, ExternalAuth): those rules answer 500, the rest is served, PartiallyInvalid UnsupportedValue, a GW0807 finding", () => {
    const s = compileYaml(CLASS + HTTP + service("a") + route(`  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /mirror}}]
    filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Mirror, name: m}}]
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /cors}}]
    filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, http: {}, backendRef: {name: a, port: 8080}}}]
    backendRefs: [{name: a, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /fine}}]
    backendRefs: [{name: a, port: 8080, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x, value: y}]}}]}]
`));
    expect([get(s, "/mirror").status, get(s, "/cors").status, get(s, "/fine").status]).toEqual([500, 500, 200]);
    const conds = item(s, "HTTPRoute", "r").status.parents![0]!.conditions;
    expect(conds.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual(["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs", "PartiallyInvalid=True/UnsupportedValue"]);
    expect(conds[2]!.message).toContain("ExtensionRef, ExternalAuth");
    expect(item(s, "Gateway", "gw").status.listeners![0]!.attachedRoutes).toBe(1);
    expect(s.findings.filter((f) => f.code === "GW0807").map((f) => f.field)).toEqual(["spec.rules[0].filters[0]", "spec.rules[1].filters[0]"]);
  });

  test("fields with no meaning for this instance are said, never dropped silently: GatewayClass parametersRef, infrastructure labels/annotations, defaultScope, useDefaultGateways (GW0807); addresses are judged (GW0809)", () => {
    const gw = HTTP.replace("  gatewayClassName: istio\n", "  gatewayClassName: istio\n  addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]\n  infrastructure: {labels: {team: a}, annotations: {a: b}}\n  defaultScope: All\n");
    const rt = (kind: string, name: string, v: string, rules = "  rules: [{backendRefs: [{name: a, port: 8080}]}]\n") => route(`  parentRefs: [{name: gw}]\n  useDefaultGateways: ${v}\n${rules}`, name, "default", kind);
    const cls = CLASS.replace("spec: {controllerName: istio.io/gateway-controller}", "spec: {controllerName: istio.io/gateway-controller, parametersRef: {group: \"\", kind: ConfigMap, name: defaults, namespace: istio-system}}");
    const s = compileYaml(cls + gw + service("a") + rt("HTTPRoute", "r", "All") + rt("GRPCRoute", "g", "All") + rt("HTTPRoute", "none", "None"));
    const lines = s.findings.filter((f) => f.code === "GW0807").map((f) => `${f.level} ${f.resource} ${f.field}`);
    expect(lines).toEqual([
      "Info GatewayClass/default/istio spec.parametersRef",
      "Info Gateway.gateway.networking.k8s.io/default/gw spec.infrastructure.labels",
      "Info Gateway.gateway.networking.k8s.io/default/gw spec.infrastructure.annotations",
      "Warning Gateway.gateway.networking.k8s.io/default/gw spec.defaultScope",
      "Warning HTTPRoute/default/r spec.useDefaultGateways",
      "Warning GRPCRoute/default/g spec.useDefaultGateways",
    ]);
    // the Service the address names is not in the files (AddressNotUsable); the listeners are served all the same
    expect(s.findings.filter((f) => f.code === "GW0809").map((f) => `${f.level} ${f.field}`)).toEqual(["Warning spec.addresses"]);
    expect(get(s, "/").status).toBe(200);
  });

  test("a backend port with appProtocol kubernetes.io/h2c: ResolvedRefs True, its cluster spoken to in HTTP/2 (prior knowledge)", () => {
    const s = compileYaml(CLASS + HTTP + service("grpc", "default", ", appProtocol: kubernetes.io/h2c") + route("  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: grpc, port: 8080}]}]\n"));
    const t = get(s, "/");
    expect([t.outcome, t.cluster]).toEqual(["forward", "outbound|8080||grpc.default.svc.cluster.local"]);
    expect(s.clusters.get(t.cluster!)!.upstream?.protocol).toBe("HTTP2");
    expect(reasons(s, "HTTPRoute", "r")).toEqual(["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]);
  });

  test("allowedRoutes Selector: Namespace labels (matchLabels, matchExpressions); a namespace without a Namespace object has only its name label", () => {
    const gw = gateway("  - name: http\n    port: 80\n    protocol: HTTP\n    allowedRoutes: {namespaces: {from: Selector, selector: {matchExpressions: [{key: env, operator: In, values: [prod]}]}}}\n");
    const ns = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: prod-a, labels: {env: prod}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: dev-a, labels: {env: dev}}\n";
    const rt = (n: string) => route("  parentRefs: [{name: gw, namespace: default}]\n  rules: [{backendRefs: [{name: a, namespace: default, port: 8080}]}]\n", "r", n);
    const s = compileYaml(CLASS + gw + ns + service("a") + rt("prod-a") + rt("dev-a") + rt("other"));
    const by = (n: string) => (s.gatewayStatus ?? []).find((i) => i.kind === "HTTPRoute" && i.metadata.namespace === n)!.status.parents![0]!.conditions[0]!.reason;
    expect([by("prod-a"), by("dev-a"), by("other")]).toEqual(["Accepted", "NotAllowedByListeners", "NotAllowedByListeners"]);
  });

  test("HTTPS certificateRefs: missing Secret, another namespace without a ReferenceGrant, not kubernetes.io/tls", () => {
    const l = (name: string, ref: string) => `  - name: ${name}\n    port: 443\n    protocol: HTTPS\n    hostname: ${name}.example.com\n    tls: {certificateRefs: [${ref}]}\n`;
    const secret = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: opaque, namespace: default}\ntype: Opaque\nstringData: {tls.crt: x, tls.key: y}\n";
    const s = compileYaml(CLASS + gateway(l("missing", "{name: nope}") + l("other", "{name: c, namespace: certs}") + l("opaque", "{name: opaque}")) + secret);
    const ls = item(s, "Gateway", "gw").status.listeners!;
    expect(ls.map((x) => [x.name, x.conditions.find((c) => c.type === "ResolvedRefs")!.reason, x.conditions.find((c) => c.type === "Programmed")!.status])).toEqual([
      ["missing", "InvalidCertificateRef", "False"], ["other", "RefNotPermitted", "False"], ["opaque", "InvalidCertificateRef", "False"],
    ]);
    expect(s.listeners).toEqual([]);
    expect(s.findings.filter((f) => f.code === "GW0804").length).toBe(3);
  });

  test("a route whose every rule needs an unsupported filter is not accepted (UnsupportedValue) and not counted", () => {
    const s = compileYaml(CLASS + HTTP + service("a") + route("  parentRefs: [{name: gw}]\n  rules: [{filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Ext, name: e}}], backendRefs: [{name: a, port: 8080}]}]\n"));
    expect(reasons(s, "HTTPRoute", "r")).toEqual(["Accepted=False/UnsupportedValue", "ResolvedRefs=True/ResolvedRefs"]);
    expect(item(s, "Gateway", "gw").status.listeners![0]!.attachedRoutes).toBe(0);
  });

  test("GRPCRoute: Accepted and ResolvedRefs True, counted on its listener; without matches it takes every call", () => {
    const s = compileYaml(CLASS + HTTP + service("a") + route("  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: a, port: 8080}]}]\n", "g", "default", "GRPCRoute"));
    expect(reasons(s, "GRPCRoute", "g")).toEqual(["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]);
    expect(item(s, "Gateway", "gw").status.listeners![0]!.attachedRoutes).toBe(1);
    expect(grpc(s, "/any.Svc/Method").cluster).toBe("outbound|8080||a.default.svc.cluster.local");
  });

  test("GRPCRoute method matches as istiod converts them: Exact service+method, service only, method only, RegularExpression; then header matches", () => {
    const rules = `  parentRefs: [{name: gw}]
  hostnames: [example.com]
  rules:
  - matches: [{method: {service: pkg.Echo, method: Unary}}]
    backendRefs: [{name: exact, port: 8080}]
  - matches: [{method: {service: pkg.Echo}}]
    backendRefs: [{name: svc, port: 8080}]
  - matches: [{method: {method: Health}}]
    backendRefs: [{name: meth, port: 8080}]
  - matches: [{method: {type: RegularExpression, service: 'pkg\\.Re.*', method: 'Get.*'}}]
    backendRefs: [{name: re, port: 8080}]
  - matches: [{headers: [{name: x-tenant, value: blue}]}]
    backendRefs: [{name: blue, port: 8080}]
`;
    const s = compileYaml(CLASS + HTTP + ["exact", "svc", "meth", "re", "blue"].map((n) => service(n)).join("") + route(rules, "g", "default", "GRPCRoute"));
    expect(reasons(s, "GRPCRoute", "g")).toEqual(["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]);
    const host = (t: { cluster?: string | null }) => (t.cluster ?? "-").split("|")[3]?.split(".")[0] ?? "-";
    expect(
      [
        grpc(s, "/pkg.Echo/Unary"),
        grpc(s, "/pkg.Echo/Other"),
        grpc(s, "/other.Svc/Health"),
        grpc(s, "/pkg.Reader/GetThing"),
        grpc(s, "/pkg.Reader/PutThing", { "x-tenant": "blue" }),
      ].map(host),
    ).toEqual(["exact", "svc", "meth", "re", "blue"]);
    const none = grpc(s, "/pkg.Reader/PutThing");
    expect([none.outcome, none.status]).toEqual(["no_route", 404]); // gRPC-shaped by the worker: grpc-status 12 UNIMPLEMENTED
  });

  test("GRPCRoute weights split calls between backends; a bad method match is a decode error naming the field", () => {
    const s = compileYaml(CLASS + HTTP + service("a") + service("b") + route("  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: a, port: 8080, weight: 1}, {name: b, port: 8080, weight: 3}]}]\n", "g", "default", "GRPCRoute"));
    expect(grpc(s, "/x.Y/Z", {}, 0.1).cluster).toBe("outbound|8080||a.default.svc.cluster.local");
    expect(grpc(s, "/x.Y/Z", {}, 0.5).cluster).toBe("outbound|8080||b.default.svc.cluster.local");
    const bad = decodeFiles([{ path: "g.yaml", text: route("  parentRefs: [{name: gw}]\n  rules: [{matches: [{method: {service: \"a/b\"}}]}]\n", "g", "default", "GRPCRoute") }]);
    expect(bad.errors.map((e) => e.field)).toEqual(["spec.rules[0].matches[0].method.service"]);
  });

  test("TCPRoute on a TCP listener: every connection goes to its backend", () => {
    const gw = gateway("  - {name: tcp, port: 3000, protocol: TCP}\n");
    const s = compileYaml(CLASS + gw + service("a") + route("  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: a, port: 8080}]}]\n", "t", "default", "TCPRoute", "gateway.networking.k8s.io/v1alpha2"));
    const t = trace(s, { port: 3000, host: "", path: "/" });
    expect([t.outcome, t.cluster]).toEqual(["tcp_forward", "outbound|8080||a.default.svc.cluster.local"]);
    expect(reasons(s, "TCPRoute", "t")).toEqual(["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]);
  });

  test("only Gateways of class istio.io/gateway-controller, and with --gateway only those named", () => {
    const other = "---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: other}\nspec: {controllerName: example.com/other}\n";
    const gw2 = gateway("  - {name: http, port: 81, protocol: HTTP}\n", "gw2");
    const gw3 = `---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw3}\nspec: {gatewayClassName: other, listeners: [{name: http, port: 82, protocol: HTTP}]}\n`;
    const all = compileYaml(CLASS + other + HTTP + gw2 + gw3);
    expect((all.gatewayStatus ?? []).map((i) => i.metadata.name)).toEqual(["istio", "gw", "gw2"]);
    expect(all.listeners.map((l) => l.port)).toEqual([80, 81]);
    const one = compileYaml(CLASS + other + HTTP + gw2 + gw3, { gateways: ["default/gw2"] });
    expect((one.gatewayStatus ?? []).map((i) => i.metadata.name)).toEqual(["istio", "gw2"]);
    expect(one.listeners.map((l) => l.port)).toEqual([81]);
    expect(one.findings.map((f) => f.code)).toContain("GW0802");
    const missing = compileYaml(CLASS + HTTP, { gateways: ["default/nope"] });
    expect(missing.findings.filter((f) => f.code === "GW0808").map((f) => f.resource)).toEqual(["Gateway.gateway.networking.k8s.io/default/nope"]);
  });

  test("TLS Terminate listener: one route takes its connections; a second route attached there is reported (GW0820), not served", async () => {
    const ca = await createCA({ cn: "t", keyType: "ec" });
    const leaf = await issue(ca, { cn: "*.example.com", usage: "server", keyType: "ec" });
    const l = "  - {name: t, port: 8883, protocol: TLS, hostname: '*.example.com', tls: {mode: Terminate, certificateRefs: [{name: c}]}}\n";
    const tlsRoute = (name: string, host: string, backend: string) =>
      route(`  parentRefs: [{name: gw}]\n  hostnames: [${host}]\n  rules: [{backendRefs: [{name: ${backend}, port: 8080}]}]\n`, name, "default", "TLSRoute", "gateway.networking.k8s.io/v1alpha2");
    const s = compileYaml(CLASS + gateway(l) + "---\n" + secretYaml("c", "default", "tls", leaf.cert, leaf.key) + service("a") + service("b") + tlsRoute("first", "a.example.com", "a") + tlsRoute("second", "b.example.com", "b"));
    expect(s.findings.filter((f) => f.code === "GW0820").map((f) => [f.resource, f.field])).toEqual([["TLSRoute/default/second", "spec.parentRefs[0]"]]);
    const t = trace(s, { port: 8883, host: "b.example.com", path: "", method: "GET", headers: {}, sni: "b.example.com" });
    expect([t.outcome, t.cluster]).toEqual(["tcp_forward", "outbound|8080||a.default.svc.cluster.local"]);
  });

  test("two listeners of one Gateway on one port, protocol and hostname: refused as the API server refuses them (the CRD's CEL), so no HostnameConflict within one Gateway (ListenerSets still meet one: the listenerset-hostname-conflict case)", () => {
    const same = decodeFiles([{ path: "g.yaml", text: CLASS + gateway("  - {name: a, port: 80, protocol: HTTP, hostname: x.example.com}\n  - {name: b, port: 80, protocol: HTTP, hostname: x.example.com}\n") }]);
    expect(same.errors.map((e) => `${e.field}: ${e.message}`)).toEqual(["spec.listeners[1]: Combination of port, protocol and hostname must be unique for each listener"]);
    const s = compileYaml(CLASS + gateway("  - {name: a, port: 80, protocol: HTTP, hostname: x.example.com}\n  - {name: b, port: 80, protocol: HTTP, hostname: y.example.com}\n"));
    const ls = item(s, "Gateway", "gw").status.listeners!;
    expect(ls.map((l) => l.conditions.find((c) => c.type === "Conflicted")!.reason)).toEqual(["NoConflicts", "NoConflicts"]);
  });

  test("routes read as HTTPRoute/ns/name/rule/N/match/M in explain, proxy-config and the access log; the source is the HTTPRoute", () => {
    const s = compileYaml(CLASS + HTTP + service("a") + route("  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: Exact, value: /x}}, {path: {type: PathPrefix, value: /y}}]\n    backendRefs: [{name: a, port: 8080}]\n"));
    const t = get(s, "/y/z");
    expect(t.route).toBe("HTTPRoute/default/r/rule/0/match/1");
    expect(t.considered.map((c) => c.source)).toContain("HTTPRoute/default/r");
    expect(get(s, "/yz").status).toBe(404); // PathPrefix is path-element wise
  });
});

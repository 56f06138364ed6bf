// Documents against the vendored published schemas (src/validate): what
// `kubectl apply --validate=strict` would say, as findings.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { decodeFiles } from "../../src/decode/index.ts";
import { schemaProblems, fieldPath } from "../../src/validate/index.ts";
import { configSchemas } from "../../src/validate/registry.ts";
import { closest, editDistance } from "../../src/validate/suggest.ts";

type Obj = Record<string, unknown>;

function problems(yaml: string) {
  const doc = parse(yaml) as Obj;
  return schemaProblems(doc, String(doc.apiVersion), String(doc.kind));
}

const VS = (http: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [a.example.com]
  http:
${http}`;

describe("unknown fields: Error with the field path and did-you-mean", () => {
  const cases: [string, string, string, string][] = [
    ["VirtualService uri prefx", VS("  - match: [{uri: {prefx: /status}}]\n    route: [{destination: {host: b}}]"), "spec.http[0].match[0].uri.prefx", 'did you mean "prefix"?'],
    ["VirtualService gatways", "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hosts: [a], gatways: [gw]}", "spec.gatways", 'did you mean "gateways"?'],
    ["Gateway server hots", "apiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata: {name: g}\nspec:\n  servers: [{port: {number: 80, name: http, protocol: HTTP}, hots: [a]}]", "spec.servers[0].hots", 'did you mean "hosts"?'],
    ["metadata lables", "apiVersion: v1\nkind: Service\nmetadata: {name: s, lables: {a: b}}\nspec: {ports: [{port: 80}]}", "metadata.lables", 'did you mean "labels"?'],
    ["top-level spce", "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspce: {host: a}", "spce", 'did you mean "spec"?'],
    ["Service targetPrt", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, targetPrt: 8080}]}", "spec.ports[0].targetPrt", 'did you mean "targetPort"?'],
    ["Ingress rule", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rule: []}", "spec.rule", 'did you mean "rules"?'],
    ["EndpointSlice endpoint condition", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\naddressType: IPv4\nendpoints: [{addresses: [10.0.0.1], condition: {ready: true}}]", "endpoints[0].condition", 'did you mean "conditions"?'],
    ["HTTPRoute parentRef", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {parentRef: [{name: gw}]}", "spec.parentRef", 'did you mean "parentRefs"?'],
    ["AuthorizationPolicy acton", "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p}\nspec: {acton: DENY}", "spec.acton", 'did you mean "action"?'],
    ["nothing close: no suggestion", VS("  - route: [{destination: {host: b}}]\n    zzzzzzzz: 1"), "spec.http[0].zzzzzzzz", ""],
  ];
  test.each(cases)("%s", (_name, yaml, field, hint) => {
    const p = problems(yaml);
    const f = p.find((x) => x.field === field);
    expect(f).toBeDefined();
    expect(f!.level).toBe("Error");
    expect(f!.code).toBe("GW0112");
    if (hint === "") expect(f!.message).not.toContain("did you mean");
    else expect(f!.message).toContain(hint);
  });
});

describe("wrong types and values name what is allowed", () => {
  const cases: [string, string, string, string, string][] = [
    ["Gateway TLS mode", "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: [a], tls: {mode: STRICT}}]", "spec.servers[0].tls.mode", "GW0106", '"PASSTHROUGH", "SIMPLE", "MUTUAL"'],
    ["HTTPRoute path type", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: [{matches: [{path: {type: Prefix, value: /}}]}]}", "spec.rules[0].matches[0].path.type", "GW0106", '"Exact", "PathPrefix", "RegularExpression"'],
    ["AuthorizationPolicy action", "apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\nmetadata: {name: p}\nspec: {action: REJECT}", "spec.action", "GW0106", '"ALLOW", "DENY"'],
    ["port number as a string", VS("  - route: [{destination: {host: b, port: {number: \"80\"}}}]"), "spec.http[0].route[0].destination.port.number", "GW0104", 'must be an integer, got string "80"'],
    ["hosts not a list", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hosts: a.example.com}", "spec.hosts", "GW0104", "must be a list"],
    ["int-or-string targetPort", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, targetPort: {a: 1}}]}", "spec.ports[0].targetPort", "GW0104", "must be an integer or a string"],
    ["label value a number", "apiVersion: v1\nkind: Namespace\nmetadata: {name: n, labels: {a: 1}}", "metadata.labels.a", "GW0104", "quote numbers"],
    ["int32 out of range", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, nodePort: 4294967296}]}", "spec.ports[0].nodePort", "GW0106", "32-bit integer"],
    ["Secret data not base64", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {tls.crt: '!!'}", "data.tls.crt", "GW0109", "base64"],
    ["required field", "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: istio}", "spec.listeners", "GW0105", "is required"],
    ["two kinds of StringMatch", VS("  - match: [{uri: {exact: /a, prefix: /b}}]\n    route: [{destination: {host: b}}]"), "spec.http[0].match[0].uri", "GW0110", "only one of exact, prefix, regex"],
  ];
  test.each(cases)("%s", (_name, yaml, field, code, text) => {
    const p = problems(yaml);
    const f = p.find((x) => x.field === field);
    expect(f).toBeDefined();
    expect(f!.code as string).toBe(code);
    expect(f!.message).toContain(text);
  });

  test("null is the same as absent, as the API server prunes it", () => {
    expect(problems("apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: null, annotations:}\nspec: {ports: [{port: 80}], selector:}")).toEqual([]);
    expect(problems(VS("  - route: [{destination: {host: b}}]\n    headers:\n    match:"))).toEqual([]);
  });

  test("fields newer than Istio 1.30 that gangway serves are known (redirect.prefixRewrite)", () => {
    expect(problems(VS("  - match: [{uri: {prefix: /old}}]\n    redirect: {prefixRewrite: /new, redirectCode: 308}"))).toEqual([]);
  });

  test("a oneOf branch naming only some fields does not refuse the others; an absent field takes its default's branch (Gateway addresses)", () => {
    const gw = (a: string) => problems(`apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: istio\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n  addresses: [${a}]`).map((p) => `${p.field}: ${p.message}`);
    expect(gw("{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}")).toEqual([]);
    expect(gw("{type: example.com/custom, value: x}")).toEqual([]);
    expect(gw("{type: IPAddress, value: 10.0.0.1}")).toEqual([]);
    expect(gw("{value: 10.0.0.1}")).toEqual([]);
    expect(gw("{type: IPAddress, value: not-an-ip}")).toEqual(["spec.addresses[0]: must match one of the allowed forms"]);
    // an address without a type takes the IPAddress form's default in the API server, which refuses a non-IP value: the
    // converter's oneOf of branches requiring nothing is an anyOf (notes istiogw), so the Gateway's decode checks it (gatewayapi-convert)
  });

  test("int-or-string and Quantity-like values take both forms", () => {
    expect(problems("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, targetPort: 8080}, {name: b, port: 81, targetPort: http}]}")).toEqual([]);
  });

  // istiod's own testdata (pilot/pkg/config/kube/gateway/testdata) writes `{value: istio-ingressgateway, type: Hostname}`
  test("Gateway addresses: Hostname and NamedAddress values are not IP addresses; an IPAddress must be one", () => {
    const gw = (addr: string) => problems(`apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: istio\n  addresses: [${addr}]\n  listeners: [{name: http, port: 80, protocol: HTTP}]`);
    for (const ok of ["{type: Hostname, value: istio-ingressgateway}", "{type: NamedAddress, value: lb-1}", "{type: IPAddress, value: 1.2.3.4}", "{value: 10.0.0.1}", "{type: IPAddress, value: '::1'}"]) {
      expect([ok, gw(ok)]).toEqual([ok, []]);
    }
    expect(gw("{type: IPAddress, value: istio-ingressgateway}").map((p) => p.field)).toEqual(["spec.addresses[0]"]);
  });
});

describe("kinds and versions", () => {
  const cases: [string, string, string, "Warning" | null, string][] = [
    ["Istio kind misspelt", "networking.istio.io/v1", "Gatway", "Warning", 'did you mean "Gateway"?'],
    ["core kind misspelt", "v1", "Servce", "Warning", 'did you mean "Service"?'],
    ["Gateway API kind misspelt", "gateway.networking.k8s.io/v1", "HTTPRoutes", "Warning", 'did you mean "HTTPRoute"?'],
    ["a version the CRD does not serve", "networking.istio.io/v2", "VirtualService", "Warning", "versions: v1, v1alpha3, v1beta1"],
    ["a real Istio kind gangway does not read", "networking.istio.io/v1", "Sidecar", null, ""],
    ["a real core kind gangway does not read", "v1", "ConfigMap", null, ""],
    ["unknown group: skipped silently", "apps/v1", "Deploymnt", null, ""],
    ["another vendor's group", "example.com/v1", "Gateway", null, ""],
  ];
  test.each(cases)("%s", (_name, apiVersion, kind, level, text) => {
    const p = schemaProblems({ apiVersion, kind, metadata: { name: "x" } }, apiVersion, kind);
    if (level === null) {
      expect(p).toEqual([]);
      return;
    }
    expect(p.length).toBe(1);
    expect(p[0]!.level).toBe(level);
    expect(p[0]!.code).toBe(kind === "VirtualService" ? "GW0114" : "GW0113");
    expect(p[0]!.message).toContain(text);
  });

  test("every kind INTERFACE.md lists has a schema in every version it names", () => {
    const reg = configSchemas();
    const want: [string, string[]][] = [
      ["networking.istio.io/{v}/Gateway", ["v1alpha3", "v1beta1", "v1"]],
      ["networking.istio.io/{v}/VirtualService", ["v1alpha3", "v1beta1", "v1"]],
      ["networking.istio.io/{v}/DestinationRule", ["v1alpha3", "v1beta1", "v1"]],
      ["networking.istio.io/{v}/ServiceEntry", ["v1alpha3", "v1beta1", "v1"]],
      ["networking.istio.io/{v}/WorkloadEntry", ["v1alpha3", "v1beta1", "v1"]],
      ["security.istio.io/{v}/RequestAuthentication", ["v1", "v1beta1"]],
      ["security.istio.io/{v}/AuthorizationPolicy", ["v1", "v1beta1"]],
      ["gateway.networking.k8s.io/{v}/GatewayClass", ["v1", "v1beta1"]],
      ["gateway.networking.k8s.io/{v}/Gateway", ["v1", "v1beta1"]],
      ["gateway.networking.k8s.io/{v}/HTTPRoute", ["v1", "v1beta1"]],
      ["gateway.networking.k8s.io/{v}/GRPCRoute", ["v1"]],
      ["gateway.networking.k8s.io/{v}/ReferenceGrant", ["v1", "v1beta1"]],
      ["gateway.networking.k8s.io/{v}/TLSRoute", ["v1alpha2", "v1alpha3"]],
      ["gateway.networking.k8s.io/{v}/TCPRoute", ["v1alpha2"]],
      ["{v}/Service", ["v1"]],
      ["{v}/Secret", ["v1"]],
      ["{v}/Endpoints", ["v1"]],
      ["{v}/Namespace", ["v1"]],
      ["networking.k8s.io/{v}/Ingress", ["v1"]],
      ["networking.k8s.io/{v}/IngressClass", ["v1"]],
      ["discovery.k8s.io/{v}/EndpointSlice", ["v1"]],
    ];
    for (const [pattern, versions] of want) {
      for (const v of versions) {
        const key = pattern.replace("{v}", v);
        const slash = key.lastIndexOf("/");
        expect(`${key}: ${reg.has(key.slice(0, slash), key.slice(slash + 1))}`).toBe(`${key}: true`);
      }
    }
  });
});

describe("at the decode stage", () => {
  test("a typo is an Error naming file, document, resource and field; the document is not used", () => {
    const text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\n" + VS("  - match: [{uri: {prefx: /status}}]\n    route: [{destination: {host: b}}]");
    const { resources, errors, warnings } = decodeFiles([{ path: "routes.yaml", text }]);
    expect(warnings).toEqual([]);
    expect(errors).toEqual([
      { code: "GW0112", level: "Error", message: 'unknown field "prefx"; did you mean "prefix"?', file: "routes.yaml", doc: 1, resource: "VirtualService/default/v", field: "spec.http[0].match[0].uri.prefx" },
    ]);
    expect(resources.map((r) => r.kind)).not.toContain("VirtualService");
  });

  test("inside a List the path carries the item", () => {
    const list = { apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { prots: [] } }] };
    const { errors } = decodeFiles([{ path: "l.json", text: JSON.stringify(list) }]);
    expect(errors.map((e) => [e.code, e.field, e.resource])).toEqual([["GW0112", "items[0].spec.prots", "Service/default/s"]]);
  });

  test("schema and hand-written checks do not report one field twice; semantic findings stay", () => {
    const text = VS("  - match: [{uri: {regex: '(?=a)'}}]\n    route: [{destination: {host: b, port: {number: \"80\"}}}]");
    const { errors } = decodeFiles([{ path: "v.yaml", text }]);
    expect(errors.map((e) => [e.code, e.field])).toEqual([
      ["GW0107", "spec.http[0].match[0].uri.regex"],
      ["GW0104", "spec.http[0].route[0].destination.port.number"],
    ]);
  });

  test("a misspelt kind is a Warning and the document is skipped; the rest loads", () => {
    const text = "apiVersion: networking.istio.io/v1\nkind: Gatway\nmetadata: {name: g}\nspec: {}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n";
    const { resources, errors, warnings } = decodeFiles([{ path: "a.yaml", text }]);
    expect(errors).toEqual([]);
    expect(resources.map((r) => r.kind)).toEqual(["Service"]);
    expect(warnings.map((w) => [w.code, w.level, w.file, w.doc, w.resource, w.field])).toEqual([["GW0113", "Warning", "a.yaml", 0, "Gatway/default/g", "kind"]]);
  });

  test("a kind of Istio's or the Gateway API's groups that gangway does not read is skipped with a finding naming it (GW0116); Sidecar an Info (Telemetry is read: test/unit/telemetry-access-log.test.ts)", () => {
    const doc = (apiVersion: string, kind: string, spec: string) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: x, namespace: istio-system}\nspec: ${spec}\n`;
    const text = [
      doc("networking.istio.io/v1alpha3", "EnvoyFilter", "{configPatches: [{applyTo: HTTP_FILTER, patch: {operation: MERGE, value: {}}}]}"),
      doc("extensions.istio.io/v1alpha1", "WasmPlugin", "{url: 'oci://example/auth:1'}"),
      doc("networking.istio.io/v1", "Sidecar", "{egress: [{hosts: ['./*']}]}"),
      doc("gateway.networking.k8s.io/v1alpha2", "UDPRoute", "{rules: [{backendRefs: [{name: s, port: 53}]}]}"),
      doc("gateway.networking.x-k8s.io/v1alpha1", "XListenerSet", "{parentRef: {name: gw}, listeners: []}"),
      doc("apps/v1", "Deployment", "{}"),
    ].join("---\n");
    const { resources, errors, warnings } = decodeFiles([{ path: "k.yaml", text }]);
    expect([resources, errors]).toEqual([[], []]);
    expect(warnings.map((w) => [w.code, w.level, w.doc, w.resource])).toEqual([
      ["GW0116", "Warning", 0, "EnvoyFilter/istio-system/x"],
      ["GW0116", "Warning", 1, "WasmPlugin/istio-system/x"],
      ["GW0116", "Info", 2, "Sidecar/istio-system/x"],
      ["GW0116", "Warning", 3, "UDPRoute/istio-system/x"],
      ["GW0116", "Warning", 4, "XListenerSet/istio-system/x"],
    ]);
    expect(warnings[1]!.message).toContain("not checked");
  });

  test("a version gangway reads that the vendored CRD does not serve (TCPRoute v1alpha3) is decoded, without a warning", () => {
    const text = "apiVersion: gateway.networking.k8s.io/v1alpha3\nkind: TCPRoute\nmetadata: {name: t}\nspec: {rules: [{backendRefs: [{name: s, port: 3000}]}]}\n";
    const { resources, errors, warnings } = decodeFiles([{ path: "t.yaml", text }]);
    expect([...errors, ...warnings]).toEqual([]);
    expect(resources.map((r) => r.kind)).toEqual(["TCPRoute"]);
  });

  test("Istio samples-style YAML (ServiceAccount, Service, Deployment) loads: the Service is checked, the Deployment skipped", () => {
    const text = `apiVersion: v1
kind: ServiceAccount
metadata: {name: httpbin}
---
apiVersion: v1
kind: Service
metadata:
  name: httpbin
  labels: {app: httpbin, service: httpbin}
spec:
  ports:
  - name: http
    port: 8000
    targetPort: 8080
  selector: {app: httpbin}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: httpbin}
spec:
  replicas: 1
  selector: {matchLabels: {app: httpbin, version: v1}}
  template:
    metadata: {labels: {app: httpbin, version: v1}}
    spec:
      serviceAccountName: httpbin
      containers:
      - image: docker.io/mccutchen/go-httpbin:v2.15.0
        imagePullPolicy: IfNotPresent
        name: httpbin
        ports: [{containerPort: 8080}]
`;
    const { resources, errors, warnings } = decodeFiles([{ path: "httpbin.yaml", text }]);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(resources.map((r) => r.kind)).toEqual(["Service"]);
  });

  test("every document under config/ is valid against its published schema", () => {
    const files: { path: string; text: string }[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ya?ml|json)$/.test(name)) files.push({ path: p, text: readFileSync(p, "utf8") });
      }
    };
    walk(join(import.meta.dir, "..", "..", "config"));
    expect(files.length).toBeGreaterThan(10);
    const { resources, errors, warnings } = decodeFiles(files);
    expect([...errors, ...warnings]).toEqual([]);
    expect(resources.length).toBeGreaterThan(10);
  });
});

describe("helpers", () => {
  test.each([
    ["prefx", "prefix", 1],
    ["gatways", "gateways", 1],
    ["lables", "labels", 1],
    ["abc", "abc", 0],
    ["", "abc", 3],
  ] as const)("editDistance(%s, %s) = %d", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });

  test("closest: nothing when far; case-insensitive", () => {
    expect(closest("zzzzzzzz", ["prefix", "exact", "regex"])).toBeNull();
    expect(closest("Prefix", ["prefix", "exact"])).toBe("prefix");
  });

  test.each([
    ["", undefined, ""],
    ["/spec/http/0/match", undefined, "spec.http[0].match"],
    ["/metadata/labels/kubernetes.io~1name", undefined, "metadata.labels.kubernetes.io/name"],
    ["/spec", "prefx", "spec.prefx"],
    ["", "spce", "spce"],
  ] as const)("fieldPath(%s, %s) = %s", (pointer, extra, want) => {
    expect(fieldPath(pointer, extra)).toBe(want);
  });
});

describe("bounded", () => {
  test("a document broken everywhere gives at most 20 findings, the first ones", () => {
    const ports = Array.from({ length: 2_000 }, (_, i) => ({ port: `p${i}`, targetPort: { x: i }, prots: 1 }));
    const doc = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports } };
    const p = schemaProblems(doc, "v1", "Service");
    expect(p.length).toBe(20);
    expect(p.slice(0, 3)).toEqual([
      { level: "Error", code: "GW0112", field: "spec.ports[0].prots", message: 'unknown field "prots"; did you mean "port"?' },
      { level: "Error", code: "GW0104", field: "spec.ports[0].port", message: 'must be an integer, got string "p0"' },
      { level: "Error", code: "GW0104", field: "spec.ports[0].targetPort", message: "must be an integer or a string, got an object" },
    ]);
  }, 30_000);
});

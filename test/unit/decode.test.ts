import { describe, expect, test } from "bun:test";
import { decodeFiles, FAST_YAML_BYTES, secretFromFiles, slowDocuments, yamlDocuments } from "../../src/decode/index.ts";
import { parseDuration } from "../../src/decode/duration.ts";
import type { GatewayResource, VirtualServiceResource } from "../../src/model/istio.ts";
import type { ConfigMapResource, EndpointSliceResource, IngressResource, SecretResource, ServiceResource } from "../../src/model/kube.ts";
import { decodeOk } from "./pipeline-helpers.ts";

const VS = (spec: string) => `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: vs
  namespace: web
spec:
${spec}`;

const GW = (servers: string) => `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: gw
spec:
  servers:
${servers}`;

describe("decode: documents and files", () => {
  test("multi-document YAML; empty documents and unknown kinds skipped; namespace defaults to default", () => {
    const rs = decodeOk(`---
# only a comment
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replicas: "not checked"}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
---
apiVersion: v1
kind: Service
metadata: {name: httpbin}
spec:
  ports: [{port: 8000}]
---
`);
    expect(rs.map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`)).toEqual(["Service/default/httpbin"]);
    expect(rs[0]!.source).toMatchObject({ file: "test.yaml", doc: 3, path: "" });
    expect(rs[0]!.source.digest).toMatch(/^[0-9a-f]{64}$/);
    const svc = rs[0] as ServiceResource;
    expect(svc.spec.ports).toEqual([{ name: "", port: 8000, targetPort: 8000, protocol: "TCP", appProtocol: "" }]);
  });

  test("JSON object and kubectl List, items keep their path", () => {
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Service", metadata: { name: "a", namespace: "x" }, spec: { ports: [{ port: 80 }] } },
        { apiVersion: "v1", kind: "Service", metadata: { name: "b" }, spec: { ports: [{ port: "eighty" }] } },
      ],
    };
    const { resources, errors } = decodeFiles([{ path: "list.json", text: JSON.stringify(list) }]);
    expect(resources.map((r) => r.metadata.name)).toEqual(["a"]);
    expect(resources[0]!.source).toMatchObject({ file: "list.json", doc: 0, path: "items[0]" });
    expect(errors).toEqual([
      {
        code: "GW0104",
        level: "Error",
        message: 'must be an integer, got string "eighty"',
        file: "list.json",
        doc: 0,
        resource: "Service/default/b",
        field: "items[1].spec.ports[0].port",
      },
    ]);
  });

  test("a Gateway API Gateway (another group) is not an Istio Gateway: it decodes as KubernetesGateway", () => {
    const rs = decodeOk("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP}]}\n");
    expect(rs.map((r) => r.kind)).toEqual(["KubernetesGateway"]);
  });

  test("YAML that does not parse names the file and document", () => {
    const { errors } = decodeFiles([{ path: "a.yaml", text: "kind: Service\n---\napiVersion: v1\nkind: VirtualService\nspec:\n  hosts: [a\n" }]);
    expect(errors.map((e) => [e.code, e.file, e.doc])).toContainEqual(["GW0101", "a.yaml", 1]);
    expect(errors.find((e) => e.code === "GW0101")!.message).toContain("line");
  });

  test("bad JSON, duplicate YAML keys, a scalar document, missing kind", () => {
    const { errors } = decodeFiles([
      { path: "b.json", text: "{ nope" },
      { path: "c.yaml", text: "a: 1\na: 2\n" },
      { path: "d.yaml", text: "just text" },
      { path: "e.yaml", text: "apiVersion: v1\nmetadata: {name: x}\n" },
    ]);
    expect(errors.map((e) => [e.file, e.code, e.field])).toEqual([
      ["b.json", "GW0101", undefined],
      ["c.yaml", "GW0101", undefined],
      ["d.yaml", "GW0102", undefined],
      ["e.yaml", "GW0102", "kind"],
    ]);
  });
});

/** [what, document, expected (code, field, message part)] */
const BAD: [string, string, [string, string, string][]][] = [
  ["metadata.name missing", "apiVersion: v1\nkind: Service\nmetadata: {}\nspec: {}\n", [["GW0103", "metadata.name", "is required"]]],
  ["Gateway without servers", "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec: {servers: []}\n", [["GW0105", "spec.servers", "must not be empty"]]],
  [
    "Gateway server port.number missing, protocol unknown",
    GW("  - port: {name: http, protocol: QUIC}\n    hosts: [a.com]"),
    [
      ["GW0105", "spec.servers[0].port.number", "is required"],
      ["GW0106", "spec.servers[0].port.protocol", "unknown protocol"],
    ],
  ],
  ["Gateway port out of range", GW("  - port: {number: 70000, name: http, protocol: HTTP}\n    hosts: [a.com]"), [["GW0106", "spec.servers[0].port.number", "between 1 and 65535"]]],
  ["Gateway server without hosts", GW("  - port: {number: 80, name: http, protocol: HTTP}"), [["GW0105", "spec.servers[0].hosts", "is required"]]],
  ["Gateway host invalid", GW("  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['a b']"), [["GW0106", "spec.servers[0].hosts[0]", "invalid host"]]],
  ["HTTPS server without tls", GW("  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.com]"), [["GW0105", "spec.servers[0].tls", "TLS settings"]]],
  [
    "SIMPLE without credential or files",
    GW("  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.com]\n    tls: {mode: SIMPLE}"),
    [
      ["GW0105", "spec.servers[0].tls.serverCertificate", "credentialName"],
      ["GW0105", "spec.servers[0].tls.privateKey", "credentialName"],
    ],
  ],
  ["TLS mode unknown", GW("  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.com]\n    tls: {mode: STRICT, credentialName: c}"), [["GW0106", "spec.servers[0].tls.mode", "must be one of"]]],
  [
    "duplicate server port names",
    GW("  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.com]\n  - port: {number: 81, name: http, protocol: HTTP}\n    hosts: [b.com]"),
    [["GW0110", "spec.servers[1].port.name", "unique"]],
  ],
  ["VirtualService without routes", VS("  hosts: [a]\n  http: []"), [["GW0105", "spec", "http, tcp or tls must be provided in virtual service"]]],
  ["delegate (no hosts) with gateways", VS("  gateways: [gw]\n  http:\n  - route: [{destination: {host: a}}]"), [["GW0106", "spec.gateways", "delegate virtual service must have no gateways specified"]]],
  [
    "destination host missing",
    VS("  hosts: [a]\n  http:\n  - route:\n    - destination: {port: {number: 80}}"),
    [["GW0105", "spec.http[0].route[0].destination.host", "is required"]],
  ],
  [
    "weight not a number",
    VS("  hosts: [a]\n  http:\n  - route:\n    - destination: {host: a}\n      weight: half\n    - destination: {host: b}\n      weight: 50"),
    [["GW0104", "spec.http[0].route[0].weight", "must be an integer"]],
  ],
  [
    "all weights zero",
    VS("  hosts: [a]\n  http:\n  - route:\n    - destination: {host: a}\n    - destination: {host: b}"),
    [["GW0106", "spec.http[0].route", "total destination weight = 0"]],
  ],
  ["regex RE2 rejects (lookahead)", VS("  hosts: [a]\n  http:\n  - match: [{uri: {regex: '/(?!admin).*'}}]\n    route: [{destination: {host: a}}]"), [["GW0107", "spec.http[0].match[0].uri.regex", "lookahead"]]],
  ["regex invalid", VS("  hosts: [a]\n  http:\n  - match: [{headers: {x-v: {regex: '(a'}}}]\n    route: [{destination: {host: a}}]"), [["GW0107", "spec.http[0].match[0].headers.x-v.regex", "invalid regex"]]],
  ["two kinds in one StringMatch", VS("  hosts: [a]\n  http:\n  - match: [{uri: {exact: /a, prefix: /b}}]\n    route: [{destination: {host: a}}]"), [["GW0110", "spec.http[0].match[0].uri", "only one of"]]],
  ["null header match", VS("  hosts: [a]\n  http:\n  - match: [{headers: {x-a: null}}]\n    route: [{destination: {host: a}}]"), [["GW0105", "spec.http[0].match[0].headers.x-a", "cannot be null"]]],
  ["route and redirect", VS("  hosts: [a]\n  http:\n  - redirect: {uri: /x}\n    route: [{destination: {host: a}}]"), [["GW0110", "spec.http[0]", "both route and redirect"]]],
  ["no action", VS("  hosts: [a]\n  http:\n  - match: [{uri: {prefix: /}}]"), [["GW0105", "spec.http[0]", "is required"]]],
  ["redirect code", VS("  hosts: [a]\n  http:\n  - redirect: {uri: /x, redirectCode: 200}"), [["GW0106", "spec.http[0].redirect.redirectCode", "between 300 and 399"]]],
  ["directResponse without status", VS("  hosts: [a]\n  http:\n  - directResponse: {body: {string: hi}}"), [["GW0105", "spec.http[0].directResponse.status", "is required"]]],
  ["timeout not a duration", VS("  hosts: [a]\n  http:\n  - timeout: 5 seconds\n    route: [{destination: {host: a}}]"), [["GW0108", "spec.http[0].timeout", "invalid duration"]]],
  [
    "DestinationRule subset without name, bad connectTimeout",
    "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr}\nspec:\n  host: a\n  trafficPolicy: {connectionPool: {tcp: {connectTimeout: soon}}}\n  subsets: [{labels: {v: '1'}}]\n",
    [
      ["GW0105", "spec.subsets[0].name", "is required"],
      ["GW0108", "spec.trafficPolicy.connectionPool.tcp.connectTimeout", "invalid duration"],
    ],
  ],
  ["label value not a string", "apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {version: 1}}\nspec: {ports: [{port: 80}]}\n", [["GW0104", "metadata.labels.version", "quote numbers"]]],
  ["Secret data not base64", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {tls.crt: 'not base64!'}\n", [["GW0109", "data.tls.crt", "not base64"]]],
  ["ServiceEntry port protocol Istio does not know (ValidateProtocol)", "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se}\nspec:\n  hosts: [a.com]\n  ports: [{number: 80, name: http, protocol: HTTP3}]\n", [["GW0106", "spec.ports[0].protocol", "unsupported protocol: HTTP3"]]],
  ["ServiceEntry port without number", "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se}\nspec:\n  hosts: [a.com]\n  ports: [{name: http}]\n", [["GW0105", "spec.ports[0].number", "is required"]]],
  [
    "Ingress v1 path without pathType",
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules:\n  - http:\n      paths:\n      - path: /\n        backend: {service: {name: a, port: {number: 80}}}\n",
    [["GW0105", "spec.rules[0].http.paths[0].pathType", "is required"]],
  ],
  [
    "Service with two unnamed ports",
    "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}, {port: 81}]}\n",
    [
      ["GW0105", "spec.ports[0].name", "several ports"],
      ["GW0105", "spec.ports[1].name", "several ports"],
    ],
  ],
];

describe("decode: malformed fields are errors naming file, document, resource and field", () => {
  for (const [what, doc, want] of BAD) {
    test(what, () => {
      const { resources, errors } = decodeFiles([{ path: "bad.yaml", text: `---\n${doc}` }]);
      expect(resources).toEqual([]);
      for (const e of errors) {
        expect(e.file).toBe("bad.yaml");
        expect(e.doc).toBe(0);
        expect(e.level).toBe("Error");
        if (e.code !== "GW0103") expect(e.resource).toMatch(/^\w+\/[a-z-]+\/[a-z-]+$/);
      }
      expect(errors.map((e) => [e.code, e.field])).toEqual(want.map(([c, f]) => [c, f]));
      want.forEach(([, , msg], i) => expect(errors[i]!.message).toContain(msg));
    });
  }
});

describe("decode: good documents become typed objects with defaults", () => {
  test("the walkthrough Gateway and VirtualService", () => {
    const [gw, vs] = decodeOk(`${GW("  - port: {number: 80, name: http, protocol: http}\n    hosts: [HTTPBIN.example.com]")}
  selector: {istio: ingressgateway}
---
${VS(`  hosts: ["httpbin.example.com"]
  gateways: [httpbin-gateway]
  http:
  - match:
    - uri: {prefix: /status}
    - uri: {prefix: /delay}
      headers: {X-Debug: {}, x-b: {regex: "*"}}
    route:
    - destination: {port: {number: 8000}, host: httpbin}
    timeout: 1.5s`)}`) as [GatewayResource, VirtualServiceResource];
    expect(gw.spec.selector).toEqual({ istio: "ingressgateway" });
    expect(gw.spec.servers[0]!.port).toEqual({ number: 80, name: "http", protocol: "HTTP" });
    expect(gw.spec.servers[0]!.hosts).toEqual(["httpbin.example.com"]);
    const http = vs.spec.http[0]!;
    expect(http.match.map((m) => m.uri)).toEqual([
      { kind: "prefix", value: "/status" },
      { kind: "prefix", value: "/delay" },
    ]);
    expect(http.match[1]!.headers).toEqual([
      { name: "x-b", match: null },
      { name: "x-debug", match: null },
    ]);
    expect(http.route).toEqual([{ destination: { host: "httpbin", subset: "", port: 8000 }, weight: 0, headers: null }]);
    expect(http.timeoutMs).toBe(1500);
    expect(vs.metadata.namespace).toBe("web");
  });

  test("TLS server keeps mode and credentialName; mode defaults to PASSTHROUGH as in Istio", () => {
    const [gw] = decodeOk(GW(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.com]
    tls: {mode: SIMPLE, credentialName: httpbin-credential}
  - port: {number: 8443, name: tls, protocol: TLS}
    hosts: [b.com]
    tls: {}`)) as [GatewayResource];
    expect(gw.spec.servers.map((s) => [s.tls?.mode, s.tls?.credentialName])).toEqual([
      ["SIMPLE", "httpbin-credential"],
      ["PASSTHROUGH", ""],
    ]);
  });

  test("Ingress v1beta1 backend and v1 named port normalise to one shape", () => {
    const [a, b] = decodeOk(`apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: a, annotations: {kubernetes.io/ingress.class: istio}}
spec:
  rules:
  - host: httpbin.example.com
    http:
      paths:
      - path: /status/*
        backend: {serviceName: httpbin, servicePort: 8000}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: b}
spec:
  ingressClassName: istio
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: httpbin, port: {name: http}}}
`) as [IngressResource, IngressResource];
    expect(a.spec.rules[0]!.paths[0]).toEqual({ path: "/status/*", pathType: "ImplementationSpecific", backend: { serviceName: "httpbin", port: 8000 } });
    expect(b.spec.rules[0]).toEqual({ host: "", paths: [{ path: "/", pathType: "Prefix", backend: { serviceName: "httpbin", port: "http" } }] });
    expect(b.spec.ingressClassName).toBe("istio");
  });

  test("EndpointSlice: service from its label, not-ready endpoints marked, ready unset counts as ready", () => {
    const [s] = decodeOk(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s, labels: {kubernetes.io/service-name: httpbin}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.0.0.1]
- addresses: [10.0.0.2]
  conditions: {ready: false}
`) as [EndpointSliceResource];
    expect(s.spec.serviceName).toBe("httpbin");
    expect(s.spec.endpoints.map((e) => e.ready)).toEqual([true, false]);
  });

  test("Secret: data base64-decoded, stringData merged over it; secretFromFiles for mounted volumes", () => {
    const [s] = decodeOk(`apiVersion: v1
kind: Secret
metadata: {name: cred, namespace: istio-system}
type: kubernetes.io/tls
data: {tls.crt: ${Buffer.from("CERT").toString("base64")}, tls.key: ${Buffer.from("KEY").toString("base64")}}
stringData: {ca.crt: CA}
`) as [SecretResource];
    expect(s.spec).toEqual({ type: "kubernetes.io/tls", data: { "tls.crt": "CERT", "tls.key": "KEY", "ca.crt": "CA" } });
    const m = secretFromFiles("cred", "istio-system", { "tls.crt": "C", "tls.key": "K" }, "/s/cred") as SecretResource;
    expect(m.metadata).toMatchObject({ name: "cred", namespace: "istio-system" });
    expect(m.spec).toEqual({ type: "kubernetes.io/tls", data: { "tls.crt": "C", "tls.key": "K" } });
    expect(m.source.file).toBe("/s/cred");
  });
  test("ConfigMap: data as text, binaryData base64-decoded over it; a non-string value is an Error naming the field", () => {
    const [c] = decodeOk(`apiVersion: v1
kind: ConfigMap
metadata: {name: ca, namespace: gw}
data: {ca.crt: PEM, other: x}
binaryData: {bin: ${Buffer.from("BIN").toString("base64")}}
`) as [ConfigMapResource];
    expect(c.kind).toBe("ConfigMap");
    expect(c.metadata).toMatchObject({ name: "ca", namespace: "gw" });
    expect(c.spec).toEqual({ data: { "ca.crt": "PEM", other: "x", bin: "BIN" } });
    const { resources, errors } = decodeFiles([{ path: "cm.yaml", text: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ca}\ndata: {ca.crt: {x: 1}}\n" }]);
    expect(resources).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ file: "cm.yaml", doc: 0, resource: "ConfigMap/default/ca", field: "data.ca.crt", level: "Error" });
  });
});

describe("large inputs: Bun's YAML parser reads the same documents as the yaml package", () => {
  const texts = [
    "a: 1\n",
    "a: 1\n---\nb: 2\n",
    "---\na: 1\n---\n",
    "# lead comment\n---\na: 1\n---\n---\nb: [1, 2]\n",
    "---\n- x\n---\n- y\n",
    "a: |\n  x\n  ---\n  y\nb: {c: d}\n",
    "base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n",
    "a: yes\nb: 0777\nc: 2020-01-01T00:00:00Z\nd: ~\ne: '1'\n",
    "a: 1\n...\n---\nb: 2\n",
    "",
    // what Bun's parser reads otherwise (notes/bigload.md): such documents go to the yaml package
    "a: !!binary aGVsbG8=\n---\nb: 1\n",
    "a: !!int '1'\nb: !!float 1\nc: !!null ''\n",
    "---\nbase: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n---\nplain: 1\n",
    "? [a]\n: 1\n",
    "a: 1\n: v\n",
    "- : v\n",
    "a: , x\n",
    ", x\n",
    "a:\n\t\n",
    // Kubernetes YAML that Bun and the yaml package read alike (YAML 1.2 core schema)
    "a: yes\nb: on\nc: off\nd: y\ne: 017\nf: 0o17\ng: 0x1f\nh: 1_000\ni: .inf\nj: ~\nk: 2001-12-14\nl: 12:30:00\nm: +1\n",
    "--- {a: 1}\n--- |\n  text\n--- # c\nb: 2\n---\r\nc: 3\r\n",
    "# only a comment\n---\n---\n# c\n---\na: &x [1, 2]\nb: *x\n",
  ];
  for (const t of texts) {
    test(JSON.stringify(t), () => {
      const slow = slowDocuments("x.yaml", t);
      const fast = yamlDocuments("x.yaml", t, true);
      expect(fast).toEqual(slow);
    });
  }

  test("a syntax error in a large input is still located by the yaml package", () => {
    const big = "# " + "x".repeat(FAST_YAML_BYTES) + "\nkind: Service\n---\nspec:\n  hosts: [a\n";
    const { errors } = decodeFiles([{ path: "big.yaml", text: big }]);
    expect(errors.map((e) => [e.code, e.doc])).toEqual([["GW0101", 1]]);
    expect(errors[0]!.message).toContain("line 6");
  });
});

describe("durations", () => {
  const cases: [string, number | null][] = [
    ["1.5s", 1500],
    ["500ms", 500],
    ["1m", 60000],
    ["1m30s", 90000],
    ["2h", 7200000],
    ["0", 0],
    ["0s", 0],
    ["10us", 0.01],
    ["1.500s", 1500],
    ["5", null],
    ["s", null],
    ["-1s", null],
    ["1 s", null],
    ["", null],
  ];
  for (const [text, ms] of cases) test(`${JSON.stringify(text)} → ${ms}`, () => expect(parseDuration(text)).toBe(ms));
});

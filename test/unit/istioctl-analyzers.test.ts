// istioctl analyze's own analyzer tests (istio/istio pkg/config/analysis/analyzers/analyzers_test.go,
// testdata/*.yaml), each case named as there, on inputs completed as a standalone ingress gateway needs
// them (servers, routes, the Services the mesh context implies). Each row: the findings of the codes
// the row is about, exactly; istioctl's message for the case is in the comment.
import { describe, expect, test } from "bun:test";
import type { CompileOptions } from "../../src/compile/context.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const svc = (name: string, ns = "default") => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {ports: [{name: http, port: 9080}]}
`;

const gw = (name: string, ns: string, hosts: string[], port = 80, extra = "") => `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: ${ns}}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${port}, name: p${port}, protocol: HTTP}
    hosts: ${JSON.stringify(hosts)}
${extra}`;

const vs = (name: string, ns: string, hosts: string[], gateways: string[], dest = "ratings") => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: ${JSON.stringify(hosts)}
  gateways: ${JSON.stringify(gateways)}
  http: [{route: [{destination: {host: ${dest}}}]}]
`;

const CLAIM_VS = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: foo, namespace: default}
spec:
  hosts: [foo.com]
  gateways: [foo-gateway]
  http:
  - match: [{uri: {prefix: /}, headers: {"@request.auth.claims.foo": {exact: foo}}}]
    route: [{destination: {host: ratings}}]
`;

interface DupMatch {
  uri: string;
  name?: string;
  method?: string;
  header?: string;
}

/** A VirtualService on gw whose http routes have these matches (`[]`/`{}`: no match). */
const DUP_VS = (name: string, routes: (DupMatch[] | object)[]) =>
  `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}.example.com]
  gateways: [istio-system/gw]
  http:
${routes
  .map((r) => {
    const ms = Array.isArray(r) ? r : [];
    const match =
      ms.length === 0
        ? ""
        : `    match:\n${ms
            .map((m) => {
              const [kind, value] = m.uri.split(" ");
              const extra = [
                m.name !== undefined ? `name: ${m.name}` : "",
                m.method !== undefined ? `method: {exact: ${m.method}}` : "",
                m.header !== undefined ? `headers: {${m.header}: {exact: "1"}}` : "",
              ].filter(Boolean);
              return `    - {uri: {${kind}: "${value}"}${extra.map((e) => `, ${e}`).join("")}}\n`;
            })
            .join("")}`;
    return `  - ${match === "" ? "" : match.slice(4)}${match === "" ? "" : "    "}route: [{destination: {host: sample}}]\n`;
  })
  .join("")}`;

/** A Gateway for foo.bar with these [port, protocol] servers (unique port names). */
const GW2 = (name: string, servers: [number, string][]) => `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
${servers.map(([port, proto]) => `  - port: {number: ${port}, name: ${proto.toLowerCase()}-${port}, protocol: ${proto}}\n    hosts: [foo.bar]\n`).join("")}`;

const SECRET_GW = (name: string, selector: string, credential: string) => `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default}
spec:
  selector: {istio: ${selector}}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: ${credential}}
    hosts: [${name}.example.com]
`;

interface Row {
  name: string;
  yaml: string;
  codes: string[];
  expected: string[];
  opts?: Partial<CompileOptions>;
}

const rows: Row[] = [
  {
    // istioctl: ReferencedResourceNotFound for httpbin-bogus; httpbin, httpbin-mesh and cross-test fine
    // (its VirtualServiceHostNotFoundInGateway messages come from Gateways without servers, which gangway refuses).
    name: "virtualServiceGateways",
    yaml:
      svc("ratings") +
      gw("httpbin-gateway", "default", ["*"]) +
      gw("crossnamespace-gw", "another", ["*"], 81) +
      vs("httpbin", "default", ["*"], ["httpbin-gateway"]) +
      vs("httpbin-bogus", "default", ["*"], ["httpbin-gateway-bogus"]) +
      vs("httpbin-mesh", "default", ["*"], ["mesh"]) +
      vs("cross-test", "default", ["*"], ["another/crossnamespace-gw"]),
    codes: ["GW0301", "GW0302", "GW0307"],
    expected: [
      'Error GW0301 VirtualService/default/httpbin-bogus: gateway "default/httpbin-gateway-bogus" not found: not served; did you mean "another/crossnamespace-gw" or "httpbin-gateway"? (it serves *)',
      "Info GW0307 VirtualService/default/httpbin-mesh: no gateways: it applies to the mesh (sidecars) only and is not served by a gateway",
    ],
  },
  {
    // istioctl: VirtualServiceHostNotFoundInGateway for 02-test-01, 02-test-02, 02-test-03 (bound to two
    // gateways, one of which serves none of its hosts), 03-test-04.
    name: "host defined in virtualservice not found in the gateway",
    yaml:
      svc("ratings") +
      gw("testing-gateway-01-test-01", "istio-system", ["testing-01.com"]) +
      vs("testing-service-01-test-01", "default", ["testing-01.com"], ["istio-system/testing-gateway-01-test-01"]) +
      vs("testing-service-02-test-01", "default", ["wrong-01.com"], ["istio-system/testing-gateway-01-test-01"]) +
      gw("testing-gateway-01-test-02", "istio-system", ["*.testing-02.com"]) +
      vs("testing-service-01-test-02", "default", ["web.testing-02.com"], ["istio-system/testing-gateway-01-test-02"]) +
      vs("testing-service-02-test-02", "default", ["web.wrong.com"], ["istio-system/testing-gateway-01-test-02"]) +
      gw("testing-gateway-01-test-03", "istio-system", ["*.api.testing-03.com"]) +
      gw("testing-gateway-02-test-03", "istio-system", ["*.homepage.testing-03.com"]) +
      vs("testing-service-01-test-03", "default", ["user.api.testing-03.com", "profile.homepage.testing-03.com"], [
        "istio-system/testing-gateway-01-test-03",
        "istio-system/testing-gateway-02-test-03",
      ]) +
      vs("testing-service-02-test-03", "default", ["user.api.testing-03.com"], [
        "istio-system/testing-gateway-01-test-03",
        "istio-system/testing-gateway-02-test-03",
      ]) +
      gw("testing-gateway-01-test-04", "istio-system", ["*.testing-01-04.com"], 80, `  - port: {number: 80, name: http-2, protocol: HTTP}\n    hosts: ["web.testing-02-04.com"]\n`) +
      vs("testing-service-01-test-04", "default", ["web.testing-02-04.com"], ["istio-system/testing-gateway-01-test-04"]) +
      vs("testing-service-02-test-04", "default", ["profile.user.testing-01-04.com"], ["istio-system/testing-gateway-01-test-04"]) +
      vs("testing-service-03-test-04", "default", ["user.testing-02-04.com", "users.testing-02-04.com"], ["istio-system/testing-gateway-01-test-04"]),
    codes: ["GW0301", "GW0302"],
    expected: [
      "Warning GW0302 VirtualService/default/testing-service-02-test-01: host wrong-01.com is served by no server of gateway istio-system/testing-gateway-01-test-01: its routes are not reachable for that host",
      "Warning GW0302 VirtualService/default/testing-service-02-test-02: host web.wrong.com is served by no server of gateway istio-system/testing-gateway-01-test-02: its routes are not reachable for that host",
      "Warning GW0302 VirtualService/default/testing-service-02-test-03: gateway istio-system/testing-gateway-02-test-03 serves none of the hosts user.api.testing-03.com: binding to it has no effect",
      "Warning GW0302 VirtualService/default/testing-service-03-test-04: host user.testing-02-04.com is served by no server of gateway istio-system/testing-gateway-01-test-04: its routes are not reachable for that host",
      "Warning GW0302 VirtualService/default/testing-service-03-test-04: host users.testing-02-04.com is served by no server of gateway istio-system/testing-gateway-01-test-04: its routes are not reachable for that host",
    ],
  },
  {
    // istioctl's GatewayAnalyzer checks each gateway against all the hosts: with `mesh` among the gateways,
    // a host for the sidecars (ratings) is no finding; a gateway that serves none of the hosts is.
    name: "host defined in virtualservice not found in the gateway (also bound to mesh)",
    yaml:
      svc("ratings") +
      gw("gw", "istio-system", ["ext.example.com"]) +
      vs("both", "default", ["ext.example.com", "ratings"], ["istio-system/gw", "mesh"]) +
      vs("mesh-only-hosts", "default", ["ratings"], ["istio-system/gw", "mesh"]),
    codes: ["GW0301", "GW0302"],
    expected: [
      "Warning GW0302 VirtualService/default/mesh-only-hosts: gateway istio-system/gw serves none of the hosts ratings.default.svc.cluster.local: binding to it has no effect",
    ],
  },
  {
    // istioctl: ReferencedResourceNotFound for reviews-bogushost, reviews-bookinfo-other (its ServiceEntry is
    // exportTo "." in another namespace), reviews-mirror-bogushost, reviews-bogusport, cross-namespace-details
    // (details is exportTo banana); VirtualServiceDestinationPortSelectorRequired for reviews-2port-missing.
    // gangway looks from the gateway namespace (istio-system), where a Service exported elsewhere is not seen,
    // and says so; the port selector is a Warning as the listener port is used (Istio's runtime).
    name: "virtualServiceDestinationHosts",
    yaml:
      `---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {ports: [{port: 42, name: http-test}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews-2port, namespace: default}
spec: {ports: [{port: 80, name: http-test}, {port: 443, name: https-test}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: service-entry-other, namespace: other}
spec:
  exportTo: ["."]
  hosts: [other.bookinfo.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: v1
kind: Service
metadata:
  name: details
  namespace: default
  annotations: {networking.istio.io/exportTo: banana}
spec: {ports: [{port: 9080, name: http}]}
` +
      gw("gw", "istio-system", ["*/*"]) +
      vs("reviews", "default", ["a.example.com"], ["istio-system/gw"], "reviews") +
      vs("reviews-bogushost", "default", ["b.example.com"], ["istio-system/gw"], "reviews-bogus") +
      vs("reviews-fqdn", "default", ["c.example.com"], ["istio-system/gw"], "reviews.default.svc.cluster.local") +
      vs("reviews-bookinfo-other", "default", ["d.example.com"], ["istio-system/gw"], "other.bookinfo.com") +
      vs("reviews-bogusport", "default", ["e.example.com"], ["istio-system/gw"], "reviews, port: {number: 999}") +
      vs("reviews-2port-missing", "default", ["f.example.com"], ["istio-system/gw"], "reviews-2port") +
      vs("reviews-2port-present", "default", ["g.example.com"], ["istio-system/gw"], "reviews-2port, port: {number: 80}") +
      vs("cross-namespace", "istio-system", ["h.example.com"], ["istio-system/gw"], "reviews.default.svc.cluster.local") +
      vs("cross-namespace-details", "istio-system", ["i.example.com"], ["istio-system/gw"], "details.default.svc.cluster.local") +
      `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-mirror-bogushost, namespace: default}
spec:
  hosts: [j.example.com]
  gateways: [istio-system/gw]
  http: [{route: [{destination: {host: reviews}}], mirror: {host: reviews-bogus}}]
`,
    codes: ["GW0401", "GW0402", "GW0403"],
    expected: [
      "Warning GW0401 VirtualService/default/reviews-bogushost: destination host reviews-bogus.default.svc.cluster.local is no Service or ServiceEntry: requests get 503",
      "Warning GW0401 VirtualService/default/reviews-bookinfo-other: destination host other.bookinfo.com: ServiceEntry/other/service-entry-other (exportTo .) is not exported to the gateway namespace istio-system: requests get 503",
      "Warning GW0402 VirtualService/default/reviews-bogusport: port 999 is not a port of Service/default/reviews (42): requests get 503",
      "Warning GW0403 VirtualService/default/reviews-2port-missing: destination reviews-2port.default.svc.cluster.local has several ports (80, 443): give port.number; using 80",
      "Warning GW0401 VirtualService/istio-system/cross-namespace-details: destination host details.default.svc.cluster.local: Service/default/details (exportTo banana) is not exported to the gateway namespace istio-system: requests get 503",
      "Warning GW0401 VirtualService/default/reviews-mirror-bogushost: destination host reviews-bogus.default.svc.cluster.local is no Service or ServiceEntry: requests get 503",
    ],
    opts: { namespace: "istio-system" },
  },
  {
    // istioctl: ReferencedResourceNotFound for reviews-bogussubset and reviews-mirror-bogussubset.
    name: "virtualServiceDestinationRules",
    yaml:
      svc("reviews") +
      `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
` +
      gw("gw", "istio-system", ["*/*"]) +
      vs("reviews", "default", ["a.example.com"], ["istio-system/gw"], "reviews, subset: v1") +
      vs("reviews-bogussubset", "default", ["b.example.com"], ["istio-system/gw"], "reviews, subset: bogus") +
      vs("reviews-fqdn", "default", ["c.example.com"], ["istio-system/gw"], "reviews.default.svc.cluster.local, subset: v1") +
      `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-mirror, namespace: default}
spec:
  hosts: [d.example.com]
  gateways: [istio-system/gw]
  http: [{route: [{destination: {host: reviews, subset: v1}}], mirror: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-mirror-bogussubset, namespace: default}
spec:
  hosts: [e.example.com]
  gateways: [istio-system/gw]
  http: [{route: [{destination: {host: reviews, subset: v1}}], mirror: {host: reviews, subset: bogus}}]
`,
    codes: ["GW0401", "GW0404"],
    expected: [
      'Warning GW0404 VirtualService/default/reviews-bogussubset: subset "bogus" is not defined in DestinationRule/default/reviews: requests get 503',
      'Warning GW0404 VirtualService/default/reviews-mirror-bogussubset: subset "bogus" is not defined in DestinationRule/default/reviews: requests get 503',
    ],
  },
  {
    // istioctl: JwtClaimBasedRoutingWithoutRequestAuthN (Error) for foo.
    name: "virtualServiceJWTClaimRoute",
    yaml: svc("ratings") + gw("foo-gateway", "default", ["foo.com"]) + CLAIM_VS,
    codes: ["GW0319"],
    expected: [
      "Error GW0319 VirtualService/default/foo: routes on the JWT claim @request.auth.claims.foo but no RequestAuthentication applies to this gateway: there are no verified claims, so the match never holds (a withoutHeaders claim match always does)",
    ],
  },
  {
    // The same with a RequestAuthentication for the gateway: no finding (istioctl's passing case).
    name: "virtualServiceJWTClaimRoute (with a RequestAuthentication)",
    yaml:
      svc("ratings") +
      gw("foo-gateway", "default", ["foo.com"]) +
      CLAIM_VS +
      `---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-system}
spec:
  jwtRules: [{issuer: "https://issuer.example", jwksUri: "http://127.0.0.1:1/jwks.json"}]
`,
    codes: ["GW0319"],
    expected: [],
  },
  {
    // istioctl (since istio#60776) finds the Gateway API Gateway and reports VirtualServiceHostNotFoundInGateway for
    // my-vs-host-mismatch only. Istio's pilot binds VirtualServices by exact gateway name (VirtualServicesForGateway)
    // and names a listener's internal Gateway <name>~istio-autogenerated-k8s-gateway~<listener>, so neither is
    // served; gangway says why, and suggests no internal name.
    name: "virtualServiceKubernetesGateways",
    yaml:
      `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: my-gateway, namespace: default}
spec:
  gatewayClassName: istio
  listeners: [{name: http, hostname: example.com, port: 80, protocol: HTTP}]
` +
      svc("my-service") +
      vs("my-vs", "default", ["example.com"], ["default/my-gateway"], "my-service") +
      vs("my-vs-host-mismatch", "default", ["wrong.example.com"], ["default/my-gateway"], "my-service"),
    codes: ["GW0301", "GW0302"],
    expected: [
      'Error GW0301 VirtualService/default/my-vs: gateway "default/my-gateway" is a Gateway API Gateway: a VirtualService does not bind to it (an HTTPRoute does): not served',
      'Error GW0301 VirtualService/default/my-vs-host-mismatch: gateway "default/my-gateway" is a Gateway API Gateway: a VirtualService does not bind to it (an HTTPRoute does): not served',
    ],
  },
  {
    // istioctl (schema validation, its http part): VirtualServiceUnreachableRule for sample-foo-cluster01 and
    // duplicate-match; VirtualServiceIneffectiveMatch for duplicate-match, almost-duplicate-match, non-method-get,
    // overlapping-in-single-match, overlapping-in-two-matches, overlapping-mathes-with-different-methods; none for
    // uri-with-prefix-exact. gangway: a route all of whose matches are taken is unreachable (Warning, as istioctl
    // for an exact duplicate; overlapping-in-two-matches too), a taken match among others is Info.
    name: "dupmatches",
    yaml:
      svc("sample") +
      gw("gw", "istio-system", ["*/*"]) +
      DUP_VS("sample-foo-cluster01", [{}, {}]) +
      DUP_VS("duplicate-match", [[{ uri: "prefix /api/v1/products", name: "a" }], [{ uri: "prefix /api/v1/products" }]]) +
      DUP_VS("almost-duplicate-match", [[{ uri: "prefix /api/v1/products" }], [{ uri: "prefix /api/v1/products", name: "a" }, { uri: "prefix /potato" }]]) +
      DUP_VS("non-method-get", [[{ uri: "prefix /api/v1/product" }, { uri: "prefix /api/v1/products", method: "GET" }]]) +
      DUP_VS("uri-with-prefix-exact", [[{ uri: "prefix /" }, { uri: "exact /", method: "GET" }]]) +
      DUP_VS("overlapping-in-single-match", [[{ uri: "prefix /api/v1/product", method: "GET" }, { uri: "prefix /api/v1/products", method: "GET" }]]) +
      DUP_VS("overlapping-in-two-matches", [[{ uri: "prefix /api/v1/product", method: "GET" }], [{ uri: "prefix /api/v1/products", method: "GET" }]]) +
      DUP_VS("overlapping-mathes-with-different-methods", [
        [{ uri: "prefix /api/v1/prod", method: "GET" }],
        [
          { uri: "prefix /api/v1/product", method: "GET" },
          { uri: "prefix /api/v1/products", method: "POST" },
        ],
      ]) +
      DUP_VS("different-headers", [[{ uri: "prefix /a", header: "x" }], [{ uri: "prefix /a/b" }]]),
    codes: ["GW0309", "GW0320"],
    expected: [
      "Warning GW0309 VirtualService/default/sample-foo-cluster01: http[1] can never match: http[0] matches every request first",
      "Warning GW0309 VirtualService/default/duplicate-match: http[1] can never match: http[0] matches its requests first",
      "Info GW0320 VirtualService/default/almost-duplicate-match: http[1].match[0] never applies: http[0] matches its requests first",
      "Info GW0320 VirtualService/default/non-method-get: http[0].match[1] never applies: http[0] matches its requests first",
      "Info GW0320 VirtualService/default/overlapping-in-single-match: http[0].match[1] never applies: http[0] matches its requests first",
      "Warning GW0309 VirtualService/default/overlapping-in-two-matches: http[1] can never match: http[0] matches its requests first",
      "Info GW0320 VirtualService/default/overlapping-mathes-with-different-methods: http[1].match[0] never applies: http[0] matches its requests first",
    ],
  },
  {
    // istioctl: IngressRouteRulesNotAffected for testing-service-01-test-01 (no subset, while ratings-01 routes
    // ratings by subset); none for testing-service-02-test-02 (it names the subset).
    name: "Route Rule no effect on Ingress",
    yaml:
      svc("ratings") +
      `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: default}
spec:
  host: ratings
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings-01, namespace: default}
spec:
  hosts: [ratings]
  http: [{route: [{destination: {host: ratings, subset: v1}}]}]
` +
      gw("testing-gateway-01-test-01", "istio-system", ["testing-01.com"]) +
      vs("testing-service-01-test-01", "default", ["testing-01.com"], ["istio-system/testing-gateway-01-test-01"]) +
      gw("testing-gateway-02-test-02", "istio-system", ["testing-02.com"]) +
      vs("testing-service-02-test-02", "default", ["testing-02.com"], ["istio-system/testing-gateway-02-test-02"], "ratings, subset: v1"),
    codes: ["GW0417"],
    expected: [
      "Warning GW0417 VirtualService/default/testing-service-01-test-01: destination ratings.default.svc.cluster.local has no subset: the gateway sends to all of its endpoints, the subset routes of VirtualService/default/ratings-01 do not apply to this traffic",
    ],
  },
  {
    // istioctl: ConflictingGateways (Error) on alpha and beta: TCP and HTTP on port 80 for foo.bar.
    // gangway drops the later server (GW0201, Error).
    name: "conflicting gateways detect",
    yaml: GW2("beta", [[80, "TCP"]]) + GW2("alpha", [[80, "HTTP"]]),
    codes: ["GW0201", "GW0203"],
    expected: ["Error GW0201 Gateway/default/beta: port 80 TCP conflicts with Gateway/default/alpha server 0 (HTTP on the same port): server dropped"],
  },
  {
    // istioctl: none.
    name: "gateways with different port are non-conflicting",
    yaml: GW2("beta", [[443, "TCP"]]) + GW2("alpha", [[80, "HTTP"]]),
    codes: ["GW0201", "GW0202", "GW0203"],
    expected: [],
  },
  {
    // istioctl: ConflictingGateways on alpha and beta (port 90). Port names made unique (Istio's validation).
    name: "conflicting gateways with multiple port declarations",
    yaml: GW2("beta", [[80, "TCP"], [90, "TCP"]]) + GW2("alpha", [[70, "HTTP"], [90, "HTTP"]]),
    codes: ["GW0201", "GW0203"],
    expected: ["Error GW0201 Gateway/default/beta: port 90 TCP conflicts with Gateway/default/alpha server 1 (HTTP on the same port): server dropped"],
  },
  {
    // istioctl: ConflictingGateways on alpha and beta, whose selectors select the same pods.
    name: "conflicting gateways detect by sub selector",
    yaml:
      GW2("beta", [[80, "TCP"]]).replace("istio: ingressgateway", "istio: ingressgateway, app: istio-ingressgateway, cusKey: cusValue") +
      GW2("alpha", [[80, "HTTP"]]).replace("istio: ingressgateway", "istio: ingressgateway, cusKey: cusValue"),
    opts: { labels: { istio: "ingressgateway", app: "istio-ingressgateway", cusKey: "cusValue" } },
    codes: ["GW0201", "GW0203", "GW0205"],
    expected: ["Error GW0201 Gateway/default/beta: port 80 TCP conflicts with Gateway/default/alpha server 0 (HTTP on the same port): server dropped"],
  },
  {
    // The same HTTP host on one port in two Gateways: istioctl's ConflictingGateways (Error); gangway serves them
    // merged as Istio's runtime does, a Warning (README).
    name: "conflicting gateways detect (both HTTP)",
    yaml: GW2("beta", [[80, "HTTP"]]) + GW2("alpha", [[80, "HTTP"]]),
    codes: ["GW0201", "GW0203"],
    expected: ["Warning GW0203 Gateway/default/beta: host foo.bar on port 80 is also served by Gateway default/alpha: their routes merge (first by creation order wins)"],
  },
  {
    // istioctl: ReferencedResourceNotFound for the credentialName no Secret in the gateway's namespace has
    // (defaultgateway-bogusCredentialName, name lower-cased as Kubernetes requires; customgateway-wrongnamespace
    // on a gateway in namespace default).
    name: "gatewaySecret",
    yaml:
      SECRET_GW("defaultgateway-boguscredentialname", "ingressgateway", "httpbin-credential-bogus") +
      SECRET_GW("customgateway-wrongnamespace", "custom-gateway", "httpbin-credential"),
    opts: { labels: { istio: "custom-gateway" }, namespace: "default" },
    codes: ["GW0601"],
    expected: [
      'Error GW0601 Gateway/default/customgateway-wrongnamespace: credentialName "httpbin-credential": Secret default/httpbin-credential not found: its hosts fail the handshake',
    ],
  },
  {
    // The same on the default gateway (istio=ingressgateway in istio-system): the bogus credentialName is missing.
    name: "gatewaySecret (istio-system gateway)",
    yaml:
      SECRET_GW("defaultgateway-boguscredentialname", "ingressgateway", "httpbin-credential-bogus") +
      SECRET_GW("customgateway-wrongnamespace", "custom-gateway", "httpbin-credential"),
    codes: ["GW0601"],
    expected: [
      'Error GW0601 Gateway/default/defaultgateway-boguscredentialname: credentialName "httpbin-credential-bogus": Secret istio-system/httpbin-credential-bogus not found: its hosts fail the handshake',
    ],
  },
];

describe("istioctl analyze test cases, as gangway analyzes them", () => {
  for (const row of rows) {
    test(row.name, () => {
      const s = compileYaml(row.yaml, row.opts ?? {});
      const lines = findingLines(s).filter((l) => row.codes.includes(l.split(" ")[1]!));
      expect(lines.sort()).toEqual([...row.expected].sort());
    });
  }
});

// Conformance cases of kubernetes-sigs/gateway-api (conformance/tests/<case>.go)
// ported as tables: the case's manifests are test/gatewayapi/cases/<case>/input.yaml
// (plus base.yaml); each request lists what the conformance test expects: the
// backend Service that answers (`name`, or `ns/name` outside
// gateway-conformance-infra) or the status gangway answers itself.
import { FRONTEND_TLS_CASES } from "./frontend-tls-cases.ts";

export interface CaseRequest {
  host?: string;
  path: string;
  /** Gateway port (default 80). */
  port?: number;
  /** TLS server name (a TLS listener: passthrough by SNI). */
  sni?: string;
  /**
   * Where gangway knowingly answers otherwise than the conformance test
   * expects: what the test expects, and why (`expect` is then gangway's answer).
   */
  conformance?: { expect: string | number; why: string };
  method?: string;
  headers?: Record<string, string>;
  /** The client certificate a TLS request presents (frontend-tls-cases.ts); absent: none asked for. */
  clientCert?: "default" | "per-port" | "none";
  expect: string | number;
}

export interface ConformanceCase {
  name: string;
  /** Folder under cases/ when it differs from `name` (one case, several instances). */
  dir?: string;
  /** More fixture files under test/gatewayapi/ (the base's HTTPS Gateway). */
  extra?: string[];
  /** `--gateway` values (the Gateways the conformance test addresses). */
  gateways: string[];
  requests: CaseRequest[];
}

const INFRA = "gateway-conformance-infra";
const gw = (name: string) => `${INFRA}/${name}`;
const r = (path: string, expect: string | number, more: Partial<CaseRequest> = {}): CaseRequest => ({ path, expect, ...more });
const h = (host: string, path: string, expect: string | number, more: Partial<CaseRequest> = {}): CaseRequest => ({ host, path, expect, ...more });
const tls = (sni: string, expect: string): CaseRequest => ({ sni, port: 443, path: "", expect });
/** A plain TCP connection to a Gateway port: the backend Service it reaches. */
const tcp = (port: number, expect: string): CaseRequest => ({ port, path: "", expect });
/** A gRPC call (POST, application/grpc) to `/<service>/<method>` of the conformance echo service; 404 is the gRPC Unimplemented (grpc-status 12). */
const ECHO = "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho";
const grpc = (method: string, expect: string | number, more: Partial<CaseRequest> = {}): CaseRequest => ({
  path: `${ECHO}/${method}`,
  expect,
  ...more,
  method: "POST",
  headers: { "content-type": "application/grpc", ...more.headers },
});
const G1 = "grpc-infra-backend-v1";
const G2 = "grpc-infra-backend-v2";
const G3 = "grpc-infra-backend-v3";
const V1 = "infra-backend-v1";
const V2 = "infra-backend-v2";
const V3 = "infra-backend-v3";

/** gateway-http-listener-isolation(-with-hostname-intersection): a listener's routes never serve a more specific listener's host. */
const ISOLATION: CaseRequest[] = [
      h("bar.com", "/empty-hostname", V1), h("bar.com", "/wildcard-example-com", 404), h("bar.com", "/wildcard-foo-example-com", 404),
      h("bar.com", "/abc-foo-example-com", 404), h("bar.example.com", "/empty-hostname", 404), h("bar.example.com", "/wildcard-example-com", V1),
      h("bar.example.com", "/wildcard-foo-example-com", 404), h("bar.example.com", "/abc-foo-example-com", 404),
      h("bar.foo.example.com", "/empty-hostname", 404), h("bar.foo.example.com", "/wildcard-example-com", 404),
      h("bar.foo.example.com", "/wildcard-foo-example-com", V1), h("bar.foo.example.com", "/abc-foo-example-com", 404),
      h("abc.foo.example.com", "/empty-hostname", 404), h("abc.foo.example.com", "/wildcard-example-com", 404),
      h("abc.foo.example.com", "/wildcard-foo-example-com", 404), h("abc.foo.example.com", "/abc-foo-example-com", V1),
];

/** listenerset-http-routing: each route on each host (2 Gateway listeners, 2 ListenerSets of 2), answered only where it attached. */
const LISTENERSET_HTTP_ROUTING: CaseRequest[] = (() => {
  const gwHosts = ["gateway-listener-1.com", "gateway-listener-2.com"];
  const ls1 = ["listener-set-http-routing-1-listener-1.com", "listener-set-http-routing-1-listener-2.com"];
  const ls2 = ["listener-set-http-routing-2-listener-1.com", "listener-set-http-routing-2-listener-2.com"];
  const all = [...gwHosts, ...ls1, ...ls2];
  const where: [string, string, string[]][] = [
    ["/route", V1, all],
    ["/gateway-route", V2, gwHosts],
    ["/gateway-section-route", V3, [gwHosts[0]!]],
    ["/listener-set-http-routing-1-route", V2, ls1],
    ["/listener-set-http-routing-1-section-route", V3, [ls1[0]!]],
    ["/listener-set-http-routing-2-route", V2, ls2],
  ];
  return where.flatMap(([path, backend, hosts]) => all.map((host) => h(host, path, hosts.includes(host) ? backend : 404)));
})();

export const CASES: ConformanceCase[] = [
  { name: "httproute-simple-same-namespace", gateways: [gw("same-namespace")], requests: [r("/", V1)] },
  {
    name: "httproute-matching",
    gateways: [gw("same-namespace")],
    requests: [
      r("/", V1), r("/example", V1), r("/", V1, { headers: { version: "one" } }), r("/v2", V2), r("/v2/example", V2),
      r("/", V2, { headers: { version: "two" } }), r("/v2/", V2), r("/v2example", V1), r("/foo/v2/example", V1),
    ],
  },
  {
    name: "httproute-exact-path-matching",
    gateways: [gw("same-namespace")],
    requests: [r("/one", V1), r("/two", V2), r("/", 404), r("/one/example", 404), r("/two/", 404), r("/Two", 404)],
  },
  {
    name: "httproute-header-matching",
    gateways: [gw("same-namespace")],
    requests: [
      r("/", V1, { headers: { version: "one" } }), r("/", V2, { headers: { version: "two" } }),
      r("/", V1, { headers: { version: "two", color: "orange" } }), r("/", V2, { headers: { version: "two", color: "blue" } }),
      r("/", 404, { headers: { color: "orange" } }), r("/", 404, { headers: { "some-other-header": "one" } }),
      r("/", V1, { headers: { color: "blue" } }), r("/", V1, { headers: { color: "green" } }), r("/", V2, { headers: { color: "red" } }),
      r("/", V2, { headers: { color: "yellow" } }), r("/", 404, { headers: { color: "purple" } }),
    ],
  },
  {
    name: "httproute-query-param-matching",
    gateways: [gw("same-namespace")],
    requests: [
      r("/?animal=whale", V1), r("/?animal=dolphin", V2), r("/?animal=dolphin&color=blue", V3), r("/?ANIMAL=Whale", V3),
      r("/?animal=whale&otherparam=irrelevant", V1), r("/?animal=dolphin&color=yellow", V2), r("/?color=blue", 404),
      r("/?animal=dog", 404), r("/?animal=whaledolphin", 404), r("/", 404), r("/path1?animal=whale", V1),
      r("/?animal=whale", V2, { headers: { version: "one" } }), r("/path2?animal=whale", V3, { headers: { version: "two" } }),
      r("/path3?animal=shark", V1), r("/path4?animal=kraken", V1, { headers: { version: "three" } }), r("/?animal=shark", 404),
      r("/path4?animal=kraken", 404), r("/path5?animal=hydra", V1), r("/?animal=hydra", V3, { headers: { version: "four" } }),
    ],
  },
  {
    name: "httproute-method-matching",
    gateways: [gw("same-namespace")],
    requests: [
      r("/", V1, { method: "POST" }), r("/", V2, { method: "GET" }), r("/", 404, { method: "HEAD" }), r("/path1", V1, { method: "GET" }),
      r("/", V2, { method: "PUT", headers: { version: "one" } }), r("/path2", V3, { method: "POST", headers: { version: "two" } }),
      r("/path3", V1, { method: "PATCH" }), r("/path4", V1, { method: "DELETE", headers: { version: "three" } }), r("/", 404, { method: "PUT" }),
      r("/path4", 404, { method: "DELETE" }), r("/path5", V1, { method: "PATCH" }), r("/", V2, { method: "PATCH", headers: { version: "four" } }),
    ],
  },
  {
    name: "httproute-matching-across-routes",
    gateways: [gw("same-namespace")],
    requests: [
      h("example.com", "/", V1), h("example.com", "/example", V1), h("example.net", "/example", V1),
      h("example.com", "/example", V1, { headers: { version: "one" } }), h("example.com", "/v2", V2), h("example.net", "/v2", V1),
      h("example.com", "/v2/example", V2), h("example.com", "/", V2, { headers: { version: "two" } }),
    ],
  },
  {
    name: "httproute-path-match-order",
    gateways: [gw("same-namespace")],
    requests: [r("/match/exact/one", V3), r("/match/exact", V2), r("/match", V1), r("/match/prefix/one/any", V2), r("/match/prefix/any", V1), r("/match/any", V3)],
  },
  {
    name: "httproute-hostname-intersection",
    gateways: [gw("httproute-hostname-intersection"), gw("httproute-hostname-intersection-all")],
    requests: [
      h("very.specific.com", "/s1", V1), h("very.specific.com:1234", "/s1", V1), h("non.matching.com", "/s1", 404),
      h("foo.nonmatchingwildcard.io", "/s1", 404), h("foo.wildcard.io", "/s1", 404), h("very.specific.com", "/non-matching-prefix", 404),
      h("foo.wildcard.io", "/s2", V2), h("bar.wildcard.io", "/s2", V2), h("foo.bar.wildcard.io", "/s2", V2), h("non.matching.com", "/s2", 404),
      h("wildcard.io", "/s2", 404), h("very.specific.com", "/s2", 404), h("foo.wildcard.io", "/non-matching-prefix", 404),
      h("very.specific.com", "/s3", V3), h("non.matching.com", "/s3", 404), h("foo.specific.com", "/s3", 404), h("foo.wildcard.io", "/s3", 404),
      h("foo.anotherwildcard.io", "/s4", V1), h("bar.anotherwildcard.io", "/s4", V1), h("foo.bar.anotherwildcard.io", "/s4", V1),
      h("anotherwildcard.io", "/s4", 404), h("foo.wildcard.io", "/s4", 404), h("very.specific.com", "/s4", 404),
      h("specific.but.wrong.com", "/s5", 404), h("wildcard.io", "/s5", 404),
    ],
  },
  {
    // "HTTPRoutes intersects with an unspecified hostname listener": the second Gateway alone
    name: "httproute-hostname-intersection/all",
    dir: "httproute-hostname-intersection",
    gateways: [gw("httproute-hostname-intersection-all")],
    requests: [
      h("first.com", "/", V2), h("sub.first.com", "/", V2), h("second.com", "/", V2), h("sub.second.com", "/", V2),
      h("third.com", "/", 404), h("sub.third.com", "/", 404),
    ],
  },
  {
    name: "httproute-listener-hostname-matching",
    gateways: [gw("httproute-listener-hostname-matching")],
    requests: [
      h("bar.com", "/", V1), h("foo.bar.com", "/", V2), h("baz.bar.com", "/", V3), h("boo.bar.com", "/", V3),
      h("multiple.prefixes.bar.com", "/", V3), h("multiple.prefixes.foo.com", "/", V3), h("foo.com", "/", 404), h("no.matching.host", "/", 404),
    ],
  },
  { name: "gateway-http-listener-isolation", gateways: [gw("http-listener-isolation")], requests: ISOLATION },
  { name: "gateway-http-listener-isolation-with-hostname-intersection", gateways: [gw("http-listener-isolation-with-hostname-intersection")], requests: ISOLATION },
  {
    name: "httproute-listener-port-matching",
    gateways: [gw("httproute-listener-port-matching")],
    requests: [h("foo.com", "/", V1), h("foo.com:8080", "/", V2, { port: 8080 }), h("bar.com:8080", "/", V2, { port: 8080 }), h("foo.com:8090", "/", V3, { port: 8090 }), h("bar.com:8090", "/", 404, { port: 8090 })],
  },
  { name: "httproute-cross-namespace", gateways: [gw("backend-namespaces")], requests: [r("/", "gateway-conformance-web-backend/web-backend")] },
  { name: "httproute-reference-grant", gateways: [gw("same-namespace")], requests: [r("/", "gateway-conformance-web-backend/web-backend")] },
  // ...and once the test has deleted the ReferenceGrant: 500
  { name: "httproute-reference-grant-deleted", gateways: [gw("same-namespace")], requests: [r("/", 500)] },
  { name: "httproute-invalid-reference-grant", gateways: [gw("same-namespace")], requests: [r("/", 500)] },
  { name: "httproute-invalid-cross-namespace-backend-ref", gateways: [gw("same-namespace")], requests: [r("/", 500)] },
  { name: "httproute-invalid-backendref-unknown-kind", gateways: [gw("same-namespace")], requests: [r("/v2", 500)] },
  { name: "httproute-invalid-nonexistent-backendref", gateways: [gw("same-namespace")], requests: [r("/", 500)] },
  { name: "httproute-invalid-parentref-not-matching-section-name", gateways: [gw("same-namespace")], requests: [] },
  { name: "httproute-invalid-parentref-not-matching-listener-port", gateways: [gw("same-namespace")], requests: [] },
  { name: "httproute-invalid-cross-namespace-parent-ref", gateways: [gw("same-namespace")], requests: [] },
  { name: "httproute-disallowed-kind", gateways: [gw("tlsroutes-only")], requests: [] },
  { name: "gateway-with-attached-routes", gateways: [], requests: [] },
  { name: "gateway-invalid-route-kind", gateways: [], requests: [] },
  { name: "gateway-invalid-listeners-unsupported-protocol", gateways: [], requests: [] },
  { name: "httproute-weight", gateways: [gw("same-namespace")], requests: [] },
  {
    name: "tlsroute-simple-same-namespace",
    gateways: [gw("gateway-tlsroute")],
    requests: [{ sni: "abc.example.com", port: 443, path: "", expect: "tcp-backend" }, { sni: "other.example.com", port: 443, path: "", expect: "closed" }],
  },
  { name: "gateway-secret-missing-reference-grant", gateways: [], requests: [] },
  { name: "gateway-secret-invalid-reference-grant", gateways: [], requests: [] },
  { name: "gateway-secret-reference-grant-all-in-namespace", gateways: [], requests: [] },
  { name: "gateway-secret-reference-grant-specific", gateways: [], requests: [] },
  { name: "gateway-secret-missing-referenced-secret", gateways: [], requests: [] },
  {
    // an HTTPS and a TLS listener without hostname on port 8443: both ProtocolConflict, nothing served there; the TLS listener on 443 serves
    name: "gateway-listener-protocol-and-route-kind-conflicts",
    gateways: [gw("tlsroutes-only")],
    requests: [
      tls("abc.example.com", "tcp-backend:8443"),
      { sni: "https.example.org", port: 8443, path: "", expect: "no listener" },
      { sni: "abc.example.com", port: 8443, path: "", expect: "no listener" },
    ],
  },
  {
    // four Gateways whose HTTPS listener has a broken certificateRef (ResolvedRefs False, InvalidCertificateRef); their HTTP listeners serve
    name: "gateway-invalid-tls-configuration",
    gateways: ["nonexistent-secret", "unsupported-group", "unsupported-kind", "malformed-secret"].map((n) => gw(`gateway-certificate-${n}`)),
    requests: ["nonexistent", "unsupported-group", "unsupported-kind", "malformed"].map((n) => h(`${n}-certificate.example.com`, "/", V1)),
  },
  { name: "httproute-all-backends-weight-zero", gateways: [gw("same-namespace")], requests: [r("/", 500)] },
  {
    // an HTTPS listener on *.example.com and a Passthrough listener on abc.example.com share a port: the SNI picks
    name: "gateway-https-and-tls-passthrough-same-port",
    gateways: [gw("gateway-https-tls-passthrough-same-port")],
    requests: [h("other.example.com", "/", V1, { port: 8884, sni: "other.example.com" }), { sni: "abc.example.com", port: 8884, path: "", expect: "tcp-backend:8443" }],
  },
  { name: "gateway-with-attached-routes-with-port-8080", gateways: [], requests: [] },
  {
    name: "httproute-https-listener",
    gateways: [gw("same-namespace-with-https-listener")],
    extra: ["https-base.yaml"],
    requests: [h("example.org", "/", V1, { port: 443, sni: "example.org" }), h("unknown-example.org", "/", 404, { port: 443, sni: "unknown-example.org" }), h("second-example.org", "/", V2, { port: 443, sni: "second-example.org" })],
  },
  {
    name: "httproute-https-listener-detect-misdirected-requests",
    gateways: [gw("same-namespace-with-https-listener")],
    extra: ["https-base.yaml"],
    requests: (
      [
        ["example.org", "example.org", V1], ["example.org", "second-example.org", 421], ["example.org", "unknown-example.org", 404],
        ["second-example.org", "second-example.org", V2], ["second-example.org", "example.org", 421], ["second-example.org", "unknown-example.org", 421],
        ["third-example.wildcard.org", "third-example.wildcard.org", V3], ["third-example.wildcard.org", "fith-example.wildcard.org", V3],
        ["third-example.wildcard.org", "fourth-example.wildcard.org", 421], ["third-example.wildcard.org", "second-example.org", 421],
        ["third-example.wildcard.org", "unknown-example.org", 421], ["fourth-example.wildcard.org", "fourth-example.wildcard.org", V1],
        ["fourth-example.wildcard.org", "fith-example.wildcard.org", 421], ["unknown-example.org", "example.org", V1], ["unknown-example.org", "unknown-example.org", 404],
      ] as [string, string, string | number][]
    ).map(([sni, host, expect]) =>
      // a Gateway API listener's connection answers 421 for a Host a more specific listener of the port
      // owns, though its own hostname covers it (FilterChain.ownHostsOnly, src/route/lookup.ts misdirected)
      h(host, "/detect-misdirected-requests", expect, { port: 443, sni }),
    ),
  },
  { name: "httproute-invalid-parentref-section-name-not-matching-port", gateways: [], requests: [] },
  { name: "httproute-multiple-gateways", gateways: [gw("same-namespace")], requests: [r("/shared", V1), r("/", V2)] },
  { name: "httproute-multiple-gateways/all-namespaces", dir: "httproute-multiple-gateways", gateways: [gw("all-namespaces")], requests: [r("/shared", V1), r("/", V3)] },
  { name: "httproute-named-rule", gateways: [gw("same-namespace")], requests: [r("/named", V1), r("/unnamed", V2)] },
  { name: "httproute-omitted-backendrefs", gateways: [gw("same-namespace")], requests: [r("/forward", V1), r("/omitted-no-forward", 500), r("/empty-no-forward", 500)] },
  { name: "httproute-partially-invalid-via-invalid-reference-grant", gateways: [gw("same-namespace")], requests: [r("/v2", 500), r("/", "gateway-conformance-app-backend/app-backend-v1")] },
  {
    name: "httproute-service-types",
    gateways: [gw("same-namespace")],
    requests: [r("/manual-endpointslices", "manual-endpointslices"), r("/headless", "headless"), r("/headless-manual-endpointslices", "headless-manual-endpointslices")],
  },
  { name: "tcproute-invalid-backendref-nonexistent", gateways: [], requests: [] },
  { name: "tcproute-invalid-cross-namespace-backend-ref", gateways: [], requests: [] },
  { name: "tcproute-invalid-non-tcp-listener", gateways: [], requests: [] },
  { name: "tcproute-parentref-attach-all", gateways: [], requests: [9310, 9311, 9312, 9313].map((port) => tcp(port, "tcp-echo-attach-all")) },
  { name: "tcproute-parentref-port-and-section-name", gateways: [], requests: [tcp(9300, "tcp-echo-one"), tcp(9301, "tcp-echo-two"), tcp(9302, "tcp-echo-three")] },
  { name: "tcproute-reference-grant", gateways: [], requests: [tcp(9320, "gateway-conformance-web-backend/tcp-reference-grant-backend")] },
  { name: "tcproute-weighted-routing", gateways: [], requests: [tcp(9300, "tcp-backend-v1")] },
  {
    name: "tlsroute-hostname-intersection/x-1",
    dir: "tlsroute-hostname-intersection",
    gateways: [gw("gw-tlsroute-exact-hostname-x-1")],
    requests: [tls("abc.example.com", "tls-backend"), tls("non.matching.com", "closed")],
  },
  {
    name: "tlsroute-hostname-intersection/x-2",
    dir: "tlsroute-hostname-intersection",
    gateways: [gw("gw-tlsroute-more-specific-wc-hostname-x-2")],
    requests: [tls("abc.example.com", "tls-backend"), tls("other.example.com", "tls-backend-2"), tls("non.matching.com", "closed")],
  },
  {
    name: "tlsroute-hostname-intersection/x-3",
    dir: "tlsroute-hostname-intersection",
    gateways: [gw("gw-tlsroute-less-specific-wc-hostname-x-3")],
    requests: [tls("abc.example.com", "tls-backend"), tls("other.example.com", "tls-backend-2"), tls("non.matching.com", "closed")],
  },
  {
    name: "tlsroute-hostname-intersection/x-4",
    dir: "tlsroute-hostname-intersection",
    gateways: [gw("gw-tlsroute-empty-hostname-x-4")],
    requests: [tls("abc.example.com", "tls-backend"), tls("other.example.com", "tls-backend-2"), tls("non.matching.org", "closed")],
  },
  { name: "tlsroute-invalid-backendref-nonexistent", gateways: [], requests: [tls("example.com", "closed")] },
  { name: "tlsroute-invalid-backendref-unknown-kind", gateways: [], requests: [tls("example.com", "closed")] },
  { name: "tlsroute-invalid-no-matching-listener-hostname", gateways: [], requests: [] },
  { name: "tlsroute-invalid-no-matching-listener", gateways: [], requests: [] },
  { name: "tlsroute-invalid-reference-grant", gateways: [], requests: [] },
  { name: "tlsroute-listener-passthrough-supported-kinds", gateways: [], requests: [] },
  // tlsroute-listener-terminate-not-supported applies only to implementations without TLSRouteModeTerminate (gangway has it)
  {
    // a TLS Terminate and a Passthrough listener on one port: both reach the same Service, on its plain and its TLS port
    name: "tlsroute-mixed-termination-same-namespace",
    gateways: [gw("gateway-tlsroute-mixed-termination")],
    requests: [
      { sni: "tls.example.com", port: 8883, path: "", expect: "tcp-backend:3000" },
      { sni: "abc.example.com", port: 8883, path: "", expect: "tcp-backend:8443" },
      { sni: "other.example.com", port: 8883, path: "", expect: "closed" },
    ],
  },
  // status of the cases the e2e tests drive (test/e2e/gatewayapi-http*.test.ts)
  ...["httproute-request-header-modifier", "httproute-response-header-modifier", "httproute-redirect-host-and-status", "httproute-redirect-path", "httproute-redirect-port", "httproute-redirect-scheme", "httproute-303-redirect", "httproute-307-redirect", "httproute-308-redirect", "httproute-rewrite-host", "httproute-rewrite-path"].map((name) => ({ name, gateways: [gw("same-namespace")], requests: [] })),
  { name: "httproute-redirect-port-and-scheme", gateways: [gw("same-namespace"), gw("same-namespace-with-http-listener-on-8080")], requests: [] },
  {
    // the HTTPS listener on 443 (ports 80 and 8080: test/e2e/gatewayapi-http-more.test.ts): the scheme stays https, 443 is left out
    name: "httproute-redirect-port-and-scheme/https",
    dir: "httproute-redirect-port-and-scheme",
    gateways: [gw("same-namespace-with-https-listener")],
    extra: ["https-base.yaml"],
    requests: (
      [
        ["/scheme-nil-and-port-nil", "https://example.org/scheme-nil-and-port-nil"],
        ["/scheme-nil-and-port-443", "https://example.org/scheme-nil-and-port-443"],
        ["/scheme-nil-and-port-8443", "https://example.org:8443/scheme-nil-and-port-8443"],
        ["/scheme-http-and-port-nil", "http://example.org/scheme-http-and-port-nil"],
        ["/scheme-http-and-port-80", "http://example.org/scheme-http-and-port-80"],
        ["/scheme-http-and-port-8080", "http://example.org:8080/scheme-http-and-port-8080"],
      ] as [string, string][]
    ).map(([path, location]) => h("example.org", path, `302 ${location}`, { port: 443, sni: "example.org" })),
  },
  { name: "httproute-timeout-request", gateways: [gw("same-namespace")], requests: [] },
  { name: "httproute-request-header-modifier-backend", gateways: [gw("same-namespace")], requests: [] },
  // per-backendRef header modifiers in a weighted split and RequestMirror (the mirrors: test/unit/gatewayapi-traffic.test.ts)
  { name: "httproute-request-header-modifier-backend-weights", gateways: [gw("same-namespace")], requests: [] },
  { name: "httproute-request-mirror", gateways: [gw("same-namespace")], requests: [r("/mirror", V1), r("/mirror-and-modify-headers", V1)] },
  { name: "tcproute-multiple-routes-attachment", gateways: [], requests: [tcp(9310, "tcp-attach-backend-1")] },
  // and with the newer TCPRoute the test adds on the same listener: both Accepted, 2 attached, the oldest takes the traffic
  { name: "tcproute-multiple-routes-attachment-newer", gateways: [], requests: [tcp(9310, "tcp-attach-backend-1")] },
  // RequestMirror, CORS, timeouts.backendRequest (what the mirrors, CORS headers and timers do: gatewayapi-traffic.test.ts, e2e/gatewayapi-traffic.test.ts)
  { name: "httproute-request-multiple-mirrors", gateways: [gw("same-namespace")], requests: [r("/multi-mirror", V1), r("/multi-mirror-and-modify-request-headers", V1)] },
  {
    name: "httproute-request-percentage-mirror",
    gateways: [gw("same-namespace")],
    requests: [r("/percent-mirror", V1), r("/percent-mirror-fraction", V1), r("/percent-mirror-and-modify-headers", V1)],
  },
  { name: "httproute-timeout-backend-request", gateways: [gw("same-namespace")], requests: [r("/backend-timeout", V1), r("/disable-backend-timeout", V1)] },
  {
    name: "httproute-cors",
    gateways: [gw("same-namespace")],
    requests: [
      // a preflight from an allowed origin is answered by the gateway (Envoy's CORS filter); from another origin it goes upstream (FORWARD)
      r("/cors-1", 200, { method: "OPTIONS", headers: { origin: "https://www.foo.com", "access-control-request-method": "GET" } }),
      r("/cors-1", 200, { method: "OPTIONS", headers: { origin: "https://xpto.www.bar.com", "access-control-request-method": "GET" } }),
      r("/cors-1", V1, { method: "OPTIONS", headers: { origin: "https://foobar.com", "access-control-request-method": "GET" } }),
      r("/cors-1", V1, { headers: { origin: "https://www.foo.com" } }),
      r("/cors-2", 200, { method: "OPTIONS", headers: { origin: "https://www.foo.com", "access-control-request-method": "POST" } }),
      // allowOrigins "*" (any origin, a port too), allowMethods and allowHeaders "*"; the headers: test/e2e/gatewayapi-cors.test.ts
      r("/cors-wildcard-origin", 200, { method: "OPTIONS", headers: { origin: "https://foobar.com:12345", "access-control-request-method": "PUT" } }),
      r("/cors-wildcard-origin", V1, { method: "PUT", headers: { origin: "https://foobar.com" } }),
      r("/cors-wildcard-methods-headers", 200, { method: "OPTIONS", headers: { origin: "https://other.foo.com", "access-control-request-method": "PUT" } }),
      r("/cors-wildcard-methods-headers-unauth", V1, { headers: { origin: "https://other.foo.com" } }),
    ],
  },
  // GRPCRoute (the calls' headers and weights end to end: test/workers/grpcroute.test.ts)
  { name: "grpcroute-exact-method-matching", gateways: [gw("same-namespace")], requests: [grpc("Echo", G1), grpc("EchoTwo", G2), grpc("EchoThree", 404)] },
  {
    name: "grpcroute-header-matching",
    gateways: [gw("same-namespace")],
    requests: [
      grpc("Echo", G1, { headers: { version: "one" } }), grpc("Echo", G2, { headers: { version: "two" } }),
      grpc("Echo", G1, { headers: { version: "two", color: "orange" } }), grpc("Echo", G2, { headers: { version: "two", color: "blue" } }),
      grpc("Echo", 404, { headers: { color: "orange" } }), grpc("Echo", 404, { headers: { "some-other-header": "one" } }),
      grpc("Echo", G1, { headers: { color: "blue" } }), grpc("Echo", G1, { headers: { color: "green" } }),
      grpc("Echo", G2, { headers: { color: "red" } }), grpc("Echo", G2, { headers: { color: "yellow" } }), grpc("Echo", 404, { headers: { color: "purple" } }),
    ],
  },
  {
    name: "grpcroute-listener-hostname-matching",
    gateways: [gw("grpcroute-listener-hostname-matching")],
    requests: [
      grpc("Echo", G1, { host: "bar.com" }), grpc("Echo", G2, { host: "foo.bar.com" }), grpc("Echo", G3, { host: "baz.bar.com" }),
      grpc("Echo", G3, { host: "boo.bar.com" }), grpc("Echo", G3, { host: "multiple.prefixes.bar.com" }),
      grpc("Echo", G3, { host: "multiple.prefixes.foo.com" }), grpc("Echo", 404, { host: "foo.com" }), grpc("Echo", 404, { host: "no.matching.host" }),
    ],
  },
  { name: "grpcroute-named-rule", gateways: [gw("same-namespace")], requests: [grpc("Echo", G1), grpc("EchoTwo", G2)] },
  {
    // the first of the three Echo rules wins (its set); what each modifier does to the call: test/workers/grpcroute.test.ts
    name: "grpcroute-request-header-modifier",
    gateways: [gw("same-namespace")],
    requests: [grpc("Echo", G1, { headers: { "x-header-set": "x" } }), grpc("EchoTwo", G2, { headers: { "x-header-remove-1": "x" } })],
  },
  { name: "grpcroute-weight", gateways: [gw("same-namespace")], requests: [grpc("Echo", G1)] },
  // appProtocol of the Service port (h2c: prior knowledge; ws: upgrades), end to end in test/e2e/gatewayapi-backend-protocol.test.ts
  { name: "httproute-backend-protocol-h2c", gateways: [gw("same-namespace")], requests: [r("/", `${V1}:8081`)] },
  { name: "httproute-backend-protocol-websocket", gateways: [gw("same-namespace")], requests: [r("/", `${V1}:8082`)] },
  {
    name: "httproute-backend-url-rewrite",
    gateways: [gw("same-namespace")],
    // a URLRewrite on a backendRef: istiod takes only header modifiers there (InvalidFilter), and so does gangway
    requests: [
      r("/full/original", 500, { conformance: { expect: V1, why: "backendRef URLRewrite is not supported (as istiod): the rule answers 500" } }),
      r("/prefix/original", 500, { conformance: { expect: V1, why: "backendRef URLRewrite is not supported (as istiod): the rule answers 500" } }),
    ],
  },
  {
    name: "httproute-backend-request-redirect",
    gateways: [gw("same-namespace")],
    // a RequestRedirect on a backendRef: istiod takes only header modifiers there (InvalidFilter), and so does gangway
    requests: [
      r("/full/original", 500, { conformance: { expect: 302, why: "backendRef RequestRedirect is not supported (as istiod): the rule answers 500" } }),
      r("/prefix/original", 500, { conformance: { expect: 302, why: "backendRef RequestRedirect is not supported (as istiod): the rule answers 500" } }),
    ],
  },
  // a Terminate listener lists TLSRoute among its kinds (the status golden); its route reaches tcp-backend's plain port
  { name: "tlsroute-listener-terminate-supported-kinds", gateways: [gw("gateway-tlsroute-terminate-supported")], requests: [] },
  {
    name: "tlsroute-terminate-simple-same-namespace",
    gateways: [gw("gateway-tlsroute-terminate")],
    requests: [{ sni: "tls.example.com", port: 8443, path: "", expect: "tcp-backend:3000" }, { sni: "other.example.com", port: 8443, path: "", expect: "closed" }],
  },
  // a Gateway whose name has 253 characters is reconciled (Accepted, Programmed) and serves
  { name: "gateway-name-maximum-length", gateways: [gw(`gateway-name-maximum-length-${"a".repeat(253 - 28)}`)], requests: [] },
  // infrastructure.parametersRef to a kind nobody serves: Accepted False InvalidParameters
  { name: "gateway-invalid-parameters-ref", gateways: [gw("gateway-invalid-parameters-ref")], requests: [] },
  // gateway-modify-listeners: the manifests as applied, then as the test patches them (one listener added, one removed)
  {
    name: "gateway-modify-listeners",
    gateways: [gw("gateway-add-listener"), gw("gateway-remove-listener")],
    requests: [h("secure.test.com", "/", V1, { port: 443, sni: "secure.test.com" }), h("data.test.com", "/", V1), h("other.test.com", "/", V1)],
  },
  {
    name: "gateway-modify-listeners-patched/added",
    dir: "gateway-modify-listeners-patched",
    gateways: [gw("gateway-add-listener")],
    requests: [h("secure.test.com", "/", V1, { port: 443, sni: "secure.test.com" }), h("data.test.com", "/", V1), h("other.test.com", "/", 404)],
  },
  {
    name: "gateway-modify-listeners-patched/removed",
    dir: "gateway-modify-listeners-patched",
    gateways: [gw("gateway-remove-listener")],
    requests: [{ host: "secure.test.com", sni: "secure.test.com", port: 443, path: "/", expect: "no listener" }, h("secure.test.com", "/", V1)],
  },
  // retry: what each try gets and how many are made, end to end in test/e2e/gatewayapi-retry.test.ts
  { name: "httproute-retry", gateways: [gw("same-namespace")], requests: [r("/retry/code-500-attempts-3", V3), r("/retry/code-all-attempts-2", V3)] },
  { name: "httproute-retry-connection-error", gateways: [gw("same-namespace")], requests: [r("/retry/no-status-code-attempts-3", V3)] },
  { name: "httproute-retry-with-timeouts", gateways: [gw("same-namespace")], requests: [r("/retry/backend-request-timeout-200ms", V3), r("/retry/request-timeout-200ms", V3)] },
  ...FRONTEND_TLS_CASES,
  // BackendTLSPolicy: routing to the targets here; the TLS itself (SNI, the CA, the name verified, 503 on a mismatch) end to end in test/e2e/gatewayapi-backend-tls.test.ts
  {
    name: "backendtlspolicy",
    extra: ["https-base.yaml"],
    gateways: [gw("same-namespace"), gw("same-namespace-with-https-listener")],
    requests: [
      h("abc.example.com", "/backendtlspolicy", "backendtlspolicy-test"),
      // the suite's host-mismatch request names host abc.example.org, which the route does not serve
      h("abc.example.org", "/backendtlspolicy-host-mismatch", 404),
      h("abc.example.com", "/backendtlspolicy-host-mismatch", "backendtlspolicy-host-mismatch-test"),
      h("abc.example.com", "/backendtlspolicy-cert-mismatch", "backendtlspolicy-cert-mismatch-test"),
      h("https-listener.org", "/backendtlspolicy", "backendtlspolicy-test", { port: 443, sni: "https-listener.org" }),
    ],
  },
  {
    name: "backendtlspolicy-conflict-resolution",
    gateways: [gw("same-namespace")],
    requests: [
      h("abc.example.com", "/backendtlspolicy-conflicted-without-section-name", "backendtlspolicy-conflicted-without-section-name-test"),
      h("abc.example.com", "/backendtlspolicy-conflicted-with-section-name", "backendtlspolicy-conflicted-with-section-name-test"),
      h("abc.example.com", "/backendtlspolicy-not-conflicted-with-section-name", "backendtlspolicy-not-conflicted-test:443"),
      h("abc.example.com", "/backendtlspolicy-not-conflicted-without-section-name", "backendtlspolicy-not-conflicted-test:8443"),
    ],
  },
  {
    name: "backendtlspolicy-invalid-ca-certificate-ref",
    gateways: [gw("same-namespace")],
    requests: [h("abc.example.com", "/backendtlspolicy-nonexistent-ca-certificate-ref", 503), h("abc.example.com", "/backendtlspolicy-malformed-ca-certificate-ref", 503)],
  },
  { name: "backendtlspolicy-invalid-kind", gateways: [gw("same-namespace")], requests: [h("abc.example.com", "/backendtlspolicy-invalid-kind", 503)] },
  {
    name: "backendtlspolicy-san",
    gateways: [gw("same-namespace")],
    requests: ["san-dns", "san-dns-mismatch", "san-uri", "san-uri-mismatch", "multiple-sans", "multiple-mismatch-sans"].map((n) => h("abc.example.com", `/backendtlspolicy-${n}`, `backendtlspolicy-${n}-test`)),
  },
  {
    name: "backendtlspolicy-grpcroute",
    gateways: [gw("same-namespace")],
    requests: [
      grpc("Echo", "backendtlspolicy-grpc-test", { host: "abc.example.com" }),
      grpc("EchoTwo", "backendtlspolicy-grpc-host-mismatch-test", { host: "abc.example.com" }),
      grpc("Echo", "backendtlspolicy-grpc-cert-mismatch-test", { host: "cert-mismatch.example.com" }),
    ],
  },
  {
    name: "backendtlspolicy-tlsroute-terminate",
    gateways: [gw("gateway-btls-tlsroute-terminate")],
    requests: [{ sni: "tls.example.com", port: 8443, path: "", expect: "btls-terminate-tls-backend:8443" }],
  },
  // the reconcile sub-test's policy, patched to a ConfigMap whose ca.crt the test then empties: Accepted False NoValidCACertificate
  { name: "backendtlspolicy-reconcile", gateways: [gw("same-namespace")], requests: [h("abc.example.com", "/backendtlspolicy-reconcile-test", 503)] },
  // spec.tls.backend.clientCertificateRef: presented to BackendTLSPolicy backends (MUTUAL), end to end in test/e2e/gatewayapi-backend-tls.test.ts
  { name: "gateway-tls-backend-client-certificate", gateways: [gw("gateway-tls-backend-client-certificate")], requests: [h("abc.example.com", "/", "tls-backend-with-client-cert-validation")] },
  // an invalid clientCertificateRef: the Gateway's ResolvedRefs False (InvalidClientCertificateRef, RefNotPermitted), still Accepted
  {
    name: "gateway-invalid-tls-backend-configuration",
    gateways: ["nonexistent-secret", "unsupported-group", "unsupported-kind", "malformed-secret", "missing-reference-grant"].map((n) => gw(`gateway-client-certificate-${n}`)),
    requests: [],
  },
  // ListenerSet: status-only cases (allowedListeners, conflicts, certificate grants) check their golden only
  { name: "listenerset-allowed-namespace-none", gateways: [gw("gateway-does-not-allow-listenerset")], requests: [] },
  { name: "listenerset-allowed-namespace-same", gateways: [gw("gateway-allows-listenerset-in-same-namespace")], requests: [] },
  { name: "listenerset-allowed-namespace-selector", gateways: [gw("gateway-allows-listenerset-in-selected-namespace")], requests: [] },
  { name: "listenerset-default-not-allowed", gateways: [gw("gateway-default-does-not-allow-listenerset")], requests: [] },
  { name: "listenerset-allowed-routes-supported-kinds", gateways: [gw("gateway-with-listener-sets-test-supported-route-kinds")], requests: [] },
  { name: "listenerset-hostname-conflict", gateways: [gw("gateway-with-listenerset-hostname-conflict")], requests: [] },
  { name: "listenerset-protocol-conflict", gateways: [gw("gateway-with-listenerset-protocol-conflict")], requests: [] },
  { name: "listenerset-reference-grant", gateways: [gw("gateway-with-listener-sets-test-reference-grant")], requests: [] },
  { name: "listenerset-route-status-scoped-to-parentref", gateways: [gw("gateway-parentref")], requests: [] },
  {
    name: "listenerset-http-routing",
    gateways: [gw("gateway-with-listener-sets-http-routing")],
    requests: LISTENERSET_HTTP_ROUTING,
  },
  {
    name: "listenerset-allowed-routes-namespaces",
    gateways: [gw("gateway-with-listener-sets-test-allowed-routes")],
    requests: [
      h("listener-set-listener-allowed-routes-all.com", "/route-in-same-namespace", V1),
      h("listener-set-listener-allowed-routes-all.com", "/route-in-selected-namespace", V2),
      h("listener-set-listener-allowed-routes-all.com", "/route-not-in-selected-namespace", V3),
      h("listener-set-listener-allowed-routes-same.com", "/route-in-same-namespace", V1),
      h("listener-set-listener-allowed-routes-same.com", "/route-in-selected-namespace", 404),
      h("listener-set-listener-allowed-routes-same.com", "/route-not-in-selected-namespace", 404),
      h("listener-set-listener-allowed-routes-selector.com", "/route-in-same-namespace", 404),
      h("listener-set-listener-allowed-routes-selector.com", "/route-in-selected-namespace", V2),
      h("listener-set-listener-allowed-routes-selector.com", "/route-not-in-selected-namespace", 404),
      h("listener-set-listener-allowed-routes-cross-ns-same.com", "/route-in-listenerset-namespace", V1),
      h("listener-set-listener-allowed-routes-cross-ns-same.com", "/route-in-gateway-namespace", 404),
    ],
  },
  {
    name: "listenerset-dual-parentref-independence",
    gateways: [gw("gateway-dual-parentref")],
    requests: [h("gw-dual.com", "/dualboth", V1), h("ls-dual.com", "/dualboth", V1), h("ls-dual.com", "/dualone", V2), h("gw-dual.com", "/dualone", 404)],
  },
  {
    name: "listenerset-gateway-parent-section-name-not-found",
    gateways: [gw("gateway-section-name")],
    requests: [h("ls-section-name.com", "/goodsection", V1), h("gw-section.com", "/badsection", 404)],
  },
  // *-observed-generation-bump: every condition's observedGeneration is the object's metadata.generation, before and after the test's patch
  { name: "gateway-observed-generation-bump", gateways: [gw("gateway-observed-generation-bump")], requests: [h("bar.com", "/", 404)] },
  { name: "gateway-observed-generation-bump-patched", gateways: [gw("gateway-observed-generation-bump")], requests: [h("bar.com", "/", 404), h("foo.com", "/", 404)] },
  { name: "httproute-observed-generation-bump", gateways: [gw("same-namespace")], requests: [r("/", V1)] },
  { name: "httproute-observed-generation-bump-patched", gateways: [gw("same-namespace")], requests: [r("/", V2)] },
  { name: "gatewayclass-observed-generation-bump", gateways: [gw("same-namespace")], requests: [] },
  { name: "gatewayclass-observed-generation-bump-patched", gateways: [gw("same-namespace")], requests: [] },
  // gateway-static-addresses: the Gateway as applied, then as the test patches it (each state a Gateway of its own)
  { name: "gateway-static-addresses", gateways: [gw("gateway-static-addresses")], requests: [h("example.com", "/", 404, { port: 8080 })] },
  { name: "gateway-static-addresses-patched", gateways: [gw("without-invalid"), gw("usable-only")], requests: [h("example.com", "/", 404, { port: 8080 })] },
  // gateway-optional-address-value: the address of the Service in front of the gateway (status.addresses; no traffic in the test)
  { name: "gateway-optional-address-value", gateways: [gw("gateway-without-address-value")], requests: [h("example.com", "/", 404, { port: 8080 })] },
  // gateway-infrastructure: Accepted with infrastructure declared (the propagation to generated ServiceAccounts/Pods/Services: none generated)
  { name: "gateway-infrastructure", gateways: [gw("gateway-with-infrastructure-metadata")], requests: [h("example.com", "/", 404, { port: 8080 })] },
  { name: "backendtlspolicy-observed-generation-bump", gateways: [gw("same-namespace")], requests: [r("/", "observed-generation-bump-test")] },
  { name: "backendtlspolicy-observed-generation-bump-patched", gateways: [gw("same-namespace")], requests: [r("/", "observed-generation-bump-test")] },
];

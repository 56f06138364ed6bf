// istiod's own cases for merging Gateway servers into listeners and filter chains,
// replayed through compile + trace (which servers a port serves, which SNI reaches
// which chain and credential, what is dropped and how it is reported):
// - pilot/pkg/model/gateway_test.go TestMergeGateways (mergeGateways);
// - pilot/pkg/networking/core/gateway_test.go TestBuildGatewayListeners,
//   TestGatewayFilterChainSNIOverlap.
// Istio's makeConfig gives every server TLS settings (mode SIMPLE, no credential),
// which validation refuses on plain-text ports; HTTP servers here carry none, except
// where the case turns on them (then `httpsRedirect`, the TLS setting an HTTP server may have).
// `bind` cases are not replayed: gangway listens on --bind only (README).
import { describe, expect, test } from "bun:test";
import { secretYaml } from "../../src/cli/certs.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { trace } from "../../src/trace.ts";
import { walkthroughPki } from "../helpers/pki.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const pki = await walkthroughPki();
const secret = (name: string, ns = "istio-system") => `---\n${secretYaml(name, ns, "tls", pki.httpbin.cert, pki.httpbin.key)}`;

let stamp = 0;
/** A Gateway; creation times follow the call order (istiod merges in creation order). */
function gw(name: string, ns: string, ...servers: string[]): string {
  stamp++;
  const t = `2020-01-01T00:00:${String(stamp).padStart(2, "0")}Z`;
  return `---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: ${name}, namespace: ${ns}, creationTimestamp: "${t}"}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n${servers.join("\n")}\n`;
}
const srv = (hosts: string[], name: string, protocol: string, num: number, tls = "") =>
  `  - {hosts: ${JSON.stringify(hosts)}, port: {name: ${name}, protocol: ${protocol}, number: ${num}}${tls === "" ? "" : `, tls: ${tls}`}}`;

/** port → the servers merged on it (`Gateway/ns/name#i`). */
function merged(s: Snapshot): Record<number, string[]> {
  return Object.fromEntries(s.listeners.map((l) => [l.port, l.sources]));
}
const errors = (s: Snapshot) => findingLines(s).filter((l) => l.startsWith("Error"));

// mergeGateways' fixtures (name, namespace, host, port name, protocol, number)
const gwHTTPFoo = () => gw("foo1", "not-default", srv(["foo.bar.com"], "name1", "http", 7));
const gwHTTPbar = () => gw("bar1", "not-default", srv(["bar.foo.com"], "bname1", "http", 7));
const gwHTTP2Wildcard = () => gw("foo5", "not-default", srv(["*"], "name5", "http2", 8));
const gwHTTPWildcard = () => gw("foo3", "not-default", srv(["*"], "name3", "http", 8));
const gwTCPWildcard = () => gw("foo4", "not-default-2", srv(["*"], "name4", "tcp", 8));
const gwHTTPWildcardAlternate = () => gw("foo2", "not-default", srv(["*"], "name2", "http", 7));
const gwSimple = () => gw("foo-simple", "not-default-2", srv(["*.example.com"], "https", "HTTPS", 443, "{mode: SIMPLE, credentialName: cred}"));
const gwPassthrough = () => gw("foo-passthrough", "not-default-2", srv(["foo.example.com"], "tls-foo", "TLS", 443, "{mode: PASSTHROUGH}"));

describe("TestMergeGateways", () => {
  test("single-server-config", () => {
    expect(merged(compileYaml(gwHTTPFoo()))).toEqual({ 7: ["Gateway/not-default/foo1#0"] });
  });

  test("two servers on the same port", () => {
    expect(merged(compileYaml(gwHTTPFoo() + gwHTTPbar()))).toEqual({ 7: ["Gateway/not-default/foo1#0", "Gateway/not-default/bar1#0"] });
  });

  test("same-server-config", () => {
    const s = compileYaml(gwHTTPFoo() + gwHTTPWildcardAlternate());
    expect(merged(s)).toEqual({ 7: ["Gateway/not-default/foo1#0", "Gateway/not-default/foo2#0"] });
    expect(errors(s)).toEqual([]);
  });

  test("multi-server-config", () => {
    expect(merged(compileYaml(gwHTTPFoo() + gwHTTPWildcardAlternate() + gwHTTPWildcard()))).toEqual({
      7: ["Gateway/not-default/foo1#0", "Gateway/not-default/foo2#0"],
      8: ["Gateway/not-default/foo3#0"],
    });
  });

  test("http-tcp-wildcard-server-config", () => {
    expect(merged(compileYaml(gwHTTPFoo() + gwTCPWildcard()))).toEqual({ 7: ["Gateway/not-default/foo1#0"], 8: ["Gateway/not-default-2/foo4#0"] });
  });

  test("tcp-http-server-config: the TCP server came first, the HTTP one is rejected", () => {
    const s = compileYaml(gwTCPWildcard() + gwHTTPWildcard());
    expect(merged(s)).toEqual({ 8: ["Gateway/not-default-2/foo4#0"] });
    expect(s.listeners[0]!.protocol).toBe("TCP");
    expect(errors(s)).toEqual(["Error GW0201 Gateway/not-default/foo3: port 8 HTTP conflicts with Gateway/not-default-2/foo4 server 0 (TCP on the same port): server dropped"]);
  });

  test("tcp-tcp-server-config: the HTTP server came first (order matters), the TCP one is rejected", () => {
    const s = compileYaml(gwHTTPWildcard() + gwTCPWildcard());
    expect(merged(s)).toEqual({ 8: ["Gateway/not-default/foo3#0"] });
    expect(s.listeners[0]!.routeTable?.name).toBe("http.8");
    expect(errors(s)).toEqual(["Error GW0201 Gateway/not-default-2/foo4: port 8 TCP conflicts with Gateway/not-default/foo3 server 0 (HTTP on the same port): server dropped"]);
  });

  test("http-http2-server-config: HTTP and HTTP2 merge into one route table (no TLS settings)", () => {
    expect(merged(compileYaml(gwHTTPWildcard() + gwHTTP2Wildcard()))).toEqual({ 8: ["Gateway/not-default/foo3#0", "Gateway/not-default/foo5#0"] });
  });

  test("http-http2-server-config with TLS settings (Istio's fixture): the same host again is rejected", () => {
    // istiod's CheckDuplicates covers every server with TLS settings, httpsRedirect ones too
    const redirect = "{httpsRedirect: true}";
    const s = compileYaml(gw("foo3", "not-default", srv(["*"], "name3", "http", 8, redirect)) + gw("foo5", "not-default", srv(["*"], "name5", "http2", 8, redirect)));
    expect(merged(s)).toEqual({ 8: ["Gateway/not-default/foo3#0"] });
    expect(errors(s)).toEqual([
      "Error GW0202 Gateway/not-default/foo5: host * already served on port 8 by an earlier server with TLS settings (httpsRedirect): server dropped",
    ]);
    // other hosts, or the second server without TLS settings: merged
    expect(merged(compileYaml(gw("a", "ns", srv(["a.com"], "h", "http", 8, redirect)) + gw("b", "ns", srv(["b.com"], "h", "http", 8, redirect))))[8]).toHaveLength(2);
    expect(merged(compileYaml(gw("a", "ns", srv(["a.com"], "h", "http", 8, redirect)) + gw("b", "ns", srv(["a.com"], "h", "http", 8))))[8]).toHaveLength(2);
  });

  test("simple-passthrough: SIMPLE *.example.com and PASSTHROUGH foo.example.com share port 443", () => {
    const s = compileYaml(
      gwSimple() +
        gwPassthrough() +
        secret("cred") +
        `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: foo, namespace: not-default-2}
spec:
  hosts: [foo.example.com]
  gateways: [foo-passthrough]
  tls: [{match: [{sniHosts: [foo.example.com]}], route: [{destination: {host: foo.example.com, port: {number: 443}}}]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: foo, namespace: not-default-2}
spec:
  hosts: [foo.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
`,
    );
    const l = s.listeners[0]!;
    expect(l.tls!.chains.map((c) => [c.name, c.mode, c.credential])).toEqual([
      ["https.443.https.foo-simple.not-default-2", "SIMPLE", "istio-system/cred"],
      ["https.443.tls-foo.foo-passthrough.not-default-2", "PASSTHROUGH", ""],
    ]);
    expect(trace(s, { port: 443, host: "foo.example.com", path: "/" }).outcome).toBe("tcp_forward");
    expect(trace(s, { port: 443, host: "bar.example.com", path: "/" }).chain).toBe("https.443.https.foo-simple.not-default-2");
  });

  test("simple-cred: credentialName in the gateway namespace is served", () => {
    const s = compileYaml(gw("foo1", "ns", srv(["foo.bar.com"], "https", "HTTPS", 443, "{mode: SIMPLE, credentialName: foo}")) + secret("foo"));
    expect(s.listeners[0]!.tls!.chains[0]!.credential).toBe("istio-system/foo");
  });

  test("simple-cred-in-not-allowed-ns: a Secret of another namespace is never served", () => {
    // istiod's SDS (filterAuthorizedResources): an unverified cross-namespace kubernetes:// reference is denied
    const s = compileYaml(gw("foo1", "istio-system", srv(["foo.bar.com"], "https", "HTTPS", 443, "{mode: SIMPLE, credentialName: kubernetes://not-allowed-ns/foo}")) + secret("foo", "not-allowed-ns"));
    const c = s.listeners[0]!.tls!.chains[0]!;
    expect([c.credential, c.disabled]).toEqual(["", "Secret not-allowed-ns/foo is not in the gateway namespace istio-system: a Gateway's credential is read only from there"]);
    expect(errors(s)).toEqual([
      `Error GW0601 Gateway/istio-system/foo1: credentialName "kubernetes://not-allowed-ns/foo": Secret not-allowed-ns/foo is not in the gateway namespace istio-system: a Gateway's credential is read only from there: its hosts fail the handshake`,
    ]);
    expect(trace(s, { port: 443, host: "foo.bar.com", path: "/" }).outcome).toBe("handshake_failed");
  });

  test("mutual-cred: MUTUAL takes the CA from the credential (or its -cacert companion)", () => {
    const s = compileYaml(gw("foo1", "ns", srv(["foo.bar.com"], "https", "HTTPS", 443, "{mode: MUTUAL, credentialName: foo}")) + `---\n${secretYaml("foo", "istio-system", "split", pki.httpbin.cert, pki.httpbin.key, pki.ca.cert)}`);
    const c = s.listeners[0]!.tls!.chains[0]!;
    expect([c.mode, c.credential, c.disabled]).toEqual(["MUTUAL", "istio-system/foo", ""]);
    expect(s.credentials.get("istio-system/foo")!.sources).toEqual(["Secret/istio-system/foo", "Secret/istio-system/foo-cacert"]);
  });
});

describe("TestBuildGatewayListeners", () => {
  test("gateway with simple and passthrough", () => {
    const s = compileYaml(
      gw("a", "default", srv(["*.example.com"], "http", "HTTPS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["foo.example.com"], "http2", "HTTP", 80)) +
        gw("passthrough-gateway", "testns", srv(["*.example.com"], "http", "HTTPS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["barone.example.com"], "tcp", "TLS", 9443, "{credentialName: test, mode: PASSTHROUGH}"), srv(["bar.example.com"], "http2", "HTTP", 80)) +
        secret("test"),
    );
    expect(s.listeners.map((l) => l.name)).toEqual(["0.0.0.0_80", "0.0.0.0_443", "0.0.0.0_9443"]);
    // the same host on 443 in a second Gateway is rejected as mergeGateways' CheckDuplicates does
    expect(s.listeners[1]!.sources).toEqual(["Gateway/default/a#0"]);
  });

  test("gateway with multiple http servers", () => {
    const s = compileYaml(
      gw("gateway1", "testns", srv(["*.example.com"], "http", "HTTPS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["foo.example.com"], "http2", "HTTP", 80)) +
        gw("gateway2", "testns", srv(["*.exampleone.com"], "http", "HTTPS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["bar.example.com"], "http2", "HTTP", 80)) +
        secret("test"),
    );
    expect(merged(s)).toEqual({
      80: ["Gateway/testns/gateway1#1", "Gateway/testns/gateway2#1"],
      443: ["Gateway/testns/gateway1#0", "Gateway/testns/gateway2#0"],
    });
    expect(errors(s)).toEqual([]);
  });

  test("gateway with multiple TLS HTTPS TCP servers", () => {
    const s = compileYaml(
      gw("gateway1", "testns", srv(["*.example.com"], "tcp", "TLS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["https.example.com"], "tcp2", "HTTPS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["tcp.example.com"], "tcp3", "TCP", 9443)) +
        gw("gateway2", "testns", srv(["*.exampleone.com"], "http", "HTTPS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["*.exampleone.com"], "tcp", "TLS", 443, "{credentialName: test, mode: SIMPLE}")) +
        secret("test"),
    );
    expect(s.listeners.map((l) => l.name)).toEqual(["0.0.0.0_443", "0.0.0.0_9443"]);
    expect(s.listeners[0]!.sources).toEqual(["Gateway/testns/gateway1#0", "Gateway/testns/gateway1#1", "Gateway/testns/gateway2#0"]);
    expect(errors(s)).toEqual(["Error GW0202 Gateway/testns/gateway2: host *.exampleone.com already served on port 443 by an earlier TLS server: server dropped"]);
  });

  test("gateway with HTTPS/TCP invalid configuration: one listener on 443 (the TCP servers are dropped: README)", () => {
    const s = compileYaml(
      gw("gateway1", "testns", srv(["*.1.example.com"], "https", "HTTPS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["*.1.example.com"], "tcp", "TCP", 443)) +
        gw("gateway2", "testns", srv(["*.2.example.com"], "https", "HTTPS", 443, "{credentialName: test, mode: SIMPLE}"), srv(["*.2.example.com"], "tcp", "TCP", 443)) +
        secret("test"),
    );
    expect(s.listeners.map((l) => l.name)).toEqual(["0.0.0.0_443"]);
    expect(errors(s).map((l) => l.slice(0, 40))).toEqual(["Error GW0201 Gateway/testns/gateway1: po", "Error GW0201 Gateway/testns/gateway2: po"]);
  });
});

describe("TestGatewayFilterChainSNIOverlap", () => {
  const SERVICE = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: example, namespace: testns}
spec:
  hosts: [example.testns.svc.cluster.local]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.9}]
`;
  const vs = (gateway: string) => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: example, namespace: testns}
spec:
  gateways: [${gateway}]
  hosts: [example.com]
  tls: [{match: [{sniHosts: [example.com]}], route: [{destination: {host: example}}]}]
`;
  const exact = srv(["example.com"], "example", "TLS", 443, "{mode: PASSTHROUGH}");
  const wildcard = srv(["*"], "wildcard-tls", "HTTPS", 443, "{mode: PASSTHROUGH}");
  const hit = (s: Snapshot) => {
    const t = trace(s, { port: 443, host: "example.com", path: "/" });
    return [t.outcome, t.cluster];
  };
  const CLUSTER = "outbound|443||example.testns.svc.cluster.local";

  test("no sni overlap", () => {
    expect(hit(compileYaml(SERVICE + gw("gw", "testns", exact) + vs("testns/gw")))).toEqual(["tcp_forward", CLUSTER]);
  });

  test("sni overlap in one gateway", () => {
    const s = compileYaml(SERVICE + gw("gw", "testns", exact, wildcard) + vs("testns/gw"));
    expect(hit(s)).toEqual(["tcp_forward", CLUSTER]);
  });

  test("sni overlap in two gateways: the SNI reaches the chain of the server whose route names it", () => {
    // gw1's example.com server has no route: istiod builds no chain for it, so the
    // route of gw2's `*` server (SNI example.com) takes the connection
    const s = compileYaml(SERVICE + gw("gw1", "testns", exact) + gw("gw2", "testns", wildcard) + vs("testns/gw2"));
    expect(hit(s)).toEqual(["tcp_forward", CLUSTER]);
    expect(trace(s, { port: 443, host: "other.com", path: "/" }).outcome).toBe("handshake_failed");
  });
});

describe("TestMergeGateways, more on one port", () => {
  test("credentials differing for one host: the earlier server (creation order) keeps the host and its credential", () => {
    const s = compileYaml(
      gw("a", "ns", srv(["a.example.com"], "https", "HTTPS", 443, "{mode: SIMPLE, credentialName: first}")) +
        gw("b", "ns", srv(["a.example.com", "b.example.com"], "https", "HTTPS", 443, "{mode: SIMPLE, credentialName: second}")) +
        secret("first") +
        secret("second"),
    );
    // CheckDuplicates drops the whole later server, b.example.com with it
    expect(s.listeners[0]!.tls!.chains.map((c) => [c.name, c.credential])).toEqual([["https.443.https.a.ns", "istio-system/first"]]);
    expect(errors(s)).toEqual(["Error GW0202 Gateway/ns/b: host a.example.com already served on port 443 by an earlier TLS server: server dropped"]);
    expect(trace(s, { port: 443, host: "b.example.com", path: "/" }).outcome).toBe("handshake_failed");
  });

  test("HTTP then HTTPS on one port: canMergeProtocols(HTTP, HTTPS) is false, the HTTPS server is rejected", () => {
    const s = compileYaml(gw("a", "ns", srv(["a.example.com"], "http", "HTTP", 8443)) + gw("b", "ns", srv(["b.example.com"], "https", "HTTPS", 8443, "{mode: SIMPLE, credentialName: c}")) + secret("c"));
    expect(merged(s)).toEqual({ 8443: ["Gateway/ns/a#0"] });
    expect(errors(s)).toEqual(["Error GW0201 Gateway/ns/b: port 8443 HTTPS conflicts with Gateway/ns/a server 0 (HTTP on the same port): server dropped"]);
  });

  test("two TCP servers on one port: the later has no RDS name to merge by and is rejected", () => {
    const s = compileYaml(gw("a", "ns", srv(["*"], "tcp", "TCP", 9000)) + gw("b", "ns", srv(["*"], "tcp", "TCP", 9000)));
    expect(merged(s)).toEqual({ 9000: ["Gateway/ns/a#0"] });
    expect(errors(s)).toHaveLength(1);
  });
});

describe("TestBuildNameToServiceMapForHttpRoutes", () => {
  // a VirtualService in `test` at a gateway in `test`: foo (test, exportTo .) and bar
  // (default, exportTo *) resolve with their only port; baz, bazs, bazs2 (default,
  // exportTo .) are not visible there, as istiod's map holds nil for them
  const se = (name: string, ns: string, port: number, exportTo: string) => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: [${name}.example.org]
  exportTo: ["${exportTo}"]
  ports: [{number: ${port}, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
`;
  const yaml =
    gw("gw", "test", srv(["*"], "http", "HTTP", 80)) +
    `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: virtual-service, namespace: test}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /bar}}]
    route: [{destination: {host: bar.example.org}}]
  - route: [{destination: {host: foo.example.org}}]
    mirror: {host: baz.example.org}
    mirrors: [{destination: {host: bazs.example.org}}, {destination: {host: bazs2.example.org}}]
` +
    se("foo", "test", 80, ".") +
    se("bar", "default", 8080, "*") +
    se("baz", "default", 8090, ".") +
    se("bazs", "default", 8091, ".") +
    se("bazs2", "default", 8092, ".");

  test("visible destinations resolve with their only port; private ones of another namespace do not", () => {
    const s = compileYaml(yaml, { namespace: "test" });
    expect(trace(s, { port: 80, host: "a.example.org", path: "/" }).cluster).toBe("outbound|80||foo.example.org");
    expect(trace(s, { port: 80, host: "a.example.org", path: "/bar" }).cluster).toBe("outbound|8080||bar.example.org");
    // the hosts exist, exported only to their own namespace: the finding says so (analyzers' GW0401)
    expect(findingLines(s).filter((l) => l.startsWith("Warning GW0401")).map((l) => l.slice(l.indexOf(": ") + 2))).toEqual(
      ["baz", "bazs", "bazs2"].map((n) => `destination host ${n}.example.org: ServiceEntry/default/${n} (exportTo .) is not exported to the gateway namespace test: requests get 503`),
    );
  });
});

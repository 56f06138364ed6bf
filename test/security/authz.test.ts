// AuthorizationPolicy from YAML to decision: which policies apply to this
// gateway (selector, root namespace, targetRef), Istio's order (CUSTOM, DENY,
// ALLOW), its `*` rules, sources, operations, conditions, and fail-closed.
import { describe, expect, test } from "bun:test";
import { decodeFiles } from "../../src/decode/index.ts";
import { authorize, type AuthzInput } from "../../src/security/authz.ts";
import { trustedClientAddress } from "../../src/security/client-ip.ts";
import type { SecurityConfig } from "../../src/security/types.ts";
import { compileYaml, findingLines } from "../unit/pipeline-helpers.ts";

function policy(name: string, spec: string, ns = "istio-system", annotations = ""): string {
  return `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: ${ns}${annotations}}
spec:
${spec}
`;
}

function sec(yaml: string, labels: Record<string, string> = { istio: "ingressgateway" }): SecurityConfig {
  const s = compileYaml(yaml, { labels });
  return s.security ?? { active: false, trustedProxies: 0, providers: [], policies: [], failClosed: [], extAuthz: new Map() };
}

function input(over: Partial<AuthzInput> & { headers?: Record<string, string> } = {}): AuthzInput {
  const headers = over.headers ?? {};
  return {
    method: "GET",
    authority: "app.example.com",
    path: "/",
    port: 8080,
    header: (n) => headers[n],
    sourceIp: "10.0.0.1",
    remoteIp: "10.0.0.1",
    destinationIp: "127.0.0.1",
    principal: "",
    sni: "",
    claims: null,
    ...over,
  };
}

const allowed = (s: SecurityConfig, i: AuthzInput): boolean => authorize(s, i).allow;

describe("which policies apply", () => {
  test("selector against --labels; root namespace mesh-wide; gateway namespace; other namespaces never", () => {
    const yaml =
      policy("root-deny", "  action: DENY\n  rules: [{to: [{operation: {paths: [/root]}}]}]") +
      policy("selected", "  selector: {matchLabels: {istio: ingressgateway}}\n  action: DENY\n  rules: [{to: [{operation: {paths: [/sel]}}]}]") +
      policy("other-labels", "  selector: {matchLabels: {app: other}}\n  action: DENY\n  rules: [{}]") +
      policy("elsewhere", "  action: DENY\n  rules: [{}]", "default") +
      policy("targeted", "  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: gw}\n  action: DENY\n  rules: [{}]");
    const s = sec(yaml);
    expect(s.policies.map((p) => p.name)).toEqual(["AuthorizationPolicy/istio-system/root-deny", "AuthorizationPolicy/istio-system/selected"]);
    expect(allowed(s, input({ path: "/root" }))).toBe(false);
    expect(allowed(s, input({ path: "/sel" }))).toBe(false);
    expect(allowed(s, input({ path: "/x" }))).toBe(true);
    const lines = findingLines(compileYaml(yaml));
    expect(lines).toContain("Info GW0901 AuthorizationPolicy/default/elsewhere: not applied to this gateway: namespace default is neither the root namespace istio-system nor the gateway namespace istio-system");
    expect(lines.some((l) => l.includes("targeted") && l.includes("targetRef applies to Gateway API gateways only"))).toBe(true);
  });

  test("targetRef applies on a Gateway API gateway (gateway-name label) when it names that Gateway", () => {
    const yaml = policy("targeted", "  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: gw}\n  action: DENY\n  rules: [{}]") + policy("other", "  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: other}]\n  action: DENY\n  rules: [{}]");
    const s = sec(yaml, { "gateway.networking.k8s.io/gateway-name": "gw" });
    expect(s.policies.map((p) => p.name)).toEqual(["AuthorizationPolicy/istio-system/targeted"]);
  });

  test("targetRef naming a Gateway this instance serves (--gateway NS/NAME) applies, in that Gateway's namespace", () => {
    const yaml = policy("targeted", "  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: web}\n  action: DENY\n  rules: [{}]", "apps") + policy("other", "  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: web}\n  action: DENY\n  rules: [{}]", "other");
    const s = compileYaml(yaml, { gateways: ["apps/web"] });
    expect(s.security!.policies.map((p) => p.name)).toEqual(["AuthorizationPolicy/apps/targeted"]);
  });
});

describe("Istio's order and defaults", () => {
  test("no ALLOW policy allows; an ALLOW that matches nothing denies; DENY wins over ALLOW; AUDIT and dry-run never decide", () => {
    expect(allowed(sec(policy("a", "  action: AUDIT\n  rules: [{}]")), input())).toBe(true);
    const allowNothing = sec(policy("a", "  action: ALLOW"));
    expect(allowed(allowNothing, input())).toBe(false);
    const allowAll = policy("a", "  action: ALLOW\n  rules: [{}]");
    expect(allowed(sec(allowAll), input())).toBe(true);
    const both = sec(allowAll + policy("d", "  action: DENY\n  rules: [{to: [{operation: {methods: [DELETE]}}]}]"));
    expect(allowed(both, input({ method: "DELETE" }))).toBe(false);
    expect(allowed(both, input())).toBe(true);
    const dry = sec(policy("d", "  action: DENY\n  rules: [{}]", "istio-system", ", annotations: {istio.io/dry-run: 'true'}"));
    const d = authorize(dry, input());
    expect(d.allow).toBe(true);
    expect(d.hits).toEqual([{ policy: "AuthorizationPolicy/istio-system/d", action: "DENY", rule: 0, dryRun: true }]);
  });
});

describe("operations, sources, conditions", () => {
  const cases: [string, string, Partial<AuthzInput> & { headers?: Record<string, string> }, boolean][] = [
    ["path exact", "to: [{operation: {paths: [/admin]}}]", { path: "/admin" }, true],
    ["path exact, other path", "to: [{operation: {paths: [/admin]}}]", { path: "/admin/x" }, false],
    ["path prefix*", "to: [{operation: {paths: [/admin/*]}}]", { path: "/admin/x" }, true],
    ["path *suffix", "to: [{operation: {paths: ['*.php']}}]", { path: "/x/index.php" }, true],
    // path templates (Istio → Envoy uri_template): {*} one non-empty segment of pchar, {**} the rest, whole path
    // request.headers[...] as Envoy's header matcher: pseudo-headers and host (Envoy's :authority) are headers too
    ["request.headers[:path] carries the query", "when: [{key: 'request.headers[:path]', values: ['/admin*']}]", { path: "/admin/x", query: "a=1" }, true],
    ["request.headers[:path] exact with query", "when: [{key: 'request.headers[:path]', values: ['/a?b=1']}]", { path: "/a", query: "b=1" }, true],
    ["request.headers[:method]", "when: [{key: 'request.headers[:method]', values: ['DELETE']}]", { method: "DELETE" }, true],
    ["request.headers[:authority]", "when: [{key: 'request.headers[:authority]', values: ['app.example.com']}]", {}, true],
    ["request.headers[host] is :authority", "when: [{key: 'request.headers[host]', values: ['*.example.com']}]", {}, true],
    ["request.headers[:scheme]", "when: [{key: 'request.headers[:scheme]', values: ['https']}]", { scheme: "https" }, true],
    ["template {*}", "to: [{operation: {paths: ['/api/{*}/x']}}]", { path: "/api/v1/x" }, true],
    ["template {*} is one segment", "to: [{operation: {paths: ['/api/{*}/x']}}]", { path: "/api/v1/v2/x" }, false],
    ["template {*} is not empty", "to: [{operation: {paths: ['/api/{*}/x']}}]", { path: "/api//x" }, false],
    ["template {*} matches the whole path", "to: [{operation: {paths: ['/api/{*}']}}]", { path: "/api/v1/more" }, false],
    ["template {**} any depth", "to: [{operation: {paths: ['/api/{**}']}}]", { path: "/api/a/b/c" }, true],
    ["template {**} may be empty", "to: [{operation: {paths: ['/api/{**}']}}]", { path: "/api/" }, true],
    ["template {**} needs the slash before it", "to: [{operation: {paths: ['/api/{**}']}}]", { path: "/api" }, false],
    ["template {**} then a literal", "to: [{operation: {paths: ['/{**}/edit']}}]", { path: "/a/b/edit" }, true],
    ["template: a literal dot is a dot", "to: [{operation: {paths: ['/{*}/a.b']}}]", { path: "/x/aXb" }, false],
    ["template: `*` in the path is not pchar", "to: [{operation: {paths: ['/api/{*}']}}]", { path: "/api/a*b" }, false],
    ["template: escapes are pchar", "to: [{operation: {paths: ['/api/{*}']}}]", { path: "/api/a%2Fb" }, true],
    ["notPaths template", "to: [{operation: {notPaths: ['/public/{**}']}}]", { path: "/public/a/b" }, false],
    ["notPaths", "to: [{operation: {notPaths: [/public*]}}]", { path: "/public/a" }, false],
    ["methods", "to: [{operation: {methods: [POST, PUT]}}]", { method: "PUT" }, true],
    ["hosts without case, port included as Envoy compares :authority", "to: [{operation: {hosts: [APP.example.com]}}]", { authority: "app.EXAMPLE.com" }, true],
    ["hosts: a port in the authority does not match a bare host", "to: [{operation: {hosts: [app.example.com]}}]", { authority: "app.example.com:8080" }, false],
    ["hosts *suffix", "to: [{operation: {hosts: ['*.example.com']}}]", { authority: "a.example.com" }, true],
    ["hosts: a trailing dot is the same host (as routing takes it)", "to: [{operation: {hosts: [app.example.com]}}]", { authority: "app.example.com." }, true],
    ["hosts: a trailing dot before the port", "to: [{operation: {hosts: ['app.example.com:*']}}]", { authority: "App.Example.Com.:8080" }, true],
    ["notHosts: a trailing dot is the same host", "to: [{operation: {notHosts: [app.example.com]}}]", { authority: "app.example.com." }, false],
    ["hosts: an IPv6 literal with its port", "to: [{operation: {hosts: ['[::1]:8080']}}]", { authority: "[::1]:8080" }, true],
    ["ports", "to: [{operation: {ports: ['8080']}}]", { port: 8080 }, true],
    ["ports other", "to: [{operation: {ports: ['8443']}}]", { port: 8080 }, false],
    ["ipBlocks CIDR", "from: [{source: {ipBlocks: [10.0.0.0/8]}}]", { sourceIp: "10.1.2.3" }, true],
    ["ipBlocks IPv4-mapped IPv6 peer", "from: [{source: {ipBlocks: [10.0.0.0/8]}}]", { sourceIp: "::ffff:10.1.2.3" }, true],
    ["notIpBlocks", "from: [{source: {notIpBlocks: [10.0.0.0/8]}}]", { sourceIp: "10.1.2.3" }, false],
    ["remoteIpBlocks use the client address", "from: [{source: {remoteIpBlocks: [203.0.113.0/24]}}]", { sourceIp: "10.0.0.1", remoteIp: "203.0.113.9" }, true],
    ["IPv6 block", "from: [{source: {ipBlocks: ['2001:db8::/32']}}]", { sourceIp: "2001:db8::1" }, true],
    ["principals exact", "from: [{source: {principals: [cluster.local/ns/default/sa/sleep]}}]", { principal: "cluster.local/ns/default/sa/sleep" }, true],
    ["principals * needs a principal", "from: [{source: {principals: ['*']}}]", { principal: "" }, false],
    ["namespaces", "from: [{source: {namespaces: [default]}}]", { principal: "cluster.local/ns/default/sa/sleep" }, true],
    ["namespaces other", "from: [{source: {namespaces: [prod]}}]", { principal: "cluster.local/ns/default/sa/sleep" }, false],
    ["trustDomains", "from: [{source: {trustDomains: [cluster.local]}}]", { principal: "cluster.local/ns/default/sa/sleep" }, true],
    ["trustDomains other", "from: [{source: {trustDomains: [other.local]}}]", { principal: "cluster.local/ns/default/sa/sleep" }, false],
    ["trustDomains with namespaces: both must match", "from: [{source: {namespaces: [default], trustDomains: [other.local]}}]", { principal: "cluster.local/ns/default/sa/sleep" }, false],
    ["trustDomains prefix*", "from: [{source: {trustDomains: ['cluster*']}}]", { principal: "cluster.local/ns/default/sa/sleep" }, true],
    ["trustDomains needs a principal", "from: [{source: {trustDomains: ['*']}}]", { principal: "" }, false],
    ["notTrustDomains", "from: [{source: {notTrustDomains: [untrusted.local]}}]", { principal: "untrusted.local/ns/default/sa/sleep" }, false],
    ["requestPrincipals iss/sub", "from: [{source: {requestPrincipals: [https://iss/alice]}}]", { claims: { iss: "https://iss", sub: "alice" } }, true],
    ["requestPrincipals * needs a token", "from: [{source: {requestPrincipals: ['*']}}]", { claims: null }, false],
    ["requestPrincipals iss/*", "from: [{source: {requestPrincipals: [https://iss/*]}}]", { claims: { iss: "https://iss", sub: "bob" } }, true],
    ["notRequestPrincipals without a token matches", "from: [{source: {notRequestPrincipals: ['*']}}]", { claims: null }, true],
    ["when header", "when: [{key: 'request.headers[x-env]', values: [prod]}]", { headers: { "x-env": "prod" } }, true],
    ["when header presence", "when: [{key: 'request.headers[x-env]', values: ['*']}]", { headers: { "x-env": "" } }, true],
    ["when header notValues absent header", "when: [{key: 'request.headers[x-env]', notValues: [prod]}]", {}, true],
    ["when claims nested list", "when: [{key: 'request.auth.claims[groups][0]', values: [x]}]", { claims: { groups: { "0": ["a", "x"] } } }, true],
    ["when claims list", "when: [{key: 'request.auth.claims[groups]', values: [admin]}]", { claims: { groups: ["dev", "admin"] } }, true],
    ["when audiences", "when: [{key: request.auth.audiences, values: [api]}]", { claims: { aud: "api" } }, true],
    ["when presenter", "when: [{key: request.auth.presenter, values: [cli]}]", { claims: { azp: "web" } }, false],
    ["when request.auth.principal", "when: [{key: request.auth.principal, values: [iss/sub]}]", { claims: { iss: "iss", sub: "sub" } }, true],
    ["when source.ip", "when: [{key: source.ip, values: [10.0.0.1]}]", { sourceIp: "10.0.0.1" }, true],
    ["when remote.ip", "when: [{key: remote.ip, notValues: [10.0.0.0/8]}]", { remoteIp: "192.0.2.1" }, true],
    ["when destination.port", "when: [{key: destination.port, values: ['8080']}]", { port: 8080 }, true],
    ["when destination.ip", "when: [{key: destination.ip, values: [127.0.0.0/8]}]", {}, true],
    ["when connection.sni", "when: [{key: connection.sni, values: ['*.example.com']}]", { sni: "a.example.com" }, true],
    ["when source.principal", "when: [{key: source.principal, values: ['*/sa/sleep']}]", { principal: "cluster.local/ns/default/sa/sleep" }, true],
    ["from AND to AND when", "from: [{source: {ipBlocks: [10.0.0.0/8]}}]\n    to: [{operation: {methods: [GET]}}]", { sourceIp: "10.0.0.1", method: "POST" }, false],
    ["two froms are OR", "from: [{source: {ipBlocks: [1.1.1.1]}}, {source: {ipBlocks: [10.0.0.1]}}]", {}, true],
  ];
  for (const [name, rule, inp, match] of cases) {
    test(name, () => {
      const s = sec(policy("p", `  action: DENY\n  rules:\n  - ${rule}`));
      expect(allowed(s, input(inp))).toBe(!match);
    });
  }
});

describe("fail closed", () => {
  test("a DENY rule with a field gangway cannot apply matches as if the field were absent; an ALLOW rule never allows", () => {
    const deny = policy("d", "  action: DENY\n  rules: [{when: [{key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]']}]}]");
    const s = compileYaml(deny);
    expect(findingLines(s).some((l) => l.startsWith("Error GW0902 AuthorizationPolicy/istio-system/d"))).toBe(true);
    expect(allowed(s.security!, input())).toBe(false);
  });

  test("a CUSTOM policy whose provider is not in the mesh config denies what it matches", () => {
    const s = compileYaml(policy("c", "  action: CUSTOM\n  provider: {name: ext}\n  rules: [{to: [{operation: {paths: [/private*]}}]}]"));
    expect(findingLines(s).some((l) => l.startsWith("Error GW0903") && l.includes('extension provider "ext" is not defined'))).toBe(true);
    expect(allowed(s.security!, input({ path: "/private/x" }))).toBe(false);
    expect(allowed(s.security!, input({ path: "/public" }))).toBe(true);
  });

  test("a RequestAuthentication rule without keys (OpenID discovery) denies every request", () => {
    const s = compileYaml(`apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: {name: ra, namespace: istio-system}
spec:
  jwtRules: [{issuer: https://accounts.example.com}]
`);
    expect(s.security!.failClosed.length).toBe(1);
    expect(allowed(s.security!, input())).toBe(false);
  });

  test("jwks_uri (the proto field's own name, listed by the CRD) is jwksUri: keys fetched from it, not a rule without keys", () => {
    const ra = (uri: string) => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ra, namespace: istio-system}
spec:
  jwtRules: [{issuer: https://accounts.example.com, ${uri}}]
`;
    const s = compileYaml(ra("jwks_uri: https://accounts.example.com/jwks"));
    expect(s.security!.failClosed).toEqual([]);
    expect(s.security!.providers.map((p) => p.jwksUri)).toEqual(["https://accounts.example.com/jwks"]);
    const both = decodeFiles([{ path: "ra.yaml", text: ra("jwksUri: https://a.example.com/jwks, jwks_uri: https://b.example.com/jwks") }]);
    expect(both.errors.map((e) => `${e.field}: ${e.message}`)).toEqual(["spec.jwtRules[0].jwks_uri: jwksUri and jwks_uri are the same field: give one"]);
  });

  test("another security.istio.io kind is never skipped: PeerAuthentication is Info (not a gateway's), an unknown kind denies every request", () => {
    const pa = compileYaml("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n");
    expect(findingLines(pa)).toContain("Info GW0906 PeerAuthentication/istio-system/default: PeerAuthentication does not apply to a gateway's listeners (Istio applies it to sidecar inbound traffic): use the Gateway's tls.mode for client certificates");
    expect(pa.security).toBeUndefined();
    const odd = compileYaml("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicey\nmetadata: {name: p, namespace: istio-system}\nspec: {}\n");
    expect(findingLines(odd).some((l) => l.startsWith("Error GW0902 AuthorizationPolicey/istio-system/p"))).toBe(true);
    expect(allowed(odd.security!, input())).toBe(false);
  });

  test("what Istio's validation refuses is a decode error", () => {
    const bad = [
      policy("p", "  action: DENY\n  rules: [{from: [{source: {ipBlocks: [10.0.0.300]}}]}]"),
      policy("p", "  action: DENY\n  rules: [{when: [{key: request.bogus, values: [x]}]}]"),
      policy("p", "  action: CUSTOM\n  rules: [{}]"),
      policy("p", "  action: DENY\n  provider: {name: x}\n  rules: [{}]"),
      policy("p", "  action: DENY\n  rules: [{from: [{source: {}}]}]"),
      // CUSTOM (ext_authz runs before jwt_authn in Istio): no request or peer identity
      policy("p", '  action: CUSTOM\n  provider: {name: x}\n  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]'),
      policy("p", "  action: CUSTOM\n  provider: {name: x}\n  rules: [{when: [{key: \"request.auth.claims[group]\", values: [a]}]}]"),
      policy("p", "  action: CUSTOM\n  provider: {name: x}\n  rules: [{from: [{source: {notNamespaces: [a]}}]}]"),
      // path templates Istio's CheckValidPathTemplate refuses
      policy("p", "  action: DENY\n  rules: [{to: [{operation: {paths: ['/{**}/{*}']}}]}]"),
      policy("p", "  action: DENY\n  rules: [{to: [{operation: {paths: ['/a{*}']}}]}]"),
      policy("p", "  action: DENY\n  rules: [{to: [{operation: {paths: ['/{id}']}}]}]"),
      policy("p", "  action: DENY\n  rules: [{to: [{operation: {notPaths: ['/a//{*}']}}]}]"),
      policy("p", "  action: DENY\n  rules: [{to: [{operation: {paths: ['/a b/{*}']}}]}]"),
    ];
    for (const b of bad) expect([b, decodeFiles([{ path: "p.yaml", text: b }]).errors.length > 0]).toEqual([b, true]);
    const ok = policy("p", "  action: CUSTOM\n  provider: {name: x}\n  rules: [{from: [{source: {ipBlocks: [10.0.0.0/8]}}], to: [{operation: {paths: [/x]}}], when: [{key: \"request.headers[x]\", values: [a]}]}]");
    expect(decodeFiles([{ path: "p.yaml", text: ok }]).errors).toEqual([]);
  });
});

describe("client address behind trusted proxies (Envoy's xff_num_trusted_hops)", () => {
  const cases: [string, string, number, string][] = [
    ["no trusted proxies: the peer", "203.0.113.1", 0, "10.0.0.1"],
    ["one: the rightmost entry", "198.51.100.7, 203.0.113.1", 1, "203.0.113.1"],
    ["two: the second from the right", "198.51.100.7, 203.0.113.1", 2, "198.51.100.7"],
    ["fewer entries than trusted hops: the peer", "203.0.113.1", 2, "10.0.0.1"],
    ["not an IP: the peer", "unknown", 1, "10.0.0.1"],
    ["no header: the peer", "", 1, "10.0.0.1"],
  ];
  for (const [name, xff, n, want] of cases) test(name, () => expect(trustedClientAddress("10.0.0.1", xff, n)).toBe(want));
});

// Gateways → listeners: selection by labels, server merging per port,
// conflicts, VirtualService binding and the findings that explain what is not served.
import { describe, expect, test } from "bun:test";
import { compileYaml, findingLines, get, HTTPBIN_SERVICE } from "./pipeline-helpers.ts";

function gateway(name: string, servers: string, extra = ""): string {
  return `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}${extra}}
spec:
  selector: {istio: ingressgateway}
  servers:
${servers}
`;
}

function vs(name: string, hosts: string[], gateways: string[], status = 200, extra = ""): string {
  return `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}${extra}}
spec:
  hosts: ${JSON.stringify(hosts)}
  gateways: ${JSON.stringify(gateways)}
  http: [{directResponse: {status: ${status}}}]
`;
}

const http80 = (hosts: string[], name = "http") => `  - port: {number: 80, name: ${name}, protocol: HTTP}\n    hosts: ${JSON.stringify(hosts)}`;

describe("listeners", () => {
  test("one per port, named 0.0.0.0_<port>, bound through --port-map, with its route table", () => {
    const s = compileYaml(
      gateway("gw", `${http80(["a.com"])}\n  - port: {number: 8080, name: alt, protocol: HTTP}\n    hosts: ["*"]`) + vs("v", ["a.com"], ["gw"]),
      { portMap: new Map([[80, 18080]]), bindAddress: "127.0.0.1" },
    );
    expect(s.listeners.map((l) => [l.name, l.port, l.bindPort, l.bindAddress, l.protocol, l.routeTable?.name, l.sources])).toEqual([
      ["0.0.0.0_80", 80, 18080, "127.0.0.1", "HTTP", "http.80", ["Gateway/default/gw#0"]],
      ["0.0.0.0_8080", 8080, 8080, "127.0.0.1", "HTTP", "http.8080", ["Gateway/default/gw#1"]],
    ]);
    // a server without VirtualService: the port listens and answers 404
    expect(get(s, "x.com", "/", { port: 8080 }).outcome).toBe("no_virtual_host");
    expect(get(s, "a.com", "/").status).toBe(200);
  });

  test("a Gateway applies when its selector is a subset of the labels; empty selector selects all", () => {
    const yaml =
      gateway("mine", http80(["a.com"])) +
      gateway("other", `  - port: {number: 81, name: http, protocol: HTTP}\n    hosts: ["*"]`).replace("istio: ingressgateway", "istio: eastwest") +
      `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: any}
spec:
  servers:
  - port: {number: 82, name: http, protocol: HTTP}
    hosts: ["*"]
`;
    const s = compileYaml(yaml);
    expect(s.listeners.map((l) => l.port)).toEqual([80, 82]);
    expect(findingLines(s)).toContain("Info GW0205 Gateway/default/other: selector istio=eastwest does not match this gateway's labels: not served here");
    expect(compileYaml(yaml, { labels: { istio: "eastwest", app: "x" } }).listeners.map((l) => l.port)).toEqual([81, 82]);
  });

  test("HTTPS and TLS servers: listener with filter chains by SNI; HTTPS routes like HTTP; passthrough has no route table", () => {
    const s = compileYaml(
      gateway(
        "gw",
        `  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.com]
    tls: {mode: SIMPLE, credentialName: a-cred}
  - port: {number: 8443, name: tls, protocol: TLS}
    hosts: [b.com]
    tls: {mode: PASSTHROUGH}`,
      ) + vs("v", ["a.com"], ["gw"]),
    );
    expect(s.listeners.map((l) => [l.port, l.protocol, l.routeTable?.name ?? null, l.tls?.chains.map((c) => [c.name, c.mode, c.routeTable?.name ?? null])])).toEqual([
      [443, "HTTPS", null, [["https.443.https.gw.default", "SIMPLE", "https.443.https.gw.default"]]],
      [8443, "TLS", null, [["https.8443.tls.gw.default", "PASSTHROUGH", null]]],
    ]);
    // no Secret a-cred: the chain is disabled, its name fails the handshake
    expect(get(s, "a.com", "/", { port: 443 }).outcome).toBe("handshake_failed");
    expect(findingLines(s).some((l) => l.startsWith("Error GW0601 Gateway/default/gw"))).toBe(true);
    // no VirtualService tls route for b.com (test/unit/compile-passthrough.test.ts has the routes)
    expect(findingLines(s).some((l) => l.startsWith("Warning GW0207 Gateway/default/gw: PASSTHROUGH server on port 8443 (b.com): no VirtualService tls route applies"))).toBe(true);
  });
});

describe("server fields Istio does not implement are reported, never dropped silently", () => {
  const cases: [string, string, string][] = [
    ["bind", "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n    bind: 10.0.0.1", "spec.servers[0].bind: bind 10.0.0.1 is not supported: the server listens on --bind"],
    ["defaultEndpoint", "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n    defaultEndpoint: 127.0.0.1:8080", "spec.servers[0].defaultEndpoint: defaultEndpoint is not implemented by Istio (nor gangway): ignored"],
  ];
  for (const [name, servers, want] of cases) {
    test(name, () => {
      const s = compileYaml(gateway("gw", servers) + vs("v", ["a.com"], ["gw"]));
      expect(s.findings.filter((f) => f.code === "GW0206").map((f) => `${f.field}: ${f.message}`)).toEqual([want]);
      expect(s.listeners.map((l) => l.port)).toEqual([80]);
    });
  }
});

describe("servers sharing a port", () => {
  test("two Gateways with HTTP servers on port 80 merge into one route table", () => {
    const s = compileYaml(gateway("g1", http80(["a.com"])) + gateway("g2", http80(["b.com"])) + vs("va", ["a.com"], ["g1"], 201) + vs("vb", ["b.com"], ["g2"], 202));
    expect(s.listeners.length).toBe(1);
    expect(s.listeners[0]!.sources).toEqual(["Gateway/default/g1#0", "Gateway/default/g2#0"]);
    expect(get(s, "a.com", "/").status).toBe(201);
    expect(get(s, "b.com", "/").status).toBe(202);
  });

  test("the same HTTP host in two Gateways: reported, routes merge in creation order", () => {
    const s = compileYaml(
      gateway("late", http80(["a.com"]), ', creationTimestamp: "2024-02-01T00:00:00Z"') +
        gateway("early", http80(["a.com"]), ', creationTimestamp: "2024-01-01T00:00:00Z"') +
        vs("v-late", ["a.com"], ["late"], 202) +
        vs("v-early", ["a.com"], ["early"], 201),
    );
    expect(findingLines(s)).toContain(
      "Warning GW0203 Gateway/default/late: host a.com on port 80 is also served by Gateway default/early: their routes merge (first by creation order wins)",
    );
    // both VirtualServices are catch-alls: v-early's comes first (its Gateway is older)
    expect(get(s, "a.com", "/").status).toBe(201);
  });

  test("HTTP and TCP on one port: the later server is dropped", () => {
    const s = compileYaml(gateway("gw", `${http80(["a.com"])}\n  - port: {number: 80, name: tcp, protocol: TCP}\n    hosts: ["*"]`) + vs("v", ["a.com"], ["gw"]));
    expect(s.listeners.map((l) => [l.port, l.protocol])).toEqual([[80, "HTTP"]]);
    expect(findingLines(s)).toContain(
      "Error GW0201 Gateway/default/gw: port 80 TCP conflicts with Gateway/default/gw server 0 (HTTP on the same port): server dropped",
    );
  });

  test("the same TLS host twice on one port: the later server is dropped; other hosts merge", () => {
    const tls = (name: string, host: string) => `  - port: {number: 443, name: ${name}, protocol: HTTPS}
    hosts: [${host}]
    tls: {mode: SIMPLE, credentialName: ${name}}`;
    const s = compileYaml(gateway("gw", [tls("one", "a.com"), tls("two", "a.com"), tls("three", "b.com")].join("\n")));
    expect(s.listeners[0]!.sources).toEqual(["Gateway/default/gw#0", "Gateway/default/gw#2"]);
    expect(findingLines(s)).toContain("Error GW0202 Gateway/default/gw: host a.com already served on port 443 by an earlier TLS server: server dropped");
  });
});

describe("VirtualService binding", () => {
  test("gateways: short name in the VirtualService's namespace, ns/name across namespaces", () => {
    const s = compileYaml(
      gateway("gw", http80(["*"]), ", namespace: istio-system") +
        vs("cross", ["a.com"], ["istio-system/gw"], 201, ", namespace: web") +
        vs("short", ["b.com"], ["gw"], 202, ", namespace: web"),
    );
    expect(get(s, "a.com", "/").status).toBe(201);
    expect(get(s, "b.com", "/").outcome).toBe("no_virtual_host");
    expect(findingLines(s)).toContain('Error GW0301 VirtualService/web/short: gateway "web/gw" not found: not served; did you mean "istio-system/gw"? (it serves b.com)');
  });

  test("no gateways: mesh only, not served", () => {
    const s = compileYaml(gateway("gw", http80(["*"])) + vs("m", ["a.com"], []));
    expect(get(s, "a.com", "/").outcome).toBe("no_virtual_host");
    expect(findingLines(s)).toContain("Info GW0307 VirtualService/default/m: no gateways: it applies to the mesh (sidecars) only and is not served by a gateway");
  });

  test("server host namespaces: ns/host only binds VirtualServices of that namespace", () => {
    const s = compileYaml(
      gateway("gw", http80(["web/a.com", "*/b.com"]), ", namespace: istio-system") +
        vs("a-web", ["a.com"], ["istio-system/gw"], 201, ", namespace: web") +
        vs("a-other", ["a.com"], ["istio-system/gw"], 202, ", namespace: other") +
        vs("b-other", ["b.com"], ["istio-system/gw"], 203, ", namespace: other"),
    );
    expect(get(s, "a.com", "/").status).toBe(201);
    expect(get(s, "b.com", "/").status).toBe(203);
    expect(findingLines(s)).toContain(
      "Warning GW0302 VirtualService/other/a-other: host a.com is served by no server of gateway istio-system/gw: its routes are not reachable for that host",
    );
  });

  test("host intersection keeps the more specific host", () => {
    const s = compileYaml(gateway("gw", http80(["*.example.com"])) + vs("v", ["*"], ["gw"]) + vs("w", ["a.example.com", "other.org"], ["gw"], 201));
    expect(s.listeners[0]!.routeTable!.virtualHosts.map((v) => v.domains)).toEqual([["*.example.com"], ["a.example.com"]]);
    expect(get(s, "other.org", "/").outcome).toBe("no_virtual_host");
    expect(get(s, "a.example.com", "/").status).toBe(201);
    expect(get(s, "b.example.com", "/").status).toBe(200);
  });

  test("exportTo: a VirtualService not exported to the gateway namespace is not served", () => {
    const s = compileYaml(
      gateway("gw", http80(["*"]), ", namespace: istio-system") +
        `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: web}
spec:
  hosts: [a.com]
  gateways: [istio-system/gw]
  exportTo: ["."]
  http: [{directResponse: {status: 201}}]
`,
    );
    expect(get(s, "a.com", "/").outcome).toBe("no_virtual_host");
    expect(findingLines(s)).toContain("Warning GW0303 VirtualService/web/private: exportTo . does not include the gateway namespace istio-system: not served");
  });

  test("httpsRedirect on an HTTP server answers 301 to https for its hosts", () => {
    const s = compileYaml(gateway("gw", `${http80(["a.com"])}\n    tls: {httpsRedirect: true}`) + vs("v", ["a.com"], ["gw"]));
    const r = get(s, "a.com", "/x");
    expect([r.outcome, r.status]).toEqual(["redirect", 301]);
    const route = s.listeners[0]!.routeTable!.virtualHosts[0]!.routes[0]!;
    expect(route.action).toEqual({ kind: "redirect", status: 301, scheme: "https", authority: null, port: 0, uri: null });
  });

  test("no Gateway at all: nothing listened on, and said so", () => {
    const s = compileYaml(HTTPBIN_SERVICE);
    expect(s.listeners).toEqual([]);
    expect(findingLines(s)).toContain(
      "Warning GW0204 -: no Gateway or Ingress applies to this gateway (labels istio=ingressgateway): nothing is listened on",
    );
  });

  test("the same object twice: the later definition is used, with a warning", () => {
    const s = compileYaml(gateway("gw", http80(["*"])) + vs("v", ["a.com"], ["gw"], 201) + vs("v", ["a.com"], ["gw"], 202));
    expect(get(s, "a.com", "/").status).toBe(202);
    expect(findingLines(s)).toContain("Warning GW0111 VirtualService/default/v: defined again in test.yaml document 2: the later definition is used");
  });

  test("many definitions of the same objects: the first 100 are listed, the rest counted in one warning; the last definition is used", () => {
    let yaml = gateway("gw", http80(["*"]));
    for (let i = 0; i < 150; i++) yaml += vs("v", ["a.com"], ["gw"], 200 + (i % 50));
    yaml += vs("v", ["a.com"], ["gw"], 299);
    const s = compileYaml(yaml);
    expect(get(s, "a.com", "/").status).toBe(299);
    const lines = findingLines(s).filter((l) => l.includes("GW0111"));
    expect(lines.length).toBe(101);
    expect(lines.at(-1)).toBe("Warning GW0111 -: 50 more definitions of a resource defined before are not listed (150 in all): the later definition is used each time");
  });
});

// L4 routes compiled into the snapshot: PASSTHROUGH `tls:` routes by SNI
// (wildcards, port and gateway matches, weights, duplicates), AUTO_PASSTHROUGH
// names, TCP servers' `tcp:` routes, TLS-terminated TCP, and the findings for
// servers no route applies to.
import { describe, expect, test } from "bun:test";
import { selectChain } from "../../src/dispatch/dispatch.ts";
import type { Snapshot, TcpRouteTable } from "../../src/snapshot/types.ts";
import { pickDestination, selectTcpRoute } from "../../workers/tcp/route.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const SERVICES = `
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: a}
subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{port: 8443}]}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {ports: [{port: 443, name: https}, {port: 9000, name: tcp}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: b}
subsets: [{addresses: [{ip: 10.0.0.2}], ports: [{port: 443, name: https}, {port: 9000, name: tcp}]}]
`;

function gateway(servers: string, name = "gw"): string {
  return `
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: ${name}}
spec:
  selector: {istio: ingressgateway}
  servers:
${servers}`;
}

function passthrough(hosts: string[], port = 443, protocol = "HTTPS"): string {
  return `  - port: {number: ${port}, name: p${port}-${hosts.length}, protocol: ${protocol}}
    hosts: ${JSON.stringify(hosts)}
    tls: {mode: PASSTHROUGH}
`;
}

function tlsVS(name: string, hosts: string[], routes: string, gateways = ["gw"]): string {
  return `
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: ${JSON.stringify(hosts)}
  gateways: ${JSON.stringify(gateways)}
  tls:
${routes}`;
}

function chainRoutes(s: Snapshot, port = 443, chain = 0): TcpRouteTable {
  return s.listeners.find((l) => l.port === port)!.tls!.chains[chain]!.tcpRoutes!;
}

/** SNI → `route → clusters`, or null, as the worker would choose. */
function routeFor(t: TcpRouteTable, sni: string): string | null {
  const r = selectTcpRoute(t, sni);
  return r === null ? null : `${r.name} → ${r.destinations.map((d) => d.cluster).join(",")}`;
}

describe("PASSTHROUGH: tls routes by SNI", () => {
  test("the walkthrough's route: sniHosts nginx.example.com → my-nginx:443 as a cluster with endpoints", () => {
    const s = compileYaml(
      SERVICES +
        gateway(passthrough(["nginx.example.com"])) +
        tlsVS("nginx", ["nginx.example.com"], `  - match: [{port: 443, sniHosts: [nginx.example.com]}]\n    route: [{destination: {host: a, port: {number: 443}}}]\n`),
    );
    const t = chainRoutes(s);
    expect(routeFor(t, "nginx.example.com")).toBe("nginx.tls.0 → outbound|443||a.default.svc.cluster.local");
    expect(routeFor(t, "other.example.com")).toBeNull();
    expect(routeFor(t, "")).toBeNull();
    expect(s.clusters.get("outbound|443||a.default.svc.cluster.local")!.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(["10.0.0.1:8443"]);
    expect(s.listeners[0]!.tls!.chains[0]!.disabled).toBe("");
    expect(findingLines(s)).toEqual([]);
  });

  test("SNI precedence inside a chain: exact, then the longest wildcard, then *", () => {
    const routes = [
      ["*", "a"],
      ["*.example.com", "a"],
      ["*.b.example.com", "b"],
      ["x.b.example.com", "a"],
    ]
      .map(([sni, host]) => `  - match: [{sniHosts: ["${sni}"]}]\n    route: [{destination: {host: ${host}, port: {number: 443}}}]\n`)
      .join("");
    const s = compileYaml(SERVICES + gateway(passthrough(["*"])) + tlsVS("v", ["*"], routes));
    const t = chainRoutes(s);
    expect(routeFor(t, "x.b.example.com")).toBe("v.tls.3 → outbound|443||a.default.svc.cluster.local");
    expect(routeFor(t, "y.b.example.com")).toBe("v.tls.2 → outbound|443||b.default.svc.cluster.local");
    expect(routeFor(t, "c.example.com")).toBe("v.tls.1 → outbound|443||a.default.svc.cluster.local");
    expect(routeFor(t, "example.com")).toBe("v.tls.0 → outbound|443||a.default.svc.cluster.local");
    expect(routeFor(t, "")).toBe("v.tls.0 → outbound|443||a.default.svc.cluster.local");
  });

  test("match port and gateways narrow; the first route for an SNI wins, a later duplicate is reported", () => {
    const s = compileYaml(
      SERVICES +
        gateway(passthrough(["*.example.com"]) + passthrough(["*.example.com"], 8443)) +
        tlsVS(
          "v",
          ["*.example.com"],
          `  - match: [{port: 8443, sniHosts: [a.example.com]}]
    route: [{destination: {host: b, port: {number: 443}}}]
  - match: [{gateways: [other], sniHosts: [a.example.com]}]
    route: [{destination: {host: b, port: {number: 443}}}]
  - match: [{port: 443, sniHosts: [a.example.com]}, {gateways: [default/gw], sniHosts: [c.example.com]}]
    route: [{destination: {host: a, port: {number: 443}}}]
  - match: [{sniHosts: [a.example.com, d.example.com]}]
    route: [{destination: {host: b, port: {number: 443}}}]
`,
          ["gw", "other"],
        ),
    );
    const t443 = chainRoutes(s, 443);
    expect(routeFor(t443, "a.example.com")).toBe("v.tls.2.0 → outbound|443||a.default.svc.cluster.local");
    expect(routeFor(t443, "c.example.com")).toBe("v.tls.2.1 → outbound|443||a.default.svc.cluster.local");
    expect(routeFor(t443, "d.example.com")).toBeNull(); // its match was skipped whole (a.example.com taken), as Istio does
    expect(routeFor(chainRoutes(s, 8443), "a.example.com")).toBe("v.tls.0 → outbound|443||b.default.svc.cluster.local");
    expect(findingLines(s)).toContain(
      "Warning GW0308 VirtualService/default/v: SNI a.example.com on port 443 is already routed by VirtualService/default/v v.tls.2.0: this match is skipped",
    );
  });

  test("weighted destinations: weights kept, picked in proportion", () => {
    const s = compileYaml(
      SERVICES +
        gateway(passthrough(["w.example.com"])) +
        tlsVS(
          "w",
          ["w.example.com"],
          `  - match: [{sniHosts: [w.example.com]}]
    route:
    - {destination: {host: a, port: {number: 443}}, weight: 75}
    - {destination: {host: b, port: {number: 443}}, weight: 25}
    - {destination: {host: b, port: {number: 9000}}, weight: 0}
`,
        ),
    );
    const r = selectTcpRoute(chainRoutes(s), "w.example.com")!;
    expect(r.destinations.map((d) => [d.cluster, d.weight])).toEqual([
      ["outbound|443||a.default.svc.cluster.local", 75],
      ["outbound|443||b.default.svc.cluster.local", 25],
    ]);
    expect(r.totalWeight).toBe(100);
    expect(pickDestination(r, 0.74)!.host).toBe("a.default.svc.cluster.local");
    expect(pickDestination(r, 0.76)!.host).toBe("b.default.svc.cluster.local");
  });

  test("VirtualService hosts must meet the server's; an sniHost outside the server's hosts is reported and not routed", () => {
    const s = compileYaml(
      SERVICES +
        gateway(passthrough(["a.example.com"])) +
        tlsVS("elsewhere", ["z.example.com"], `  - match: [{sniHosts: [z.example.com]}]\n    route: [{destination: {host: a}}]\n`) +
        tlsVS("v", ["*.example.com"], `  - match: [{sniHosts: [a.example.com, q.example.com]}]\n    route: [{destination: {host: a}}]\n`),
    );
    const t = chainRoutes(s);
    expect(t.routes.map((r) => [r.name, r.sniHosts])).toEqual([["v.tls.0", ["a.example.com"]]]);
    expect(findingLines(s)).toContain(
      "Warning GW0302 VirtualService/default/v: sniHost q.example.com is not a host of the PASSTHROUGH server on port 443 (a.example.com): never routed there",
    );
  });

  test("no route applies: the chain stays (its connections are closed) and a GW0207 finding says why", () => {
    const s = compileYaml(SERVICES + gateway(passthrough(["nginx.example.com"])));
    expect(chainRoutes(s).routes).toEqual([]);
    expect(findingLines(s)).toEqual([
      "Warning GW0207 Gateway/default/gw: PASSTHROUGH server on port 443 (nginx.example.com): no VirtualService tls route applies (bound to default/gw, sniHosts among the server's hosts, port 443): its connections are closed",
    ]);
  });

  test("passthrough beside termination on one port: SNI picks the chain, each with its own way out", () => {
    const s = compileYaml(
      SERVICES +
        gateway(
          passthrough(["p.example.com"]) +
            `  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [t.example.com]
    tls: {mode: SIMPLE, credentialName: missing}
`,
        ) +
        tlsVS("p", ["p.example.com"], `  - match: [{sniHosts: [p.example.com]}]\n    route: [{destination: {host: a}}]\n`),
    );
    const chains = s.listeners[0]!.tls!.chains;
    expect(chains.map((c) => [c.mode, c.routeTable !== null, c.tcpRoutes !== null])).toEqual([
      ["PASSTHROUGH", false, true],
      ["SIMPLE", true, false],
    ]);
  });
});

describe("AUTO_PASSTHROUGH", () => {
  test("one route per service port and DestinationRule subset the server's hosts cover, named as Istio's SNI", () => {
    const s = compileYaml(
      SERVICES +
        `
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: b}
spec:
  host: b
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: outside}
spec:
  hosts: [ext.example.org]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
` +
        gateway(`  - port: {number: 15443, name: tls, protocol: TLS}
    hosts: ["*.local"]
    tls: {mode: AUTO_PASSTHROUGH}
`),
    );
    const t = chainRoutes(s, 15443);
    // each route goes to istiod's SNI-DNAT cluster of the same name, not to the outbound| cluster HTTP routes share
    expect(t.routes.map((r) => `${r.name} → ${r.destinations[0]!.cluster}`).sort()).toEqual([
      "outbound_.443_._.a.default.svc.cluster.local → outbound_.443_._.a.default.svc.cluster.local",
      "outbound_.443_._.b.default.svc.cluster.local → outbound_.443_._.b.default.svc.cluster.local",
      "outbound_.443_.v1_.b.default.svc.cluster.local → outbound_.443_.v1_.b.default.svc.cluster.local",
      "outbound_.9000_._.b.default.svc.cluster.local → outbound_.9000_._.b.default.svc.cluster.local",
      "outbound_.9000_.v1_.b.default.svc.cluster.local → outbound_.9000_.v1_.b.default.svc.cluster.local",
    ]);
    expect(routeFor(t, "outbound_.443_._.a.default.svc.cluster.local")).not.toBeNull();
    expect(routeFor(t, "a.default.svc.cluster.local")).toBeNull();
    // SERVICES' endpoints carry no security.istio.io/tlsMode: plain text, left out as istiod does
    expect(s.clusters.get("outbound_.9000_._.b.default.svc.cluster.local")!.endpoints).toEqual([]);
    expect(findingLines(s)).toContain(
      "Warning GW0405 Service/default/b: AUTO_PASSTHROUGH cluster outbound_.9000_._.b.default.svc.cluster.local: 1 of its 1 endpoint is plain text (neither labelled security.istio.io/tlsMode: istio nor a WorkloadEntry with a serviceAccount); as istiod, only endpoints taking Istio mTLS are reached by SNI: no endpoint is left: its connections are closed (UH)",
    );
    // gateway.go: each chain matches allIstioMtlsALPNs too; a ClientHello offering none of them finds no chain
    const l = s.listeners.find((x) => x.port === 15443)!;
    const sni = "outbound_.443_._.a.default.svc.cluster.local";
    for (const alpn of [["istio"], ["istio-peer-exchange", "istio"], ["h2", "istio-h2"], ["istio-http/1.0"], ["istio-http/1.1"]]) expect(selectChain(l, sni, alpn).kind).toBe("passthrough");
    for (const alpn of [[], ["h2"], ["http/1.1"], ["istio2"]]) expect(selectChain(l, sni, alpn)).toMatchObject({ kind: "refuse", reason: "no_alpn_match" });
    expect(selectChain(l, sni).kind).toBe("passthrough"); // ALPN not known (a trace): no condition
  });
});

describe("TCP servers", () => {
  const tcpGateway = gateway(`  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
`);

  test("the first tcp route that applies takes every connection, with its weights", () => {
    const s = compileYaml(
      SERVICES +
        tcpGateway +
        `
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: t}
spec:
  hosts: ["*"]
  gateways: [gw]
  tcp:
  - match: [{port: 31401}]
    route: [{destination: {host: a, port: {number: 443}}}]
  - match: [{port: 31400}]
    route:
    - {destination: {host: b, port: {number: 9000}}, weight: 80}
    - {destination: {host: a, port: {number: 443}}, weight: 20}
  - route: [{destination: {host: a, port: {number: 443}}}]
`,
    );
    const l = s.listeners[0]!;
    expect([l.name, l.protocol, l.routeTable, l.tls]).toEqual(["0.0.0.0_31400", "TCP", null, null]);
    expect(l.tcpRoutes!.routes.length).toBe(1);
    expect(routeFor(l.tcpRoutes!, "")).toBe("t.tcp.1 → outbound|9000||b.default.svc.cluster.local,outbound|443||a.default.svc.cluster.local");
    expect(findingLines(s)).toEqual([]);
  });

  test("no tcp route: an empty table and a finding", () => {
    const s = compileYaml(SERVICES + tcpGateway);
    expect(s.listeners[0]!.tcpRoutes!.routes).toEqual([]);
    expect(findingLines(s)[0]).toStartWith("Warning GW0207 Gateway/default/gw: TCP server on port 31400 (*): no VirtualService tcp route applies");
  });

  test("a TLS server terminated here follows its tcp route", () => {
    const s = compileYaml(
      SERVICES +
        gateway(`  - port: {number: 9443, name: tls, protocol: TLS}
    hosts: [db.example.com]
    tls: {mode: SIMPLE, credentialName: missing}
`) +
        `
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db.example.com]
  gateways: [gw]
  tcp:
  - route: [{destination: {host: b, port: {number: 9000}}}]
`,
    );
    const c = s.listeners[0]!.tls!.chains[0]!;
    expect([c.mode, c.routeTable]).toEqual(["SIMPLE", null]);
    expect(routeFor(c.tcpRoutes!, "db.example.com")).toBe("db.tcp.0 → outbound|9000||b.default.svc.cluster.local");
  });
});

describe("trace of a TCP/TLS-passthrough connection", () => {
  test("the SNI picks the chain and its tls route; the destination's endpoints are named", async () => {
    const { trace } = await import("../../src/trace.ts");
    const s = compileYaml(
      SERVICES +
        gateway(passthrough(["nginx.example.com", "*.other.com"])) +
        tlsVS("nginx", ["nginx.example.com"], `  - match: [{port: 443, sniHosts: [nginx.example.com]}]\n    route: [{destination: {host: a, port: {number: 443}}}]\n`),
    );
    const hit = trace(s, { port: 443, host: "nginx.example.com", path: "/" });
    expect([hit.outcome, hit.route, hit.cluster]).toEqual(["tcp_forward", "nginx.tls.0", "outbound|443||a.default.svc.cluster.local"]);
    expect(hit.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(["10.0.0.1:8443"]);
    // no route of the server names it: no chain has that SNI (istiod builds passthrough chains per route match)
    const miss = trace(s, { port: 443, host: "x.other.com", path: "/" });
    expect(miss.outcome).toBe("handshake_failed");
  });
});

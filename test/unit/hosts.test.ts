import { describe, expect, test } from "bun:test";
import { resolveGatewayRef } from "../../src/resolve/gateways.ts";
import { hostSubsetOf, intersectHosts, resolveShortname, serverHostsFor, visibleTo } from "../../src/resolve/hosts.ts";
import { normalizeHost, selectVirtualHost } from "../../src/route/lookup.ts";
import { compileYaml, gatewayAndVS, get } from "./pipeline-helpers.ts";

describe("host names compare as Istio's", () => {
  const subset: [string, string, boolean][] = [
    ["a.example.com", "*.example.com", true],
    ["a.b.example.com", "*.example.com", true],
    ["example.com", "*.example.com", false],
    ["*.a.example.com", "*.example.com", true],
    ["*.example.com", "*.a.example.com", false],
    ["*.example.com", "a.example.com", false],
    ["anything", "*", true],
    ["*", "*", true],
    ["*.example.com", "*", true],
    ["a.com", "a.com", true],
    ["a.com", "b.com", false],
  ];
  for (const [a, b, want] of subset) test(`${a} ⊆ ${b}: ${want}`, () => expect(hostSubsetOf(a, b)).toBe(want));

  const inter: [string[], string[], string[]][] = [
    [["*.example.com"], ["a.example.com"], ["a.example.com"]],
    [["a.example.com"], ["*.example.com"], ["a.example.com"]],
    [["*"], ["a.example.com", "b.example.com"], ["a.example.com", "b.example.com"]],
    [["a.example.com"], ["*"], ["a.example.com"]],
    [["*.example.com"], ["*"], ["*.example.com"]],
    [["*"], ["*"], ["*"]],
    [["a.com"], ["b.com"], []],
    [["*.a.com"], ["*.b.com"], []],
    [["foo.com", "*.net"], ["*.com", "bar.net"], ["foo.com", "bar.net"]],
  ];
  for (const [s, v, want] of inter) {
    test(`server ${s} ∩ virtual service ${v} → ${JSON.stringify(want)}`, () => expect(intersectHosts(s, v)).toEqual(want));
  }
});

describe("namespace parts of server hosts", () => {
  const cases: [string[], string, string, string[]][] = [
    [["*/a.com"], "istio-system", "web", ["a.com"]],
    [["./a.com"], "istio-system", "web", []],
    [["./a.com"], "web", "web", ["a.com"]],
    [["web/a.com", "other/b.com", "c.com"], "istio-system", "web", ["a.com", "c.com"]],
    [["*/*"], "istio-system", "web", ["*"]],
  ];
  for (const [hosts, gwNs, vsNs, want] of cases) {
    test(`${hosts} (Gateway in ${gwNs}) for a VirtualService in ${vsNs} → ${JSON.stringify(want)}`, () => {
      expect(serverHostsFor(hosts, gwNs, vsNs)).toEqual(want);
    });
  }
});

describe("references", () => {
  test("short destination hosts are in the route's namespace", () => {
    expect(resolveShortname("httpbin", "default")).toBe("httpbin.default.svc.cluster.local");
    expect(resolveShortname("httpbin.example.com", "default")).toBe("httpbin.example.com");
    expect(resolveShortname("*", "default")).toBe("*");
    expect(resolveShortname("10.0.0.1", "default")).toBe("10.0.0.1");
  });

  test("gateway references: short, ./, ns/, legacy FQDN, mesh", () => {
    expect(resolveGatewayRef("gw", "web")).toBe("web/gw");
    expect(resolveGatewayRef("./gw", "web")).toBe("web/gw");
    expect(resolveGatewayRef("istio-system/gw", "web")).toBe("istio-system/gw");
    expect(resolveGatewayRef("gw.istio-system.svc.cluster.local", "web")).toBe("istio-system/gw");
    expect(resolveGatewayRef("gw.istio-system", "web")).toBe("istio-system/gw");
    expect(resolveGatewayRef("mesh", "web")).toBe("mesh");
  });

  test("exportTo", () => {
    expect(visibleTo([], "web", "istio-system")).toBe(true);
    expect(visibleTo(["*"], "web", "istio-system")).toBe(true);
    expect(visibleTo(["."], "web", "istio-system")).toBe(false);
    expect(visibleTo(["."], "istio-system", "istio-system")).toBe(true);
    expect(visibleTo(["istio-system"], "web", "istio-system")).toBe(true);
    expect(visibleTo(["~"], "web", "web")).toBe(false);
  });
});

describe("virtual host choice: exact, then longest *.suffix, then *; Host port ignored", () => {
  test("Host header normalisation", () => {
    expect(normalizeHost("HTTPBIN.example.com:31194")).toBe("httpbin.example.com");
    expect(normalizeHost("a.example.com.")).toBe("a.example.com");
    expect(normalizeHost("[::1]:80")).toBe("[::1]");
    expect(normalizeHost("10.0.0.1")).toBe("10.0.0.1");
  });

  const s = compileYaml(
    gatewayAndVS({
      hosts: ["*"],
      vsHosts: ["a.example.com", "*.example.com", "*.b.example.com", "*"],
      http: "  - route: [{destination: {host: httpbin}}]",
    }),
  );
  const table = s.listeners[0]!.routeTable!;
  // The four hosts share one route list: Istio collapses them into one virtual host.
  test("one virtual host per distinct route list, several domains", () => {
    expect(table.virtualHosts.map((v) => v.domains)).toEqual([["*", "*.b.example.com", "*.example.com", "a.example.com"]]);
  });

  const s2 = compileYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
${["a.example.com", "*.example.com", "*.b.example.com", "*"]
  .map(
    (h, i) => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs${i}}
spec:
  hosts: ["${h}"]
  gateways: [gw]
  http: [{directResponse: {status: ${200 + i}}}]`,
  )
  .join("\n")}
`);
  const t2 = s2.listeners[0]!.routeTable!;
  const cases: [string, string][] = [
    ["a.example.com", "a.example.com:80"],
    ["A.EXAMPLE.COM:8080", "a.example.com:80"],
    ["x.example.com", "*.example.com:80"],
    ["x.b.example.com", "*.b.example.com:80"],
    ["b.example.com", "*.example.com:80"],
    ["example.com", "*:80"],
    ["other.org", "*:80"],
  ];
  for (const [host, vh] of cases) {
    test(`${host} → ${vh}`, () => {
      const i = selectVirtualHost(t2, normalizeHost(host));
      expect(t2.virtualHosts[i]!.name).toBe(vh);
      expect(get(s2, host, "/").virtualHost).toBe(vh);
    });
  }
  test("longest suffix first in the wildcard list", () => {
    expect(t2.wildcardHosts.map((w) => w.suffix)).toEqual([".b.example.com", ".example.com"]);
  });
});

// AUTO_PASSTHROUGH's SNI-DNAT clusters keep only the endpoints that take Istio
// mTLS, as istiod's EndpointsWithMTLSFilter/mtlsChecker: by each endpoint's
// TLS mode (label, else a WorkloadEntry's serviceAccount), unless the
// DestinationRule's tls mode for the cluster decides for all of them.
import { describe, expect, test } from "bun:test";
import type { TrafficPolicy } from "../../src/model/istio.ts";
import { endpointTlsMode, ruleTlsMode, sniDnatEndpoints } from "../../src/compile/sni-dnat.ts";
import type { Endpoint } from "../../src/snapshot/types.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const ep = (labels: Record<string, string>, tlsMode?: string): Endpoint => ({ address: "10.0.0.1", port: 80, weight: 1, labels, ...(tlsMode === undefined ? {} : { tlsMode }) });

describe("endpointTlsMode", () => {
  const cases: [string, Endpoint, string][] = [
    ["no label", ep({}), "disabled"],
    ["label istio", ep({ "security.istio.io/tlsMode": "istio" }), "istio"],
    ["label disabled", ep({ "security.istio.io/tlsMode": "disabled" }), "disabled"],
    ["a serviceAccount's istio", ep({}, "istio"), "istio"],
    ["the label wins over a serviceAccount", ep({ "security.istio.io/tlsMode": "disabled" }, "istio"), "disabled"],
  ];
  for (const [name, e, want] of cases) test(name, () => expect(endpointTlsMode(e)).toBe(want));
});

const tp = (mode: string | null, ports: [number, string | null][] = []): TrafficPolicy =>
  ({
    tls: mode === null ? null : { mode },
    portLevelSettings: ports.map(([port, m]) => ({ port, policy: { tls: m === null ? null : { mode: m } } })),
  }) as unknown as TrafficPolicy;

describe("ruleTlsMode (istiod's tlsModeForDestinationRule)", () => {
  const cases: [string, TrafficPolicy | null, TrafficPolicy | null | "no subset", string | null][] = [
    ["no rule policy", null, "no subset", null],
    ["the rule's tls", tp("ISTIO_MUTUAL"), "no subset", "ISTIO_MUTUAL"],
    ["a port-level tls for the port replaces it", tp("ISTIO_MUTUAL", [[80, "DISABLE"]]), "no subset", "DISABLE"],
    ["a port-level tls for another port does not", tp("ISTIO_MUTUAL", [[81, "DISABLE"]]), "no subset", "ISTIO_MUTUAL"],
    ["a port-level entry without tls keeps the rule's", tp("SIMPLE", [[80, null]]), "no subset", "SIMPLE"],
    ["the subset's tls wins", tp("DISABLE"), tp("ISTIO_MUTUAL"), "ISTIO_MUTUAL"],
    ["a subset without tls falls back to the rule's", tp("MUTUAL"), tp(null), "MUTUAL"],
    ["the subset's port level", tp(null), tp("DISABLE", [[80, "ISTIO_MUTUAL"]]), "ISTIO_MUTUAL"],
    ["a subset without a policy", tp("ISTIO_MUTUAL"), null, "ISTIO_MUTUAL"],
  ];
  for (const [name, rule, subset, want] of cases) {
    test(name, () => {
      const s = subset === "no subset" ? null : { name: "v1", labels: {}, trafficPolicy: subset };
      expect(ruleTlsMode(rule, s, 80)).toBe(want as never);
    });
  }
});

describe("sniDnatEndpoints (mtlsChecker.checkMtlsEnabled)", () => {
  const eps = [ep({ "security.istio.io/tlsMode": "istio" }), ep({}), ep({}, "istio"), ep({ "security.istio.io/tlsMode": "disabled" })];
  const cases: [string | null, number[]][] = [
    [null, [0, 2]],
    ["ISTIO_MUTUAL", [0, 1, 2, 3]],
    ["DISABLE", []],
    ["SIMPLE", []],
    ["MUTUAL", []],
  ];
  for (const [mode, want] of cases) {
    test(`rule tls mode ${mode ?? "none"}: endpoints ${want.join(",") || "none"}`, () => {
      expect(sniDnatEndpoints(eps, mode as never).map((e) => eps.indexOf(e))).toEqual(want);
    });
  }
});

const gateway = `
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    hosts: ["*.local", "*.mesh"]
    tls: {mode: AUTO_PASSTHROUGH}
`;

const endpointsOf = (yaml: string, cluster: string): string[] =>
  compileYaml(yaml + gateway).clusters.get(cluster)!.endpoints.map((e) => e.address).sort();

describe("compiled SNI-DNAT clusters: where an endpoint's TLS mode comes from", () => {
  test("a Kubernetes Service: the EndpointSlices' labels (a pod's, in Istio); the outbound| cluster of an HTTP route keeps every endpoint", () => {
    const yaml = `
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 80, name: http}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-mesh, labels: {kubernetes.io/service-name: s, security.istio.io/tlsMode: istio}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.0.0.1]}, {addresses: [10.0.0.2]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-plain, labels: {kubernetes.io/service-name: s}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.0.0.3]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [web]
  http: [{route: [{destination: {host: s}}]}]
`;
    const s = compileYaml(yaml + gateway);
    expect(s.clusters.get("outbound_.80_._.s.default.svc.cluster.local")!.endpoints.map((e) => e.address)).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(s.clusters.get("outbound|80||s.default.svc.cluster.local")!.endpoints.map((e) => e.address)).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    expect(findingLines(s)).toContain(
      "Info GW0405 Service/default/s: AUTO_PASSTHROUGH cluster outbound_.80_._.s.default.svc.cluster.local: 1 of its 3 endpoints are plain text (neither labelled security.istio.io/tlsMode: istio nor a WorkloadEntry with a serviceAccount); as istiod, only endpoints taking Istio mTLS are reached by SNI: those are left out",
    );
  });

  test("a ServiceEntry's endpoints and selected WorkloadEntries: their label, else a serviceAccount", () => {
    const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: inline}
spec:
  hosts: [inline.mesh]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 10.0.1.1, labels: {security.istio.io/tlsMode: istio}}
  - {address: 10.0.1.2, serviceAccount: vm}
  - {address: 10.0.1.3, serviceAccount: vm, labels: {security.istio.io/tlsMode: disabled}}
  - {address: 10.0.1.4}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vms}
spec:
  hosts: [vms.mesh]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm1}
spec: {address: 10.0.2.1, serviceAccount: vm, labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm2}
spec: {address: 10.0.2.2, labels: {app: vm}}
`;
    expect(endpointsOf(yaml, "outbound_.80_._.inline.mesh")).toEqual(["10.0.1.1", "10.0.1.2"]);
    expect(endpointsOf(yaml, "outbound_.80_._.vms.mesh")).toEqual(["10.0.2.1"]);
  });

  test("a DestinationRule tls mode decides for every endpoint: ISTIO_MUTUAL keeps all, SIMPLE none; the cluster originates no TLS and no PROXY header", () => {
    const se = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: d}
spec:
  hosts: [d.mesh]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.3.1}, {address: 10.0.3.2, labels: {security.istio.io/tlsMode: istio, v: "2"}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d}
spec:
  host: d.mesh
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, proxyProtocol: {}}
  subsets:
  - {name: v2, labels: {v: "2"}, trafficPolicy: {tls: {mode: SIMPLE}}}
`;
    const s = compileYaml(se + gateway);
    const all = s.clusters.get("outbound_.80_._.d.mesh")!;
    expect(all.endpoints.map((e) => e.address)).toEqual(["10.0.3.1", "10.0.3.2"]);
    expect(all.upstream?.tls ?? null).toBeNull();
    expect(all.upstream?.proxyProtocol).toBeUndefined();
    expect(s.clusters.get("outbound_.80_.v2_.d.mesh")!.endpoints).toEqual([]);
    expect(findingLines(s)).toContain(
      "Warning GW0405 ServiceEntry/default/d: AUTO_PASSTHROUGH cluster outbound_.80_.v2_.d.mesh: its DestinationRule (DestinationRule/default/d) sets tls mode SIMPLE, not ISTIO_MUTUAL; as istiod, only endpoints taking Istio mTLS are reached by SNI: no endpoint is left: its connections are closed (UH)",
    );
  });

  test("a DNS ServiceEntry without endpoints (its host is the endpoint) has none that takes mTLS", () => {
    const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns}
spec:
  hosts: [dns.mesh]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
`;
    expect(endpointsOf(yaml, "outbound_.80_._.dns.mesh")).toEqual([]);
  });
});

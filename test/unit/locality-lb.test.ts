// Locality load balancing as istiod computes it for a proxy
// (pilot/pkg/networking/core/loadbalancer): priorities by region/zone/subzone,
// failover pairs, failoverPriority labels, distribute weights; and where
// localities come from (src/resolve/locality.ts).
import { describe, expect, test } from "bun:test";
import { applyLocalityLb, effectiveLocalityLb, lbPriority, localityMatch, MESH_DEFAULT_LOCALITY_LB } from "../../src/compile/locality-lb.ts";
import { localitiesProblem } from "../../src/decode/locality-lb.ts";
import type { LocalityLbSetting } from "../../src/model/istio.ts";
import { gatewayLocality, kubeEndpointLocality, trafficDistribution, workloadLocality, type TrafficDistribution } from "../../src/resolve/locality.ts";
import type { Endpoint } from "../../src/snapshot/types.ts";

function ep(address: string, locality: string, labels: Record<string, string> = {}, weight = 1): Endpoint {
  const e: Endpoint = { address, port: 80, weight, labels };
  if (locality !== "") e.locality = locality;
  return e;
}

function setting(s: Partial<LocalityLbSetting>): LocalityLbSetting {
  return { enabled: null, distribute: [], failover: [], failoverPriority: [], path: "x", ...s };
}

/** address → priority, for the endpoints kept. */
function priorities(eps: Endpoint[]): Record<string, number> {
  return Object.fromEntries(eps.map((e) => [e.address, e.priority ?? 0]));
}

const ENDPOINTS = [
  ep("same-subzone", "r1/z1/s1"),
  ep("same-zone", "r1/z1/s2"),
  ep("same-region", "r1/z2/s1"),
  ep("r2", "r2/z1/s1"),
  ep("r3", "r3/z1/s1"),
  ep("none", ""),
];

describe("failover: priorities by region/zone/subzone (applyLocalityFailover)", () => {
  const cases: [string, string, LocalityLbSetting["failover"], Record<string, number>][] = [
    ["gateway r1/z1/s1, no failover pairs: 0..3 by how much matches", "r1/z1/s1", [], { "same-subzone": 0, "same-zone": 1, "same-region": 2, r2: 3, r3: 3, none: 3 }],
    ["failover r1 → r2: r2 before other regions", "r1/z1/s1", [{ from: "r1", to: "r2" }], { "same-subzone": 0, "same-zone": 1, "same-region": 2, r2: 3, r3: 4, none: 4 }],
    ["a pair from another region changes nothing", "r1/z1/s1", [{ from: "r9", to: "r3" }], { "same-subzone": 0, "same-zone": 1, "same-region": 2, r2: 3, r3: 3, none: 3 }],
    ["gateway r1/z2 (no subzone): 1 for its zone, 2 its region, 3 others, renumbered from 0", "r1/z2", [], { "same-subzone": 1, "same-zone": 1, "same-region": 0, r2: 2, r3: 2, none: 2 }],
    ["gateway without locality: endpoints without one first, as istiod with an empty proxy locality", "", [], { "same-subzone": 1, "same-zone": 1, "same-region": 1, r2: 1, r3: 1, none: 0 }],
  ];
  for (const [name, gw, failover, want] of cases) {
    test(name, () => {
      const r = applyLocalityLb({ endpoints: ENDPOINTS, gatewayLocality: gw, gatewayLabels: { istio: "ingressgateway" }, setting: setting({ failover }), enableFailover: true });
      expect(r.mode).toBe("failover");
      expect(priorities(r.endpoints)).toEqual(want);
    });
  }

  test("without outlier detection nothing changes (Envoy would never leave priority 0)", () => {
    const r = applyLocalityLb({ endpoints: ENDPOINTS, gatewayLocality: "r1/z1/s1", gatewayLabels: {}, setting: setting({}), enableFailover: false });
    expect(r.mode).toBe("none");
    expect(r.endpoints).toBe(ENDPOINTS);
  });

  test("lbPriority and localityMatch", () => {
    expect([lbPriority("a/b/c", "a/b/c"), lbPriority("a/b/c", "a/b/x"), lbPriority("a/b/c", "a/x/c"), lbPriority("a/b/c", "x/b/c")]).toEqual([0, 1, 2, 3]);
    expect(localityMatch("r1/z1/s1", "r1/*")).toBe(true);
    expect(localityMatch("r1/z1/s1", "r1")).toBe(true);
    expect(localityMatch("r1/z1/s1", "r1/z2/*")).toBe(false);
    expect(localityMatch("r1/z1/s1", "*")).toBe(true);
    expect(localityMatch("", "r1/*")).toBe(false);
  });
});

describe("failoverPriority: priorities by the labels an endpoint shares with the gateway", () => {
  const eps = [
    ep("both", "", { a: "1", b: "1" }),
    ep("a-only", "", { a: "1", b: "2" }),
    ep("neither", "", { a: "2", b: "1" }),
    ep("unlabelled", "", {}),
  ];
  test("the more leading labels match, the earlier", () => {
    const r = applyLocalityLb({ endpoints: eps, gatewayLocality: "", gatewayLabels: { a: "1", b: "1" }, setting: setting({ failoverPriority: ["a", "b"] }), enableFailover: true });
    expect(r.mode).toBe("failoverPriority");
    expect(priorities(r.endpoints)).toEqual({ both: 0, "a-only": 1, neither: 2, unlabelled: 2 });
  });
  test("name=value gives the gateway's value outright", () => {
    const r = applyLocalityLb({ endpoints: eps, gatewayLocality: "", gatewayLabels: { a: "1", b: "1" }, setting: setting({ failoverPriority: ["a=2"] }), enableFailover: true });
    expect(priorities(r.endpoints)).toEqual({ both: 1, "a-only": 1, neither: 0, unlabelled: 1 });
  });
  test("topology labels come from the localities (istiod's AugmentLabels), of gateway and endpoints", () => {
    const r = applyLocalityLb({
      endpoints: [ep("z1", "r1/z1"), ep("z2", "r1/z2"), ep("r2", "r2/z1")],
      gatewayLocality: "r1/z1",
      gatewayLabels: { istio: "ingressgateway" },
      setting: setting({ failoverPriority: ["topology.kubernetes.io/region", "topology.kubernetes.io/zone"] }),
      enableFailover: true,
    });
    expect(priorities(r.endpoints)).toEqual({ z1: 0, z2: 1, r2: 2 });
  });
  test("a network mismatch puts the endpoint after all of the gateway's network", () => {
    const r = applyLocalityLb({
      endpoints: [ep("n1-a", "", { "topology.istio.io/network": "n1", a: "1" }), ep("n1-x", "", { "topology.istio.io/network": "n1", a: "2" }), ep("n2-a", "", { "topology.istio.io/network": "n2", a: "1" })],
      gatewayLocality: "",
      gatewayLabels: { "topology.istio.io/network": "n1", a: "1" },
      setting: setting({ failoverPriority: ["topology.istio.io/network", "a"] }),
      enableFailover: true,
    });
    expect(priorities(r.endpoints)).toEqual({ "n1-a": 0, "n1-x": 1, "n2-a": 2 });
  });
  test("with failover too: label priorities first, regions within each", () => {
    const r = applyLocalityLb({
      endpoints: [ep("a-r1", "r1", { a: "1" }), ep("a-r2", "r2", { a: "1" }), ep("x-r1", "r1", { a: "2" })],
      gatewayLocality: "r1",
      gatewayLabels: { a: "1" },
      setting: setting({ failoverPriority: ["a"], failover: [{ from: "r1", to: "r2" }] }),
      enableFailover: true,
    });
    expect(priorities(r.endpoints)).toEqual({ "a-r1": 0, "a-r2": 1, "x-r1": 2 });
  });
});

describe("distribute: locality weights (applyLocalityWeights)", () => {
  const eps = [ep("a1", "r1/z1/s1"), ep("a2", "r1/z1/s1"), ep("b", "r1/z2/s1", {}, 3), ep("c", "r2/z1/s1"), ep("d", "r3/z1/s1")];
  const run = (gw: string, distribute: LocalityLbSetting["distribute"]) =>
    applyLocalityLb({ endpoints: eps, gatewayLocality: gw, gatewayLabels: {}, setting: setting({ distribute }), enableFailover: false });
  const weights = (r: ReturnType<typeof run>) => Object.fromEntries(r.endpoints.map((e) => [e.address, e.localityWeight]));

  test("a wildcard's share divided among its localities by their endpoint weights (rounded up); unnamed localities left out", () => {
    const r = run("r1/z1/s1", [{ from: "r1/z1/*", to: [["r1/*", 80], ["r2/z1/s1", 20]] }]);
    expect(r.mode).toBe("distribute");
    // r1/z1/s1 weighs 2 (two endpoints), r1/z2/s1 weighs 3: 80 × 2/5 = 32, 80 × 3/5 = 48
    expect(weights(r)).toEqual({ a1: 32, a2: 32, b: 48, c: 20 });
    expect(r.dropped.map((e) => e.address)).toEqual(["d"]);
    expect(r.matchedFrom).toBe("r1/z1/*");
    expect(r.endpoints.every((e) => e.priority === undefined)).toBe(true);
  });
  test("the first rule whose from matches the gateway", () => {
    const r = run("r2/z1/s1", [{ from: "r1/*", to: [["r1/*", 100]] }, { from: "r2/*", to: [["r3/*", 100]] }]);
    expect(weights(r)).toEqual({ d: 100 });
  });
  test("no rule matches: every locality weighted by its endpoints, none left out", () => {
    const r = run("r9", [{ from: "r1/*", to: [["r1/*", 100]] }]);
    expect(r.matchedFrom).toBe("");
    expect(weights(r)).toEqual({ a1: 2, a2: 2, b: 3, c: 1, d: 1 });
  });
  test("distribute wins over failover settings, with or without outlier detection", () => {
    const r = applyLocalityLb({ endpoints: eps, gatewayLocality: "r1/z1/s1", gatewayLabels: {}, setting: setting({ distribute: [{ from: "*", to: [["r2/*", 100]] }], failoverPriority: ["a"] }), enableFailover: true });
    expect(r.mode).toBe("distribute");
    expect(weights(r)).toEqual({ c: 100 });
  });
});

describe("which setting applies (GetEffectiveLbSetting)", () => {
  const off = setting({ enabled: false });
  const on = setting({ failover: [{ from: "a", to: "b" }] });
  test.each([
    ["the rule's over the mesh's", on, off, null, on, "rule"],
    ["rule enabled: false: none, whatever the mesh says", off, on, null, null, ""],
    ["no rule: the mesh config's", null, on, null, on, "mesh"],
    ["mesh enabled: false: none", null, off, null, null, ""],
    ["neither: Istio's default {enabled: true}", null, null, null, MESH_DEFAULT_LOCALITY_LB, "mesh"],
    ["the rule's over a Service's trafficDistribution", on, null, "PreferSameZone", on, "rule"],
  ] as [string, LocalityLbSetting | null, LocalityLbSetting | null, TrafficDistribution | null, LocalityLbSetting | null, string][])("%s", (_n, rule, mesh, td, want, from) => {
    const e = effectiveLocalityLb(rule, mesh, td);
    expect(e?.setting ?? null).toBe(want);
    expect(e?.from ?? "").toBe(from);
  });
  test("a Service's trafficDistribution over the mesh's, forcing failover by topology labels", () => {
    const zone = effectiveLocalityLb(null, off, "PreferSameZone")!;
    expect(zone.force).toBe(true);
    expect(zone.setting.failoverPriority).toEqual(["topology.istio.io/network", "topology.kubernetes.io/region", "topology.kubernetes.io/zone"]);
    expect(effectiveLocalityLb(null, null, "PreferSameNode")!.setting.failoverPriority).toEqual([
      "topology.istio.io/network", "topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone", "kubernetes.io/hostname",
    ]);
    expect([trafficDistribution("PreferClose", undefined), trafficDistribution(undefined, "PreferSameNode".toLowerCase()), trafficDistribution("Other", "PREFERCLOSE"), trafficDistribution(undefined, "x")]).toEqual([
      "PreferSameZone", "PreferSameNode", "PreferSameZone", null,
    ]);
  });
});

describe("where localities come from", () => {
  test.each([
    ["--locality wins", { "topology.kubernetes.io/region": "r1" }, "x/y", "x/y"],
    ["topology labels", { "topology.kubernetes.io/region": "r1", "topology.kubernetes.io/zone": "z1", "topology.istio.io/subzone": "s1" }, null, "r1/z1/s1"],
    ["topology labels before istio-locality", { "topology.kubernetes.io/region": "r1", "istio-locality": "r2.z2" }, null, "r1"],
    ["istio-locality, . read as /", { "istio-locality": "r2.z2.s2" }, null, "r2/z2/s2"],
    ["topology.istio.io/locality before istio-locality", { "topology.istio.io/locality": "r3.z3", "istio-locality": "r2" }, null, "r3/z3"],
    ["none", { istio: "ingressgateway" }, null, ""],
  ] as [string, Record<string, string>, string | null, string][])("gateway: %s", (_n, labels, flag, want) => {
    expect(gatewayLocality(labels, flag)).toBe(want);
  });
  test("Kubernetes endpoints: locality label, else topology labels, the slice endpoint's zone filling the zone", () => {
    expect(kubeEndpointLocality({ "istio-locality": "r1.z1" }, "z9")).toBe("r1/z1");
    expect(kubeEndpointLocality({ "topology.kubernetes.io/region": "r1" }, "z9")).toBe("r1/z9");
    expect(kubeEndpointLocality({ "topology.kubernetes.io/region": "r1", "topology.kubernetes.io/zone": "z1" }, "z9")).toBe("r1/z1");
    expect(kubeEndpointLocality({}, "z9")).toBe("/z9");
    expect(kubeEndpointLocality({})).toBe("");
  });
  test("WorkloadEntry: its locality field, else its locality label", () => {
    expect(workloadLocality("r1/z1", { "istio-locality": "r2" })).toBe("r1/z1");
    expect(workloadLocality("", { "istio-locality": "r2.z2" })).toBe("r2/z2");
  });
});

describe("istiod's validateLocalities", () => {
  test.each([
    [["r1/z1/s1", "r1/z1/s2", "r2/*"], null],
    [["r1", "r1/z1"], "locality r1/z1 overlaps one given before it"],
    [["r1/*", "r1/z1"], "locality r1/z1 overlaps one given before it"],
    [["*", "r1"], "locality r1 overlaps one given before it"],
    [["r1/z1/*", "r1/z1/s1"], "locality r1/z1/s1 overlaps one given before it"],
    [["r1/*/z1"], "locality r1/*/z1: at most one wildcard *, at the end"],
    [["r1//s1"], "locality r1//s1 has an empty region, zone or subzone"],
  ] as [string[], string | null][])("%j", (locs, want) => {
    expect(localitiesProblem(locs)).toBe(want);
  });
});

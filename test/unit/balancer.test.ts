// The balancer over a cluster's endpoints: policies, outlier ejection taking
// endpoints out (and back), panic, and consistent hashing that is the same
// for every balancer built from the same cluster (another worker, a reload).
import { describe, expect, test } from "bun:test";
import { Balancer } from "../../src/upstream/balancer.ts";
import { xxHash64 } from "../../src/upstream/consistent-hash.ts";
import type { Cluster, LbPolicy } from "../../src/snapshot/types.ts";
import { NO_LIMITS, type UpstreamPolicy } from "../../src/snapshot/upstream.ts";
import { outlierPolicy } from "../../src/compile/upstream-policy.ts";

function cluster(n: number, lbPolicy: LbPolicy, upstream?: Partial<UpstreamPolicy>, weights: number[] = []): Cluster {
  const c: Cluster = {
    name: "c",
    serviceHost: "c.default.svc.cluster.local",
    port: 80,
    subset: "",
    type: "STATIC",
    lbPolicy,
    connectTimeoutMs: 1000,
    endpoints: Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 80, weight: weights[i] ?? 1, labels: {} })),
  };
  if (upstream !== undefined) c.upstream = { protocol: "HTTP1", protocolSource: "", tls: null, hash: null, limits: NO_LIMITS, outlier: null, ...upstream };
  return c;
}

const none = () => 0;
const od = (o: Partial<Parameters<typeof outlierPolicy>[0]>) =>
  outlierPolicy({ consecutive5xxErrors: 1, consecutiveGatewayErrors: null, consecutiveLocalOriginFailures: null, splitExternalLocalOriginErrors: false, intervalMs: 1000, baseEjectionTimeMs: 5000, maxEjectionPercent: 100, minHealthPercent: null, ...o });

describe("policies", () => {
  test("ROUND_ROBIN cycles; weights 1:3 give 1:3", () => {
    const b = new Balancer(cluster(3, "ROUND_ROBIN"));
    expect(Array.from({ length: 6 }, () => b.pick(null, none))).toEqual([0, 1, 2, 0, 1, 2]);
    const w = new Balancer(cluster(2, "ROUND_ROBIN", undefined, [1, 3]));
    const picks = Array.from({ length: 8 }, () => w.pick(null, none));
    expect(picks.filter((i) => i === 1).length).toBe(6);
  });
  test("LEAST_REQUEST takes the less busy of two", () => {
    let r = 0;
    const seq = [0.1, 0.6]; // endpoints 0 and 1
    const b = new Balancer(cluster(2, "LEAST_REQUEST"), () => seq[r++ % 2]!);
    expect(b.pick(null, (i) => (i === 0 ? 5 : 1))).toBe(1);
    expect(b.pick(null, (i) => (i === 0 ? 0 : 1))).toBe(0);
  });
  test("no endpoint: -1", () => {
    expect(new Balancer(cluster(0, "ROUND_ROBIN")).pick(null, none)).toBe(-1);
  });
});

describe("outlier ejection", () => {
  test("an ejected endpoint gets nothing until its ejection ends", () => {
    const b = new Balancer(cluster(3, "ROUND_ROBIN", { outlier: od({}) }));
    b.outlier!.report(1, { kind: "status", status: 500 }, 0);
    const during = Array.from({ length: 9 }, () => b.pick(null, none));
    expect(during.includes(1)).toBe(false);
    b.outlier!.tick(5000);
    const after = Array.from({ length: 9 }, () => b.pick(null, none));
    expect(after.includes(1)).toBe(true);
  });
  test("all ejected, no panic threshold: -1 (503 UH)", () => {
    const b = new Balancer(cluster(2, "RANDOM", { outlier: od({}) }));
    b.outlier!.report(0, { kind: "status", status: 500 }, 0);
    b.outlier!.report(1, { kind: "status", status: 500 }, 0);
    expect(b.pick(null, none)).toBe(-1);
  });
  test("panic (minHealthPercent 60, one of two ejected): both get traffic", () => {
    const b = new Balancer(cluster(2, "ROUND_ROBIN", { outlier: od({ minHealthPercent: 60 }) }));
    b.outlier!.report(0, { kind: "status", status: 500 }, 0);
    expect(Array.from({ length: 4 }, () => b.pick(null, none)).sort()).toEqual([0, 0, 1, 1]);
  });
});

describe("consistent hash", () => {
  const hashed = (alg: "RING_HASH" | "MAGLEV") =>
    cluster(5, alg, { hash: { key: { kind: "header", name: "x-user" }, algorithm: alg, minimumRingSize: 1024, maximumRingSize: 8_388_608, tableSize: 65537 } });
  test.each(["RING_HASH", "MAGLEV"] as const)("%s: two balancers (two workers) agree on every key; a key sticks", (alg) => {
    const a = new Balancer(hashed(alg));
    const b = new Balancer(hashed(alg));
    for (let i = 0; i < 200; i++) {
      const h = xxHash64(`user-${i}`);
      const p = a.pick(h, none);
      expect(b.pick(h, none)).toBe(p);
      expect(a.pick(h, none)).toBe(p);
    }
  });
  test.each(["RING_HASH", "MAGLEV"] as const)("%s: an ejected endpoint's keys move, the others' stay", (alg) => {
    const b = new Balancer({ ...hashed(alg), upstream: { ...hashed(alg).upstream!, outlier: od({}) } });
    const before = Array.from({ length: 300 }, (_, i) => b.pick(xxHash64(`k${i}`), none));
    b.outlier!.report(2, { kind: "status", status: 503 }, 0);
    const after = Array.from({ length: 300 }, (_, i) => b.pick(xxHash64(`k${i}`), none));
    expect(after.includes(2)).toBe(false);
    const stayed = before.filter((p, i) => p !== 2 && after[i] === p).length;
    expect(stayed / before.filter((p) => p !== 2).length).toBeGreaterThan(0.75);
  });
  test("no hash key in the request: some endpoint (random)", () => {
    const i = new Balancer(hashed("RING_HASH")).pick(null, none);
    expect(i >= 0 && i < 5).toBe(true);
  });
});

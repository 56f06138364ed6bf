// Envoy's priority levels (overprovisioning 1.4, panic) and locality-weighted
// picks, the tables of Envoy's load-balancing documentation; and the balancer
// moving a cluster's traffic to the next priority as outlier detection ejects
// the first one's endpoints, and back.
import { describe, expect, test } from "bun:test";
import { outlierPolicy } from "../../src/compile/upstream-policy.ts";
import type { Cluster, Endpoint } from "../../src/snapshot/types.ts";
import { NO_LIMITS } from "../../src/snapshot/upstream.ts";
import { Balancer } from "../../src/upstream/balancer.ts";
import { choosePriority, effectiveLocalityWeight, PriorityPlan, priorityHealth, priorityState } from "../../src/upstream/priority.ts";

describe("priority loads (Envoy's priority levels table)", () => {
  // healthy % of P0 and P1 (100 hosts each) → load of P0 and P1
  test.each([
    [100, 100, [100, 0]],
    [72, 100, [100, 0]],
    [71, 100, [99, 1]],
    [50, 100, [70, 30]],
    [25, 100, [35, 65]],
    [0, 100, [0, 100]],
  ])("P0 %d %% healthy, P1 %d %% → %j", (h0, h1, want) => {
    expect(priorityState([h0, h1], [100, 100], 0)).toEqual({ load: want, panic: [false, false] });
  });

  test("three levels: what the first two cannot take goes to the third", () => {
    // P0 20 % (28), P1 20 % (28), P2 100 %: 28 + 28 + 44
    expect(priorityState([1, 1, 5], [5, 5, 5], 0).load).toEqual([28, 28, 44]);
  });
  test("total health below 100: loads scaled up, leftovers to the first healthy level", () => {
    // 50 % and 20 %: health 70 and 28, total 98 → 71 and 28, 1 left to P0
    expect(priorityState([5, 2], [10, 10], 0).load).toEqual([72, 28]);
  });
  test("panic threshold: a level below it uses all its hosts, unless the total health is 100", () => {
    expect(priorityState([1, 10], [10, 10], 50)).toEqual({ load: [14, 86], panic: [false, false] });
    const s = priorityState([3, 1], [10, 10], 50); // 42 + 14 = 56
    expect(s.panic).toEqual([true, true]);
    expect(s.load).toEqual([50, 50]); // all levels in panic: load by host count
    expect(priorityState([0, 5], [10, 10], 50)).toEqual({ load: [0, 100], panic: [true, false] }); // 0 + 70: P0 panics, P1 (at 50 %) does not
  });
  test("nothing healthy, threshold 0: all on P0, which has nothing usable", () => {
    expect(priorityState([0, 0], [2, 2], 0)).toEqual({ load: [100, 0], panic: [false, false] });
  });
  test("health, draws and locality weights", () => {
    expect([priorityHealth(7, 10), priorityHealth(3, 4), priorityHealth(0, 0)]).toEqual([98, 100, 0]);
    expect([0, 69, 70, 99].map((r) => choosePriority([70, 30], r))).toEqual([0, 0, 1, 1]);
    expect([effectiveLocalityWeight(10, 4, 4), effectiveLocalityWeight(10, 3, 4), effectiveLocalityWeight(10, 1, 2), effectiveLocalityWeight(10, 0, 0)]).toEqual([10, 10, 7, 0]);
  });
});

function ep(i: number, extra: Partial<Endpoint>): Endpoint {
  return { address: `10.0.0.${i + 1}`, port: 80, weight: 1, labels: {}, ...extra };
}

describe("locality-weighted picks within a level", () => {
  test("80/20 over 100 picks, exactly (smooth weighted round robin over localities)", () => {
    const plan = new PriorityPlan([ep(0, { locality: "a", localityWeight: 80 }), ep(1, { locality: "a", localityWeight: 80 }), ep(2, { locality: "b", localityWeight: 20 })], 0);
    let a = 0;
    for (let i = 0; i < 100; i++) if (plan.hostsFor(0).includes(0)) a++;
    expect(a).toBe(80);
  });
  test("a locality half ejected weighs 80 × 0.7; one fully ejected gets nothing", () => {
    const plan = new PriorityPlan([ep(0, { locality: "a", localityWeight: 80 }), ep(1, { locality: "a", localityWeight: 80 }), ep(2, { locality: "b", localityWeight: 20 })], 0);
    plan.update((i) => i === 0);
    let a = 0;
    for (let i = 0; i < 76; i++) {
      const h = plan.hostsFor(0);
      if (h[0] === 1) a++;
      expect(h.includes(0)).toBe(false);
    }
    expect(a).toBe(56); // 56 : 20
    plan.update((i) => i === 2);
    for (let i = 0; i < 10; i++) expect(plan.hostsFor(0)).toEqual([0, 1]);
  });
});

function cluster(eps: Endpoint[], minHealthPercent: number | null = null): Cluster {
  return {
    name: "c",
    serviceHost: "c",
    port: 80,
    subset: "",
    type: "STATIC",
    lbPolicy: "ROUND_ROBIN",
    connectTimeoutMs: 1000,
    endpoints: eps,
    upstream: {
      protocol: "HTTP1",
      protocolSource: "",
      tls: null,
      hash: null,
      limits: NO_LIMITS,
      outlier: outlierPolicy({ consecutive5xxErrors: 1, consecutiveGatewayErrors: null, consecutiveLocalOriginFailures: null, splitExternalLocalOriginErrors: false, intervalMs: 1000, baseEjectionTimeMs: 1000, maxEjectionPercent: 100, minHealthPercent }),
    },
  };
}

describe("balancer with priorities", () => {
  const eps = () => [ep(0, {}), ep(1, {}), ep(2, { priority: 1 }), ep(3, { priority: 1 })];
  const none = () => 0;
  test("P0 only while healthy; its endpoints ejected: P1; their ejection over: P0 again", () => {
    let r = 0.5;
    const b = new Balancer(cluster(eps()), () => r);
    for (let i = 0; i < 8; i++) expect(b.pick(null, none)).toBeLessThan(2);
    b.outlier!.report(0, { kind: "status", status: 503 }, 0);
    // one of two ejected: P0 health 70, P1 takes 30 % of the draws
    const draws = [0.1, 0.69, 0.7, 0.99];
    const where = draws.map((d) => {
      r = d;
      return b.pick(null, none);
    });
    expect(where.map((i) => (i < 2 ? 0 : 1))).toEqual([0, 0, 1, 1]);
    expect(where.includes(0)).toBe(false);
    b.outlier!.report(1, { kind: "status", status: 503 }, 0);
    for (const d of [0, 0.5, 0.99]) {
      r = d;
      expect(b.pick(null, none)).toBeGreaterThanOrEqual(2);
    }
    b.outlier!.tick(2000);
    r = 0.99;
    expect(b.pick(null, none)).toBeLessThan(2);
  });
  test("everything ejected, minHealthPercent 0: no endpoint (503)", () => {
    const b = new Balancer(cluster(eps()), () => 0.5);
    for (let i = 0; i < 4; i++) b.outlier!.report(i, { kind: "status", status: 503 }, 0);
    expect(b.pick(null, none)).toBe(-1);
  });
  test("everything ejected, minHealthPercent 50: total panic, load by host count over all endpoints", () => {
    let r = 0;
    const b = new Balancer(cluster(eps(), 50), () => r);
    for (let i = 0; i < 4; i++) b.outlier!.report(i, { kind: "status", status: 503 }, 0);
    r = 0.2;
    expect(b.pick(null, none)).toBeLessThan(2);
    r = 0.8;
    expect(b.pick(null, none)).toBeGreaterThanOrEqual(2);
  });
});

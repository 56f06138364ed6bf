// Slow start (DestinationRule loadBalancer.warmup): Envoy's weight factor, and
// the picks of ROUND_ROBIN and LEAST_REQUEST balancers over simulated time
// (the clock and each endpoint's start are given, so the picks are exact).
import { describe, expect, test } from "bun:test";
import { Balancer } from "../../src/upstream/balancer.ts";
import { slowStartFactor } from "../../src/upstream/slow-start.ts";
import { outlierPolicy } from "../../src/compile/upstream-policy.ts";
import type { Cluster, LbPolicy } from "../../src/snapshot/types.ts";
import { NO_LIMITS, type OutlierPolicy, type SlowStartPolicy } from "../../src/snapshot/upstream.ts";

const ss = (windowMs: number, aggression = 1, minWeightPercent = 10): SlowStartPolicy => ({ windowMs, aggression, minWeightPercent });

describe("slowStartFactor (Envoy's applySlowStartFactor)", () => {
  test.each([
    // window, aggression, min %, elapsed ms, factor
    [1000, 1, 10, 0, 0.1], // just added: the floor
    [1000, 1, 10, 100, 0.1],
    [1000, 1, 10, 250, 0.25], // linear above the floor
    [1000, 1, 10, 500, 0.5],
    [1000, 1, 10, 999, 0.999],
    [1000, 1, 10, 999.9, 0.999], // whole milliseconds, as Envoy counts them
    [1000, 1, 10, 1000, 1], // the window is over
    [1000, 1, 10, 86_400_000, 1],
    [1000, 1, 0, 0, 0.001], // no floor: at least 1 ms of the window
    [1000, 1, 100, 10, 1], // floor 100 %: no slow start in effect
    [1000, 2, 0, 250, 0.5], // (t/window)^(1/aggression): faster than linear
    [1000, 2, 0, 640, 0.8],
    [1000, 0.5, 0, 500, 0.25], // aggression below 1: slower than linear
    [1000, 0.5, 10, 200, 0.1], // 0.04, floored
    [1000, 0, 10, 300, 0.3], // aggression not above 0 counts as 1 (Envoy logs it)
  ])("window %d ms, aggression %d, min %d %%: after %d ms → %d", (w, a, m, elapsed, f) => {
    expect(slowStartFactor(ss(w, a, m), elapsed)).toBeCloseTo(f, 9);
  });
});

function cluster(n: number, lbPolicy: LbPolicy, slowStart: SlowStartPolicy | undefined, weights: number[] = [], outlier: OutlierPolicy | null = null): Cluster {
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
  c.upstream = { protocol: "HTTP1", protocolSource: "", tls: null, hash: null, limits: NO_LIMITS, outlier };
  if (slowStart !== undefined) c.upstream.slowStart = slowStart;
  return c;
}

/** A balancer on a settable clock; `addedAt`: each endpoint's start. */
function clocked(c: Cluster, addedAt: number[], random: () => number = () => 0) {
  const t = { now: 0, reads: 0 };
  const b = new Balancer(c, random, {
    addedAt,
    now: () => {
      t.reads++;
      return t.now;
    },
  });
  return { b, t };
}

function counts(b: Balancer, picks: number, active: (i: number) => number = () => 0): number[] {
  const out: number[] = [];
  for (let k = 0; k < picks; k++) {
    const i = b.pick(null, active);
    out[i] = (out[i] ?? 0) + 1;
  }
  return Array.from({ length: Math.max(...Object.keys(out).map(Number)) + 1 }, (_, i) => out[i] ?? 0);
}

describe("picks over simulated time", () => {
  // endpoints 0 and 1 long in the cluster; endpoint 2 added at t=10 s with a 1 s window
  const added = [0, 0, 10_000];

  test.each([
    // ms since endpoint 2 was added, picks, picks of [0, 1, 2]
    [0, 210, [100, 100, 10]], // factor 0.1 (the floor): 0.1 / 2.1 of the picks
    [100, 210, [100, 100, 10]],
    [500, 250, [100, 100, 50]], // factor 0.5
    [750, 275, [100, 100, 75]],
    [1000, 300, [100, 100, 100]], // window over: plain round robin
    [5000, 300, [100, 100, 100]],
  ])("ROUND_ROBIN, %d ms after the new endpoint came: %d picks → %o", (since, picks, want) => {
    const { b, t } = clocked(cluster(3, "ROUND_ROBIN", ss(1000)), added);
    t.now = 10_000 + since;
    expect(counts(b, picks)).toEqual(want);
  });

  test("ROUND_ROBIN over the window: the new endpoint's share grows from 10 % of its weight to all of it", () => {
    const { b, t } = clocked(cluster(3, "ROUND_ROBIN", ss(1000)), added);
    const shares: number[] = [];
    for (let step = 0; step < 12; step++) {
      t.now = 10_000 + step * 100;
      const c = counts(b, 300);
      shares.push(c[2]! / 300);
    }
    // each 100 ms step: f / (2 + f) with f = max(0.1, step / 10), then 1/3 from 1 s on
    const want = Array.from({ length: 12 }, (_, s) => (s >= 10 ? 1 / 3 : Math.max(0.1, s / 10) / (2 + Math.max(0.1, s / 10))));
    shares.forEach((s, i) => expect(Math.abs(s - want[i]!)).toBeLessThan(0.01));
    for (let i = 1; i < shares.length; i++) expect(shares[i]!).toBeGreaterThanOrEqual(shares[i - 1]! - 0.01);
  });

  test("weights are scaled, not replaced: weight 4 at factor 0.5 weighs 2", () => {
    const { b, t } = clocked(cluster(2, "ROUND_ROBIN", ss(1000), [2, 4]), [0, 10_000]);
    t.now = 10_500;
    expect(counts(b, 400)).toEqual([200, 200]);
  });

  test("aggression and minimumPercent shape the ramp", () => {
    // aggression 2, no floor: at 250 ms the factor is 0.5, not 0.25
    const { b, t } = clocked(cluster(2, "ROUND_ROBIN", ss(1000, 2, 0)), [0, 10_000]);
    t.now = 10_250;
    expect(counts(b, 300)).toEqual([200, 100]);
  });

  test("endpoints added together (a new cluster, the gateway's start) share alike during the window", () => {
    const { b, t } = clocked(cluster(3, "ROUND_ROBIN", ss(1000)), [5000, 5000, 5000]);
    t.now = 5100;
    expect(counts(b, 300)).toEqual([100, 100, 100]);
  });

  test("LEAST_REQUEST in slow start: weight / (requests in flight + 1), scaled", () => {
    const { b, t } = clocked(cluster(2, "LEAST_REQUEST", ss(1000)), [0, 10_000]);
    t.now = 10_500;
    // endpoint 0: 1 / (1 + 1) = 0.5; endpoint 1 (new, idle): 1 * 0.5 = 0.5
    expect(counts(b, 200, (i) => (i === 0 ? 1 : 0))).toEqual([100, 100]);
    // all idle: 1 against 0.5
    expect(counts(b, 300)).toEqual([200, 100]);
  });

  test("LEAST_REQUEST after the window: back to the less busy of two random choices", () => {
    const seq = [0.1, 0.6]; // endpoints 0 and 1
    let r = 0;
    const { b, t } = clocked(cluster(2, "LEAST_REQUEST", ss(1000)), [0, 10_000], () => seq[r++ % 2]!);
    t.now = 11_000;
    expect(b.pick(null, (i) => (i === 0 ? 5 : 1))).toBe(1);
    expect(b.pick(null, (i) => (i === 0 ? 0 : 1))).toBe(0);
  });

  test("an ejected endpoint used in panic keeps its full weight (Envoy scales healthy hosts only)", () => {
    const od = outlierPolicy({ consecutive5xxErrors: 1, consecutiveGatewayErrors: null, consecutiveLocalOriginFailures: null, splitExternalLocalOriginErrors: false, intervalMs: 1000, baseEjectionTimeMs: 60_000, maxEjectionPercent: 100, minHealthPercent: 60 });
    const { b, t } = clocked(cluster(2, "ROUND_ROBIN", ss(1000), [], od), [0, 10_000]);
    t.now = 10_100;
    b.outlier!.report(1, { kind: "status", status: 500 }, 0);
    expect(b.outlier!.panic).toBe(true);
    expect(counts(b, 200)).toEqual([100, 100]);
  });

  test("the clock is read only while some endpoint can be in its window; never without warmup", () => {
    const { b, t } = clocked(cluster(2, "ROUND_ROBIN", ss(1000)), [0, 10_000]);
    t.now = 10_999;
    counts(b, 10);
    expect(t.reads).toBe(10);
    t.now = 11_000;
    counts(b, 10);
    expect(t.reads).toBe(11); // one read saw the window end
    const plain = clocked(cluster(2, "ROUND_ROBIN", undefined), [0, 10_000]);
    counts(plain.b, 10);
    expect(plain.t.reads).toBe(0);
    const random = clocked(cluster(2, "RANDOM", ss(1000)), [0, 10_000]);
    counts(random.b, 10);
    expect(random.t.reads).toBe(0);
  });
});

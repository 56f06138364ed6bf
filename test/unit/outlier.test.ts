// The outlier detector's state machine against Envoy's rules: consecutive 5xx
// and gateway errors, local-origin split, max ejection percent, ejection time
// growing with each ejection, uneject at the interval sweep, panic threshold.
import { describe, expect, test } from "bun:test";
import { outlierPolicy } from "../../src/compile/upstream-policy.ts";
import type { OutlierDetectionPolicy } from "../../src/model/istio.ts";
import { OutlierDetector, type OutlierResult } from "../../src/upstream/outlier.ts";

const UNSET: OutlierDetectionPolicy = {
  consecutive5xxErrors: null,
  consecutiveGatewayErrors: null,
  consecutiveLocalOriginFailures: null,
  splitExternalLocalOriginErrors: false,
  intervalMs: null,
  baseEjectionTimeMs: null,
  maxEjectionPercent: null,
  minHealthPercent: null,
};
const policy = (o: Partial<OutlierDetectionPolicy>) => outlierPolicy({ ...UNSET, ...o });
const st = (status: number): OutlierResult => ({ kind: "status", status });

describe("Istio → Envoy defaults", () => {
  test("nothing set: 5 consecutive 5xx, gateway errors off, 10 s interval, 30 s base, 10 %, no panic", () => {
    expect(policy({})).toEqual({
      consecutive5xx: 5,
      consecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 0,
      splitExternalLocalOriginErrors: false,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 10,
      panicThresholdPercent: 0,
    });
  });
  test("consecutive5xxErrors 0 turns that detector off; split gives local origin Envoy's 5", () => {
    const p = policy({ consecutive5xxErrors: 0, splitExternalLocalOriginErrors: true });
    expect([p.consecutive5xx, p.consecutiveLocalOriginFailure]).toEqual([0, 5]);
  });
  test("a base ejection time above 300 s raises the max ejection time to it", () => {
    expect(policy({ baseEjectionTimeMs: 600_000 }).maxEjectionTimeMs).toBe(600_000);
  });
});

describe("consecutive errors", () => {
  test("3 consecutive 5xx eject; a success in between resets the count", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 3, maxEjectionPercent: 100 }), 2);
    d.report(0, st(500), 0);
    d.report(0, st(500), 0);
    d.report(0, st(200), 0);
    d.report(0, st(500), 0);
    expect(d.report(0, st(500), 0)).toBe(null);
    expect(d.report(0, st(503), 1)).toEqual({ host: 0, action: "eject", kind: "consecutive_5xx" });
    expect([d.isEjected(0), d.isEjected(1), d.ejectedCount]).toEqual([true, false, 1]);
  });

  test("gateway errors: 502/503/504 count, a 500 resets them; 4xx resets everything", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100 }), 2);
    d.report(0, st(502), 0);
    d.report(0, st(500), 0);
    d.report(0, st(504), 0);
    d.report(0, st(404), 0);
    d.report(0, st(503), 0);
    expect(d.isEjected(0)).toBe(false);
    expect(d.report(0, st(503), 0)?.kind).toBe("consecutive_gateway_failure");
  });

  test("without split, a refused connect counts as 503 and a timeout as 504", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100 }), 1);
    d.report(0, { kind: "connectFailed" }, 0);
    expect(d.report(0, { kind: "timeout" }, 0)?.action).toBe("eject");
  });

  test("with split, connect failures count apart and a 5xx does not reset them; a connect resets", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 0, consecutiveLocalOriginFailures: 2, splitExternalLocalOriginErrors: true, maxEjectionPercent: 100 }), 1);
    d.report(0, { kind: "connectFailed" }, 0);
    d.report(0, { kind: "connected" }, 0);
    d.report(0, { kind: "connectFailed" }, 0);
    d.report(0, st(503), 0);
    expect(d.report(0, { kind: "timeout" }, 0)?.kind).toBe("consecutive_local_origin_failure");
  });
});

describe("max ejection percent (Envoy: (ejected + 1) / hosts ≤ max)", () => {
  test("default 10 %: with 2 hosts nothing is ever ejected (overflow counted)", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 1 }), 2);
    expect(d.report(0, st(500), 0)).toEqual({ host: 0, action: "overflow", kind: "consecutive_5xx" });
    expect([d.isEjected(0), d.overflows]).toEqual([false, 1]);
  });
  test("50 % of 4: two ejected, the third refused", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 1, maxEjectionPercent: 50 }), 4);
    expect([0, 1, 2].map((i) => d.report(i, st(500), 0)?.action)).toEqual(["eject", "eject", "overflow"]);
  });
});

describe("ejection time and the interval sweep", () => {
  const p = policy({ consecutive5xxErrors: 1, maxEjectionPercent: 100, intervalMs: 1000, baseEjectionTimeMs: 5000 });
  test("ejected for base × times ejected; back at the first sweep past it; counters reset", () => {
    const d = new OutlierDetector(p, 2);
    d.report(0, st(500), 0);
    expect(d.ejectionTime(0)).toBe(5000);
    expect(d.tick(4999)).toEqual([]);
    expect(d.tick(5000)).toEqual([{ host: 0, action: "uneject" }]);
    expect(d.isEjected(0)).toBe(false);
    // second ejection straight away: 10 s
    d.report(0, st(500), 5100);
    expect(d.ejectionTime(0)).toBe(10_000);
    expect(d.tick(15_000)).toEqual([]);
    expect(d.tick(15_100)).toEqual([{ host: 0, action: "uneject" }]);
    expect(d.ejections(0)).toBe(2);
  });
  test("staying healthy an interval after unejection lowers the backoff", () => {
    const d = new OutlierDetector(p, 1);
    d.report(0, st(500), 0);
    d.tick(5000); // unejected, backoff 1
    d.tick(6000); // healthy for an interval: backoff 0
    d.report(0, st(500), 6500);
    expect(d.ejectionTime(0)).toBe(5000);
  });
  test("the ejection time stops growing at max (300 s by default)", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 1, maxEjectionPercent: 100, baseEjectionTimeMs: 100_000 }), 1);
    let now = 0;
    for (let i = 0; i < 6; i++) {
      d.report(0, st(500), now);
      now += d.ejectionTime(0);
      d.tick(now);
    }
    d.report(0, st(500), now);
    expect(d.ejectionTime(0)).toBe(300_000);
  });
});

describe("panic threshold (minHealthPercent)", () => {
  test("Istio's default 0: never panic; all ejected → nothing usable", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 1, maxEjectionPercent: 100 }), 2);
    d.report(0, st(500), 0);
    d.report(1, st(500), 0);
    expect([d.panic, d.usable(0), d.usable(1)]).toEqual([false, false, false]);
  });
  test("minHealthPercent 60: one of two ejected is 50 % healthy → panic, every endpoint usable", () => {
    const d = new OutlierDetector(policy({ consecutive5xxErrors: 1, maxEjectionPercent: 100, minHealthPercent: 60 }), 2);
    expect(d.panic).toBe(false);
    d.report(0, st(500), 0);
    expect([d.panic, d.usable(0), d.usable(1)]).toEqual([true, true, true]);
  });
});

// The pure decisions behind /healthz/live and the restarts of stuck threads
// (src/admin/heartbeat.ts): beat ages → live or not, stuck thread → terminate or
// wedged; the admin thread's restart backoff.
import { describe, expect, test } from "bun:test";
import { BeatWatch, Beater, liveness, stuckAction, type StuckAction } from "../../src/admin/heartbeat.ts";
import { restartDelayMs } from "../../src/admin/thread.ts";

describe("liveness: the primary's beat age and a wedged worker", () => {
  const T = 60_000;
  const cases: [string, number, number, boolean][] = [
    ["beat just now", 0, 0, true],
    ["beat a legitimate 10 s compile ago", 10_000, 0, true],
    ["a millisecond short of the timeout", T - 1, 0, true],
    ["at the timeout", T, 0, false],
    ["long past it", 10 * T, 0, false],
    ["primary fine, worker 0 wedged", 0, 1, false],
    ["primary fine, worker 3 wedged", 500, 4, false],
  ];
  for (const [name, age, wedged, live] of cases) {
    test(name, () => {
      const v = liveness(age, T, wedged);
      expect(v.live).toBe(live);
      if (!v.live) expect(v.reason).toMatch(wedged > 0 ? new RegExp(`worker ${wedged - 1} `) : /primary has not beaten/);
    });
  }
});

describe("stuckAction: a thread that stopped beating", () => {
  const T = 5000;
  const cases: [string, number, number | null, StuckAction][] = [
    ["beating", 900, null, "ok"],
    ["late, under the timeout", T - 1, null, "ok"],
    ["at the timeout: terminated (its owner restarts it)", T, null, "terminate"],
    ["terminated a moment ago, not ended yet: wait", 2 * T, 10, "ok"],
    ["terminated a timeout ago and still there: wedged", 2 * T, T, "wedged"],
  ];
  for (const [name, age, terminatedAgo, action] of cases) test(name, () => expect(stuckAction(age, T, terminatedAgo)).toBe(action));
});

describe("BeatWatch: ages from counter changes, on the watcher's clock", () => {
  test("a moving counter is 0 old; a still one ages from its last change; reset starts again", () => {
    const w = new BeatWatch(7, 1000);
    expect(w.age(7, 1000)).toBe(0);
    expect(w.age(7, 2500)).toBe(1500); // not moved since the watch began
    expect(w.age(8, 3000)).toBe(0); // moved
    expect(w.age(8, 9000)).toBe(6000);
    expect(w.age(9, 9100)).toBe(0); // any change counts, whatever the step
    expect(w.age(9, 9100 + 60_000)).toBe(60_000);
    w.reset(9, 70_000); // a restarted thread on the same cell
    expect(w.age(9, 70_500)).toBe(500);
  });

  test("the counter wrapping around still counts as a change", () => {
    const w = new BeatWatch(2 ** 31 - 1, 0);
    const cells = new Int32Array(1);
    cells[0] = 2 ** 31 - 1;
    Atomics.add(cells, 0, 1);
    expect(w.age(cells[0]!, 5000)).toBe(0);
  });
});

describe("Beater: a thread's own beat", () => {
  test("adds 1 per beat and keeps the longest gap between beats", () => {
    const cells = new Int32Array(2);
    const b = new Beater(cells, 0, 1);
    b.beat();
    const t = performance.now();
    while (performance.now() - t < 30) {
      // a 30 ms block between two beats
    }
    b.beat();
    expect(cells[0]).toBe(2);
    expect(cells[1]).toBeGreaterThanOrEqual(30);
    const longest = cells[1]!;
    b.beat(); // a short gap keeps the longest
    expect(cells[1]).toBe(longest);
  });
});

describe("restartDelayMs: bounded backoff of the admin thread's restarts", () => {
  test("100 ms, doubling per death in a row, at most 5 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20, 1000].map(restartDelayMs)).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });
});

// Request metrics per (code, flags, route, destination): the worker keeps the series of the last
// request at hand (workers/stats.ts); requests whose labels differ from the one before in any one
// label, taking turns, are each counted in their own series.
import { describe, expect, test } from "bun:test";
import { Stats } from "../../workers/stats.ts";

describe("request series", () => {
  test("labels differing in one place at a time, interleaved, each count in their own series", () => {
    const s = new Stats();
    const reqs: [number, string, string, string][] = [
      [200, "-", "r1", "d1"],
      [200, "-", "r1", "d1"],
      [503, "-", "r1", "d1"],
      [200, "UH", "r1", "d1"],
      [200, "-", "r2", "d1"],
      [200, "-", "r1", "d2"],
      [200, "-", "r1", "d1"],
      [503, "UH", "r2", "d2"],
      [200, "-", "r1", "d1"],
    ];
    for (const [i, [code, flags, route, dest]] of reqs.entries()) s.request(code, flags, route, dest, i, 10 * i, 100 * i);
    const out = s.sample();
    const want = new Map<string, [number, number, number, number]>();
    for (const [i, [code, flags, route, dest]] of reqs.entries()) {
      const l = `response_code="${code}",response_flags="${flags}",route="${route}",destination_service="${dest}"`;
      const w = want.get(l) ?? [0, 0, 0, 0];
      want.set(l, [w[0] + 1, w[1] + i, w[2] + 10 * i, w[3] + 100 * i]);
    }
    expect(want.size).toBe(6);
    for (const [l, [n, dur, rq, rs]] of want) {
      expect([l, out[`istio_requests_total{${l}}`], out[`istio_request_duration_milliseconds_sum{${l}}`], out[`istio_request_bytes_total{${l}}`], out[`istio_response_bytes_total{${l}}`]]).toEqual([l, n, dur, rq, rs]);
    }
    expect(Object.keys(out).filter((k) => k.startsWith("istio_requests_total")).length).toBe(6);
  });
});

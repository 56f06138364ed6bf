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

describe("TCP and upstream connection counters", () => {
  test("destinations taking turns count in their own series; a series shows once it counted something", () => {
    const s = new Stats();
    const conn = (dest: string, received: number, sent: number) => {
      const t = { tcpCounters: s.tcpOpened(dest), received: 0, sent: 0, countedReceived: 0, countedSent: 0 };
      s.upstreamConnection(`outbound|443||${dest}`);
      t.received = received;
      t.sent = sent;
      return t;
    };
    const a = conn("a", 5, 0);
    const b = conn("b", 0, 0);
    const a2 = conn("a", 1, 2);
    s.tcpBytes(a); // sampled while open
    let out = s.sample();
    expect(out['istio_tcp_connections_opened_total{destination_service="a"}']).toBe(2);
    expect(out['istio_tcp_connections_opened_total{destination_service="b"}']).toBe(1);
    expect(out['istio_tcp_received_bytes_total{destination_service="a"}']).toBe(5);
    // nothing closed, no byte from or to b yet: not shown, as before the first count
    expect(Object.keys(out).filter((k) => k.includes("closed") || k.includes('_bytes_total{destination_service="b"}') || k.startsWith("istio_tcp_sent_bytes_total"))).toEqual([]);
    expect(out['gangway_upstream_cx_total{cluster="outbound|443||a"}']).toBe(2);
    expect(out['gangway_upstream_cx_total{cluster="outbound|443||b"}']).toBe(1);
    for (const t of [a, b, a2]) s.tcpClosed(t);
    out = s.sample();
    expect(out['istio_tcp_connections_closed_total{destination_service="a"}']).toBe(2);
    expect(out['istio_tcp_connections_closed_total{destination_service="b"}']).toBe(1);
    expect(out['istio_tcp_received_bytes_total{destination_service="a"}']).toBe(6);
    expect(out['istio_tcp_sent_bytes_total{destination_service="a"}']).toBe(2);
    expect(out['istio_tcp_received_bytes_total{destination_service="b"}']).toBeUndefined();
    s.add('gangway_upstream_cx_total{cluster="outbound|443||b"}', 2); // by name: the same counter
    expect(s.sample()['gangway_upstream_cx_total{cluster="outbound|443||b"}']).toBe(3);
  });
});

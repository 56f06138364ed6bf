// Trace context on the wire (src/tracing/context.ts): the sampling decision from
// x-request-id as Envoy's UUID request-id extension makes it, B3 and W3C
// extraction (what continues a client's trace, what is refused), and what the
// upstream gets.
import { describe, expect, test } from "bun:test";
import {
  decideReason,
  extractB3,
  extractW3C,
  injectHeaders,
  markRequestId,
  REASON_CLIENT,
  REASON_FORCED,
  REASON_NONE,
  REASON_SAMPLED,
  randomId,
  randomId128,
  requestIdInteger,
  requestIdReason,
  samplingNumerator,
  startSpan,
  type Reason,
} from "../../src/tracing/context.ts";

const ID = "0000270f-1111-4222-8333-444455556666"; // first 8 hex: 9999

describe("x-request-id", () => {
  test.each([
    ["a sampled id (9 at 14)", "00000000-0000-9000-8000-000000000000", REASON_SAMPLED],
    ["a forced id (a)", "00000000-0000-a000-8000-000000000000", REASON_FORCED],
    ["a client id (b)", "00000000-0000-b000-8000-000000000000", REASON_CLIENT],
    ["a v4 uuid", ID, REASON_NONE],
    ["not 36 long", "abc", REASON_NONE],
    ["36 long, 9 at 14 but no uuid: Envoy reads the position only", "xxxxxxxxxxxxxx9xxxxxxxxxxxxxxxxxxxxx", REASON_SAMPLED],
  ] as const)("%s", (_n, id, want) => {
    expect(requestIdReason(id)).toBe(want as number as Reason);
  });

  test("the decision is written at 14, nothing else changes; not a uuid: kept", () => {
    expect(markRequestId(ID, REASON_SAMPLED)).toBe("0000270f-1111-9222-8333-444455556666");
    expect(markRequestId(ID, REASON_CLIENT)).toBe("0000270f-1111-b222-8333-444455556666");
    expect(markRequestId("short", REASON_SAMPLED)).toBe("short");
  });

  test("the integer is the first 8 hex digits (upper case too); a non-hex id has none", () => {
    expect(requestIdInteger(ID)).toBe(9999);
    expect(requestIdInteger("FFFFFFFF-")).toBe(0xffffffff);
    expect(requestIdInteger("zz")).toBe(-1);
    expect(requestIdInteger("0000g000-")).toBe(-1);
  });

  test("percent → numerator of 10000, rounded", () => {
    expect([samplingNumerator(100), samplingNumerator(1), samplingNumerator(0.015), samplingNumerator(0)]).toEqual([10000, 100, 2, 0]);
  });
});

describe("sampling decision (Envoy's mutateTracingRequestHeader)", () => {
  const n50 = samplingNumerator(50);
  test.each([
    // id, own, x-client-trace-id, numerator, useRequestId, rand, reason
    ["a client id under the percentage: its integer mod 10000", "00001387-0000-4000-8000-000000000000", false, false, n50, true, 0.99, REASON_SAMPLED], // 4999
    ["a client id at the percentage: not", "00001388-0000-4000-8000-000000000000", false, false, n50, true, 0.0, REASON_NONE], // 5000
    ["the integer wraps at 10000", "00002710-0000-4000-8000-000000000000", false, false, samplingNumerator(0.01), true, 0.99, REASON_SAMPLED], // 10000 → 0
    ["an id already marked sampled stays traced at 0 %", "00000000-0000-9000-8000-000000000000", false, false, 0, true, 0.5, REASON_SAMPLED],
    ["an id marked forced", "ffffffff-0000-a000-8000-000000000000", false, false, 0, true, 0.5, REASON_FORCED],
    ["x-client-trace-id forces the trace (client sampling 100 %)", ID, false, true, 0, true, 0.99, REASON_CLIENT],
    ["the gateway's own id: a random draw", ID, true, false, n50, true, 0.4999, REASON_SAMPLED],
    ["the gateway's own id: a random draw above", ID, true, false, n50, true, 0.5, REASON_NONE],
    ["a corrupt client id: not traced", "nothex-0000-4000-8000-000000000000xx", false, false, 10000, true, 0, REASON_NONE],
    ["a corrupt client id: x-client-trace-id does not force it either (Envoy returns first)", "nothex-0000-4000-8000-000000000000xx", false, true, 10000, true, 0, REASON_NONE],
    ["a short client id (\"abc\"): not traced", "abc", false, false, 10000, true, 0, REASON_NONE],
    ["100 % samples every id", "ffffffff-0000-4000-8000-000000000000", false, false, 10000, true, 0.99, REASON_SAMPLED],
    ["useRequestIdForTraceSampling false: a random draw, the id's mark is ignored", "00000000-0000-9000-8000-000000000000", false, false, 0, false, 0.1, REASON_NONE],
  ] as const)("%s", (_n, id, own, ctid, num, useId, rand, want) => {
    expect(decideReason(id, own, ctid, num, useId, rand)).toBe(want);
  });
});

const headers = (h: Record<string, string>) => (n: string) => h[n];

describe("B3 extraction (Envoy's Zipkin SpanContextExtractor)", () => {
  test.each([
    ["multi headers, 128-bit", { "x-b3-traceid": "463AC35C9F6413AD48485A3953BB6124", "x-b3-spanid": "a2fb4a1d1a96d312", "x-b3-sampled": "1" }, { ok: true, ctx: { traceId: "463ac35c9f6413ad48485a3953bb6124", spanId: "a2fb4a1d1a96d312", sampled: true, tracestate: "" }, sampled: true }],
    ["multi headers, 64-bit, not sampled", { "x-b3-traceid": "48485a3953bb6124", "x-b3-spanid": "a2fb4a1d1a96d312", "x-b3-sampled": "0" }, { ok: true, ctx: { traceId: "48485a3953bb6124", spanId: "a2fb4a1d1a96d312", sampled: false, tracestate: "" }, sampled: false }],
    ["x-b3-sampled: true (old tracers)", { "x-b3-sampled": "true" }, { ok: true, ctx: null, sampled: true }],
    ["only a trace id: no context", { "x-b3-traceid": "48485a3953bb6124" }, { ok: true, ctx: null, sampled: null }],
    ["a bad span id", { "x-b3-traceid": "48485a3953bb6124", "x-b3-spanid": "xyz" }, { ok: false }],
    ["a bad parent id", { "x-b3-traceid": "48485a3953bb6124", "x-b3-spanid": "a2fb4a1d1a96d312", "x-b3-parentspanid": "1" }, { ok: false }],
    ["single b3 with sampled and parent", { b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90" }, { ok: true, ctx: { traceId: "80f198ee56343ba864fe8b2a57d3eff7", spanId: "e457b5a2e4d86bd1", sampled: true, tracestate: "" }, sampled: true }],
    ["single b3 debug flag samples", { b3: "64fe8b2a57d3eff7-e457b5a2e4d86bd1-d" }, { ok: true, ctx: { traceId: "64fe8b2a57d3eff7", spanId: "e457b5a2e4d86bd1", sampled: true, tracestate: "" }, sampled: true }],
    ["single b3: a sampling flag alone", { b3: "0" }, { ok: true, ctx: null, sampled: false }],
    ["single b3 wins over x-b3-*", { b3: "0", "x-b3-sampled": "1" }, { ok: true, ctx: null, sampled: false }],
    ["single b3 truncated", { b3: "64fe8b2a57d3eff7-e457b5a2" }, { ok: false }],
    ["single b3 with a bad flag", { b3: "64fe8b2a57d3eff7-e457b5a2e4d86bd1-x" }, { ok: false }],
    ["nothing", {}, { ok: true, ctx: null, sampled: null }],
  ])("%s", (_n, h, want) => {
    expect(extractB3(headers(h))).toEqual(want as ReturnType<typeof extractB3>);
  });
});

describe("W3C extraction (traceparent, tracestate)", () => {
  const TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  test.each([
    ["sampled", TP, "k=v", { ok: true, ctx: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: true, tracestate: "k=v" }, sampled: true }],
    ["not sampled", TP.slice(0, -2) + "00", undefined, { ok: true, ctx: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: false, tracestate: "" }, sampled: false }],
    ["absent", undefined, undefined, { ok: true, ctx: null, sampled: null }],
    ["version ff", "ff" + TP.slice(2), undefined, { ok: false }],
    ["zero trace id", "00-00000000000000000000000000000000-b7ad6b7169203331-01", undefined, { ok: false }],
    ["zero parent id", "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", undefined, { ok: false }],
    ["wrong length", TP + "-x", undefined, { ok: false }],
    ["not hex", "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01", undefined, { ok: false }],
  ])("%s", (_n, tp, ts, want) => {
    expect(extractW3C(tp, ts)).toEqual(want as ReturnType<typeof extractW3C>);
  });
});

describe("the gateway's span and what the upstream gets", () => {
  test("a B3 child keeps the trace, hangs under the client's span, takes its sampled flag over the decision", () => {
    const s = startSpan("b3", headers({ "x-b3-traceid": "463ac35c9f6413ad48485a3953bb6124", "x-b3-spanid": "a2fb4a1d1a96d312", "x-b3-sampled": "0" }), true, true)!;
    expect(s).toMatchObject({ traceId: "463ac35c9f6413ad48485a3953bb6124", parentId: "a2fb4a1d1a96d312", sampled: false });
    expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(injectHeaders("b3", s)).toEqual([
      ["x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124"],
      ["x-b3-spanid", s.spanId],
      ["x-b3-parentspanid", "a2fb4a1d1a96d312"],
      ["x-b3-sampled", "0"],
    ]);
  });

  test("a B3 root: a 128-bit trace id (64 with enable64bitTraceId), the gateway's decision, no parent header", () => {
    const s = startSpan("b3", headers({}), true, true)!;
    expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(s.parentId).toBe("");
    expect(injectHeaders("b3", s).map(([n]) => n)).toEqual(["x-b3-traceid", "x-b3-spanid", "x-b3-sampled"]);
    expect(startSpan("b3", headers({}), false, false)!).toMatchObject({ sampled: false, traceId: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  test("a sampling flag alone decides a new root", () => {
    expect(startSpan("b3", headers({ b3: "1" }), false, true)!.sampled).toBe(true);
  });

  test("a context that does not parse: no span (Envoy's null span)", () => {
    expect(startSpan("b3", headers({ b3: "nonsense-value" }), true, true)).toBeNull();
    expect(startSpan("w3c", headers({ traceparent: "00-bad" }), true, true)).toBeNull();
  });

  test("W3C: traceparent with the parent's flag and its tracestate", () => {
    const s = startSpan("w3c", headers({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "congo=t61rcWkgMzE" }), false, true)!;
    expect(s).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", parentId: "b7ad6b7169203331", sampled: true, tracestate: "congo=t61rcWkgMzE" });
    expect(injectHeaders("w3c", s)).toEqual([
      ["traceparent", `00-0af7651916cd43dd8448eb211c80319c-${s.spanId}-01`],
      ["tracestate", "congo=t61rcWkgMzE"],
    ]);
  });

  test("B3 with W3C propagation: both sets; traceparent read when no B3 came; a 64-bit trace id padded", () => {
    const s = startSpan("b3+w3c", headers({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00" }), true, true)!;
    expect(s).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", parentId: "b7ad6b7169203331", sampled: false });
    expect(injectHeaders("b3+w3c", s).map(([n]) => n)).toEqual(["x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "traceparent"]);
    expect(injectHeaders("b3+w3c", { traceId: "48485a3953bb6124", spanId: "a2fb4a1d1a96d312", parentId: "", sampled: true, tracestate: "" })[3]).toEqual(["traceparent", "00-000000000000000048485a3953bb6124-a2fb4a1d1a96d312-01"]);
  });

  test("random ids: 16 hex digits, never zero, not repeated in a run", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = randomId();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(5000);
    // 128-bit ones, across the pool's refills, interleaved with 64-bit ones
    const long = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = randomId128();
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(id.slice(0, 16)).not.toBe("0000000000000000");
      expect(id.slice(16)).not.toBe("0000000000000000");
      long.add(id);
      seen.add(randomId());
    }
    expect(long.size).toBe(2000);
    expect(seen.size).toBe(7000);
  });
});

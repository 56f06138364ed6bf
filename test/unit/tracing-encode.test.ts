// Spans as the collectors receive them (src/tracing/encode.ts): Zipkin v2 JSON
// and OTLP protobuf, read back with the tests' own protobuf reader.
import { describe, expect, test } from "bun:test";
import { grpcFrame, otlpProto, zipkinJson, type FinishedSpan } from "../../src/tracing/encode.ts";
import { readExport } from "../helpers/otlp.ts";

const SPAN: FinishedSpan = {
  traceId: "463ac35c9f6413ad48485a3953bb6124",
  spanId: "a2fb4a1d1a96d312",
  parentId: "0020000000000001",
  tracestate: "k=v",
  name: "app.local:80/*",
  startUs: 1_796_666_112_996_707.2,
  durationUs: 6953.6,
  tags: [
    ["http.method", "GET"],
    ["empty", ""],
    ["http.status_code", "200"],
    ["http.status_code", "503"],
  ],
};
const ROOT: FinishedSpan = { ...SPAN, traceId: "48485a3953bb6124", spanId: "b7ad6b7169203331", parentId: "", tracestate: "", durationUs: 0.2, tags: [] };

describe("Zipkin v2 JSON", () => {
  test("CLIENT spans with integer microseconds, the service as local endpoint, empty tags left out, a later tag wins", () => {
    expect(JSON.parse(zipkinJson([SPAN, ROOT], "istio-ingressgateway.istio-system"))).toEqual([
      {
        traceId: "463ac35c9f6413ad48485a3953bb6124",
        parentId: "0020000000000001",
        id: "a2fb4a1d1a96d312",
        kind: "CLIENT",
        name: "app.local:80/*",
        timestamp: 1796666112996707,
        duration: 6954,
        localEndpoint: { serviceName: "istio-ingressgateway.istio-system" },
        tags: { "http.method": "GET", "http.status_code": "503" },
      },
      // a root has no parentId; a duration under 1 µs is 1 (Zipkin drops a zero duration)
      { traceId: "48485a3953bb6124", id: "b7ad6b7169203331", kind: "CLIENT", name: "app.local:80/*", timestamp: 1796666112996707, duration: 1, localEndpoint: { serviceName: "istio-ingressgateway.istio-system" }, tags: {} },
    ]);
  });

  test("timestamps are written as integers, never in exponent notation", () => {
    expect(zipkinJson([SPAN], "s")).toContain('"timestamp":1796666112996707,');
  });
});

describe("OTLP protobuf", () => {
  test("one resource (service.name), CLIENT spans, ids as bytes, nanosecond times, one attribute per key", () => {
    const [rs, ...more] = readExport(otlpProto([SPAN, ROOT], "istio-ingressgateway.istio-system"));
    expect(more).toEqual([]);
    expect(rs!.resource).toEqual({ "service.name": "istio-ingressgateway.istio-system" });
    const [a, b] = rs!.spans;
    expect(a).toEqual({
      traceId: "463ac35c9f6413ad48485a3953bb6124",
      spanId: "a2fb4a1d1a96d312",
      parentId: "0020000000000001",
      traceState: "k=v",
      name: "app.local:80/*",
      kind: 3,
      startNs: 1796666112996707000n,
      endNs: 1796666112996707000n + 6954000n,
      attributes: { "http.method": "GET", empty: "", "http.status_code": "503" },
    });
    // a 64-bit trace id is padded to OTLP's 16 bytes; a root has no parent
    expect(b).toMatchObject({ traceId: "000000000000000048485a3953bb6124", parentId: "", traceState: "", attributes: {} });
  });

  test("a large batch round-trips (lengths past one varint byte)", () => {
    const spans = Array.from({ length: 300 }, (_, i) => ({ ...SPAN, name: "n".repeat(i), tags: [["k", "v".repeat(i)]] as [string, string][] }));
    const got = readExport(otlpProto(spans, "s"))[0]!.spans;
    expect(got.length).toBe(300);
    expect(got[299]!.name.length).toBe(299);
    expect(got[299]!.attributes.k!.length).toBe(299);
  });

  test("gRPC frame: uncompressed flag, big-endian length, the message", () => {
    expect([...grpcFrame(Buffer.from([1, 2, 3]))]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
  });
});

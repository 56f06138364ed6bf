// grpc-timeout parsing and the deadline Istio's route config gives it
// (max_stream_duration.grpc_timeout_header_max = the route timeout, 0: uncapped).
import { describe, expect, test } from "bun:test";
import { grpcDeadlineMs, parseGrpcTimeout } from "../../src/upstream/grpc-timeout.ts";

describe("parseGrpcTimeout", () => {
  test.each([
    ["1H", 3_600_000],
    ["2M", 120_000],
    ["3S", 3000],
    ["150m", 150],
    ["1500u", 2],
    ["1n", 1],
    ["0m", 0],
    ["0n", 0],
    ["00000000S", 0],
    ["99999999S", 99_999_999_000],
    [undefined, null],
    ["", null],
    ["10", null],
    ["1s", null],
    ["123456789S", null],
    ["-1S", null],
    ["1.5S", null],
  ])("%p → %p", (v, want) => {
    expect(parseGrpcTimeout(v)).toBe(want);
  });
});

describe("grpcDeadlineMs", () => {
  test.each([
    [undefined, 0, 0],
    [undefined, 5000, 0],
    ["2S", 0, 2000],
    ["2S", 500, 500],
    ["100m", 500, 100],
    ["junk", 500, 0],
    // 0 is no deadline from the header (Envoy), not one already past: the route timeout alone
    ["0n", 0, 0],
    ["0S", 500, 0],
    // above 2^31-1 ms a timer fires after 1 ms: capped there (~24.8 days)
    ["720H", 0, 2 ** 31 - 1],
    ["99999999S", 0, 2 ** 31 - 1],
  ])("grpc-timeout %p, route timeout %p ms → %p ms", (h, route, want) => {
    expect(grpcDeadlineMs(h, route)).toBe(want);
  });
});

// grpc-timeout parsing, the route timeout it makes under Istio's route config
// (max_grpc_timeout = the route timeout, 0: uncapped), and the value sent upstream.
import { describe, expect, test } from "bun:test";
import { grpcRouteTimeoutMs, parseGrpcTimeout, timerMs, upstreamGrpcTimeout } from "../../src/upstream/grpc-timeout.ts";

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

describe("grpcRouteTimeoutMs (Envoy's finalTimeout with Istio's max_grpc_timeout = the route timeout)", () => {
  test.each([
    // no header: the route timeout (max_grpc_timeout caps "infinity"), none when the route has none
    [undefined, 0, 0],
    [undefined, 5000, 5000],
    ["2S", 0, 2000],
    ["2S", 500, 500],
    ["100m", 500, 100],
    ["junk", 500, 500],
    ["junk", 0, 0],
    // 0 is infinity, not a deadline already past: the route timeout alone
    ["0n", 0, 0],
    ["0S", 500, 500],
    ["720H", 0, 720 * 3_600_000],
    ["99999999S", 0, 99_999_999_000],
  ])("grpc-timeout %p, route timeout %p ms → %p ms", (h, route, want) => {
    expect(grpcRouteTimeoutMs(h, route)).toBe(want);
  });
  test("a timer waits at most 2^31-1 ms (above, it would fire after 1 ms): the route timer is capped there, the upstream told the whole", () => {
    expect([timerMs(720 * 3_600_000), timerMs(5000)]).toEqual([2 ** 31 - 1, 5000]);
    expect(upstreamGrpcTimeout(grpcRouteTimeoutMs("720H", 0), 0)).toBe("2592000S");
  });
});

describe("upstreamGrpcTimeout (Envoy's setTimeoutHeaders and toGrpcTimeout)", () => {
  test.each([
    [0, 0, ""],
    [2000, 0, "2000m"],
    [150, 0, "150m"],
    // the per-try timeout when shorter than the route's, or when the route has none
    [5000, 1000, "1000m"],
    [1000, 5000, "1000m"],
    [0, 3000, "3000m"],
    // 8 digits at most: seconds, minutes, hours, truncated
    [99_999_999, 0, "99999999m"],
    [100_000_000, 0, "100000S"],
    [2 ** 31 - 1, 0, "2147483S"],
    [720 * 3_600_000, 0, "2592000S"],
  ])("route %p ms, per try %p ms → %p", (route, perTry, want) => {
    expect(upstreamGrpcTimeout(route, perTry)).toBe(want);
  });

  // a retry: Envoy's doRetry calls setTimeoutHeaders with the time since the request ended
  test.each([
    [5000, 0, 300, "4700m"],
    [5000, 0, 299.4, "4701m"],
    // the per-try timeout while it is shorter than what is left, then what is left
    [5000, 1000, 300, "1000m"],
    [5000, 1000, 4500, "500m"],
    // spent: 1 ms, the least a header can say
    [5000, 0, 5000, "1m"],
    [5000, 1000, 9000, "1m"],
    // no route timeout: the per-try timeout whatever the time
    [0, 3000, 10_000, "3000m"],
    [0, 0, 300, ""],
  ])("route %p ms, per try %p ms, %p ms since the request ended → %p", (route, perTry, elapsed, want) => {
    expect(upstreamGrpcTimeout(route, perTry, elapsed)).toBe(want);
  });
});

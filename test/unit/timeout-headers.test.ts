// The time Envoy's router tells an upstream it has (setTimeoutHeaders): the value
// of x-envoy-expected-rq-timeout-ms (and of a gRPC request's grpc-timeout).
import { describe, expect, test } from "bun:test";
import { expectedTimeoutMs } from "../../src/upstream/timeout-headers.ts";

describe("expectedTimeoutMs (Envoy's setTimeoutHeaders)", () => {
  test.each([
    // nothing applies: no header
    [0, 0, 0, 0],
    // the route timeout; the per-try timeout when set and shorter; a per-try timeout at or above the route's is the route's
    [3000, 0, 0, 3000],
    [3000, 1000, 0, 1000],
    [2000, 5000, 0, 2000],
    [2000, 2000, 0, 2000],
    // a per-try timeout alone, whatever the time since the request ended
    [0, 1500, 0, 1500],
    [0, 1500, 60_000, 1500],
    // a retry: what is left of the route timeout (elapsed ms truncated, as Envoy's duration_cast)
    [3000, 0, 200, 2800],
    [3000, 0, 199.6, 2801],
    [10_000, 1000, 100, 1000],
    [10_000, 1000, 9500, 500],
    // spent: 1 ms, since 0 would read as no timeout
    [3000, 0, 3000, 1],
    [3000, 1000, 50_000, 1],
  ])("route %p ms, per try %p ms, %p ms since the request ended → %p", (route, perTry, elapsed, want) => {
    expect(expectedTimeoutMs(route, perTry, elapsed)).toBe(want);
  });
});

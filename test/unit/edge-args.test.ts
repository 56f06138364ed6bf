// The edge options (issue 13 B4, PROXY protocol): Go durations, 0/off, their defaults.
import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError, USAGE } from "../../src/cli/args.ts";
import { EDGE_DEFAULTS } from "../../workers/context.ts";

describe("edge options", () => {
  test("defaults match the worker's", () => {
    const o = parseArgs(["--config", "x"]);
    expect(o.requestHeadersTimeoutMs).toBe(EDGE_DEFAULTS.requestHeadersTimeoutMs);
    expect(o.streamIdleTimeoutMs).toBe(EDGE_DEFAULTS.streamIdleTimeoutMs);
    expect(o.maxConnectionDurationMs).toBe(EDGE_DEFAULTS.maxConnectionDurationMs);
    expect(o.drainTimeoutMs).toBe(EDGE_DEFAULTS.drainTimeoutMs);
    expect(o.proxyProtocol).toBe(false);
  });

  test("the stream idle default is INTERFACE.md's 5 minutes (Envoy's), request headers the documented 60 s", () => {
    const o = parseArgs(["--config", "x"]);
    expect([o.streamIdleTimeoutMs, EDGE_DEFAULTS.streamIdleTimeoutMs]).toEqual([5 * 60_000, 5 * 60_000]);
    expect([o.requestHeadersTimeoutMs, EDGE_DEFAULTS.requestHeadersTimeoutMs]).toEqual([60_000, 60_000]);
    expect(USAGE).toContain("(default 5m; 0 off)");
  });

  const cases: [string[], Partial<ReturnType<typeof parseArgs>>][] = [
    [["--request-headers-timeout", "10s"], { requestHeadersTimeoutMs: 10_000 }],
    [["--request-headers-timeout=0"], { requestHeadersTimeoutMs: 0 }],
    [["--stream-idle-timeout", "1m30s"], { streamIdleTimeoutMs: 90_000 }],
    [["--stream-idle-timeout", "off"], { streamIdleTimeoutMs: 0 }],
    [["--max-connection-duration", "1h"], { maxConnectionDurationMs: 3_600_000 }],
    [["--drain-timeout", "250ms"], { drainTimeoutMs: 250 }],
    [["--proxy-protocol"], { proxyProtocol: true }],
    [["--proxy-protocol=false"], { proxyProtocol: false }],
  ];
  for (const [argv, want] of cases) {
    test(argv.join(" "), () => {
      expect(parseArgs(["--config", "x", ...argv])).toMatchObject(want);
    });
  }

  for (const bad of [["--stream-idle-timeout", "5"], ["--drain-timeout", "-1s"], ["--request-headers-timeout", "soon"], ["--proxy-protocol=yes"]]) {
    test(`${bad.join(" ")} is a usage error`, () => {
      expect(() => parseArgs(["--config", "x", ...bad])).toThrow(UsageError);
    });
  }

  test("the usage text names every edge option", () => {
    for (const f of ["--request-headers-timeout", "--stream-idle-timeout", "--max-connection-duration", "--drain-timeout", "--proxy-protocol"]) expect(USAGE).toContain(f);
  });
});

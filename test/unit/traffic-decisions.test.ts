// The per-request decisions of the traffic features, as pure tables: CORS
// (Envoy's CORS filter), fault (delay then abort), retries (conditions,
// back-off, host choice), mirrors (share, Host), redirect Location.
import { describe, expect, test } from "bun:test";
import { compileStringMatch } from "../../src/compile/matches.ts";
import { defaultRetryPolicy, buildRetryPolicy } from "../../src/compile/policies.ts";
import type { CorsPolicy, FaultPolicy, MirrorPolicy, RetryPolicy } from "../../src/snapshot/types.ts";
import { corsDecision } from "../../src/traffic/cors.ts";
import { faultAbort, faultDelay } from "../../src/traffic/fault.ts";
import { mirrorsFor, shadowAuthority } from "../../src/traffic/mirror.ts";
import { redirectLocation, type RedirectAction } from "../../src/traffic/redirect.ts";
import { backoffMs, pickForRetry, retryCondition, triesLeft, type UpstreamOutcome } from "../../src/traffic/retry.ts";

const CORS: CorsPolicy = {
  allowOrigins: [compileStringMatch({ kind: "exact", value: "https://app.example.com" }), compileStringMatch({ kind: "regex", value: "https://.*\\.test" })],
  allowMethods: "GET,POST",
  allowHeaders: "x-a,content-type",
  exposeHeaders: "x-trace",
  maxAge: "600",
  allowCredentials: true,
  forwardNotMatchingPreflights: true,
};

function cors(p: CorsPolicy | null, method: string, h: Record<string, string>) {
  return corsDecision(p, method, { header: (n) => h[n] });
}

describe("CORS", () => {
  const preflight = { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "x-a" };
  const cases: [string, CorsPolicy | null, string, Record<string, string>, unknown][] = [
    ["no policy: nothing", null, "OPTIONS", preflight, { kind: "none" }],
    ["no Origin: nothing", CORS, "GET", {}, { kind: "none" }],
    [
      "browser preflight from an allowed origin: answered by the gateway",
      CORS,
      "OPTIONS",
      preflight,
      {
        kind: "preflight",
        headers: [
          ["access-control-allow-origin", "https://app.example.com"],
          ["access-control-allow-credentials", "true"],
          ["access-control-allow-methods", "GET,POST"],
          ["access-control-allow-headers", "x-a,content-type"],
          ["access-control-max-age", "600"],
          ["access-control-expose-headers", "x-trace"],
        ],
      },
    ],
    ["preflight from another origin: forwarded (unmatchedPreflights FORWARD)", CORS, "OPTIONS", { ...preflight, origin: "https://evil.example" }, { kind: "forward", responseHeaders: [] }],
    [
      "preflight from another origin with IGNORE: 200 without allow-origin",
      { ...CORS, forwardNotMatchingPreflights: false, allowCredentials: false, maxAge: "" },
      "OPTIONS",
      { ...preflight, origin: "https://evil.example" },
      { kind: "preflight", headers: [["access-control-allow-methods", "GET,POST"], ["access-control-allow-headers", "x-a,content-type"]] },
    ],
    ["OPTIONS without Access-Control-Request-Method is a simple request", CORS, "OPTIONS", { origin: "https://x.test" }, { kind: "forward", responseHeaders: [["access-control-allow-origin", "https://x.test"], ["access-control-allow-credentials", "true"], ["access-control-expose-headers", "x-trace"]] }],
    ["simple GET from a regex-allowed origin gets the headers", CORS, "GET", { origin: "https://a.test" }, { kind: "forward", responseHeaders: [["access-control-allow-origin", "https://a.test"], ["access-control-allow-credentials", "true"], ["access-control-expose-headers", "x-trace"]] }],
    ["simple GET from another origin: response untouched", CORS, "GET", { origin: "https://a.test.evil" }, { kind: "forward", responseHeaders: [] }],
    [
      "allowOrigins exact * allows every origin (echoed back); allowMethods/allowHeaders * echo the request's",
      { ...CORS, allowOrigins: [compileStringMatch({ kind: "exact", value: "*" })], allowMethods: "*", allowHeaders: "*", allowCredentials: false, maxAge: "" },
      "OPTIONS",
      { origin: "https://z.example", "access-control-request-method": "DELETE", "access-control-request-headers": "x-q" },
      { kind: "preflight", headers: [["access-control-allow-origin", "https://z.example"], ["access-control-allow-methods", "DELETE"], ["access-control-allow-headers", "x-q"], ["access-control-expose-headers", "x-trace"]] },
    ],
  ];
  for (const [name, p, method, h, want] of cases) test(name, () => expect(cors(p, method, h)).toEqual(want as never));
});

describe("fault", () => {
  const f: FaultPolicy = { delayMs: 200, delayPerMillion: 250_000, abortStatus: 503, abortGrpcStatus: -1, abortPerMillion: 500_000 };
  test("delay fires for draws below its share", () => {
    expect([0, 0.2499, 0.25, 0.9].map((d) => faultDelay(f, d))).toEqual([200, 200, 0, 0]);
    expect(faultDelay(null, 0)).toBe(0);
  });
  test("abort: status, body `fault filter abort`; 0% never, 100% always", () => {
    expect(faultAbort(f, 0.1, false)).toEqual({ status: 503, grpcStatus: -1, headers: [], body: "fault filter abort" });
    expect(faultAbort(f, 0.5, false)).toBeNull();
    expect(faultAbort({ ...f, abortPerMillion: 0 }, 0, false)).toBeNull();
    expect(faultAbort({ ...f, abortPerMillion: 1_000_000 }, 0.999999, false)).not.toBeNull();
  });
  test("gRPC abort: 200 trailers-only for gRPC requests, plain 200 body otherwise", () => {
    const g = { ...f, abortStatus: 200, abortGrpcStatus: 14, abortPerMillion: 1_000_000 };
    expect(faultAbort(g, 0, true)).toEqual({
      status: 200,
      grpcStatus: 14,
      headers: [["content-type", "application/grpc"], ["grpc-status", "14"], ["grpc-message", "fault filter abort"]],
      body: "",
    });
    expect(faultAbort(g, 0, false)).toMatchObject({ status: 200, body: "fault filter abort" });
  });
});

describe("retries", () => {
  const def = defaultRetryPolicy();
  const custom = buildRetryPolicy({ attempts: 3, perTryTimeoutMs: 0, retryOn: "gateway-error,retriable-4xx,429,unavailable", retryRemoteLocalities: null, retryIgnorePreviousHosts: null, backoffMs: 0 })!;
  const five = buildRetryPolicy({ attempts: 1, perTryTimeoutMs: 0, retryOn: "5xx", retryRemoteLocalities: null, retryIgnorePreviousHosts: null, backoffMs: 0 })!;
  const rbr = buildRetryPolicy({ attempts: 1, perTryTimeoutMs: 0, retryOn: "reset-before-request", retryRemoteLocalities: null, retryIgnorePreviousHosts: null, backoffMs: 0 })!;
  const resp = (status: number, grpcStatus = -1): UpstreamOutcome => ({ kind: "response", status, grpcStatus });
  const cases: [string, RetryPolicy, UpstreamOutcome, string][] = [
    ["default: connect failure retried (a pod gone mid-rollout)", def, { kind: "connect_failure" }, "connect-failure"],
    ["default: reset after sending not retried", def, { kind: "reset", sent: true }, ""],
    ["default: an HTTP/2 stream the upstream refused (REFUSED_STREAM, GOAWAY) retried", def, { kind: "reset", sent: true, refused: true }, "refused-stream"],
    ["refused-stream not listed: a refused stream is a reset", custom, { kind: "reset", sent: true, refused: true }, "gateway-error"],
    ["default: 503 not retried (no status codes listed)", def, resp(503), ""],
    ["default: gRPC UNAVAILABLE retried", def, resp(200, 14), "unavailable"],
    ["default: gRPC CANCELLED retried", def, resp(200, 1), "cancelled"],
    ["default: per-try timeout not retried", def, { kind: "per_try_timeout" }, ""],
    ["gateway-error: 502/503/504", custom, resp(504), "gateway-error"],
    ["gateway-error: not 500", custom, resp(500), ""],
    ["retriable-4xx is 409", custom, resp(409), "retriable-4xx"],
    ["numeric code 429", custom, resp(429), "retriable-status-codes"],
    ["gateway-error covers resets", custom, { kind: "reset", sent: true }, "gateway-error"],
    ["5xx: any 5xx", five, resp(500), "5xx"],
    ["5xx covers connect failures", five, { kind: "connect_failure" }, "5xx"],
    ["5xx covers per-try timeouts", five, { kind: "per_try_timeout" }, "5xx"],
    ["2xx never", five, resp(200), ""],
    ["reset-before-request: nothing sent yet", rbr, { kind: "reset", sent: false }, "reset-before-request"],
    ["reset-before-request: not once bytes were sent", rbr, { kind: "reset", sent: true }, ""],
  ];
  for (const [name, p, o, want] of cases) test(name, () => expect(retryCondition(p, o)).toBe(want));

  test("no policy (attempts 0): nothing is retried", () => expect(retryCondition(null, { kind: "connect_failure" })).toBe(""));

  test("tries: 1 + numRetries", () => {
    expect([1, 2, 3].map((t) => triesLeft(def, t))).toEqual([true, true, false]);
    expect(triesLeft(null, 1)).toBe(false);
  });

  test("back-off: uniform in [0, (2^n − 1) × 25ms), capped at 250ms", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(def, n, 0.999999))).toEqual([24, 74, 174, 249, 249]);
    expect(backoffMs(def, 3, 0)).toBe(0);
    // backoff 1000h (decoded as the timers' longest, 2^31-1 ms; the cap 10×): still no more than a timer can wait
    expect(backoffMs({ ...def, backoffBaseMs: 2 ** 31 - 1, backoffMaxMs: 10 * (2 ** 31 - 1) }, 5, 0.999999)).toBe(2 ** 31 - 1);
  });

  test("previous hosts: re-pick (up to 5 more times) until an endpoint not tried yet", () => {
    const seq = ["a", "a", "a", "b"];
    let i = 0;
    expect(pickForRetry(def, () => seq[i++]!, ["a"])).toBe("b");
    let n = 0;
    expect(pickForRetry(def, () => (n++, "a"), ["a"])).toBe("a");
    expect(n).toBe(6); // the first pick and 5 more
    expect(pickForRetry({ ...def, retryPreviousHosts: false }, () => "a", ["a"])).toBe("a");
  });
});

describe("mirrors", () => {
  const m = (perMillion: number): MirrorPolicy => ({ cluster: `c${perMillion}`, host: "h", port: 80, subset: "", perMillion });
  test("each mirror draws against its own share; 100% always", () => {
    const draws = [0.05, 0.5];
    let i = 0;
    expect(mirrorsFor([m(1_000_000), m(100_000), m(100_000)], () => draws[i++]!).map((x) => x.cluster)).toEqual(["c1000000", "c100000"]);
  });
  test("Host of the copy: unchanged (Istio's DISABLE_SHADOW_HOST_SUFFIX=true); with the suffix, before the port", () => {
    expect(shadowAuthority("a.example.com:8080")).toBe("a.example.com:8080");
    expect(shadowAuthority("a.example.com:8080", true)).toBe("a.example.com-shadow:8080");
    expect(shadowAuthority("a.example.com", true)).toBe("a.example.com-shadow");
    expect(shadowAuthority("[::1]:80", true)).toBe("[::1]-shadow:80");
  });
});

describe("redirect Location (Envoy's newUri)", () => {
  const red = (over: Partial<RedirectAction>): RedirectAction => ({ kind: "redirect", status: 301, scheme: null, authority: null, port: 0, uri: null, prefixRewrite: null, ...over });
  const req = (authority: string, scheme = "http", path = "/a/b", query = "") => ({ scheme, authority, path, query });
  const cases: [string, RedirectAction, ReturnType<typeof req>, string | null, string][] = [
    ["uri replaces the path, query kept", red({ uri: "/new" }), req("a.com", "http", "/old", "x=1"), null, "http://a.com/new?x=1"],
    ["uri with its own query drops the request's", red({ uri: "/new?y=2" }), req("a.com", "http", "/old", "x=1"), null, "http://a.com/new?y=2"],
    ["scheme change keeps a non-default port", red({ scheme: "https" }), req("a.com:8080"), null, "https://a.com:8080/a/b"],
    ["scheme change drops the old scheme's default port", red({ scheme: "https" }), req("a.com:80"), null, "https://a.com/a/b"],
    ["same scheme keeps the port", red({ uri: "/x" }), req("a.com:8080"), null, "http://a.com:8080/x"],
    ["a port given replaces the request's", red({ port: 8443, scheme: "https" }), req("a.com:8080"), null, "https://a.com:8443/a/b"],
    ["authority given: the request's port is not carried", red({ authority: "b.com" }), req("a.com:8080"), null, "http://b.com/a/b"],
    ["prefixRewrite replaces the matched prefix, query kept", red({ prefixRewrite: "/v2" }), req("a.com", "http", "/v1/users", "q=1"), "/v1", "http://a.com/v2/users?q=1"],
    ["IPv6 host with port", red({ scheme: "https" }), req("[::1]:8080"), null, "https://[::1]:8080/a/b"],
    ["port -1 (Gateway API): no port at all", red({ port: -1 }), req("a.com:8080"), null, "http://a.com/a/b"],
  ];
  for (const [name, a, r, prefix, want] of cases) test(name, () => expect(redirectLocation(a, r, prefix)).toBe(want));
});

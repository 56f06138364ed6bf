// The time an upstream is told it has, as Envoy's router tells it
// (FilterUtility::setTimeoutHeaders, source/common/router/router.cc): on the
// first try (finalTimeout, nothing elapsed) and again on each retry (doRetry,
// with the time since the downstream request ended). The per-try timeout when
// one is set, else the route timeout; never more than what is left of the route
// timeout, and at least 1 ms once it is spent (0 would read as "no timeout").
// It goes upstream as x-envoy-expected-rq-timeout-ms (the router's
// suppress_envoy_headers, which istiod sets only from ProxyConfig
// proxyHeaders.envoyDebugHeaders, is off) and, for a gRPC request under Istio's
// max_grpc_timeout, as its grpc-timeout (grpc-timeout.ts).

/** The request header Envoy's router sets. */
export const EXPECTED_TIMEOUT = "x-envoy-expected-rq-timeout-ms";

/**
 * The ms the upstream is told (0: none, no header): `routeMs` the route timeout (0: none),
 * `perTryMs` the retry policy's per-try timeout (0: none), `elapsedMs` the time since the
 * request ended (0 on the first try and while the request is still coming).
 */
export function expectedTimeoutMs(routeMs: number, perTryMs: number, elapsedMs = 0): number {
  let ms = perTryMs > 0 ? perTryMs : routeMs;
  if (ms <= 0) return 0;
  if (routeMs > 0) ms = elapsedMs >= routeMs ? 1 : Math.min(ms, Math.ceil(routeMs - elapsedMs));
  return ms;
}

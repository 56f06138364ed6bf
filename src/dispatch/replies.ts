// Every local reply the data plane can give, as one table: the code a worker
// or `dispatch` names, and what that means for the client (status, body), the
// access log (Envoy's response flag and response-code details) and metrics
// (the same flag). Errors are values with a source, as in Pingora: the source
// says whose fault it was (downstream → 4xx, upstream → 5xx, internal: the
// configuration), `retriable` whether a retry policy may try the request
// again (Envoy's retry_on `connect-failure`, `reset`, `5xx`...).
//
// A new reply: add a row here (a code no one uses yet; codes are never
// renamed, tests and log readers key on them), then name it where it happens
// (`ex.reply(REPLIES.my_code)`, or `replyDecision(REPLIES.my_code)` from dispatch).
//
// Flags and details follow Envoy's (StreamInfo::ResponseFlag short names,
// StreamInfo::ResponseCodeDetails strings); where gangway has no Envoy
// counterpart the row says so.

export type ReplySource = "downstream" | "upstream" | "internal";

export interface ReplyRow {
  /** Stable code (the key of REPLIES). */
  readonly code: ReplyCode;
  /**
   * HTTP status of the local reply; 0 when none can be sent (the response
   * already started, or the client is gone): the stream is reset and the
   * status already sent (or 0) is logged.
   */
  readonly status: number;
  /** Envoy response flag (`NR`, `UH`, `UF`...), `-` when none. */
  readonly flag: string;
  /** Envoy response-code details (`route_not_found`...). */
  readonly details: string;
  /** Body of the local reply ("" for none), as Envoy writes it. */
  readonly body: string;
  readonly source: ReplySource;
  /** May a retry policy send the request again? */
  readonly retriable: boolean;
}

const RESET = "upstream connect error or disconnect/reset before headers. reset reason: ";

function row(code: ReplyCode, status: number, flag: string, details: string, body: string, source: ReplySource, retriable: boolean): ReplyRow {
  return Object.freeze({ code, status, flag, details, body, source, retriable });
}

export type ReplyCode =
  | "no_route"
  | "absolute_path"
  | "misdirected"
  | "cluster_not_found"
  | "no_healthy_upstream"
  | "upstream_overflow"
  | "connect_failure"
  | "connect_timeout"
  | "upstream_reset_before_response"
  | "upstream_protocol_error"
  | "upstream_reset_after_response"
  | "upstream_protocol_error_after_response"
  | "response_timeout"
  | "bad_request"
  | "header_too_large"
  | "http_version"
  | "bad_body"
  | "downstream_disconnect"
  | "request_header_timeout"
  | "stream_idle_request"
  | "stream_idle_response"
  | "stream_idle_after_response"
  | "max_connection_duration"
  | "redirect"
  | "direct_response"
  | "backend_unresolved"
  | "jwt_denied"
  | "rbac_denied"
  | "ext_authz_denied"
  | "ext_authz_error"
  | "fault_abort"
  | "cors_preflight"
  | "per_try_timeout"
  | "response_timeout_after_response"
  | "grpc_web_bad_base64"
  | "grpc_web_bad_base64_size"
  | "upgrade_failed";

/** code → row. Statuses 3xx/2xx of redirect/direct_response are the route's (Decision.status overrides). */
export const REPLIES: { readonly [K in ReplyCode]: ReplyRow } = {
  // --- decided by dispatch (the configuration) ---
  no_route: row("no_route", 404, "NR", "route_not_found", "", "internal", false),
  /**
   * A path that does not start with `/` (`OPTIONS *`, the only one the parsers let through besides
   * CONNECT): Envoy's connection manager answers 404 before any filter or route ("we only support
   * relative paths"), so it never reaches an upstream.
   */
  absolute_path: row("absolute_path", 404, "-", "absolute_path_rejected", "", "downstream", false),
  /** The TLS server this connection handshook with does not serve the Host (HTTP/2 connection reuse); gangway's, Envoy answers 404 there. */
  misdirected: row("misdirected", 421, "-", "misdirected_request", "", "downstream", false),
  cluster_not_found: row("cluster_not_found", 503, "NC", "cluster_not_found", "", "internal", false),
  no_healthy_upstream: row("no_healthy_upstream", 503, "UH", "no_healthy_upstream", "no healthy upstream", "upstream", false),
  redirect: row("redirect", 301, "-", "redirect", "", "internal", false),
  direct_response: row("direct_response", 200, "-", "direct_response", "", "internal", false),
  /** A Gateway API backendRef that does not resolve (the spec: its share of requests gets 500). */
  backend_unresolved: row("backend_unresolved", 500, "-", "direct_response", "", "internal", false),
  /** A route's fault abort (Envoy's fault filter); the status is the route's (Decision.status). */
  fault_abort: row("fault_abort", 503, "FI", "fault_filter_abort", "fault filter abort", "internal", false),
  /** A CORS preflight answered by the gateway (Envoy's CORS filter): 200, no body. */
  cors_preflight: row("cors_preflight", 200, "-", "cors_response", "", "internal", false),
  // --- upstream failures (the worker, while forwarding) ---
  /** Circuit breaker overflow: a connectionPool limit reached (connections, pending or in-flight requests; a TCP session over maxConnections). */
  upstream_overflow: row("upstream_overflow", 503, "UO", "upstream_reset_before_response_started{overflow}", RESET + "overflow", "upstream", true),
  connect_failure: row("connect_failure", 503, "UF", "upstream_reset_before_response_started{connection_failure}", RESET + "connection failure", "upstream", true),
  connect_timeout: row("connect_timeout", 504, "UF", "upstream_reset_before_response_started{connection_timeout}", RESET + "connection timeout", "upstream", true),
  upstream_reset_before_response: row(
    "upstream_reset_before_response",
    503,
    "UC",
    "upstream_reset_before_response_started{connection_termination}",
    RESET + "connection termination",
    "upstream",
    true,
  ),
  upstream_protocol_error: row("upstream_protocol_error", 502, "UPE", "upstream_reset_before_response_started{protocol_error}", RESET + "protocol error", "upstream", false),
  upstream_reset_after_response: row("upstream_reset_after_response", 0, "UC", "upstream_reset_after_response_started{connection_termination}", "", "upstream", false),
  upstream_protocol_error_after_response: row("upstream_protocol_error_after_response", 0, "UPE", "upstream_reset_after_response_started{protocol_error}", "", "upstream", false),
  response_timeout: row("response_timeout", 504, "UT", "response_timeout", "upstream request timeout", "upstream", true),
  /** The retry policy's per-try timeout fired before a response head (retried when the policy says so). */
  per_try_timeout: row("per_try_timeout", 504, "UT", "upstream_per_try_timeout", "upstream request timeout", "upstream", true),
  /** The route timeout fired while the response body streamed: the client's stream is reset. */
  response_timeout_after_response: row("response_timeout_after_response", 0, "UT", "response_timeout", "", "upstream", false),
  // --- downstream (the client's request) ---
  bad_request: row("bad_request", 400, "DPE", "http1.codec_error", "", "downstream", false),
  /** Request head over 60 KiB or too many fields (Envoy: max_request_headers_kb / _count). */
  header_too_large: row("header_too_large", 431, "DPE", "http1.codec_error", "", "downstream", false),
  http_version: row("http_version", 505, "DPE", "http1.codec_error", "", "downstream", false),
  /**
   * An HTTP/1.1 upgrade to a protocol other than WebSocket (h2c aside) on a routed request: Envoy's
   * connection manager answers 403 with no body and closes the connection (the upgrade's payload
   * could hide a request).
   */
  upgrade_failed: row("upgrade_failed", 403, "-", "upgrade_failed", "", "downstream", false),
  /** A grpc-web-text body that is not base64 (Envoy's grpc_web filter; no flag). */
  grpc_web_bad_base64: row("grpc_web_bad_base64", 400, "-", "grpc_base_64_decode_failed", "Bad gRPC-web request, invalid base64 data.", "downstream", false),
  /** A grpc-web-text body ending inside a base64 group (Envoy: padding is mandatory). */
  grpc_web_bad_base64_size: row("grpc_web_bad_base64_size", 400, "-", "grpc_base_64_decode_failed_bad_size", "Bad gRPC-web request, invalid base64 data.", "downstream", false),
  /** The request body's framing broke (bad chunk) before the response started. */
  bad_body: row("bad_body", 400, "DPE", "http1.codec_error", "", "downstream", false),
  downstream_disconnect: row("downstream_disconnect", 0, "DC", "downstream_remote_disconnect", "", "downstream", false),
  // --- security (src/security, after dispatch; the worker gives the details: jwt status, matched policy) ---
  /** RequestAuthentication: a token that does not verify (403 for audiences); body: Envoy's jwt status. */
  jwt_denied: row("jwt_denied", 401, "-", "jwt_authn_access_denied", "", "downstream", false),
  /** AuthorizationPolicy DENY matched, or no ALLOW policy matched (or a policy that fails closed). */
  rbac_denied: row("rbac_denied", 403, "-", "rbac_access_denied_matched_policy[none]", "RBAC: access denied", "downstream", false),
  /** CUSTOM: the ext_authz provider denied; status, body and headers are the provider's. */
  ext_authz_denied: row("ext_authz_denied", 403, "UAEX", "ext_authz_denied", "", "downstream", false),
  /** CUSTOM: the provider failed (refused, timeout, 5xx) and failOpen is off: statusOnError. */
  ext_authz_error: row("ext_authz_error", 403, "UAEX", "ext_authz_error", "", "internal", false),
  // --- timeouts (workers/http/timeouts.ts; Envoy's HTTP connection manager) ---
  /** The request head did not complete within --request-headers-timeout (Envoy sets no flag). */
  request_header_timeout: row("request_header_timeout", 408, "-", "request_header_timeout", "request header timeout", "downstream", false),
  /** --stream-idle-timeout while the request was still coming (a silent slow POST): 408, as Envoy's maybeRequestTimeoutCode. */
  stream_idle_request: row("stream_idle_request", 408, "SI", "stream_idle_timeout", "stream timeout", "downstream", false),
  /** --stream-idle-timeout with the request complete, waiting for the upstream's response head: 504. */
  stream_idle_response: row("stream_idle_response", 504, "SI", "stream_idle_timeout", "stream timeout", "upstream", false),
  /** --stream-idle-timeout after the response started (upstream stalled mid-body, or a client that does not read): reset. */
  stream_idle_after_response: row("stream_idle_after_response", 0, "SI", "stream_idle_timeout", "", "upstream", false),
  /** --max-connection-duration reached and --drain-timeout passed with the exchange still running: reset. */
  max_connection_duration: row("max_connection_duration", 0, "-", "max_connection_duration", "", "internal", false),
};

/** The row for a codec status (400/431/505) from the request parser. */
export function codecReply(status: number): ReplyRow {
  return status === 431 ? REPLIES.header_too_large : status === 505 ? REPLIES.http_version : REPLIES.bad_request;
}

/** Why an upstream connection ended, as a typed value: the reply it leads to and the socket's error code (ECONNREFUSED…) for the log. */
export interface UpstreamFailure {
  readonly code: "connect_failure" | "connect_timeout" | "upstream_reset_before_response";
  /** errno-style code or "" (e.g. `ECONNREFUSED`); logged as the transport failure reason. */
  readonly errno: string;
}

/** Node/Bun errors → their errno code (ECONNREFUSED…), else the message. One copy for the workers. */
export function errCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code ?? String(e?.message ?? err);
}

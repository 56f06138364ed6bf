// The access-log part of a snapshot: where lines go, in which format, and for
// which requests (mesh config accessLogFile/Encoding/Format, Telemetry
// accessLogging, the --access-log/--log-format flags; src/compile/access-log.ts).
// Plain data: formats are compiled once per snapshot into parts (literal text or
// an operator), filters into a small expression tree; the workers only read them.

/**
 * Envoy command operators gangway produces; a Part's `op` is the index here.
 * The order is the workers' switch (workers/access-log-format.ts): append only.
 */
export const OPS = [
  "START_TIME",
  "REQ",
  "REQ_WITHOUT_QUERY",
  "RESP",
  "PROTOCOL",
  "RESPONSE_CODE",
  "RESPONSE_FLAGS",
  "RESPONSE_CODE_DETAILS",
  "CONNECTION_TERMINATION_DETAILS",
  "UPSTREAM_TRANSPORT_FAILURE_REASON",
  "BYTES_RECEIVED",
  "BYTES_SENT",
  "DURATION",
  "UPSTREAM_HOST",
  "UPSTREAM_CLUSTER",
  "UPSTREAM_CLUSTER_RAW",
  "UPSTREAM_LOCAL_ADDRESS",
  "UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
  "UPSTREAM_LOCAL_PORT",
  "UPSTREAM_REMOTE_ADDRESS",
  "UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
  "UPSTREAM_REMOTE_PORT",
  "DOWNSTREAM_LOCAL_ADDRESS",
  "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_LOCAL_PORT",
  "DOWNSTREAM_REMOTE_ADDRESS",
  "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_REMOTE_PORT",
  "REQUESTED_SERVER_NAME",
  "ROUTE_NAME",
  "HOSTNAME",
  /** An operator gangway cannot produce (a Warning at compile): always empty (`-`). */
  "EMPTY",
  "TRAILER",
  "DOWNSTREAM_PEER_SUBJECT",
  "DOWNSTREAM_PEER_ISSUER",
  "DOWNSTREAM_PEER_URI_SAN",
  "DOWNSTREAM_PEER_DNS_SAN",
  "DOWNSTREAM_PEER_IP_SAN",
  "DOWNSTREAM_PEER_EMAIL_SAN",
  "DOWNSTREAM_PEER_FINGERPRINT_256",
  "DOWNSTREAM_PEER_FINGERPRINT_1",
  "DOWNSTREAM_PEER_SERIAL",
  "DOWNSTREAM_PEER_CERT_V_START",
  "DOWNSTREAM_PEER_CERT_V_END",
  "DOWNSTREAM_LOCAL_SUBJECT",
  "DOWNSTREAM_LOCAL_URI_SAN",
  "DOWNSTREAM_LOCAL_DNS_SAN",
  "DOWNSTREAM_LOCAL_IP_SAN",
  "DOWNSTREAM_LOCAL_EMAIL_SAN",
  "DOWNSTREAM_TLS_VERSION",
  "DOWNSTREAM_TLS_CIPHER",
  "DOWNSTREAM_TLS_SESSION_ID",
  "RESPONSE_FLAGS_LONG",
  "GRPC_STATUS",
  "GRPC_STATUS_NUMBER",
] as const;

export type OpName = (typeof OPS)[number];
export const op = (name: OpName): number => OPS.indexOf(name);

/** One operator of a format: `%REQ(X?Y):N%` is op REQ, names [x, y], max N. */
export interface OpPart {
  op: number;
  /**
   * REQ / REQ_WITHOUT_QUERY / RESP / TRAILER: the header and its alternative, lower case;
   * START_TIME, DOWNSTREAM_PEER_CERT_V_START/_END: [its strftime format] or [].
   */
  names: string[];
  /** Longest value written (`:N`); -1: no limit. */
  max: number;
}

/** Literal text, or an operator. */
export type Part = string | OpPart;

/** A JSON format (Istio's `labels`, or a JSON accessLogFormat): an object of keys → values. */
export type JsonNode =
  | { k: "obj"; keys: string[]; vals: JsonNode[] }
  /** A value written as it is (a number, a boolean, null, a string without operators). */
  | { k: "const"; v: unknown }
  /** A string with operators; one operator alone keeps its type (a number stays a number, empty is null), as Envoy's typed JSON. */
  | { k: "fmt"; parts: Part[] };

export type LogFormat =
  /** Istio's default text format (workers/access-log.ts formatText: the per-request fast path). */
  | { kind: "text-default" }
  /** Istio's default JSON keys (formatJson). */
  | { kind: "json-default" }
  | { kind: "text"; parts: Part[]; omitEmpty: boolean }
  | { kind: "json"; root: JsonNode; omitEmpty: boolean };

/** A filter expression (the CEL subset of src/compile/access-log-cel.ts). */
export type CelNode =
  | { k: "lit"; v: string | number | boolean | null }
  /** `duration('1.5s')` (milliseconds), `timestamp('2026-01-01T00:00:00Z')` (ms since the epoch). */
  | { k: "dur" | "time"; ms: number }
  /** `response.code`, `connection.mtls`, ... (CEL_ATTRS); a duration is a Dur, a time a Time (workers/access-log-filter.ts). */
  | { k: "attr"; name: string }
  /** `request.headers['x']` (the name lower case). */
  | { k: "header"; name: string }
  /** `response.headers['x']`, `response.trailers['x']` (the name lower case). */
  | { k: "respHeader" | "trailer"; name: string }
  /** `'x' in request.headers` */
  | { k: "hasHeader"; name: string }
  | { k: "not"; x: CelNode }
  | { k: "neg"; x: CelNode }
  | { k: "and" | "or"; a: CelNode; b: CelNode }
  | { k: "cmp"; op: "==" | "!=" | "<" | "<=" | ">" | ">="; a: CelNode; b: CelNode }
  | { k: "in"; a: CelNode; list: CelNode[] }
  | { k: "call"; fn: "startsWith" | "endsWith" | "contains"; target: CelNode; arg: CelNode }
  | { k: "cond"; c: CelNode; a: CelNode; b: CelNode };

export interface AccessLogSink {
  /** The provider (`envoy`, an extensionProviders name) or `meshConfig` / `--access-log`. */
  name: string;
  /** `stdout`, or a file path (appended to); `/dev/stdout` is stdout. */
  path: string;
  format: LogFormat;
  /** Write a line only when this is true (errors count as false, as Envoy's CEL filter); null: every line. */
  filter: CelNode | null;
}

export interface AccessLogConfig {
  /** No sink: no access log. */
  sinks: AccessLogSink[];
  /** What decided it, for dumps and logs: `flags`, `meshConfig`, `Telemetry/ns/name`, ... */
  source: string;
}

// Access-log formats (Envoy command operators) → parts, once per snapshot:
// `[%START_TIME%] "%REQ(:METHOD)%"` becomes ["[", START_TIME, "] \"", REQ(:method), "\""].
// An operator Envoy does not know is an Error (Envoy refuses the format, so the
// listener, as istiod would push it); one Envoy knows and gangway cannot produce
// is a Warning and writes `-`. Pure.
import { op, OPS, type JsonNode, type LogFormat, type OpName, type OpPart, type Part } from "../snapshot/access-log.ts";

export interface FormatProblem {
  level: "Error" | "Warning";
  message: string;
}

/** Istio's default text format (pilot/pkg/model/telemetry_logging.go EnvoyTextLogFormat; older releases say UPSTREAM_CLUSTER). */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  "%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";
const ISTIO_TEXT_FORMAT_OLD = ISTIO_TEXT_FORMAT.replace("%UPSTREAM_CLUSTER_RAW%", "%UPSTREAM_CLUSTER%");

/** Istio's default JSON keys (EnvoyJSONLogFormatIstio). */
export const ISTIO_JSON_FORMAT: Record<string, string> = {
  start_time: "%START_TIME%",
  route_name: "%ROUTE_NAME%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  response_code: "%RESPONSE_CODE%",
  response_flags: "%RESPONSE_FLAGS%",
  response_code_details: "%RESPONSE_CODE_DETAILS%",
  connection_termination_details: "%CONNECTION_TERMINATION_DETAILS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration: "%DURATION%",
  upstream_service_time: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
  user_agent: "%REQ(USER-AGENT)%",
  request_id: "%REQ(X-REQUEST-ID)%",
  authority: "%REQ(:AUTHORITY)%",
  upstream_host: "%UPSTREAM_HOST%",
  upstream_cluster: "%UPSTREAM_CLUSTER_RAW%",
  upstream_local_address: "%UPSTREAM_LOCAL_ADDRESS%",
  downstream_local_address: "%DOWNSTREAM_LOCAL_ADDRESS%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
  requested_server_name: "%REQUESTED_SERVER_NAME%",
  upstream_transport_failure_reason: "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
};

/**
 * Operators Envoy knows that gangway cannot produce: a Warning, and `-`.
 * (Envoy's substitution formatter and its formatter extensions, as of 1.3x.)
 */
const KNOWN_ELSEWHERE = new Set([
  "START_TIME_LOCAL", "EMIT_TIME", "EMIT_TIME_LOCAL", "REQUEST_DURATION", "REQUEST_TX_DURATION", "RESPONSE_DURATION",
  "RESPONSE_TX_DURATION", "DOWNSTREAM_HANDSHAKE_DURATION", "ROUNDTRIP_DURATION", "COMMON_DURATION",
  "UPSTREAM_CONNECTION_POOL_READY_DURATION", "BYTES_RETRANSMITTED", "PACKETS_RETRANSMITTED", "UPSTREAM_WIRE_BYTES_SENT",
  "UPSTREAM_WIRE_BYTES_RECEIVED", "UPSTREAM_HEADER_BYTES_SENT", "UPSTREAM_HEADER_BYTES_RECEIVED", "DOWNSTREAM_WIRE_BYTES_SENT",
  "DOWNSTREAM_WIRE_BYTES_RECEIVED", "DOWNSTREAM_HEADER_BYTES_SENT", "DOWNSTREAM_HEADER_BYTES_RECEIVED", "REQUEST_HEADERS_BYTES",
  "RESPONSE_HEADERS_BYTES", "RESPONSE_TRAILERS_BYTES", "UPSTREAM_REQUEST_ATTEMPT_COUNT", "UPSTREAM_CONNECTION_ID",
  "UPSTREAM_HOST_NAME", "UPSTREAM_HOST_NAME_WITHOUT_PORT", "UPSTREAM_PROTOCOL", "UPSTREAM_DETECTED_CLOSE_TYPE",
  "DOWNSTREAM_DETECTED_CLOSE_TYPE", "DOWNSTREAM_DIRECT_REMOTE_ADDRESS", "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_DIRECT_REMOTE_PORT", "DOWNSTREAM_DIRECT_LOCAL_ADDRESS", "DOWNSTREAM_DIRECT_LOCAL_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_DIRECT_LOCAL_PORT", "DOWNSTREAM_LOCAL_ADDRESS_ENDPOINT_ID", "DOWNSTREAM_TRANSPORT_FAILURE_REASON", "CONNECTION_ID",
  "STREAM_ID", "UNIQUE_ID", "VIRTUAL_CLUSTER_NAME", "FILTER_CHAIN_NAME", "ACCESS_LOG_TYPE", "LOCAL_REPLY_BODY", "TRACE_ID",
  "DYNAMIC_METADATA", "CLUSTER_METADATA", "UPSTREAM_METADATA", "FILTER_STATE", "UPSTREAM_FILTER_STATE", "METADATA", "CEL",
  "QUERY_PARAM", "PATH", "CUSTOM_FLAGS", "UPSTREAM_PEER_SUBJECT", "UPSTREAM_PEER_ISSUER", "UPSTREAM_TLS_SESSION_ID",
  "UPSTREAM_TLS_CIPHER", "UPSTREAM_TLS_VERSION", "UPSTREAM_PEER_CERT", "UPSTREAM_PEER_CERT_V_START", "UPSTREAM_PEER_CERT_V_END",
  "UPSTREAM_PEER_URI_SAN", "UPSTREAM_PEER_DNS_SAN", "UPSTREAM_PEER_IP_SAN", "UPSTREAM_LOCAL_URI_SAN", "UPSTREAM_LOCAL_DNS_SAN",
  "UPSTREAM_LOCAL_IP_SAN", "UPSTREAM_LOCAL_SUBJECT", "DOWNSTREAM_PEER_OTHERNAME_SAN", "DOWNSTREAM_LOCAL_OTHERNAME_SAN",
  "DOWNSTREAM_PEER_CERT", "DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_256", "DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_1",
  "DOWNSTREAM_PEER_CHAIN_SERIALS", "TLS_JA3_FINGERPRINT", "TLS_JA4_FINGERPRINT", "UPSTREAM_LOCAL_CLOSE_REASON",
  "DOWNSTREAM_LOCAL_CLOSE_REASON",
]);

/** Operators that take `(args)`; the others take none, but for those of TIME_ARG. */
const WITH_ARGS = new Set(["REQ", "REQ_WITHOUT_QUERY", "RESP", "TRAILER", "ENVIRONMENT"]);
const HEADER_OPS = new Set(["REQ", "REQ_WITHOUT_QUERY", "RESP", "TRAILER"]);
/** Envoy 1.37's full names for the header operators. */
const ALIASES: Record<string, string> = { REQUEST_HEADER: "REQ", RESPONSE_HEADER: "RESP", RESPONSE_TRAILER: "TRAILER" };
/** A time, with an optional strftime format. */
const TIME_ARG = new Set(["START_TIME", "DOWNSTREAM_PEER_CERT_V_START", "DOWNSTREAM_PEER_CERT_V_END"]);

const NAME_CHAR = /[A-Z0-9_]/;

/**
 * Parse an Envoy format string: literal text and `%OP%`, `%OP(args)%`,
 * `%OP(args):N%`; `%%` is a `%`. `env` reads ENVIRONMENT(X) (as Envoy, once, at
 * configuration time).
 */
export function parseFormat(text: string, env: (name: string) => string | undefined = (n) => process.env[n]): { parts: Part[]; problems: FormatProblem[] } {
  const parts: Part[] = [];
  const problems: FormatProblem[] = [];
  let lit = "";
  const flush = () => {
    if (lit !== "") parts.push(lit);
    lit = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== "%") {
      lit += c;
      i++;
      continue;
    }
    if (text[i + 1] === "%") {
      lit += "%";
      i += 2;
      continue;
    }
    const start = i;
    let j = i + 1;
    while (j < text.length && NAME_CHAR.test(text[j]!)) j++;
    const name = ALIASES[text.slice(i + 1, j)] ?? text.slice(i + 1, j);
    let args: string | null = null;
    if (text[j] === "(") {
      const close = text.indexOf(")", j);
      if (close < 0) {
        problems.push({ level: "Error", message: `unterminated command operator at position ${start}: ${JSON.stringify(text.slice(start, start + 40))}` });
        return { parts, problems };
      }
      args = text.slice(j + 1, close);
      j = close + 1;
    }
    let max = -1;
    if (text[j] === ":" && /[0-9]/.test(text[j + 1] ?? "")) {
      let k = j + 1;
      while (k < text.length && /[0-9]/.test(text[k]!)) k++;
      max = Number(text.slice(j + 1, k));
      j = k;
    }
    if (name === "" || text[j] !== "%") {
      problems.push({ level: "Error", message: `not a command operator at position ${start}: ${JSON.stringify(text.slice(start, start + 40))} (write %% for a literal %)` });
      return { parts, problems };
    }
    i = j + 1;
    const written = text.slice(start, i);
    const known = OPS.includes(name as OpName) && name !== "EMPTY";
    if (!known && !KNOWN_ELSEWHERE.has(name) && name !== "ENVIRONMENT") {
      problems.push({ level: "Error", message: `${written}: ${name} is not an Envoy command operator (Envoy refuses the format)` });
      continue;
    }
    if (WITH_ARGS.has(name) && (args === null || args === "")) {
      problems.push({ level: "Error", message: `${written}: ${name} needs an argument, e.g. %${name}(X-REQUEST-ID)%` });
      continue;
    }
    if (!WITH_ARGS.has(name) && args !== null && !TIME_ARG.has(name) && known) {
      problems.push({ level: "Error", message: `${written}: ${name} takes no argument` });
      continue;
    }
    if (name === "ENVIRONMENT") {
      lit += truncate(env(args!) ?? "-", max);
      continue;
    }
    let names: string[] = [];
    if (HEADER_OPS.has(name)) {
      names = args!.split("?").map((h) => h.trim().toLowerCase());
      if (names.length > 2 || names.some((h) => h === "")) {
        problems.push({ level: "Error", message: `${written}: expected ${name}(HEADER) or ${name}(HEADER?ALTERNATIVE)` });
        continue;
      }
    } else if (TIME_ARG.has(name) && args !== null) names = [args];
    flush();
    if (!known) {
      problems.push({ level: "Warning", message: `${written}: gangway does not produce it; it writes -` });
      parts.push({ op: op("EMPTY"), names: [], max: -1 });
      continue;
    }
    parts.push({ op: op(name as OpName), names, max } satisfies OpPart);
  }
  flush();
  return { parts, problems };
}

function truncate(v: string, max: number): string {
  return max >= 0 && v.length > max ? v.slice(0, max) : v;
}

/** Istio adds a newline to a text format without one. */
function withNewline(text: string): string {
  return text.endsWith("\n") ? text : text + "\n";
}

/** A text format: "" is Istio's default. */
export function compileTextFormat(text: string, omitEmpty = false): { format: LogFormat; problems: FormatProblem[] } {
  const t = text === "" ? ISTIO_TEXT_FORMAT : withNewline(text);
  if (!omitEmpty && (t === ISTIO_TEXT_FORMAT || t === ISTIO_TEXT_FORMAT_OLD)) return { format: { kind: "text-default" }, problems: [] };
  const { parts, problems } = parseFormat(t);
  return { format: { kind: "text", parts, omitEmpty }, problems };
}

function jsonNode(v: unknown, path: string, problems: FormatProblem[]): JsonNode {
  if (typeof v === "string") {
    if (!v.includes("%")) return { k: "const", v };
    const r = parseFormat(v);
    for (const p of r.problems) problems.push({ level: p.level, message: `${path}: ${p.message}` });
    return { k: "fmt", parts: r.parts };
  }
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    return { k: "obj", keys, vals: keys.map((k) => jsonNode((v as Record<string, unknown>)[k], `${path}.${k}`, problems)) };
  }
  return { k: "const", v: v === undefined ? null : v };
}

/** A JSON format: the keys and their values; null or {} is Istio's default keys. */
export function compileJsonFormat(labels: Record<string, unknown> | null, omitEmpty = false): { format: LogFormat; problems: FormatProblem[] } {
  if (labels === null || Object.keys(labels).length === 0) {
    if (!omitEmpty) return { format: { kind: "json-default" }, problems: [] };
    labels = ISTIO_JSON_FORMAT;
  }
  const problems: FormatProblem[] = [];
  const root = jsonNode(labels, "", problems);
  for (const p of problems) p.message = p.message.replace(/^\./, "");
  return { format: { kind: "json", root, omitEmpty }, problems };
}

/**
 * The mesh config's accessLogFormat for `encoding`: text as it is; JSON as a JSON
 * object of keys → operators (one that is not is a Warning and the default keys
 * are used, as istiod logs and does).
 */
export function compileMeshFormat(encoding: "TEXT" | "JSON", text: string): { format: LogFormat; problems: FormatProblem[] } {
  if (encoding === "TEXT") return compileTextFormat(text);
  if (text.trim() === "") return compileJsonFormat(null);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { format: { kind: "json-default" }, problems: [{ level: "Warning", message: `accessLogFormat is not a JSON object for JSON encoding (${String(err).split("\n")[0]}): Istio's default JSON keys are used, as istiod does` }] };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { format: { kind: "json-default" }, problems: [{ level: "Warning", message: "accessLogFormat is not a JSON object for JSON encoding: Istio's default JSON keys are used, as istiod does" }] };
  }
  return compileJsonFormat(parsed as Record<string, unknown>);
}

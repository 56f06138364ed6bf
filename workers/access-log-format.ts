// A compiled access-log format (src/snapshot/access-log.ts) written for one
// record: text (empty values `-`) or JSON (one operator alone keeps its type,
// empty is null). Istio's two default formats are not interpreted: they stay on
// access-log.ts's hand-written formatText / formatJson.
import { hostname } from "node:os";
import { OPS, type JsonNode, type LogFormat, type OpPart, type Part } from "../src/snapshot/access-log.ts";
import { formatJson, formatText, isoTime, type AccessRecord } from "./access-log-line.ts";
import { grpcName, grpcStatus, longFlags, responseHeader } from "./access-log-response.ts";
import { localCert, peerCert, tlsCipher, tlsSessionId, tlsVersion, type CertFacts, type TlsFactsSource } from "./tls/log-facts.ts";

const O = (name: (typeof OPS)[number]): number => OPS.indexOf(name);
const START_TIME = O("START_TIME");
const REQ = O("REQ");
const REQ_WITHOUT_QUERY = O("REQ_WITHOUT_QUERY");
const RESP = O("RESP");
const PROTOCOL = O("PROTOCOL");
const RESPONSE_CODE = O("RESPONSE_CODE");
const RESPONSE_FLAGS = O("RESPONSE_FLAGS");
const RESPONSE_CODE_DETAILS = O("RESPONSE_CODE_DETAILS");
const CONNECTION_TERMINATION_DETAILS = O("CONNECTION_TERMINATION_DETAILS");
const UPSTREAM_TRANSPORT_FAILURE_REASON = O("UPSTREAM_TRANSPORT_FAILURE_REASON");
const BYTES_RECEIVED = O("BYTES_RECEIVED");
const BYTES_SENT = O("BYTES_SENT");
const DURATION = O("DURATION");
const UPSTREAM_HOST = O("UPSTREAM_HOST");
const UPSTREAM_CLUSTER = O("UPSTREAM_CLUSTER");
const UPSTREAM_CLUSTER_RAW = O("UPSTREAM_CLUSTER_RAW");
const UPSTREAM_LOCAL_ADDRESS = O("UPSTREAM_LOCAL_ADDRESS");
const UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT = O("UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT");
const UPSTREAM_LOCAL_PORT = O("UPSTREAM_LOCAL_PORT");
const UPSTREAM_REMOTE_ADDRESS = O("UPSTREAM_REMOTE_ADDRESS");
const UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT = O("UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT");
const UPSTREAM_REMOTE_PORT = O("UPSTREAM_REMOTE_PORT");
const DOWNSTREAM_LOCAL_ADDRESS = O("DOWNSTREAM_LOCAL_ADDRESS");
const DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT = O("DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT");
const DOWNSTREAM_LOCAL_PORT = O("DOWNSTREAM_LOCAL_PORT");
const DOWNSTREAM_REMOTE_ADDRESS = O("DOWNSTREAM_REMOTE_ADDRESS");
const DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT = O("DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT");
const DOWNSTREAM_REMOTE_PORT = O("DOWNSTREAM_REMOTE_PORT");
const REQUESTED_SERVER_NAME = O("REQUESTED_SERVER_NAME");
const ROUTE_NAME = O("ROUTE_NAME");
const HOSTNAME = O("HOSTNAME");
const TRAILER = O("TRAILER");
const DOWNSTREAM_PEER_SUBJECT = O("DOWNSTREAM_PEER_SUBJECT");
const DOWNSTREAM_PEER_ISSUER = O("DOWNSTREAM_PEER_ISSUER");
const DOWNSTREAM_PEER_URI_SAN = O("DOWNSTREAM_PEER_URI_SAN");
const DOWNSTREAM_PEER_DNS_SAN = O("DOWNSTREAM_PEER_DNS_SAN");
const DOWNSTREAM_PEER_IP_SAN = O("DOWNSTREAM_PEER_IP_SAN");
const DOWNSTREAM_PEER_EMAIL_SAN = O("DOWNSTREAM_PEER_EMAIL_SAN");
const DOWNSTREAM_PEER_FINGERPRINT_256 = O("DOWNSTREAM_PEER_FINGERPRINT_256");
const DOWNSTREAM_PEER_FINGERPRINT_1 = O("DOWNSTREAM_PEER_FINGERPRINT_1");
const DOWNSTREAM_PEER_SERIAL = O("DOWNSTREAM_PEER_SERIAL");
const DOWNSTREAM_PEER_CERT_V_START = O("DOWNSTREAM_PEER_CERT_V_START");
const DOWNSTREAM_PEER_CERT_V_END = O("DOWNSTREAM_PEER_CERT_V_END");
const DOWNSTREAM_LOCAL_SUBJECT = O("DOWNSTREAM_LOCAL_SUBJECT");
const DOWNSTREAM_LOCAL_URI_SAN = O("DOWNSTREAM_LOCAL_URI_SAN");
const DOWNSTREAM_LOCAL_DNS_SAN = O("DOWNSTREAM_LOCAL_DNS_SAN");
const DOWNSTREAM_LOCAL_IP_SAN = O("DOWNSTREAM_LOCAL_IP_SAN");
const DOWNSTREAM_LOCAL_EMAIL_SAN = O("DOWNSTREAM_LOCAL_EMAIL_SAN");
const DOWNSTREAM_TLS_VERSION = O("DOWNSTREAM_TLS_VERSION");
const DOWNSTREAM_TLS_CIPHER = O("DOWNSTREAM_TLS_CIPHER");
const DOWNSTREAM_TLS_SESSION_ID = O("DOWNSTREAM_TLS_SESSION_ID");
const RESPONSE_FLAGS_LONG = O("RESPONSE_FLAGS_LONG");
const GRPC_STATUS = O("GRPC_STATUS");
const GRPC_STATUS_NUMBER = O("GRPC_STATUS_NUMBER");

const HOST = hostname();

/** "" and "-" (a field's "none") are empty. */
function s(v: string): string | null {
  return v === "" || v === "-" ? null : v;
}

/** `1.2.3.4:80` → `1.2.3.4`, `[::1]:80` → `::1`. */
export function withoutPort(a: string): string | null {
  if (a === "") return null;
  if (a.startsWith("[")) {
    const e = a.indexOf("]");
    return e < 0 ? a : a.slice(1, e);
  }
  const c = a.lastIndexOf(":");
  return c < 0 ? a : a.slice(0, c);
}

export function portOf(a: string): number | null {
  const c = a.lastIndexOf(":");
  if (c < 0 || a.endsWith("]")) return null;
  const n = Number(a.slice(c + 1));
  return Number.isInteger(n) ? n : null;
}

/** A request header as the record has it: the fields the default format reads first (the values forwarded), then the head. */
export function requestHeader(r: AccessRecord, name: string): string | null {
  switch (name) {
    case ":method":
      return s(r.method);
    case ":path":
    case "x-envoy-original-path":
      return s(r.logPath);
    case ":authority":
    case "host":
      return s(r.authority);
    case "x-forwarded-for":
      return s(r.xff);
    case "user-agent":
      return s(r.userAgent);
    case "x-request-id":
      return s(r.requestId);
    case ":protocol":
      return null;
  }
  const v = r.reqHeader?.(name);
  return v === undefined || v === "" ? null : v;
}

function header(r: AccessRecord, p: OpPart): string | null {
  const n = p.names;
  // X-ENVOY-ORIGINAL-PATH?:PATH: the original path (what logPath is)
  let v = requestHeader(r, n[0]!);
  if (v === null && n.length > 1) v = requestHeader(r, n[1]!);
  return v;
}

function respHeader(r: AccessRecord, p: OpPart): string | null {
  const v = responseHeader(r, p.names[0]!);
  return v === null && p.names.length > 1 ? responseHeader(r, p.names[1]!) : v;
}

function trailer(r: AccessRecord, p: OpPart): string | null {
  let v = r.respTrailer?.(p.names[0]!) ?? null;
  if ((v === null || v === "") && p.names.length > 1) v = r.respTrailer?.(p.names[1]!) ?? null;
  return v === "" ? null : v;
}

function tlsOf(r: AccessRecord): TlsFactsSource | null {
  return r.downstreamTls ?? null;
}

function cert(r: AccessRecord, peer: boolean): CertFacts | null {
  const t = r.downstreamTls;
  if (t === undefined || t === null) return null;
  return peer ? peerCert(t) : localCert(t);
}

function e(v: string | undefined): string | null {
  return v === undefined || v === "" ? null : v;
}

function clip(v: string | null, max: number): string | null {
  return v !== null && max >= 0 && v.length > max ? v.slice(0, max) : v;
}

/** One operator's value for `r`: a string, a number, or null (empty). */
export function opValue(p: OpPart, r: AccessRecord): string | number | null {
  const o = p.op;
  switch (o) {
    case START_TIME:
      return p.names.length === 0 ? isoTime(r.startMs) : strftime(p.names[0]!, r.startMs);
    case REQ:
      return clip(header(r, p), p.max);
    case REQ_WITHOUT_QUERY: {
      const v = header(r, p);
      const q = v === null ? -1 : v.indexOf("?");
      return clip(q < 0 ? v : v!.slice(0, q), p.max);
    }
    case RESP:
      return clip(respHeader(r, p), p.max);
    case TRAILER:
      return clip(trailer(r, p), p.max);
    case PROTOCOL:
      return s(r.protocol);
    case RESPONSE_CODE:
      return r.status;
    case RESPONSE_FLAGS:
      return s(r.flags);
    case RESPONSE_CODE_DETAILS:
      return s(r.details);
    case CONNECTION_TERMINATION_DETAILS:
      return s(r.termination);
    case UPSTREAM_TRANSPORT_FAILURE_REASON:
      return s(r.transportFailure);
    case BYTES_RECEIVED:
      return r.bytesReceived;
    case BYTES_SENT:
      return r.bytesSent;
    case DURATION:
      return r.durationMs;
    case UPSTREAM_HOST:
    case UPSTREAM_REMOTE_ADDRESS:
      return s(r.upstreamHost);
    case UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT:
      return withoutPort(r.upstreamHost);
    case UPSTREAM_REMOTE_PORT:
      return portOf(r.upstreamHost);
    case UPSTREAM_CLUSTER:
    case UPSTREAM_CLUSTER_RAW:
      return s(r.upstreamCluster);
    case UPSTREAM_LOCAL_ADDRESS:
      return s(r.upstreamLocal);
    case UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT:
      return withoutPort(r.upstreamLocal);
    case UPSTREAM_LOCAL_PORT:
      return portOf(r.upstreamLocal);
    case DOWNSTREAM_LOCAL_ADDRESS:
      return s(r.downstreamLocal);
    case DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT:
      return withoutPort(r.downstreamLocal);
    case DOWNSTREAM_LOCAL_PORT:
      return portOf(r.downstreamLocal);
    case DOWNSTREAM_REMOTE_ADDRESS:
      return s(r.downstreamRemote);
    case DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT:
      return withoutPort(r.downstreamRemote);
    case DOWNSTREAM_REMOTE_PORT:
      return portOf(r.downstreamRemote);
    case REQUESTED_SERVER_NAME:
      return s(r.sni);
    case ROUTE_NAME:
      return s(r.routeName);
    case HOSTNAME:
      return HOST;
    case RESPONSE_FLAGS_LONG:
      return longFlags(r.flags);
    case GRPC_STATUS_NUMBER:
      return grpcStatus(r);
    case GRPC_STATUS: {
      const g = grpcStatus(r);
      return g === null ? null : grpcName(g);
    }
    case DOWNSTREAM_TLS_VERSION: {
      const t = tlsOf(r);
      return t === null ? null : e(tlsVersion(t));
    }
    case DOWNSTREAM_TLS_CIPHER: {
      const t = tlsOf(r);
      return t === null ? null : e(tlsCipher(t));
    }
    case DOWNSTREAM_TLS_SESSION_ID: {
      const t = tlsOf(r);
      return t === null ? null : e(tlsSessionId(t));
    }
    case DOWNSTREAM_PEER_SUBJECT:
      return clip(e(cert(r, true)?.subject), p.max);
    case DOWNSTREAM_PEER_ISSUER:
      return clip(e(cert(r, true)?.issuer), p.max);
    case DOWNSTREAM_PEER_URI_SAN:
      return clip(e(cert(r, true)?.uriSan), p.max);
    case DOWNSTREAM_PEER_DNS_SAN:
      return clip(e(cert(r, true)?.dnsSan), p.max);
    case DOWNSTREAM_PEER_IP_SAN:
      return clip(e(cert(r, true)?.ipSan), p.max);
    case DOWNSTREAM_PEER_EMAIL_SAN:
      return clip(e(cert(r, true)?.emailSan), p.max);
    case DOWNSTREAM_PEER_FINGERPRINT_256:
      return e(cert(r, true)?.sha256);
    case DOWNSTREAM_PEER_FINGERPRINT_1:
      return e(cert(r, true)?.sha1);
    case DOWNSTREAM_PEER_SERIAL:
      return e(cert(r, true)?.serial);
    case DOWNSTREAM_PEER_CERT_V_START:
    case DOWNSTREAM_PEER_CERT_V_END: {
      const c = cert(r, true);
      if (c === null) return null;
      const ms = o === DOWNSTREAM_PEER_CERT_V_START ? c.notBeforeMs : c.notAfterMs;
      if (!Number.isFinite(ms)) return null;
      return p.names.length === 0 ? new Date(ms).toISOString() : strftime(p.names[0]!, ms);
    }
    case DOWNSTREAM_LOCAL_SUBJECT:
      return clip(e(cert(r, false)?.subject), p.max);
    case DOWNSTREAM_LOCAL_URI_SAN:
      return clip(e(cert(r, false)?.uriSan), p.max);
    case DOWNSTREAM_LOCAL_DNS_SAN:
      return clip(e(cert(r, false)?.dnsSan), p.max);
    case DOWNSTREAM_LOCAL_IP_SAN:
      return clip(e(cert(r, false)?.ipSan), p.max);
    case DOWNSTREAM_LOCAL_EMAIL_SAN:
      return clip(e(cert(r, false)?.emailSan), p.max);
    default:
      return null; // EMPTY: an operator gangway cannot produce (a Warning at compile)
  }
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

/**
 * START_TIME(format): Envoy's strftime in UTC, with `%s` (seconds since the epoch)
 * and `%f`/`%1f`…`%9f` (fractions of the second); a specifier not listed here is
 * written as it is.
 */
export function strftime(fmt: string, ms: number): string {
  const d = new Date(ms);
  let out = "";
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== "%" || i + 1 >= fmt.length) {
      out += c;
      continue;
    }
    let n = fmt[++i]!;
    let digits = 9;
    if (n >= "1" && n <= "9" && fmt[i + 1] === "f") {
      digits = Number(n);
      n = fmt[++i]!;
    }
    switch (n) {
      case "Y": out += pad(d.getUTCFullYear(), 4); break;
      case "m": out += pad(d.getUTCMonth() + 1, 2); break;
      case "d": out += pad(d.getUTCDate(), 2); break;
      case "H": out += pad(d.getUTCHours(), 2); break;
      case "M": out += pad(d.getUTCMinutes(), 2); break;
      case "S": out += pad(d.getUTCSeconds(), 2); break;
      case "s": out += String(Math.floor(ms / 1000)); break;
      case "f": out += (pad(d.getUTCMilliseconds(), 3) + "000000").slice(0, digits); break;
      case "z": out += "+0000"; break;
      case "Z": out += "UTC"; break;
      case "%": out += "%"; break;
      default: out += "%" + n;
    }
  }
  return out;
}

export function renderText(parts: Part[], omitEmpty: boolean, r: AccessRecord): string {
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (typeof p === "string") out += p;
    else {
      const v = opValue(p, r);
      out += v === null ? (omitEmpty ? "" : "-") : v;
    }
  }
  return out;
}

function jsonValue(n: JsonNode, omitEmpty: boolean, r: AccessRecord): unknown {
  switch (n.k) {
    case "const":
      return n.v;
    case "fmt": {
      const ps = n.parts;
      if (ps.length === 1 && typeof ps[0] !== "string") return opValue(ps[0]!, r);
      let out = "";
      for (let i = 0; i < ps.length; i++) {
        const p = ps[i]!;
        if (typeof p === "string") out += p;
        else {
          const v = opValue(p, r);
          out += v === null ? (omitEmpty ? "" : "-") : v;
        }
      }
      return out;
    }
    case "obj": {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n.keys.length; i++) {
        const v = jsonValue(n.vals[i]!, omitEmpty, r);
        if (omitEmpty && (v === null || v === "")) continue;
        o[n.keys[i]!] = v;
      }
      return o;
    }
  }
}

export function renderJson(root: JsonNode, omitEmpty: boolean, r: AccessRecord): string {
  return JSON.stringify(jsonValue(root, omitEmpty, r)) + "\n";
}

/**
 * Parts as alternating literals and operators: lits[0] op[0] lits[1] op[1] … lits[n]
 * (adjacent literals joined, "" between adjacent operators), so a line is one loop of
 * `out += value + literal` without a type test per part (about half the time of
 * walking the parts).
 */
function split(parts: Part[]): { lits: string[]; ops: OpPart[] } {
  const lits: string[] = [""];
  const ops: OpPart[] = [];
  for (const p of parts) {
    if (typeof p === "string") lits[lits.length - 1] += p;
    else {
      ops.push(p);
      lits.push("");
    }
  }
  return { lits, ops };
}

function textWriter(parts: Part[], omitEmpty: boolean): (r: AccessRecord) => string {
  const { lits, ops } = split(parts);
  const empty = omitEmpty ? "" : "-";
  const n = ops.length;
  return (r) => {
    let out = lits[0]!;
    for (let i = 0; i < n; i++) {
      const v = opValue(ops[i]!, r);
      out += (v === null ? empty : v) + lits[i + 1]!;
    }
    return out;
  };
}

/** The line writer of a format: the default formats' hand-written ones, else an interpreter of the parts. */
export function formatterOf(f: LogFormat): (r: AccessRecord) => string {
  switch (f.kind) {
    case "text-default":
      return formatText;
    case "json-default":
      return formatJson;
    case "text":
      return textWriter(f.parts, f.omitEmpty);
    case "json": {
      const { root, omitEmpty } = f;
      return (r) => renderJson(root, omitEmpty, r);
    }
  }
}

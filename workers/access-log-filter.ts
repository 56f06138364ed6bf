// A Telemetry filter expression (src/compile/access-log-cel.ts) evaluated for
// one access-log record, as Envoy's CEL filter: a line is written only when the
// expression is true; an error (an attribute the record does not have, such as
// response.code of a TCP connection or a header that is not there, or types
// that do not compare) counts as false. `&&` and `||` absorb an error when the
// other side decides, as CEL's do.
import type { CelNode } from "../src/snapshot/access-log.ts";
import type { AccessRecord } from "./access-log-line.ts";
import { portOf, requestHeader, withoutPort } from "./access-log-format.ts";
import { flagBits, grpcStatus, responseHeader } from "./access-log-response.ts";
import { localCert, peerCert, tlsVersion, type CertFacts } from "./tls/log-facts.ts";

/** A CEL duration, in milliseconds. */
export class Dur {
  constructor(readonly ms: number) {}
}
/** A CEL timestamp, in milliseconds since the epoch. */
export class Time {
  constructor(readonly ms: number) {}
}

type Val = string | number | boolean | null | Dur | Time;
/** An evaluation error. */
const ERR: unique symbol = Symbol("error");
type Res = Val | typeof ERR;

function str(v: string): Res {
  return v === "" || v === "-" ? ERR : v;
}

function certAttr(r: AccessRecord, peer: boolean, f: (c: CertFacts) => string): Res {
  const t = r.downstreamTls;
  if (t === undefined || t === null) return ERR;
  const c = peer ? peerCert(t) : localCert(t);
  return c === null ? ERR : str(f(c));
}

function attr(name: string, r: AccessRecord): Res {
  switch (name) {
    case "request.time":
      return new Time(r.startMs);
    case "request.duration":
      return new Dur(r.durationMs);
    case "request.size":
      return r.method === "" ? ERR : r.bytesReceived;
    case "request.query": {
      if (r.method === "") return ERR;
      const q = r.logPath.indexOf("?");
      return q < 0 ? "" : r.logPath.slice(q + 1);
    }
    case "request.referer":
      return r.method === "" ? ERR : (requestHeader(r, "referer") ?? ERR);
    case "response.flags":
      return flagBits(r.flags);
    case "response.grpc_status":
      return grpcStatus(r) ?? ERR;
    case "response.size":
      return r.method === "" ? ERR : r.bytesSent;
    case "response.backend_latency":
      return r.upstreamServiceTime < 0 ? ERR : new Dur(r.upstreamServiceTime);
    case "connection.tls_version": {
      const t = r.downstreamTls;
      return t === undefined || t === null ? ERR : str(tlsVersion(t));
    }
    case "connection.subject_peer_certificate":
      return certAttr(r, true, (c) => c.subject);
    case "connection.subject_local_certificate":
      return certAttr(r, false, (c) => c.subject);
    case "connection.uri_san_peer_certificate":
      return certAttr(r, true, (c) => c.uriSan.split(",")[0]!);
    case "connection.uri_san_local_certificate":
      return certAttr(r, false, (c) => c.uriSan.split(",")[0]!);
    case "connection.dns_san_peer_certificate":
      return certAttr(r, true, (c) => c.dnsSan.split(",")[0]!);
    case "connection.dns_san_local_certificate":
      return certAttr(r, false, (c) => c.dnsSan.split(",")[0]!);
    case "connection.sha256_peer_certificate_digest":
      return certAttr(r, true, (c) => c.sha256);
    case "upstream.local_address":
      return str(r.upstreamLocal);
    case "upstream.transport_failure_reason":
      return str(r.transportFailure);
    case "request.method":
      return str(r.method);
    case "request.path":
      return str(r.logPath);
    case "request.url_path": {
      const p = r.logPath;
      if (p === "") return ERR;
      const q = p.indexOf("?");
      return q < 0 ? p : p.slice(0, q);
    }
    case "request.host":
      return str(r.authority);
    case "request.scheme":
      return r.method === "" ? ERR : (r.reqHeader?.(":scheme") ?? ERR);
    case "request.protocol":
      return r.method === "" ? ERR : str(r.protocol);
    case "request.id":
      return str(r.requestId);
    case "request.useragent":
      return str(r.userAgent);
    case "response.code":
      return r.status === 0 ? ERR : r.status;
    case "response.code_details":
      return str(r.details);
    case "connection.mtls":
      return r.mtls === true;
    case "connection.requested_server_name":
      return r.sni;
    case "connection.termination_details":
      return str(r.termination);
    case "source.address":
      return withoutPort(r.downstreamRemote) ?? ERR;
    case "source.port":
      return portOf(r.downstreamRemote) ?? ERR;
    case "destination.address":
      return withoutPort(r.downstreamLocal) ?? ERR;
    case "destination.port":
      return portOf(r.downstreamLocal) ?? ERR;
    case "upstream.address":
      return withoutPort(r.upstreamHost) ?? ERR;
    case "upstream.port":
      return portOf(r.upstreamHost) ?? ERR;
    case "xds.route_name":
      return str(r.routeName);
    case "xds.cluster_name":
      return str(r.upstreamCluster);
  }
  return ERR;
}

function cmp(op: string, a: Res, b: Res): Res {
  if (a === ERR || b === ERR) return ERR;
  if (a instanceof Dur || a instanceof Time || b instanceof Dur || b instanceof Time) {
    // durations with durations, times with times (CEL has no other comparison for them)
    if (!((a instanceof Dur && b instanceof Dur) || (a instanceof Time && b instanceof Time))) return op === "!=" ? true : op === "==" ? false : ERR;
    a = a.ms;
    b = b.ms;
  }
  if (op === "==" || op === "!=") {
    const eq = typeof a === typeof b && a === b;
    return op === "==" ? eq : !eq;
  }
  if (typeof a !== typeof b || (typeof a !== "number" && typeof a !== "string")) return ERR;
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

export function evaluate(n: CelNode, r: AccessRecord): Res {
  switch (n.k) {
    case "lit":
      return n.v;
    case "dur":
      return new Dur(n.ms);
    case "time":
      return new Time(n.ms);
    case "respHeader":
      return r.method === "" ? ERR : (responseHeader(r, n.name) ?? ERR);
    case "trailer": {
      if (r.method === "") return ERR;
      const v = r.respTrailer?.(n.name);
      return v === undefined || v === null || v === "" ? ERR : v;
    }
    case "attr":
      return attr(n.name, r);
    case "header":
      return r.method === "" ? ERR : (requestHeader(r, n.name) ?? ERR);
    case "hasHeader":
      return r.method === "" ? ERR : requestHeader(r, n.name) !== null;
    case "not": {
      const x = evaluate(n.x, r);
      return typeof x === "boolean" ? !x : ERR;
    }
    case "neg": {
      const x = evaluate(n.x, r);
      return typeof x === "number" ? -x : ERR;
    }
    case "and": {
      const a = evaluate(n.a, r);
      if (a === false) return false;
      const b = evaluate(n.b, r);
      if (b === false) return false;
      return a === true && b === true ? true : ERR;
    }
    case "or": {
      const a = evaluate(n.a, r);
      if (a === true) return true;
      const b = evaluate(n.b, r);
      if (b === true) return true;
      return a === false && b === false ? false : ERR;
    }
    case "cmp":
      return cmp(n.op, evaluate(n.a, r), evaluate(n.b, r));
    case "in": {
      const a = evaluate(n.a, r);
      if (a === ERR) return ERR;
      for (const item of n.list) {
        const v = evaluate(item, r);
        if (v !== ERR && typeof v === typeof a && v === a) return true;
      }
      return false;
    }
    case "call": {
      const t = evaluate(n.target, r);
      const a = evaluate(n.arg, r);
      if (typeof t !== "string" || typeof a !== "string") return ERR;
      return n.fn === "startsWith" ? t.startsWith(a) : n.fn === "endsWith" ? t.endsWith(a) : t.includes(a);
    }
    case "cond": {
      const c = evaluate(n.c, r);
      if (typeof c !== "boolean") return ERR;
      return evaluate(c ? n.a : n.b, r);
    }
  }
}

/** The filter of a sink: true writes the line (an error or a non-boolean is false). */
export function filterOf(n: CelNode): (r: AccessRecord) => boolean {
  return (r) => evaluate(n, r) === true;
}

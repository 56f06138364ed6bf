// A DestinationRule `trafficPolicy` (also per port and per subset): load
// balancer (simple or consistentHash), connectionPool, outlierDetection and
// client TLS, checked as Istio's validation checks them. Fields gangway reads
// but does not apply are listed in `unsupported` (compile reports them).
import { Codes } from "../model/codes.ts";
import type {
  ClientTlsMode,
  ClientTlsPolicy,
  ConnectionPoolPolicy,
  ConsistentHashLb,
  H2UpgradePolicy,
  OutlierDetectionPolicy,
  PortTrafficPolicy,
  SimpleLb,
  TrafficPolicy,
  WarmupLb,
} from "../model/istio.ts";
import { parseDuration, parseTimerDuration } from "./duration.ts";
import { decodeLocalityLb } from "./locality-lb.ts";
import { bool, int, join, obj, objList, oneOf, port, str, strList, type Obj, type Reader } from "./read.ts";

const SIMPLE: readonly SimpleLb[] = ["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"];
const TLS_MODES: readonly ClientTlsMode[] = ["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"];
const H2_POLICIES: readonly H2UpgradePolicy[] = ["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"];
const PROXY_VERSIONS: readonly ("V1" | "V2")[] = ["V1", "V2"];
const INT32 = 0x7fffffff;

/** Keys of `o` gangway does not apply, as `path.key`. */
function others(o: Obj | null, path: string, known: string[]): string[] {
  if (o === null) return [];
  return Object.keys(o)
    .filter((k) => !known.includes(k) && o[k] !== null && o[k] !== undefined)
    .map((k) => join(path, k));
}

/** A duration in ms; null when absent. `positive`: 0 is refused too. `timer`: one a timer waits on (capped at MAX_TIMER_MS). */
function duration(r: Reader, o: Obj, key: string, path: string, positive: boolean, timer = true): number | null {
  const t = str(r, o, key, path);
  if (t === "") return null;
  const ms = timer ? parseTimerDuration(t) : parseDuration(t);
  if (ms === null || (positive && ms <= 0)) {
    r.fail(Codes.InvalidDuration, join(path, key), `invalid duration ${JSON.stringify(t)} (like 1.5s, 500ms${positive ? "; more than 0" : ""})`);
    return null;
  }
  return ms;
}

/** An integer that may be absent (null), as protobuf wrapper fields are. */
function optInt(r: Reader, o: Obj, key: string, path: string, min: number, max: number): number | null {
  if (o[key] === undefined || o[key] === null) return null;
  const v = int(r, o, key, path, min, max);
  return typeof o[key] === "number" && Number.isInteger(o[key]) && v === o[key] ? v : null;
}

/** A number (protobuf DoubleValue) within [min, max] (`min` itself refused when `aboveMin`); null when absent or wrong. */
function optNumber(r: Reader, o: Obj, key: string, path: string, min: number, max: number, aboveMin: boolean): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  const p = join(path, key);
  if (typeof v !== "number" || !Number.isFinite(v)) {
    r.fail(Codes.WrongType, p, `must be a number, got ${JSON.stringify(v)}`);
    return null;
  }
  if (v < min || v > max || (aboveMin && v === min)) {
    r.fail(Codes.InvalidValue, p, `must be ${aboveMin ? "above" : "at least"} ${min}${max === Infinity ? "" : ` and at most ${max}`}, got ${v}`);
    return null;
  }
  return v;
}

/**
 * loadBalancer.warmup, else the older warmupDurationSecs (istiod's order), as
 * istiod hands them to Envoy's slow_start_config: aggression 1 and
 * minimumPercent 10 when unset (Envoy's defaults); checked as Istio's
 * validation checks them (duration required, aggression above 0).
 */
function warmup(r: Reader, lb: Obj, path: string): WarmupLb | null {
  const w = obj(r, lb, "warmup", path);
  if (w !== null) {
    const p = join(path, "warmup");
    const durationMs = duration(r, w, "duration", p, true, false);
    if (durationMs === null && (w.duration === undefined || w.duration === null || w.duration === "")) r.fail(Codes.MissingField, join(p, "duration"), "is required");
    const aggression = optNumber(r, w, "aggression", p, 0, Infinity, true);
    const minimumPercent = optNumber(r, w, "minimumPercent", p, 0, 100, false);
    return durationMs === null ? null : { durationMs, aggression: aggression ?? 1, minimumPercent: minimumPercent ?? 10, field: "warmup" };
  }
  const durationMs = duration(r, lb, "warmupDurationSecs", path, true, false);
  return durationMs === null ? null : { durationMs, aggression: 1, minimumPercent: 10, field: "warmupDurationSecs" };
}

function consistentHash(r: Reader, ch: Obj, path: string): ConsistentHashLb | null {
  const keys = ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"].filter((k) => ch[k] !== undefined && ch[k] !== null && ch[k] !== false);
  if (keys.length !== 1) {
    r.fail(keys.length === 0 ? Codes.MissingField : Codes.Conflict, path, `needs exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName${keys.length > 1 ? `, got ${keys.join(", ")}` : ""}`);
    return null;
  }
  let key: ConsistentHashLb["key"];
  const k = keys[0]!;
  if (k === "httpHeaderName") key = { kind: "header", name: str(r, ch, k, path).toLowerCase() };
  else if (k === "httpQueryParameterName") key = { kind: "query", name: str(r, ch, k, path) };
  else if (k === "useSourceIp") {
    bool(r, ch, k, path);
    key = { kind: "sourceIp" };
  } else {
    const c = obj(r, ch, "httpCookie", path)!;
    const cp = join(path, "httpCookie");
    key = { kind: "cookie", name: str(r, c, "name", cp, true), path: str(r, c, "path", cp), ttlMs: duration(r, c, "ttl", cp, false, false) ?? 0 }; // a cookie's Max-Age, no timer
    const attributes = objList(r, c, "attributes", cp, (a, ap) => ({ name: str(r, a, "name", ap, true), value: str(r, a, "value", ap) }));
    if (attributes.length > 0) key.attributes = attributes;
  }
  const ring = obj(r, ch, "ringHash", path);
  const maglev = obj(r, ch, "maglev", path);
  if (ring !== null && maglev !== null) r.fail(Codes.Conflict, path, "only one of ringHash and maglev may be given");
  const out: ConsistentHashLb = { key, algorithm: maglev !== null ? "MAGLEV" : "RING_HASH", minimumRingSize: 0, tableSize: 0 };
  if (ring !== null) out.minimumRingSize = int(r, ring, "minimumRingSize", join(path, "ringHash"), 0, 8_388_608);
  else if (maglev === null) out.minimumRingSize = int(r, ch, "minimumRingSize", path, 0, 8_388_608);
  if (maglev !== null) out.tableSize = int(r, maglev, "tableSize", join(path, "maglev"), 0, 5_000_011);
  return out;
}

function connectionPool(r: Reader, cp: Obj, path: string, into: PortTrafficPolicy): string[] {
  const tcp = obj(r, cp, "tcp", path);
  const http = obj(r, cp, "http", path);
  const pool: ConnectionPoolPolicy = {
    maxConnections: 0,
    tcpKeepalive: null,
    http1MaxPendingRequests: 0,
    http2MaxRequests: 0,
    maxRequestsPerConnection: 0,
    maxRetries: 0,
    idleTimeoutMs: 0,
    h2UpgradePolicy: "DEFAULT",
    maxConcurrentStreams: 0,
    useClientProtocol: false,
    tcpIdleTimeoutMs: null,
  };
  let tcpIdle = 0;
  if (tcp !== null) {
    const p = join(path, "tcp");
    into.connectTimeoutMs = duration(r, tcp, "connectTimeout", p, true) ?? 0;
    pool.maxConnections = int(r, tcp, "maxConnections", p, 0, INT32);
    pool.tcpIdleTimeoutMs = duration(r, tcp, "idleTimeout", p, false);
    tcpIdle = pool.tcpIdleTimeoutMs ?? 0;
    const ka = obj(r, tcp, "tcpKeepalive", p);
    if (ka !== null) {
      const kp = join(p, "tcpKeepalive");
      pool.tcpKeepalive = { probes: int(r, ka, "probes", kp, 0, INT32), timeMs: duration(r, ka, "time", kp, false) ?? 0, intervalMs: duration(r, ka, "interval", kp, false) ?? 0 };
    }
  }
  if (http !== null) {
    const p = join(path, "http");
    pool.http1MaxPendingRequests = int(r, http, "http1MaxPendingRequests", p, 0, INT32);
    pool.http2MaxRequests = int(r, http, "http2MaxRequests", p, 0, INT32);
    pool.maxRequestsPerConnection = int(r, http, "maxRequestsPerConnection", p, 0, INT32);
    pool.maxRetries = int(r, http, "maxRetries", p, 0, INT32);
    pool.idleTimeoutMs = duration(r, http, "idleTimeout", p, false) ?? 0;
    pool.h2UpgradePolicy = oneOf(r, http, "h2UpgradePolicy", p, H2_POLICIES, "DEFAULT");
    pool.maxConcurrentStreams = int(r, http, "maxConcurrentStreams", p, 0, INT32);
    pool.useClientProtocol = bool(r, http, "useClientProtocol", p);
  }
  if (pool.idleTimeoutMs === 0) pool.idleTimeoutMs = tcpIdle;
  into.pool = pool;
  return [
    ...others(cp, path, ["tcp", "http"]),
    ...others(tcp, join(path, "tcp"), ["connectTimeout", "maxConnections", "tcpKeepalive", "idleTimeout"]),
    ...others(http, join(path, "http"), ["http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection", "maxRetries", "idleTimeout", "h2UpgradePolicy", "maxConcurrentStreams", "useClientProtocol"]),
  ];
}

function outlierDetection(r: Reader, od: Obj, path: string): OutlierDetectionPolicy {
  return {
    consecutive5xxErrors: optInt(r, od, "consecutive5xxErrors", path, 0, INT32),
    consecutiveGatewayErrors: optInt(r, od, "consecutiveGatewayErrors", path, 0, INT32),
    consecutiveLocalOriginFailures: optInt(r, od, "consecutiveLocalOriginFailures", path, 0, INT32),
    splitExternalLocalOriginErrors: bool(r, od, "splitExternalLocalOriginErrors", path),
    intervalMs: duration(r, od, "interval", path, true),
    baseEjectionTimeMs: duration(r, od, "baseEjectionTime", path, true),
    maxEjectionPercent: optInt(r, od, "maxEjectionPercent", path, 0, 100),
    minHealthPercent: optInt(r, od, "minHealthPercent", path, 0, 100),
  };
}

function clientTls(r: Reader, t: Obj, path: string): ClientTlsPolicy {
  const out: ClientTlsPolicy = {
    mode: oneOf(r, t, "mode", path, TLS_MODES, "DISABLE"),
    credentialName: str(r, t, "credentialName", path),
    clientCertificate: str(r, t, "clientCertificate", path),
    privateKey: str(r, t, "privateKey", path),
    caCertificates: str(r, t, "caCertificates", path),
    sni: str(r, t, "sni", path),
    subjectAltNames: strList(r, t, "subjectAltNames", path),
    insecureSkipVerify: bool(r, t, "insecureSkipVerify", path),
  };
  const files = (["clientCertificate", "privateKey", "caCertificates"] as const).filter((k) => out[k] !== "");
  if ((out.mode === "DISABLE" || out.mode === "ISTIO_MUTUAL") && (files.length > 0 || out.credentialName !== "")) {
    r.fail(Codes.Conflict, join(path, "mode"), `${out.mode} takes no certificates: ${[...files, ...(out.credentialName !== "" ? ["credentialName"] : [])].join(", ")} given`);
  }
  if (out.credentialName !== "" && files.length > 0) r.fail(Codes.Conflict, join(path, "credentialName"), `credentialName and ${files.join(", ")} cannot be used together`);
  if (out.mode === "MUTUAL" && out.credentialName === "") {
    if (out.clientCertificate === "") r.fail(Codes.MissingField, join(path, "clientCertificate"), "MUTUAL needs clientCertificate and privateKey (or credentialName)");
    if (out.privateKey === "") r.fail(Codes.MissingField, join(path, "privateKey"), "MUTUAL needs clientCertificate and privateKey (or credentialName)");
  }
  return out;
}

/** One level of policy: the trafficPolicy itself (`top`) or one of its portLevelSettings. */
function portPolicy(r: Reader, o: Obj, path: string, top: boolean): PortTrafficPolicy {
  const out: PortTrafficPolicy = {
    simple: null,
    connectTimeoutMs: 0,
    unsupported: [],
    path,
    has: { loadBalancer: false, connectionPool: false, outlierDetection: false, tls: false },
    consistentHash: null,
    localityLb: null,
    warmup: null,
    pool: null,
    outlierDetection: null,
    tls: null,
  };
  const lb = obj(r, o, "loadBalancer", path);
  // proxyProtocol is a field of the trafficPolicy only (decodeTrafficPolicy reads it); in a port-level entry it is reported
  const unsupported: string[] = others(o, path, ["loadBalancer", "connectionPool", "outlierDetection", "tls", "portLevelSettings", "port", ...(top ? ["proxyProtocol"] : [])]);
  if (lb !== null) {
    const p = join(path, "loadBalancer");
    out.has.loadBalancer = true;
    if (lb.simple !== undefined && lb.simple !== null) out.simple = oneOf(r, lb, "simple", p, SIMPLE, "UNSPECIFIED");
    const ch = obj(r, lb, "consistentHash", p);
    if (ch !== null) {
      if (out.simple !== null) r.fail(Codes.Conflict, p, "only one of simple and consistentHash may be given");
      out.consistentHash = consistentHash(r, ch, join(p, "consistentHash"));
      unsupported.push(...others(ch, join(p, "consistentHash"), ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "ringHash", "maglev", "minimumRingSize"]));
    }
    out.localityLb = decodeLocalityLb(r, lb, "localityLbSetting", p);
    out.warmup = warmup(r, lb, p);
    unsupported.push(...others(lb, p, ["simple", "consistentHash", "localityLbSetting", "warmupDurationSecs", "warmup"]));
  }
  const cp = obj(r, o, "connectionPool", path);
  if (cp !== null) {
    out.has.connectionPool = true;
    unsupported.push(...connectionPool(r, cp, join(path, "connectionPool"), out));
  }
  const od = obj(r, o, "outlierDetection", path);
  if (od !== null) {
    out.has.outlierDetection = true;
    out.outlierDetection = outlierDetection(r, od, join(path, "outlierDetection"));
    unsupported.push(...others(od, join(path, "outlierDetection"), ["consecutive5xxErrors", "consecutiveGatewayErrors", "consecutiveLocalOriginFailures", "splitExternalLocalOriginErrors", "interval", "baseEjectionTime", "maxEjectionPercent", "minHealthPercent"]));
  }
  const tls = obj(r, o, "tls", path);
  if (tls !== null) {
    out.has.tls = true;
    out.tls = clientTls(r, tls, join(path, "tls"));
    unsupported.push(...others(tls, join(path, "tls"), ["mode", "credentialName", "clientCertificate", "privateKey", "caCertificates", "sni", "subjectAltNames", "insecureSkipVerify"]));
    // DISABLE originates no TLS: what would steer it has nothing to act on (istiod ignores it too)
    if (out.tls.mode === "DISABLE") unsupported.push(...(["sni", "subjectAltNames", "insecureSkipVerify"] as const).filter((k) => tls[k] !== undefined && tls[k] !== null).map((k) => join(join(path, "tls"), k)));
  }
  out.unsupported = unsupported;
  return out;
}

export function decodeTrafficPolicy(r: Reader, o: Obj, key: string, path: string): TrafficPolicy | null {
  const tp = obj(r, o, key, path);
  if (tp === null) return null;
  const p = join(path, key);
  const base = portPolicy(r, tp, p, true);
  const portLevelSettings = objList(r, tp, "portLevelSettings", p, (s, sp) => {
    const po = obj(r, s, "port", sp, true);
    return { port: po === null ? 0 : port(r, po, "number", join(sp, "port"), true), policy: portPolicy(r, s, sp, false) };
  });
  const pp = obj(r, tp, "proxyProtocol", p);
  let proxyProtocol: TrafficPolicy["proxyProtocol"] = null;
  if (pp !== null) {
    const pq = join(p, "proxyProtocol");
    proxyProtocol = oneOf(r, pp, "version", pq, PROXY_VERSIONS, "V1"); // the enum's zero value: `{}` is V1
    base.unsupported.push(...others(pp, pq, ["version"]));
  }
  return { ...base, portLevelSettings, proxyProtocol };
}

// `--mesh-config FILE`: Istio's MeshConfig YAML (the `mesh` key of the
// `istio` ConfigMap, or that ConfigMap itself). gangway reads
// `extensionProviders[].envoyExtAuthzHttp` (CUSTOM authorization), the access-log
// fields (accessLogFile, accessLogEncoding, accessLogFormat, defaultProviders.accessLogging,
// extensionProviders[].envoyFileAccessLog: meshconfig-access-log.ts), the tracing
// fields (enableTracing, defaultConfig.tracing, defaultProviders.tracing,
// extensionProviders[].zipkin/opentelemetry: meshconfig-tracing.ts) and
// `defaultConfig.gatewayTopology.numTrustedProxies` and `.proxyProtocol`, and the Kubernetes
// Ingress settings `ingressClass`, `ingressControllerMode`, `ingressService`,
// `ingressSelector`, and `localityLbSetting` (decode/locality-lb.ts); any other field set is a Warning naming it (GW0009). Pure: text in, data out.
import { parse } from "yaml";
import { Codes } from "../model/codes.ts";
import type { Finding } from "../snapshot/types.ts";
import { parseTimerDuration } from "./duration.ts";
import type { LocalityLbSetting } from "../model/istio.ts";
import { decodeLocalityLb } from "./locality-lb.ts";
import { decodeMeshAccessLog, EMPTY_ACCESS_LOG, FILE_LOG_READ, type MeshAccessLog } from "./meshconfig-access-log.ts";
import { decodeMeshTracing, EMPTY_MESH_TRACING, type MeshTracing } from "./meshconfig-tracing.ts";
import { bool, describe, int, isObj, keySegment, obj, objList, str, strList, strMap, Reader, type Obj } from "./read.ts";

export interface ExtAuthzHttpSpec {
  name: string;
  service: string;
  port: number;
  pathPrefix: string;
  timeoutMs: number;
  failOpen: boolean;
  statusOnError: number;
  includeRequestHeadersInCheck: string[];
  includeAdditionalHeadersInCheck: [string, string][];
  headersToUpstreamOnAllow: string[];
  headersToDownstreamOnDeny: string[];
  /** Non-empty: a kind or field gangway cannot apply (e.g. envoyExtAuthzGrpc). */
  unsupported: string;
}

export interface MeshConfig {
  extensionProviders: ExtAuthzHttpSpec[];
  /** null: not set. */
  numTrustedProxies: number | null;
  /** `defaultConfig.gatewayTopology.proxyProtocol: {}`: listeners expect a PROXY protocol header (read at start-up, as Istio's proxy config). */
  proxyProtocol: boolean;
  /** `ingressClass`: the `kubernetes.io/ingress.class` value served (null: not set; --ingress-class wins). */
  ingressClass: string | null;
  /** `ingressControllerMode` OFF/STRICT/DEFAULT, lower-cased (null: not set; --ingress-mode wins). */
  ingressControllerMode: "off" | "strict" | "default" | null;
  /** `ingressService`: the Service of the ingress gateway, in the gateway namespace (null: not set). */
  ingressService: string | null;
  /** `ingressSelector`: the `istio` label value the Gateways derived from Ingresses select (null: not set). */
  ingressSelector: string | null;
  /** The access-log fields (meshconfig-access-log.ts). */
  accessLog: MeshAccessLog;
  /** `localityLbSetting`: the default of clusters whose DestinationRule sets none; null: not given (Istio's default, `{enabled: true}`). */
  localityLbSetting: LocalityLbSetting | null;
  /** The tracing fields (meshconfig-tracing.ts). */
  tracing: MeshTracing;
  /** The file it was read from (`--mesh-config`), for findings compile makes about it; absent: none. */
  file?: string;
}

/** Where a finding about the mesh config's `field` points: its file, document 0 (nothing when it came from no file). */
export function meshPlace(mesh: MeshConfig, field: string): { file?: string; doc?: number; field: string } {
  return mesh.file === undefined || mesh.file === "" ? { field } : { file: mesh.file, doc: 0, field };
}

export const EMPTY_MESH: MeshConfig = { extensionProviders: [], numTrustedProxies: null, proxyProtocol: false, ingressClass: null, ingressControllerMode: null, ingressService: null, ingressSelector: null, accessLog: EMPTY_ACCESS_LOG, localityLbSetting: null, tracing: EMPTY_MESH_TRACING };

/** A present string field (null when absent; an Error when not a string). */
function optStr(r: Reader, m: Obj, key: string): string | null {
  return m[key] === undefined || m[key] === null ? null : str(r, m, key, "");
}

/** The Kubernetes Ingress fields of a MeshConfig. */
function ingressFields(r: Reader, m: Obj): Pick<MeshConfig, "ingressClass" | "ingressControllerMode" | "ingressService" | "ingressSelector"> {
  const ingressClass = optStr(r, m, "ingressClass");
  if (ingressClass !== null && !/^[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?$/.test(ingressClass)) r.fail(Codes.InvalidValue, "ingressClass", `${JSON.stringify(ingressClass)} is not a valid class name`);
  const mode = optStr(r, m, "ingressControllerMode");
  let ingressControllerMode: MeshConfig["ingressControllerMode"] = null;
  if (mode !== null) {
    const l = mode.toLowerCase();
    if (l === "off" || l === "strict" || l === "default") ingressControllerMode = l;
    else r.fail(Codes.InvalidValue, "ingressControllerMode", `expected OFF, STRICT or DEFAULT, got ${JSON.stringify(mode)}`);
  }
  const label = (key: string) => {
    const v = optStr(r, m, key);
    if (v !== null && v !== "" && !/^[A-Za-z0-9]([-A-Za-z0-9._]{0,61}[A-Za-z0-9])?$/.test(v)) r.fail(Codes.InvalidValue, key, `${JSON.stringify(v)} is not a valid label value`);
    return v;
  };
  return { ingressClass, ingressControllerMode, ingressService: label("ingressService"), ingressSelector: label("ingressSelector") };
}

/** Istio's default ext_authz timeout. */
const DEFAULT_TIMEOUT_MS = 600_000;

function provider(r: Reader, o: Obj, path: string): ExtAuthzHttpSpec | null {
  const name = str(r, o, "name", path, true);
  const http = obj(r, o, "envoyExtAuthzHttp", path);
  const base: ExtAuthzHttpSpec = {
    name,
    service: "",
    port: 0,
    pathPrefix: "",
    timeoutMs: DEFAULT_TIMEOUT_MS,
    failOpen: false,
    statusOnError: 403,
    includeRequestHeadersInCheck: [],
    includeAdditionalHeadersInCheck: [],
    headersToUpstreamOnAllow: [],
    headersToDownstreamOnDeny: [],
    unsupported: "",
  };
  if (http === null) {
    const kinds = Object.keys(o).filter((k) => k !== "name");
    return { ...base, unsupported: `provider kind ${kinds.join(", ") || "(none)"} is not supported by gangway (only envoyExtAuthzHttp)` };
  }
  const p = `${path}.envoyExtAuthzHttp`;
  base.service = str(r, http, "service", p, true);
  base.port = int(r, http, "port", p, 1, 65535, true);
  base.pathPrefix = str(r, http, "pathPrefix", p);
  const t = str(r, http, "timeout", p);
  if (t !== "") {
    const ms = parseTimerDuration(t);
    if (ms === null) r.fail(Codes.InvalidDuration, `${p}.timeout`, `invalid duration ${JSON.stringify(t)}`);
    else base.timeoutMs = ms;
  }
  base.failOpen = bool(r, http, "failOpen", p);
  const soe = str(r, http, "statusOnError", p);
  if (soe !== "") {
    if (!/^[1-5][0-9][0-9]$/.test(soe)) r.fail(Codes.InvalidValue, `${p}.statusOnError`, `must be an HTTP status, got ${JSON.stringify(soe)}`);
    else base.statusOnError = Number(soe);
  }
  base.includeRequestHeadersInCheck = strList(r, http, "includeRequestHeadersInCheck", p).map((h) => h.toLowerCase());
  base.includeAdditionalHeadersInCheck = Object.entries(strMap(r, http, "includeAdditionalHeadersInCheck", p));
  base.headersToUpstreamOnAllow = strList(r, http, "headersToUpstreamOnAllow", p).map((h) => h.toLowerCase());
  base.headersToDownstreamOnDeny = strList(r, http, "headersToDownstreamOnDeny", p).map((h) => h.toLowerCase());
  if (http.includeRequestBodyInCheck !== undefined) base.unsupported = "includeRequestBodyInCheck is not supported by gangway (the body is not sent to the provider)";
  return base;
}

/** envoyExtAuthzHttp fields gangway reads (includeRequestBodyInCheck: read, and refused as unsupported). */
const EXT_AUTHZ_READ = [
  "service", "port", "pathPrefix", "timeout", "failOpen", "statusOnError", "includeRequestHeadersInCheck",
  "includeAdditionalHeadersInCheck", "headersToUpstreamOnAllow", "headersToDownstreamOnDeny", "includeRequestBodyInCheck",
];

/** MeshConfig fields istiod reads that a gangway command-line option does instead. */
const OPTION_FOR: Record<string, string> = {
  trustDomain: "--trust-domain",
  pathNormalization: "--path-normalization",
  "defaultConfig.drainDuration": "--drain-seconds",
  "defaultConfig.terminationDrainDuration": "--drain-seconds",
};

/**
 * The fields of a MeshConfig gangway does not read, each a Warning naming it:
 * copied from an istio ConfigMap, a default retry policy, connect timeout,
 * trust domain or XFCC setting would otherwise change nothing and say nothing.
 */
function notRead(m: Obj, file: string): Finding[] {
  const out: Finding[] = [];
  const say = (field: string) => {
    const option = OPTION_FOR[field];
    const how = option === undefined ? "" : ` (gangway's ${option} option does that)`;
    out.push({ code: Codes.MeshConfigNotRead, level: "Warning", file, doc: 0, field, message: `${field} is not read by gangway, which reads only extensionProviders[].envoyExtAuthzHttp/envoyFileAccessLog/zipkin/opentelemetry, accessLogFile, accessLogEncoding, accessLogFormat, defaultProviders.accessLogging/tracing, enableTracing, defaultConfig.tracing, defaultConfig.gatewayTopology.numTrustedProxies/proxyProtocol, localityLbSetting and the Ingress settings ingressClass, ingressControllerMode, ingressService, ingressSelector: it changes nothing here${how}` });
  };
  const unread = (o: unknown, path: string, read: string[]) => {
    if (!isObj(o)) return;
    // a key that is empty or has spaces or quotes is written ["..."]: the field path keeps no empty part
    for (const k of Object.keys(o)) if (!read.includes(k) && o[k] !== null && o[k] !== undefined) say(`${path}${keySegment(k, path === "")}`);
  };
  unread(m, "", ["extensionProviders", "defaultConfig", "ingressClass", "ingressControllerMode", "ingressService", "ingressSelector", "accessLogFile", "accessLogEncoding", "accessLogFormat", "defaultProviders", "localityLbSetting", "enableTracing"]);
  unread(m.defaultProviders, "defaultProviders", ["accessLogging", "tracing"]);
  unread(m.defaultConfig, "defaultConfig", ["gatewayTopology", "tracing"]);
  if (isObj(m.defaultConfig)) unread(m.defaultConfig.gatewayTopology, "defaultConfig.gatewayTopology", ["numTrustedProxies", "proxyProtocol"]);
  if (Array.isArray(m.extensionProviders)) {
    m.extensionProviders.forEach((p, i) => {
      if (isObj(p)) unread(p.envoyExtAuthzHttp, `extensionProviders[${i}].envoyExtAuthzHttp`, EXT_AUTHZ_READ);
      if (isObj(p)) unread(p.envoyFileAccessLog, `extensionProviders[${i}].envoyFileAccessLog`, FILE_LOG_READ);
    });
  }
  return out;
}

/** Decode a MeshConfig file; problems are Error findings naming the file and field, fields not read are Warnings (`notRead`). */
export function decodeMeshConfig(file: string, text: string): { mesh: MeshConfig; errors: Finding[]; notRead: Finding[] } {
  const errors: Finding[] = [];
  const r = new Reader(errors, file, 0, undefined, "");
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    errors.push({ code: Codes.ParseError, level: "Error", message: `not YAML: ${String(err).split("\n")[0]}`, file, doc: 0 });
    return { mesh: EMPTY_MESH, errors, notRead: [] };
  }
  if (doc === null || doc === undefined) return { mesh: EMPTY_MESH, errors, notRead: [] };
  if (!isObj(doc)) {
    r.fail(Codes.NotAnObject, "", "a MeshConfig must be a mapping");
    return { mesh: EMPTY_MESH, errors, notRead: [] };
  }
  // the istio ConfigMap: its `data.mesh` holds the MeshConfig as text. Anything else
  // there (no `mesh` key, `mesh:` written as a mapping instead of `mesh: |`) is an
  // Error: read as a MeshConfig, the ConfigMap would silently configure nothing.
  if (doc.kind === "ConfigMap") {
    const text = isObj(doc.data) ? doc.data.mesh : undefined;
    if (typeof text !== "string") {
      const got = text === undefined ? "it is missing" : `got ${describe(text)}`;
      r.fail(Codes.InvalidValue, "data.mesh", `must be a string holding the MeshConfig YAML (\`mesh: |\` and the YAML indented below it), ${got}`);
      return { mesh: EMPTY_MESH, errors, notRead: [] };
    }
    try {
      doc = parse(text) ?? {};
    } catch (err) {
      r.fail(Codes.ParseError, "data.mesh", `not YAML: ${String(err).split("\n")[0]}`);
      return { mesh: EMPTY_MESH, errors, notRead: [] };
    }
    if (!isObj(doc)) {
      r.fail(Codes.NotAnObject, "data.mesh", `a MeshConfig must be a mapping, got ${describe(doc)}`);
      return { mesh: EMPTY_MESH, errors, notRead: [] };
    }
  }
  const m = doc as Obj;
  const extensionProviders = objList(r, m, "extensionProviders", "", (o, p) => provider(r, o, p));
  let numTrustedProxies: number | null = null;
  const dc = obj(r, m, "defaultConfig", "");
  const gt = dc === null ? null : obj(r, dc, "gatewayTopology", "defaultConfig");
  if (gt !== null && gt.numTrustedProxies !== undefined) numTrustedProxies = int(r, gt, "numTrustedProxies", "defaultConfig.gatewayTopology", 0, 64);
  // Istio's ProxyConfig.ProxyProtocol is an (empty) message: present means on
  let proxyProtocol = false;
  if (gt !== null && gt.proxyProtocol !== undefined && gt.proxyProtocol !== null) {
    if (isObj(gt.proxyProtocol)) proxyProtocol = true;
    else r.fail(Codes.InvalidValue, "defaultConfig.gatewayTopology.proxyProtocol", "must be an object ({} turns it on)");
  }
  const formatWarnings: Finding[] = [];
  const accessLog = decodeMeshAccessLog(r, m, formatWarnings);
  const localityLbSetting = decodeLocalityLb(r, m, "localityLbSetting", "");
  const tracing = decodeMeshTracing(r, m, formatWarnings);
  return { mesh: { extensionProviders, numTrustedProxies, proxyProtocol, ...ingressFields(r, m), accessLog, localityLbSetting, tracing, file }, errors, notRead: [...notRead(m, file), ...formatWarnings] };
}

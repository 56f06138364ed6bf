// The tracing fields of a MeshConfig, as istiod reads them: enableTracing,
// defaultConfig.tracing (zipkin.address, sampling, customTags, maxPathTagLength,
// enableIstioTags; the bootstrap tracer of a mesh without Telemetry tracing),
// defaultProviders.tracing, and extensionProviders[].zipkin / .opentelemetry.
// Other tracers (datadog, skywalking, lightstep, stackdriver, openCensusAgent,
// dynatraceSampler, ...) are kept by name and kind: compile says it cannot
// serve them. Proto field names are read in both spellings (customTags /
// custom_tags), as Istio's JSON-protobuf reading accepts both. Pure.
import { Codes } from "../model/codes.ts";
import type { TracingCustomTagSpec } from "../model/telemetry.ts";
import type { Finding } from "../snapshot/types.ts";
import { parseTimerDuration } from "./duration.ts";
import { isObj, type Obj, type Reader } from "./read.ts";

/** A zipkin or opentelemetry extension provider. */
export interface TraceProviderSpec {
  name: string;
  kind: "zipkin" | "opentelemetry";
  /** `service` as written: `host`, `ns/host` or a FQDN. */
  service: string;
  port: number;
  /** zipkin: `path` (default /api/v2/spans); opentelemetry http: `http.path`. */
  path: string;
  /** opentelemetry: `http` set (else gRPC). */
  http: boolean;
  /** ms; 0: not written (Envoy's default applies). */
  timeoutMs: number;
  headers: [string, string][];
  maxTagLength: number;
  /** zipkin enable64bitTraceId. */
  traceId64: boolean;
  /** zipkin traceContextOption USE_B3_WITH_W3C_PROPAGATION. */
  w3c: boolean;
  /** Fields gangway does not serve (a Warning each at compile): resourceDetectors, samplers, ... */
  unserved: string[];
}

export interface MeshTracing {
  /** enableTracing as written; null: not written (gangway: off). */
  enableTracing: boolean | null;
  /** defaultConfig.tracing.zipkin.address; "" not written (Istio's default zipkin.istio-system:9411). */
  zipkinAddress: string;
  /** defaultConfig.tracing.sampling; 0: not written. */
  sampling: number;
  customTags: TracingCustomTagSpec[];
  maxPathTagLength: number;
  enableIstioTags: boolean | null;
  /** defaultConfig.tracing's other tracers (lightstep, datadog, stackdriver, openCensusAgent, tlsSettings): not served. */
  bootstrapUnserved: string[];
  defaultProviders: string[];
  providers: TraceProviderSpec[];
}

export const EMPTY_MESH_TRACING: MeshTracing = {
  enableTracing: null,
  zipkinAddress: "",
  sampling: 0,
  customTags: [],
  maxPathTagLength: 0,
  enableIstioTags: null,
  bootstrapUnserved: [],
  defaultProviders: [],
  providers: [],
};

/** The proto field `camel` or its snake_case spelling. */
function field(o: Obj, camel: string): unknown {
  const v = o[camel];
  if (v !== undefined && v !== null) return v;
  return o[camel.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())];
}

function num(r: Reader, o: Obj, key: string, path: string, min: number, max: number): number {
  const v = field(o, key);
  if (v === undefined || v === null) return 0;
  const n = typeof v === "string" && /^[0-9.]+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    r.fail(Codes.WrongType, `${path}.${key}`, "must be a number");
    return 0;
  }
  if (n < min || n > max) {
    r.fail(Codes.InvalidValue, `${path}.${key}`, `must be between ${min} and ${max}, got ${n}`);
    return 0;
  }
  return n;
}

function text(r: Reader, o: Obj, key: string, path: string): string {
  const v = field(o, key);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") {
    r.fail(Codes.WrongType, `${path}.${key}`, "must be a string");
    return "";
  }
  return v;
}

function duration(r: Reader, o: Obj, key: string, path: string): number {
  const t = text(r, o, key, path);
  if (t === "") return 0;
  const ms = parseTimerDuration(t);
  if (ms === null) {
    r.fail(Codes.InvalidDuration, `${path}.${key}`, `invalid duration ${JSON.stringify(t)}`);
    return 0;
  }
  return ms;
}

/** `headers` / `initialMetadata`: [{name, value | envName}] (envName read from this process's environment, as istiod reads its own). */
function headerList(r: Reader, o: Obj, key: string, path: string): [string, string][] {
  const v = field(o, key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    r.fail(Codes.WrongType, `${path}.${key}`, "must be a list");
    return [];
  }
  const out: [string, string][] = [];
  v.forEach((h, i) => {
    const p = `${path}.${key}[${i}]`;
    if (!isObj(h) || typeof h.name !== "string" || h.name === "") return r.fail(Codes.InvalidValue, p, "must have a name");
    const value = typeof h.value === "string" ? h.value : typeof h.envName === "string" ? (process.env[h.envName] ?? "") : "";
    out.push([h.name.toLowerCase(), value]);
  });
  return out;
}

/** customTags / custom_tags of defaultConfig.tracing: literal {value}, environment {name, defaultValue}, header {name, defaultValue}. */
function customTags(r: Reader, o: Obj, path: string): TracingCustomTagSpec[] {
  const m = field(o, "customTags");
  if (m === undefined || m === null) return [];
  if (!isObj(m)) {
    r.fail(Codes.WrongType, `${path}.customTags`, "must be an object of tag names");
    return [];
  }
  const out: TracingCustomTagSpec[] = [];
  for (const tag of Object.keys(m).sort()) {
    const t = m[tag];
    const p = `${path}.customTags.${tag}`;
    if (!isObj(t)) {
      r.fail(Codes.WrongType, p, "must be an object");
      continue;
    }
    if (isObj(t.literal)) out.push({ tag, kind: "literal", value: text(r, t.literal, "value", `${p}.literal`) });
    else if (isObj(t.environment)) out.push({ tag, kind: "environment", name: text(r, t.environment, "name", `${p}.environment`), defaultValue: text(r, t.environment, "defaultValue", `${p}.environment`) });
    else if (isObj(t.header)) out.push({ tag, kind: "header", name: text(r, t.header, "name", `${p}.header`).toLowerCase(), defaultValue: text(r, t.header, "defaultValue", `${p}.header`) });
    else r.fail(Codes.InvalidValue, p, "must set one of literal, environment, header");
  }
  return out;
}

/** Provider fields gangway reads; the others set are `unserved`. */
const ZIPKIN_READ = ["service", "port", "maxTagLength", "enable64bitTraceId", "path", "traceContextOption", "timeout", "headers"];
const OTEL_READ = ["service", "port", "maxTagLength", "http", "grpc"];

function unservedFields(o: Obj, read: string[], path: string): string[] {
  const out: string[] = [];
  for (const k of Object.keys(o)) if (o[k] !== null && o[k] !== undefined && !read.includes(k) && !read.includes(k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()))) out.push(`${path}.${k}`);
  return out;
}

function traceProvider(r: Reader, name: string, o: Obj, path: string): TraceProviderSpec | null {
  const z = o.zipkin;
  const ot = o.opentelemetry;
  const kind = isObj(z) ? "zipkin" : isObj(ot) ? "opentelemetry" : null;
  if (kind === null) return null;
  const p = `${path}.${kind}`;
  const c = (kind === "zipkin" ? z : ot) as Obj;
  const spec: TraceProviderSpec = {
    name,
    kind,
    service: text(r, c, "service", p),
    port: num(r, c, "port", p, 0, 65535),
    path: "",
    http: false,
    timeoutMs: 0,
    headers: [],
    maxTagLength: num(r, c, "maxTagLength", p, 0, 1 << 30),
    traceId64: false,
    w3c: false,
    unserved: unservedFields(c, kind === "zipkin" ? ZIPKIN_READ : OTEL_READ, p),
  };
  if (spec.service === "") r.fail(Codes.MissingField, `${p}.service`, "is required");
  if (kind === "zipkin") {
    spec.path = text(r, c, "path", p);
    spec.timeoutMs = duration(r, c, "timeout", p);
    spec.headers = headerList(r, c, "headers", p);
    spec.traceId64 = field(c, "enable64bitTraceId") === true;
    const tco = text(r, c, "traceContextOption", p);
    if (tco !== "" && tco !== "USE_B3" && tco !== "USE_B3_WITH_W3C_PROPAGATION" && tco !== "TRACE_CONTEXT_OPTION_UNSPECIFIED") r.fail(Codes.InvalidValue, `${p}.traceContextOption`, `expected USE_B3 or USE_B3_WITH_W3C_PROPAGATION, got ${JSON.stringify(tco)}`);
    spec.w3c = tco === "USE_B3_WITH_W3C_PROPAGATION";
    return spec;
  }
  const http = field(c, "http");
  const grpc = field(c, "grpc");
  if (isObj(http)) {
    spec.http = true;
    spec.path = text(r, http, "path", `${p}.http`);
    spec.timeoutMs = duration(r, http, "timeout", `${p}.http`);
    spec.headers = headerList(r, http, "headers", `${p}.http`);
  } else if (isObj(grpc)) {
    spec.timeoutMs = duration(r, grpc, "timeout", `${p}.grpc`);
    spec.headers = headerList(r, grpc, "initialMetadata", `${p}.grpc`);
  }
  return spec;
}

/** Decode the tracing fields of `m`; Errors go to `r`. */
export function decodeMeshTracing(r: Reader, m: Obj, _warnings: Finding[]): MeshTracing {
  const out: MeshTracing = { ...EMPTY_MESH_TRACING, bootstrapUnserved: [], customTags: [], defaultProviders: [], providers: [] };
  const et = field(m, "enableTracing");
  if (et !== undefined && et !== null) {
    if (typeof et === "boolean") out.enableTracing = et;
    else r.fail(Codes.WrongType, "enableTracing", "must be a boolean");
  }
  const dc = field(m, "defaultConfig");
  const t = isObj(dc) ? field(dc, "tracing") : undefined;
  if (isObj(t)) {
    const p = "defaultConfig.tracing";
    const zipkin = field(t, "zipkin");
    if (isObj(zipkin)) out.zipkinAddress = text(r, zipkin, "address", `${p}.zipkin`);
    out.sampling = num(r, t, "sampling", p, 0, Number.MAX_VALUE);
    out.customTags = customTags(r, t, p);
    out.maxPathTagLength = num(r, t, "maxPathTagLength", p, 0, 1 << 30);
    const eit = field(t, "enableIstioTags");
    out.enableIstioTags = typeof eit === "boolean" ? eit : null;
    for (const k of ["lightstep", "datadog", "stackdriver", "openCensusAgent", "tlsSettings"]) {
      const v = field(t, k);
      if (v !== undefined && v !== null) out.bootstrapUnserved.push(`${p}.${k}`);
    }
  }
  const dp = field(m, "defaultProviders");
  if (isObj(dp)) {
    const tr = dp.tracing;
    if (Array.isArray(tr)) out.defaultProviders = tr.filter((x): x is string => typeof x === "string");
    else if (tr !== undefined && tr !== null) r.fail(Codes.WrongType, "defaultProviders.tracing", "must be a list of provider names");
  }
  const eps = field(m, "extensionProviders");
  if (Array.isArray(eps)) {
    eps.forEach((o, i) => {
      if (!isObj(o) || typeof o.name !== "string") return; // the ext_authz decoder reports it
      const p = traceProvider(r, o.name, o, `extensionProviders[${i}]`);
      if (p !== null) out.providers.push(p);
    });
  }
  return out;
}

/** The tracing fields read (meshconfig.ts's notRead skips them). */
export const TRACING_TOP = ["enableTracing"];
export const TRACING_DEFAULT_CONFIG = ["tracing"];
export const TRACING_DEFAULT_PROVIDERS = ["tracing"];

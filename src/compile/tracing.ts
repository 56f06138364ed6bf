// Tracing for this gateway, as istiod configures a gateway's connection manager
// (pilot/pkg/model/telemetry.go Tracing, pilot/pkg/networking/core/tracing.go):
//
// - Telemetry `tracing` entries of the Telemetry objects that apply (the same as
//   for access logging: src/compile/telemetry.ts), root namespace first, then
//   namespace, then selector/targetRef; a gateway takes the CLIENT spec, so
//   entries with `match.mode: SERVER` skip it. Each entry overrides what it
//   writes: the first of its providers, disableSpanReporting, customTags,
//   randomSamplingPercentage, useRequestIdForTraceSampling, enableIstioTags.
//   The starting provider is the mesh config's defaultProviders.tracing[0].
// - No entry and no default provider: the mesh config's enableTracing decides,
//   with the bootstrap tracer (Zipkin at defaultConfig.tracing.zipkin.address).
// - A provider that is not defined, not zipkin/opentelemetry, or whose service is
//   unknown: istiod configures no tracing for the gateway (a Warning here).
// - Sampling: Telemetry's, else defaultConfig.tracing.sampling (0: 1 %; over
//   100: 1 %, as istiod); custom tags: Istio's own (istio.canonical_service …)
//   unless enableIstioTags is false, then Telemetry's, else the mesh config's.
import { meshPlace, type MeshConfig } from "../decode/meshconfig.ts";
import type { TraceProviderSpec } from "../decode/meshconfig-tracing.ts";
import { Codes } from "../model/codes.ts";
import type { TelemetryResource, TracingCustomTagSpec, TracingEntrySpec } from "../model/telemetry.ts";
import { CLUSTER_DOMAIN } from "../resolve/hosts.ts";
import type { CustomTag, TraceCollector, TracingConfig } from "../snapshot/tracing.ts";
import type { CompileContext } from "./context.ts";
import { clusterName } from "./destinations.ts";
import { applicableTelemetry } from "./telemetry.ts";

/** istiod's PILOT_TRACE_SAMPLING default. */
const DEFAULT_SAMPLING = 1;
/** Envoy's max_path_tag_length default. */
const DEFAULT_MAX_PATH_TAG = 256;
/** Envoy's Zipkin request timeout and istiod's HttpService default. */
const DEFAULT_TIMEOUT_MS = 5000;
const ISTIO_ZIPKIN_ADDRESS = "zipkin.istio-system:9411";
const ZIPKIN_PATH = "/api/v2/spans";
const OTLP_HTTP_PATH = "/v1/traces";
const OTLP_GRPC_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

const ref = (t: TelemetryResource) => `Telemetry/${t.metadata.namespace}/${t.metadata.name}`;

/** The client spec istiod merges for a gateway (TracingSpec). */
interface Spec {
  provider: string | null;
  providerFrom: { t: TelemetryResource; field: string } | null;
  disabled: boolean;
  sampling: number | null;
  customTags: TracingCustomTagSpec[] | null;
  customTagsFrom: { t: TelemetryResource; field: string } | null;
  useRequestId: boolean;
  istioTags: boolean;
}

/** The Istio tags istiod adds (buildServiceTags), from the gateway's labels and namespace. */
export function istioTags(labels: Record<string, string>, namespace: string): CustomTag[] {
  const lit = (tag: string, value: string): CustomTag => ({ tag, kind: "literal", value });
  return [
    lit("istio.canonical_revision", labels["service.istio.io/canonical-revision"] ?? "latest"),
    lit("istio.canonical_service", labels["service.istio.io/canonical-name"] ?? labels.app ?? "unknown"),
    lit("istio.cluster_id", "Kubernetes"),
    lit("istio.mesh_id", "cluster.local"),
    lit("istio.namespace", namespace),
  ];
}

/** The span's service: the gateway's service cluster, `<canonical name or app>.<namespace>`. */
export function serviceName(labels: Record<string, string>, namespace: string): string {
  return `${labels["service.istio.io/canonical-name"] ?? labels.app ?? "istio-ingressgateway"}.${namespace}`;
}

/** `host` as the registry knows it: a short name is a Service of `ns` (`zipkin` → zipkin.<ns>.svc.cluster.local), `name.ns` too. */
function fqdn(host: string, ns: string): string[] {
  if (!host.includes(".")) return [`${host}.${ns}.svc.${CLUSTER_DOMAIN}`];
  const dots = host.split(".").length - 1;
  return dots === 1 ? [host, `${host}.svc.${CLUSTER_DOMAIN}`] : [host];
}

/** The collector's cluster (registered for its endpoints), or null when the service is unknown. */
function collectorCluster(ctx: CompileContext, service: string, port: number): { cluster: string; host: string } | null {
  const slash = service.indexOf("/");
  const ns = slash < 0 ? ctx.opts.namespace : service.slice(0, slash);
  const name = slash < 0 ? service : service.slice(slash + 1);
  for (const host of fqdn(name, ns)) {
    const svc = ctx.registry.lookup(host, ns);
    if (svc === null) continue;
    const cluster = clusterName(port, "", host);
    if (!ctx.clusters.has(cluster)) ctx.clusters.set(cluster, { name: cluster, host, port, subset: "", service: svc, namespace: svc.namespace });
    return { cluster, host };
  }
  return null;
}

function mergeSpec(levels: { t: TelemetryResource; entries: TracingEntrySpec[] }[], defaults: string[]): Spec {
  const spec: Spec = { provider: defaults[0] ?? null, providerFrom: null, disabled: false, sampling: null, customTags: null, customTagsFrom: null, useRequestId: true, istioTags: true };
  for (const { t, entries } of levels) {
    entries.forEach((e, i) => {
      if (e.mode === "SERVER") return; // a gateway is a CLIENT workload to istiod
      const at = `spec.tracing[${i}]`;
      if (e.providers.length > 0) {
        spec.provider = e.providers[0]!;
        spec.providerFrom = { t, field: `${at}.providers` };
      }
      if (e.disableSpanReporting !== null) spec.disabled = e.disableSpanReporting;
      if (e.customTags !== null) {
        spec.customTags = e.customTags;
        spec.customTagsFrom = { t, field: `${at}.customTags` };
      }
      if (e.randomSamplingPercentage !== null) spec.sampling = e.randomSamplingPercentage;
      if (e.useRequestIdForTraceSampling !== null) spec.useRequestId = e.useRequestIdForTraceSampling;
      if (e.enableIstioTags !== null) spec.istioTags = e.enableIstioTags;
    });
  }
  return spec;
}

/** Custom tags the workers produce (a formatter tag is a Warning and left out). */
function servedTags(ctx: CompileContext, tags: TracingCustomTagSpec[], from: { t: TelemetryResource; field: string } | MeshConfig): CustomTag[] {
  const out: CustomTag[] = [];
  for (const t of tags) {
    if (t.kind === "formatter") {
      const message = `custom tag ${JSON.stringify(t.tag)} is a formatter (an Envoy format string), which gangway does not evaluate: the tag is not set`;
      const key = /^[A-Za-z0-9_-]+$/.test(t.tag) ? `.${t.tag}` : `[${JSON.stringify(t.tag)}]`;
      if ("t" in from) ctx.report("Warning", Codes.TracingFieldNotApplied, from.t, message, `${from.field}${key}.formatter`);
      else ctx.findings.push({ code: Codes.TracingFieldNotApplied, level: "Warning", message, ...meshPlace(from, `defaultConfig.tracing.customTags${key}.formatter`) });
      continue;
    }
    out.push(t);
  }
  return out;
}

function meshSampling(mesh: MeshConfig): number {
  const s = mesh.tracing.sampling;
  return s === 0 || s > 100 ? DEFAULT_SAMPLING : s;
}

function collectorOf(ctx: CompileContext, p: TraceProviderSpec): TraceCollector | string {
  const c = collectorCluster(ctx, p.service, p.port);
  if (c === null) return `service ${JSON.stringify(p.service)} of tracing provider ${JSON.stringify(p.name)} is no Service or ServiceEntry (istiod: could not find cluster for tracing provider)`;
  const timeoutMs = p.timeoutMs > 0 ? p.timeoutMs : DEFAULT_TIMEOUT_MS;
  if (p.kind === "zipkin") return { name: p.name, kind: "zipkin", cluster: c.cluster, address: "", authority: c.host, path: p.path === "" ? ZIPKIN_PATH : p.path, timeoutMs, headers: p.headers };
  if (p.http) {
    const path = p.path === "" ? OTLP_HTTP_PATH : p.path.startsWith("/") ? p.path : "/" + p.path;
    return { name: p.name, kind: "otlp-http", cluster: c.cluster, address: "", authority: c.host, path, timeoutMs, headers: p.headers };
  }
  return { name: p.name, kind: "otlp-grpc", cluster: c.cluster, address: "", authority: c.host, path: OTLP_GRPC_PATH, timeoutMs, headers: p.headers };
}

/** The bootstrap tracer of istio-agent: Zipkin at defaultConfig.tracing.zipkin.address (a Service when the registry knows it, else the address itself). */
function bootstrapCollector(ctx: CompileContext, mesh: MeshConfig): TraceCollector {
  const address = mesh.tracing.zipkinAddress === "" ? ISTIO_ZIPKIN_ADDRESS : mesh.tracing.zipkinAddress;
  const colon = address.lastIndexOf(":");
  const host = colon < 0 ? address : address.slice(0, colon);
  const port = colon < 0 ? 9411 : Number(address.slice(colon + 1));
  const base = { name: "meshConfig defaultConfig.tracing.zipkin", kind: "zipkin" as const, path: ZIPKIN_PATH, timeoutMs: DEFAULT_TIMEOUT_MS, headers: [] };
  const c = Number.isInteger(port) && port > 0 && port < 65536 ? collectorCluster(ctx, host.replace(/^\[|\]$/g, ""), port) : null;
  if (c !== null) return { ...base, cluster: c.cluster, address: "", authority: c.host };
  return { ...base, cluster: "", address, authority: host };
}

/** The tracing configuration of the snapshot; undefined: no tracing (nothing per request). */
export function compileTracing(ctx: CompileContext, all: TelemetryResource[], mesh: MeshConfig): TracingConfig | undefined {
  const mt = mesh.tracing;
  const tels = applicableTelemetry(ctx, all);
  const levels = tels.filter((t) => t.spec.tracing.length > 0).map((t) => ({ t, entries: t.spec.tracing }));
  for (const l of levels) {
    l.entries.forEach((e, i) => {
      if (e.mode === "SERVER") ctx.report("Info", Codes.TelemetryNotApplied, l.t, "match.mode SERVER: a gateway is a CLIENT workload to istiod, this entry does not apply", `spec.tracing[${i}].match.mode`);
      if (e.providers.length > 1) ctx.report("Info", Codes.TracingFieldNotApplied, l.t, `only the first provider (${e.providers[0]}) is used, as istiod supports one tracing provider per workload`, `spec.tracing[${i}].providers`);
      if (e.disableContextPropagation === true) ctx.report("Warning", Codes.TracingFieldNotApplied, l.t, "disableContextPropagation is not applied by gangway: trace headers are still sent upstream", `spec.tracing[${i}].disableContextPropagation`);
    });
  }
  const { labels, namespace } = ctx.opts;
  const base = { serviceName: serviceName(labels, namespace), namespace };
  for (const f of mt.bootstrapUnserved) ctx.findings.push({ code: Codes.TracingFieldNotApplied, level: "Warning", ...meshPlace(mesh, f), message: `${f} is a tracer gangway cannot serve (it serves zipkin and opentelemetry): not applied` });

  if (levels.length === 0 && mt.defaultProviders.length === 0) {
    // no Telemetry tracing: the mesh config's legacy settings and the bootstrap Zipkin tracer
    if (mt.enableTracing !== true) return undefined;
    const tags = mt.enableIstioTags === false ? [] : istioTags(labels, namespace);
    return {
      ...base,
      propagation: "b3",
      collector: bootstrapCollector(ctx, mesh),
      samplingPercent: meshSampling(mesh),
      useRequestIdForSampling: true,
      traceId128: true,
      spawnUpstreamSpan: false, // the legacy path sets no provider config, hence no spawn_upstream_span
      maxPathTagLength: mt.maxPathTagLength > 0 ? mt.maxPathTagLength : DEFAULT_MAX_PATH_TAG,
      customTags: sortTags([...tags, ...servedTags(ctx, mt.customTags, mesh)]),
      source: "meshConfig enableTracing",
    };
  }

  const spec = mergeSpec(levels, mt.defaultProviders);
  const at = spec.providerFrom?.t ?? levels[levels.length - 1]?.t ?? null;
  const source = levels.length === 0 ? "meshConfig defaultProviders.tracing" : levels.map((l) => ref(l.t)).join(", ");
  if (spec.provider === null) {
    // istiod: no provider, the spec is disabled (silently; said here, since the entries then change nothing)
    ctx.report("Warning", Codes.TracingProvider, at, "no tracing provider: the tracing entries name none and the mesh config's defaultProviders.tracing is empty, so nothing is traced (as istiod)", "spec.tracing");
    return undefined;
  }
  if (spec.disabled) return undefined;
  const name = spec.provider;
  // about the provider: the tracing entry that named it, else the mesh config's defaultProviders.tracing
  const providerFinding = (message: string) => {
    if (spec.providerFrom !== null) ctx.report("Warning", Codes.TracingProvider, spec.providerFrom.t, message, spec.providerFrom.field);
    else ctx.findings.push({ code: Codes.TracingProvider, level: "Warning", message, ...meshPlace(mesh, "defaultProviders.tracing") });
  };
  const p = mt.providers.find((x) => x.name === name);
  if (p === undefined) {
    const defined = mesh.accessLog.otherProviders.get(name) ?? (mesh.accessLog.fileProviders.some((f) => f.name === name) ? "envoyFileAccessLog" : undefined);
    const why = defined === undefined ? `tracing provider ${JSON.stringify(name)} is not defined in the mesh config's extensionProviders` : `tracing provider ${JSON.stringify(name)} is ${defined}, which gangway cannot trace to (it serves zipkin and opentelemetry)`;
    providerFinding(`${why}: no tracing, as istiod configures none`);
    return undefined;
  }
  for (const f of p.unserved) ctx.findings.push({ code: Codes.TracingFieldNotApplied, level: "Warning", ...meshPlace(mesh, f), message: `${f} is not applied by gangway (tracing provider ${JSON.stringify(name)} is served without it)` });
  const collector = collectorOf(ctx, p);
  if (typeof collector === "string") {
    providerFinding(`${collector}: no tracing, as istiod configures none`);
    return undefined;
  }
  const istio = spec.istioTags ? istioTags(labels, namespace) : [];
  const own = spec.customTags !== null && spec.customTags.length > 0 ? servedTags(ctx, spec.customTags, spec.customTagsFrom ?? mesh) : servedTags(ctx, mt.customTags, mesh);
  return {
    ...base,
    propagation: p.kind === "zipkin" ? (p.w3c ? "b3+w3c" : "b3") : "w3c",
    collector,
    samplingPercent: spec.sampling ?? meshSampling(mesh),
    useRequestIdForSampling: spec.useRequestId,
    traceId128: !p.traceId64,
    spawnUpstreamSpan: true, // istiod's buildHCMTracing: startChildSpan for a Router proxy
    maxPathTagLength: p.maxTagLength > 0 ? p.maxTagLength : mt.maxPathTagLength > 0 ? mt.maxPathTagLength : DEFAULT_MAX_PATH_TAG,
    customTags: sortTags([...istio, ...own]),
    source,
  };
}

function sortTags(tags: CustomTag[]): CustomTag[] {
  return tags.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

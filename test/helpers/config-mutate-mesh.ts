// Semantic mutations of the mesh config (`--mesh-config`: MeshConfig YAML or the
// `istio` ConfigMap with it in `data.mesh`), of distributed tracing (Telemetry
// `tracing`, the mesh config's enableTracing / defaultConfig.tracing /
// defaultProviders.tracing / extensionProviders) and of locality load balancing
// (localityLbSetting of a DestinationRule or the mesh config, endpoint localities
// of ServiceEntry, WorkloadEntry, EndpointSlice and `istio-locality` labels, a
// Service's trafficDistribution, the gateway's `--locality`), for
// config-mutate-semantic.ts. Values the schema lets through, at odd points.
import { parse, stringify } from "yaml";
import { isObj, item, list, pick, type Doc, type Rand } from "./config-mutate-pick.ts";


export type MeshOp = (r: Rand, d: Doc) => string | null;

// ---- tracing -------------------------------------------------------------------------

const PROVIDER_NAMES = ["zipkin", "otel-http", "otel-grpc", "missing", "", "envoy", "datadog", "ZIPKIN"];
const SAMPLING = [0, 0.0001, 0.01, 1, 50, 99.99, 100, 100.01, 1e9, -1, "50", "x"];
const SERVICES = ["zipkin.istio-system.svc.cluster.local", "zipkin.istio-system", "zipkin", "otel.fuzz.example", "httpbin.default.svc.cluster.local", "missing.example", "", "*.fuzz.example", "10.0.0.21", "OTEL.fuzz.example"];
const TIMEOUTS = ["0s", "1ms", "0.5s", "5s", "87600h", "-1s", "1x", "", 3];
const HEADER_NAMES = ["x-tenant", "", ":authority", "content-type", "host", "x-ü", "te", "a b"];

/** Custom tags of every kind, some odd: an empty tag name, a header with no name, a formatter, an environment variable that is not set. */
function customTags(r: Rand): Doc {
  return pick(r, [
    {},
    { "": { literal: { value: "x" } } },
    { a: { literal: { value: "\u0000\u001b[31m\n" } }, b: { header: { name: "X-Who" } } },
    { env: { environment: { name: "NO_SUCH_VARIABLE_FUZZ", defaultValue: "d" } }, hdr: { header: { name: "", defaultValue: "" } } },
    { f: { formatter: { value: "%REQ(:path)%" } } },
    { nothing: {} },
    { many: { literal: { value: "x".repeat(10000) } } },
    { "upstream_cluster": { literal: { value: "forged" } }, "http.status_code": { header: { name: "x-who" } } },
  ]);
}

function tracingEntry(r: Rand): Doc {
  const e: Doc = {};
  if (r() < 0.7) e.providers = pick(r, [[], [{ name: pick(r, PROVIDER_NAMES) }], [{ name: pick(r, PROVIDER_NAMES) }, { name: pick(r, PROVIDER_NAMES) }], [{}]]);
  if (r() < 0.6) e.randomSamplingPercentage = pick(r, SAMPLING.filter((x) => typeof x === "number"));
  if (r() < 0.3) e.disableSpanReporting = r() < 0.5;
  if (r() < 0.4) e.customTags = customTags(r);
  if (r() < 0.3) e.match = pick(r, [{ mode: "CLIENT" }, { mode: "SERVER" }, { mode: "CLIENT_AND_SERVER" }, {}]);
  if (r() < 0.2) e.useRequestIdForTraceSampling = r() < 0.5;
  if (r() < 0.2) e.enableIstioTags = r() < 0.5;
  return e;
}

export const telemetryTracing: MeshOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) d.spec = {};
    d.spec.tracing = pick(r, [[], [{}], [tracingEntry(r)], [tracingEntry(r), tracingEntry(r)], [tracingEntry(r), tracingEntry(r), tracingEntry(r)]]);
    return `tracing = ${JSON.stringify(d.spec.tracing).slice(0, 300)}`;
  },
  (r, d) => {
    const e = item(r, d.spec?.tracing);
    if (e === null) return null;
    const k = pick(r, ["providers", "randomSamplingPercentage", "disableSpanReporting", "customTags", "match"]);
    const v = tracingEntry(r)[k];
    if (v === undefined) delete e[k];
    else e[k] = v;
    return `tracing[].${k} = ${JSON.stringify(v)?.slice(0, 200)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) d.spec = {};
    const s = pick(r, [{ selector: { matchLabels: { istio: "ingressgateway" } } }, { selector: { matchLabels: { istio: "other" } } }, { targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "missing" }] }, {}]);
    Object.assign(d.spec, s);
    if (isObj(d.metadata) && r() < 0.4) d.metadata.namespace = pick(r, ["istio-system", "default", "other"]);
    return `spec += ${JSON.stringify(s)} in ${d.metadata?.namespace}`;
  },
];

function extensionProvider(r: Rand): Doc {
  const name = pick(r, PROVIDER_NAMES);
  const common = { service: pick(r, SERVICES), port: pick(r, [9411, 4317, 4318, 0, 1, 65535, 8000]) };
  return pick(r, [
    { name, zipkin: { ...common, ...(r() < 0.5 ? { path: pick(r, ["", "/", "/api/v2/spans", "no-slash", "/a?b#c"]) } : {}), ...(r() < 0.4 ? { timeout: pick(r, TIMEOUTS) } : {}), ...(r() < 0.3 ? { headers: [{ name: pick(r, HEADER_NAMES), value: "v" }, { name: "x-env", envName: "NO_SUCH_VARIABLE_FUZZ" }] } : {}), ...(r() < 0.3 ? { maxTagLength: pick(r, [0, 1, 2 ** 30]) } : {}), ...(r() < 0.3 ? { enable64bitTraceId: true } : {}), ...(r() < 0.3 ? { traceContextOption: pick(r, ["USE_B3", "USE_B3_WITH_W3C_PROPAGATION", "W3C", ""]) } : {}) } },
    { name, opentelemetry: { ...common, http: { path: pick(r, ["", "/v1/traces", "x"]), timeout: pick(r, TIMEOUTS), headers: [{ name: pick(r, HEADER_NAMES), value: pick(r, ["v", "", "a\nb"]) }] } } },
    { name, opentelemetry: { ...common, grpc: { timeout: pick(r, TIMEOUTS), initialMetadata: [{ name: pick(r, HEADER_NAMES), value: "v" }] } } },
    { name, opentelemetry: { ...common, http: {}, grpc: {} } },
    { name, opentelemetry: { ...common, resourceDetectors: { environment: {} }, dynatraceSampler: { tenant: "t" } } },
    { name, zipkin: {}, opentelemetry: common },
    { name, datadog: { service: "dd", port: 8126 } },
    { name, skywalking: common },
    { name, envoyOtelAls: common },
    { name },
  ]);
}

/** Operations on a MeshConfig object (what `data.mesh` holds, or the file itself). */
const meshObjectOps: ((r: Rand, m: Doc) => string)[] = [
  (r, m) => {
    m.enableTracing = pick(r, [true, false, "true", 1, null]);
    return `enableTracing = ${JSON.stringify(m.enableTracing)}`;
  },
  (r, m) => {
    if (!isObj(m.defaultConfig)) m.defaultConfig = {};
    const t: Doc = {};
    if (r() < 0.7) t.sampling = pick(r, SAMPLING);
    if (r() < 0.6) t.zipkin = { address: pick(r, ["zipkin.istio-system:9411", "zipkin.istio-system", "10.0.0.21:9411", "[::1]:9411", ":9411", "", "host:99999", "otel.fuzz.example:4318", "a b:1"]) };
    if (r() < 0.2) t.lightstep = { address: "ls:8080" };
    if (r() < 0.3) t[r() < 0.5 ? "custom_tags" : "customTags"] = customTags(r);
    if (r() < 0.3) t[r() < 0.5 ? "max_path_tag_length" : "maxPathTagLength"] = pick(r, [0, 1, 256, 2 ** 31 - 1, -1]);
    m.defaultConfig.tracing = pick(r, [t, t, {}, null]);
    return `defaultConfig.tracing = ${JSON.stringify(m.defaultConfig.tracing).slice(0, 300)}`;
  },
  (r, m) => {
    if (!isObj(m.defaultProviders)) m.defaultProviders = {};
    m.defaultProviders.tracing = pick(r, [[], [pick(r, PROVIDER_NAMES)], [pick(r, PROVIDER_NAMES), pick(r, PROVIDER_NAMES)], null]);
    return `defaultProviders.tracing = ${JSON.stringify(m.defaultProviders.tracing)}`;
  },
  (r, m) => {
    const ps = list(m.extensionProviders);
    if (ps.length > 0 && r() < 0.5) {
      const i = Math.floor(r() * ps.length);
      ps[i] = extensionProvider(r);
      if (r() < 0.5) ps[i].name = String(isObj(ps[(i + 1) % ps.length]) ? ps[(i + 1) % ps.length].name : "zipkin"); // a name twice
      m.extensionProviders = ps;
      return `extensionProviders[${i}] = ${JSON.stringify(ps[i]).slice(0, 300)}`;
    }
    m.extensionProviders = [...ps, extensionProvider(r)];
    return `extensionProviders += ${JSON.stringify(m.extensionProviders.at(-1)).slice(0, 300)}`;
  },
  (r, m) => {
    m.localityLbSetting = localityLbSetting(r);
    return `localityLbSetting = ${JSON.stringify(m.localityLbSetting)}`;
  },
];

/**
 * The mesh config's operations: on the MeshConfig object, or the ConfigMap's
 * `data.mesh` text read, changed and written back (or made not YAML).
 */
export const meshConfig: MeshOp[] = [
  (r, d) => {
    if (d.kind === "ConfigMap" || isObj(d.data)) {
      if (!isObj(d.data)) d.data = {};
      if (r() < 0.1) {
        d.data.mesh = pick(r, ["enableTracing: [", "", "- a\n- b", "enableTracing: true\nenableTracing: false", "\t"]);
        return `data.mesh = ${JSON.stringify(d.data.mesh)}`;
      }
      let m: unknown;
      try {
        m = parse(String(d.data.mesh ?? ""));
      } catch {
        m = {};
      }
      const obj = isObj(m) ? m : {};
      const what = pick(r, meshObjectOps)(r, obj);
      d.data.mesh = stringify(obj);
      return `data.mesh: ${what}`;
    }
    return pick(r, meshObjectOps)(r, d);
  },
];

// ---- locality load balancing --------------------------------------------------------------

const REGIONS = ["us-east1", "eu-west1", "*", "", "US-EAST1", "us-east1/us-east1-a", "us-east1/us-east1-a/rack1", "us-east1/*", "us-east1/us-east1-a/*", "*/us-east1-a", "a/b/c/d", "eu-west1/eu-west1-b", "nowhere"];

function localityLbSetting(r: Rand): Doc {
  const s: Doc = {};
  if (r() < 0.5) s.enabled = pick(r, [true, false]);
  const k = r();
  if (k < 0.35) s.distribute = pick(r, [[], [{ from: pick(r, REGIONS), to: { [pick(r, REGIONS)]: pick(r, [100, 0, 1, 50]), [pick(r, REGIONS)]: pick(r, [0, 50, 99, 2 ** 31 - 1]) } }], [{ from: "*", to: {} }], [{ from: pick(r, REGIONS), to: { [pick(r, REGIONS)]: 100 } }, { from: pick(r, REGIONS), to: { [pick(r, REGIONS)]: 100 } }]]);
  else if (k < 0.65) s.failover = pick(r, [[], [{ from: pick(r, REGIONS), to: pick(r, REGIONS) }], [{ from: "us-east1", to: "us-east1" }], [{ from: "us-east1", to: "eu-west1" }, { from: "us-east1", to: "nowhere" }], [{ from: "" }]]);
  if (r() < 0.4) s.failoverPriority = pick(r, [[], ["topology.istio.io/network"], ["topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"], ["app=we-locality", "version"], ["", "="], ["topology.istio.io/network", "topology.istio.io/network"], Array.from({ length: 40 }, (_, i) => `l${i}`)]);
  return s;
}

export const destinationRuleLocality: MeshOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    const tp = (d.spec.trafficPolicy = isObj(d.spec.trafficPolicy) ? d.spec.trafficPolicy : {});
    tp.loadBalancer = { ...(isObj(tp.loadBalancer) ? tp.loadBalancer : {}), localityLbSetting: localityLbSetting(r) };
    if (r() < 0.5) tp.outlierDetection = r() < 0.8 ? { consecutive5xxErrors: pick(r, [1, 5]), interval: "1s", baseEjectionTime: "30s", maxEjectionPercent: pick(r, [10, 100]) } : undefined;
    if (tp.outlierDetection === undefined) delete tp.outlierDetection;
    if (r() < 0.2) tp.loadBalancer.consistentHash = { httpHeaderName: "x-who" };
    return `trafficPolicy.loadBalancer.localityLbSetting = ${JSON.stringify(tp.loadBalancer.localityLbSetting)}${tp.outlierDetection ? " with outlierDetection" : ""}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    const at = pick(r, ["portLevelSettings", "subset"]);
    const lb = { localityLbSetting: localityLbSetting(r) };
    if (at === "subset") d.spec.subsets = [...list(d.spec.subsets), { name: "loc", labels: { app: "we-locality" }, trafficPolicy: { loadBalancer: lb, outlierDetection: { consecutive5xxErrors: 1 } } }];
    else d.spec.trafficPolicy = { ...(isObj(d.spec.trafficPolicy) ? d.spec.trafficPolicy : {}), portLevelSettings: [{ port: { number: pick(r, [8080, 8000, 1]) }, loadBalancer: lb }] };
    return `${at} localityLbSetting = ${JSON.stringify(lb.localityLbSetting)}`;
  },
];

const LOCALITIES = ["us-east1/us-east1-a/rack1", "us-east1/us-east1-a", "us-east1", "eu-west1/eu-west1-b", "", "/", "//", "a/b/c/d", "us-east1//rack1", "*", "US-EAST1", "x".repeat(300), "ü/ö"];
const LABEL_LOCALITY = ["us-east1.us-east1-a", "us-east1.us-east1-a.rack1", "", ".", "eu-west1", "us-east1/us-east1-a", "a.b.c.d"];

/** ServiceEntry endpoints and WorkloadEntries: `locality`, `istio-locality` and topology labels, network. */
export const endpointLocality: MeshOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    const e = d.kind === "WorkloadEntry" ? d.spec : item(r, d.spec.endpoints);
    if (e === null) return null;
    const k = r();
    if (k < 0.4) e.locality = pick(r, LOCALITIES);
    else if (k < 0.7) e.labels = { ...(isObj(e.labels) ? e.labels : {}), "istio-locality": pick(r, LABEL_LOCALITY) };
    else e.labels = { ...(isObj(e.labels) ? e.labels : {}), "topology.kubernetes.io/region": pick(r, ["us-east1", "eu-west1", ""]), "topology.kubernetes.io/zone": pick(r, ["us-east1-a", ""]), ...(r() < 0.5 ? { "topology.istio.io/network": pick(r, ["net2", ""]) } : {}) };
    if (r() < 0.3) e.network = pick(r, ["net2", "", "n"]);
    return `${d.kind === "WorkloadEntry" ? "spec" : "endpoints[]"} locality ${JSON.stringify(e.locality)} labels ${JSON.stringify(e.labels)}`;
  },
];

/** A Service's trafficDistribution (field or annotation) and its endpoints' zones and labels. */
export const serviceLocality: MeshOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    const v = pick(r, ["PreferClose", "PreferSameZone", "PreferSameNode", "Other", "", "preferclose"]);
    if (r() < 0.7) d.spec.trafficDistribution = v;
    else d.metadata = { ...(isObj(d.metadata) ? d.metadata : {}), annotations: { "networking.istio.io/traffic-distribution": v } };
    if (r() < 0.3) d.metadata = { ...(isObj(d.metadata) ? d.metadata : {}), labels: { ...(d.metadata?.labels ?? {}), "istio-locality": pick(r, LABEL_LOCALITY) } };
    return `trafficDistribution ${v}`;
  },
];

export const endpointSliceLocality: MeshOp[] = [
  (r, d) => {
    const e = item(r, d.endpoints);
    if (e === null) return null;
    e.zone = pick(r, ["us-east1-a", "us-east1-b", "", "eu-west1-b", "a/b", "ZONE"]);
    if (r() < 0.3) e.hints = { forZones: [{ name: pick(r, ["us-east1-a", ""]) }] };
    if (r() < 0.3) e.nodeName = "node-1";
    if (r() < 0.3) d.metadata = { ...(isObj(d.metadata) ? d.metadata : {}), labels: { ...(d.metadata?.labels ?? {}), "topology.kubernetes.io/region": pick(r, ["us-east1", ""]), "istio-locality": pick(r, LABEL_LOCALITY) } };
    return `endpoints[] zone ${JSON.stringify(e.zone)}`;
  },
];

/** The gateway's flags file: `--locality` (invalid ones are what the command line refuses: left out). */
export const gatewayFlags: MeshOp[] = [
  (r, d) => {
    d.locality = pick(r, ["us-east1/us-east1-a/rack1", "us-east1/us-east1-a", "us-east1", "eu-west1/eu-west1-b", "nowhere", "us-east1/us-east1-b/x", "a.b_c-d/e"]);
    return `--locality ${d.locality}`;
  },
];

/** A mesh config for a case that has none (the walkthrough and golden seeds). */
export function newMeshConfig(r: Rand): Doc {
  const m: Doc = {};
  for (let i = 0, n = 1 + Math.floor(r() * 3); i < n; i++) pick(r, meshObjectOps)(r, m);
  return r() < 0.3 ? { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "istio", namespace: "istio-system" }, data: { mesh: stringify(m) } } : m;
}

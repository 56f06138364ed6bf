// The tracing part of a snapshot (src/compile/tracing.ts): whether requests are
// traced, how the sampling decision is made, which tags a span carries and where
// spans go. Plain data; the workers only read it (workers/tracing.ts).

/** A span tag from configuration: a literal, an environment variable (read by the worker at apply), or a request header. */
export type CustomTag =
  | { tag: string; kind: "literal"; value: string }
  | { tag: string; kind: "environment"; name: string; defaultValue: string }
  | { tag: string; kind: "header"; name: string; defaultValue: string };

/** Where spans go: an HTTP POST (Zipkin v2 JSON, OTLP/HTTP protobuf) or OTLP/gRPC. */
export interface TraceCollector {
  /** The extension provider (or `meshConfig defaultConfig.tracing.zipkin`). */
  name: string;
  kind: "zipkin" | "otlp-http" | "otlp-grpc";
  /** Cluster in snapshot.clusters holding the collector's endpoints; "": `address` instead. */
  cluster: string;
  /** `host:port` connected to directly (the bootstrap tracer's address the registry does not know, as Envoy's STRICT_DNS cluster). */
  address: string;
  /** Host header / :authority. */
  authority: string;
  /** Request path (gRPC: the Export method). */
  path: string;
  timeoutMs: number;
  /** Extra request headers (provider headers / gRPC initial metadata), lower-case names. */
  headers: [string, string][];
}

export interface TracingConfig {
  /** B3 (Zipkin) or W3C traceparent (OpenTelemetry) propagation; `b3+w3c`: Zipkin's USE_B3_WITH_W3C_PROPAGATION. */
  propagation: "b3" | "w3c" | "b3+w3c";
  /** Where sampled spans go; null: spans are made and propagated but reported nowhere (the provider cannot be served). */
  collector: TraceCollector | null;
  /** Random sampling, 0–100 %. */
  samplingPercent: number;
  /** Decide from x-request-id (Envoy's UUID request-id extension), marking the decision in it. */
  useRequestIdForSampling: boolean;
  /** New root trace ids: 128 bits (Istio's default), or 64 (enable64bitTraceId). */
  traceId128: boolean;
  /**
   * A child span per upstream request (`router <cluster> egress`), whose context the upstream
   * gets: istiod's spawn_upstream_span for gateways, on the Telemetry / defaultProviders path.
   */
  spawnUpstreamSpan: boolean;
  /** Longest path written in http.url. */
  maxPathTagLength: number;
  /** Tags every span carries besides Envoy's own, sorted by tag. */
  customTags: CustomTag[];
  /** The span's service (Zipkin localEndpoint.serviceName, OTel resource service.name): `<app>.<namespace>`. */
  serviceName: string;
  /** The node_id tag (Envoy's node id: `router~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`); the worker fills in ip and pod. */
  namespace: string;
  /** What decided it, for dumps: `meshConfig enableTracing`, `Telemetry/ns/name`, ... */
  source: string;
}

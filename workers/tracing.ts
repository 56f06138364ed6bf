// Distributed tracing on a worker (the snapshot's tracing part, src/compile/
// tracing.ts): per request, the sampling decision (from x-request-id, as Envoy's
// UUID request-id extension), the gateway's span (a child of the client's B3 or
// traceparent context, or a new root), the headers the upstream gets (the span's
// context and x-envoy-decorator-operation), and at the end the span's tags,
// handed to the exporter (tracing-export.ts) when sampled. Off (`enabled`
// false), an exchange never calls in here.
import type { Route, Snapshot } from "../src/snapshot/types.ts";
import type { CustomTag, TracingConfig } from "../src/snapshot/tracing.ts";
import { decideReason, injectHeaders, markRequestId, randomId, REASON_NONE, samplingNumerator, startSpan, type SpanIds } from "../src/tracing/context.ts";
import type { FinishedSpan } from "../src/tracing/encode.ts";
import { hostname, networkInterfaces } from "node:os";
import { reportError } from "./context.ts";
import { SpanExporter } from "./tracing-export.ts";
import { R_B3_PARENTSPANID, R_B3_SAMPLED, R_B3_SPANID, R_B3_TRACEID, R_TRACE, R_TRACEPARENT, R_TRACESTATE } from "./http/fields.ts";

/** What the tracer reads of an exchange. */
export interface Traced {
  requestId: string;
  readonly t0: number;
  readonly method: string;
  readonly authority: string;
  readonly logPath: string;
  readonly protocol: string;
  readonly userAgent: string;
  status: number;
  flags: string;
  bytesSent: number;
  readonly bytesReceived: number;
  upstreamCluster: string;
  upstreamHost: string;
  reqHeader(name: string): string | undefined;
}

/** A request's trace: its span (null: the client's context did not parse) and the name it gets. */
export class TraceState {
  /** The upstream request's child span (spawnUpstreamSpan), made when the request goes upstream. */
  child: SpanIds | null = null;
  /** performance.now() when the upstream request started. */
  childStart = 0;
  /** The header lines the upstream gets (inject): x-envoy-decorator-operation, then the span's context; "" before. */
  lines = "";
  /** The client's trace fields those lines replace: bit kind − R_TRACE (workers/http/fields.ts). */
  drop = 0;
  /** The lines hold a character above 0x7f (a configured route's operation, a client's tracestate): written as UTF-8. */
  utf8 = false;
  constructor(
    readonly span: SpanIds | null,
    /** x-envoy-decorator-operation and the span's name; "" before the request is routed. */
    public operation: string,
    /** Where the request came from (peer.address). */
    readonly peer: string,
    readonly scheme: string,
  ) {}
}

/** istiod's decorator operation for a route (GetRouteOperation): `host:port/path` for one destination, else `<VirtualService>:<port>/path`. */
export function routeOperation(route: Route, port: number): string {
  const u = route.matches[0]?.uri ?? null;
  const kind = route.source.slice(0, route.source.indexOf("/"));
  // Ingress and Gateway API routes match prefixes as path-separated prefixes, which the operation does not name
  const separated = kind === "Ingress" || kind === "HTTPRoute" || kind === "GRPCRoute";
  const path = u === null ? "/*" : u.kind === "exact" ? u.value : u.kind === "prefix" ? (separated && u.value !== "/" ? "/*" : u.value + "*") : u.source;
  const a = route.action;
  let op: string;
  if (a.kind === "forward" && a.destinations.length === 1 && a.destinations[0]!.cluster !== "") {
    const d = a.destinations[0]!;
    op = `${d.host}:${d.port}${path}`;
  } else op = `${route.source.slice(route.source.lastIndexOf("/") + 1)}:${port}${path}`;
  // a header value: a regex from configuration may hold control characters (a YAML "\r\n")
  return CONTROL.test(op) ? op.replace(CONTROL_ALL, "") : op;
}

const CONTROL = /[\x00-\x1f\x7f]/;
const NON_ASCII = /[^\x00-\x7f]/;
const ZERO16 = "0000000000000000";
// TraceState.drop bits (kind − R_TRACE, workers/http/fields.ts)
const DROP_B3 = (1 << (R_B3_TRACEID - R_TRACE)) | (1 << (R_B3_SPANID - R_TRACE)) | (1 << (R_B3_SAMPLED - R_TRACE));
const DROP_B3_PARENTSPANID = 1 << (R_B3_PARENTSPANID - R_TRACE);
const DROP_TRACEPARENT = 1 << (R_TRACEPARENT - R_TRACE);
const DROP_TRACESTATE = 1 << (R_TRACESTATE - R_TRACE);
const CONTROL_ALL = /[\x00-\x1f\x7f]/g;

function localIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

export class Tracer {
  /** False: no tracing; exchanges skip every call in here. */
  enabled = false;
  private config: TracingConfig | null = null;
  private numerator = 0;
  /** Custom tags with environment values read (at apply, as Envoy reads them when it loads its configuration). */
  private tags: { tag: string; header: string; value: string }[] = [];
  private operations = new WeakMap<Route, string>();
  private exporter: SpanExporter | null = null;
  private nodeId = "";

  /** A snapshot's tracing configuration; undefined: off (spans queued are still sent). Never throws: what fails is reported and tracing is off. */
  apply(s: Snapshot): void {
    try {
      this.applyConfig(s);
    } catch (err) {
      this.enabled = false;
      reportError("tracing", err);
    }
  }

  /**
   * Before `s`'s clusters are installed: spans queued for a collector cluster that `s`
   * no longer has go out now, while its endpoints are still the current ones (after,
   * the report would find no endpoint and fail).
   */
  beforeClusters(s: Snapshot): void {
    const cluster = this.exporter?.cluster ?? "";
    if (cluster !== "" && !s.clusters.has(cluster)) this.exporter!.flush();
  }

  private applyConfig(s: Snapshot): void {
    const c = s.tracing;
    if (c === undefined) {
      this.enabled = false;
      this.config = null;
      this.exporter?.flush();
      return;
    }
    this.config = c;
    this.numerator = samplingNumerator(c.samplingPercent);
    this.tags = c.customTags.map((t: CustomTag) =>
      t.kind === "literal" ? { tag: t.tag, header: "", value: t.value } : t.kind === "environment" ? { tag: t.tag, header: "", value: process.env[t.name] ?? t.defaultValue } : { tag: t.tag, header: t.name, value: t.defaultValue },
    );
    const ops = new WeakMap<Route, string>();
    for (const l of s.listeners) {
      const vhs = l.routeTable?.virtualHosts ?? [];
      for (const vh of vhs) for (const r of vh.routes) if (!ops.has(r)) ops.set(r, routeOperation(r, l.port));
    }
    this.operations = ops;
    if (c.collector === null) this.exporter = null;
    else if (this.exporter === null) this.exporter = new SpanExporter(c.collector, c.serviceName);
    else this.exporter.update(c.collector, c.serviceName);
    if (this.nodeId === "") this.nodeId = `router~${localIp()}~${hostname()}.${c.namespace}~${c.namespace}.svc.cluster.local`;
    this.enabled = true;
  }

  /**
   * The decision for a routed request whose ids are set (`ex.requestId`, `own`:
   * made by the gateway): the id marked with it, and the span. `get`: the
   * request's trace fields (x-client-trace-id, B3, traceparent, tracestate). Envoy's
   * connection manager (mutateTracingRequestHeader, then the tracer's startSpan).
   */
  start(ex: Traced, own: boolean, peer: string, scheme: string, get: (name: string) => string | undefined): TraceState {
    const c = this.config!;
    const reason = decideReason(ex.requestId, own, get("x-client-trace-id") !== undefined, this.numerator, c.useRequestIdForSampling, Math.random());
    if (reason !== REASON_NONE && c.useRequestIdForSampling) ex.requestId = markRequestId(ex.requestId, reason);
    const span = startSpan(c.propagation, get, reason !== REASON_NONE, c.traceId128);
    return new TraceState(span, "", peer, scheme);
  }

  operationOf(route: Route | null, port: number): string {
    if (route === null) return "";
    let op = this.operations.get(route);
    if (op === undefined) this.operations.set(route, (op = routeOperation(route, port)));
    return op;
  }

  /**
   * The headers the upstream gets: x-envoy-decorator-operation and the context of the span the
   * upstream request is in: a child of the gateway's span with spawnUpstreamSpan (Envoy's router
   * injects its upstream span's), else the gateway's.
   */
  headers(t: TraceState): [string, string][] {
    const c = this.config!;
    const out: [string, string][] = t.operation === "" ? [] : [["x-envoy-decorator-operation", t.operation]];
    const s = this.upstreamSpan(t);
    if (s === null) return out;
    for (const h of injectHeaders(c.propagation, s)) out.push(h);
    return out;
  }

  /**
   * The same headers as lines (t.lines, in headers()' order) and the client's trace fields they
   * replace (t.drop), for the request head builder (request-head-bytes.ts), which writes them
   * with its own lines and keeps its fast path.
   */
  inject(t: TraceState): void {
    const p = this.config!.propagation;
    let lines = t.operation === "" ? "" : this.operationLine(t.operation);
    let drop = 0;
    const s = this.upstreamSpan(t);
    let state = "";
    if (s !== null) {
      if (p !== "w3c") {
        lines += "x-b3-traceid: " + s.traceId + "\r\nx-b3-spanid: " + s.spanId + "\r\n";
        if (s.parentId !== "") {
          lines += "x-b3-parentspanid: " + s.parentId + "\r\n";
          drop |= DROP_B3_PARENTSPANID;
        }
        lines += s.sampled ? "x-b3-sampled: 1\r\n" : "x-b3-sampled: 0\r\n";
        drop |= DROP_B3;
      }
      if (p !== "b3") {
        lines += "traceparent: 00-" + (s.traceId.length === 32 ? s.traceId : ZERO16 + s.traceId) + "-" + s.spanId + (s.sampled ? "-01\r\n" : "-00\r\n");
        drop |= DROP_TRACEPARENT;
        if (s.tracestate !== "") {
          state = s.tracestate;
          lines += "tracestate: " + state + "\r\n";
          drop |= DROP_TRACESTATE;
        }
      }
    }
    t.lines = lines;
    t.drop = drop;
    t.utf8 = NON_ASCII.test(t.operation) || (state !== "" && NON_ASCII.test(state));
  }

  private lastOperation = "";
  private lastOperationLine = "";
  /** The x-envoy-decorator-operation line for `op` (the last one kept: a route's requests in a row share it). */
  private operationLine(op: string): string {
    if (op !== this.lastOperation) {
      this.lastOperation = op;
      this.lastOperationLine = "x-envoy-decorator-operation: " + op + "\r\n";
    }
    return this.lastOperationLine;
  }

  /** The span whose context the upstream gets: the child (made now, once) with spawnUpstreamSpan, else the gateway's; null: none. */
  private upstreamSpan(t: TraceState): SpanIds | null {
    const s = t.span;
    if (s === null) return null;
    if (this.config!.spawnUpstreamSpan && t.child === null) {
      t.child = { traceId: s.traceId, spanId: randomId(), parentId: s.spanId, sampled: s.sampled, tracestate: s.tracestate };
      if (s.sampled) t.childStart = performance.now(); // (read by finish() only for a sampled span)
    }
    return t.child ?? s;
  }

  /**
   * The request is over: its span goes to the exporter when sampled (Envoy's
   * finalizeDownstreamSpan tags), after its upstream child (finalizeUpstreamSpan's), if any.
   * `upstreamProtocol`: HTTP/1.1 or HTTP/2 to the upstream.
   */
  finish(ex: Traced, t: TraceState, upstreamProtocol: string): void {
    const s = t.span;
    const c = this.config;
    if (s === null || !s.sampled || c === null || this.exporter === null) return;
    const end = performance.now();
    const child = t.child;
    if (child !== null) {
      const ct: [string, string][] = [["component", "proxy"], ["http.protocol", upstreamProtocol]];
      if (ex.upstreamCluster !== "") ct.push(["upstream_cluster", ex.upstreamCluster], ["upstream_cluster.name", ex.upstreamCluster]);
      if (ex.upstreamHost !== "") ct.push(["upstream_address", ex.upstreamHost], ["peer.address", ex.upstreamHost]);
      for (const tag of this.tags) {
        const v = tag.header === "" ? tag.value : (ex.reqHeader(tag.header) ?? tag.value);
        if (v !== "") ct.push([tag.tag, v]);
      }
      ct.push(["http.status_code", String(ex.status)], ["response_flags", ex.flags]);
      if (ex.status === 0 || ex.status >= 500) ct.push(["error", "true"]);
      this.exporter.add({
        traceId: child.traceId,
        spanId: child.spanId,
        parentId: child.parentId,
        tracestate: child.tracestate,
        name: `router ${ex.upstreamCluster} egress`,
        startUs: (performance.timeOrigin + t.childStart) * 1000,
        durationUs: (end - t.childStart) * 1000,
        tags: ct,
      });
    }
    const tags: [string, string][] = [["node_id", this.nodeId]];
    if (ex.requestId !== "") tags.push(["guid:x-request-id", ex.requestId]);
    const path = ex.logPath.length > c.maxPathTagLength ? ex.logPath.slice(0, c.maxPathTagLength) : ex.logPath;
    tags.push(["http.url", `${t.scheme}://${ex.authority}${path}`], ["http.method", ex.method], ["downstream_cluster", "-"], ["user_agent", ex.userAgent === "" ? "-" : ex.userAgent], ["http.protocol", ex.protocol], ["peer.address", t.peer]);
    const ctid = ex.reqHeader("x-client-trace-id");
    if (ctid !== undefined) tags.push(["guid:x-client-trace-id", ctid]);
    const ct = ex.reqHeader("content-type");
    if (ct !== undefined && ct.startsWith("application/grpc")) {
      tags.push(["grpc.path", ex.logPath], ["grpc.authority", ex.authority], ["grpc.content_type", ct]);
      const gt = ex.reqHeader("grpc-timeout");
      if (gt !== undefined) tags.push(["grpc.timeout", gt]);
    }
    for (const tag of this.tags) {
      const v = tag.header === "" ? tag.value : (ex.reqHeader(tag.header) ?? tag.value);
      if (v !== "") tags.push([tag.tag, v]);
    }
    tags.push(["request_size", String(ex.bytesReceived)], ["response_size", String(ex.bytesSent)], ["component", "proxy"]);
    if (ex.upstreamCluster !== "") tags.push(["upstream_cluster", ex.upstreamCluster], ["upstream_cluster.name", ex.upstreamCluster]);
    if (ex.upstreamHost !== "") tags.push(["upstream_address", ex.upstreamHost]);
    tags.push(["http.status_code", String(ex.status)], ["response_flags", ex.flags]);
    if (ex.status === 0 || ex.status >= 500) tags.push(["error", "true"]);
    const span: FinishedSpan = {
      traceId: s.traceId,
      spanId: s.spanId,
      parentId: s.parentId,
      tracestate: s.tracestate,
      name: t.operation !== "" ? t.operation : `egress ${ex.authority}`,
      startUs: (performance.timeOrigin + ex.t0) * 1000,
      durationUs: (end - ex.t0) * 1000,
      tags,
    };
    this.exporter.add(span);
  }

  /** Send what is queued (drain). */
  flush(): void {
    this.exporter?.flush();
  }
}

export const tracer = new Tracer();

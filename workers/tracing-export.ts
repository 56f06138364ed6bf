// Span export off the request path: finished spans wait in a bounded queue and
// go to the collector in batches (a POST of Zipkin v2 JSON or OTLP protobuf, or
// an OTLP/gRPC Export call), when a batch is full or on a timer. At most
// MAX_IN_FLIGHT reports are out at a time; while they are, spans queue; past
// MAX_QUEUE they are dropped and counted. A collector that is down, slow or
// answers garbage costs a failed report (counted), never a request.
import { connect, type ClientHttp2Session } from "node:http2";
import type { TraceCollector } from "../src/snapshot/tracing.ts";
import { grpcFrame, otlpProto, zipkinJson, type FinishedSpan } from "../src/tracing/encode.ts";
import { currentGeneration } from "./http/clusters.ts";
import { stats } from "./stats.ts";

/** Spans per report (Envoy flushes every 5; batches here are larger: one POST per 5 requests is a lot of JS per request). */
export const BATCH = 64;
/** A report is sent this long after the first span queued at the latest (Envoy: 5 s). */
export const FLUSH_MS = 1000;
export const MAX_QUEUE = 8192;
const MAX_IN_FLIGHT = 2;

/** Counters in /stats/prometheus (Envoy's tracing.zipkin.* / tracing.opentelemetry.* stats). */
const SENT = "gangway_tracing_spans_sent_total";
const DROPPED = "gangway_tracing_spans_dropped_total";
const FAILED = "gangway_tracing_reports_failed_total";
const REPORTS = "gangway_tracing_reports_total";

export class SpanExporter {
  private queue: FinishedSpan[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight = 0;
  /** Bumped when the collector changes: reports still out to the old one no longer hold the new one's in-flight slots. */
  private generation = 0;
  private h2: ClientHttp2Session | null = null;
  private h2Endpoint = "";

  constructor(
    private collector: TraceCollector,
    private serviceName: string,
    /** Batch size, queue bound and flush interval (tests make them small). */
    private readonly limits = { batch: BATCH, maxQueue: MAX_QUEUE, flushMs: FLUSH_MS },
  ) {}

  /** The cluster reports go to ("": an address). */
  get cluster(): string {
    return this.collector.cluster;
  }

  /** A new configuration for the same exporter (the queue is kept). */
  update(collector: TraceCollector, serviceName: string): void {
    if (collector.kind !== this.collector.kind || collector.cluster !== this.collector.cluster || collector.address !== this.collector.address) {
      this.closeH2();
      // a collector that hangs (up to its timeout, which may be hours) must not keep the new one from getting reports
      this.generation++;
      this.inFlight = 0;
    }
    this.collector = collector;
    this.serviceName = serviceName;
  }

  add(span: FinishedSpan): void {
    if (this.queue.length >= this.limits.maxQueue) {
      stats.add(DROPPED);
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.limits.batch) this.flush();
    else if (this.timer === null) this.timer = setTimeout(flushTimer, this.limits.flushMs, this);
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const n = this.limits.batch;
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const batch = this.queue.length <= n ? this.queue : this.queue.slice(0, n);
      this.queue = batch === this.queue ? [] : this.queue.slice(n);
      this.send(batch);
    }
    if (this.queue.length > 0 && this.timer === null) this.timer = setTimeout(flushTimer, this.limits.flushMs, this);
  }

  /** Where reports go now: an endpoint of the collector's cluster in the current generation, or its address. */
  private endpoint(): string {
    const c = this.collector;
    if (c.cluster === "") return c.address;
    return currentGeneration().clusters.get(c.cluster)?.pick()?.hostPort ?? "";
  }

  private send(batch: FinishedSpan[]): void {
    const endpoint = this.endpoint();
    stats.add(REPORTS);
    if (endpoint === "") {
      stats.add(FAILED);
      return;
    }
    this.inFlight++;
    const generation = this.generation;
    const done = (ok: boolean): void => {
      if (generation === this.generation) this.inFlight--;
      if (ok) stats.add(SENT, batch.length);
      else stats.add(FAILED);
      if (this.queue.length >= this.limits.batch) this.flush();
    };
    const c = this.collector;
    try {
      if (c.kind === "otlp-grpc") this.sendGrpc(endpoint, otlpProto(batch, this.serviceName), done);
      else {
        const body = c.kind === "zipkin" ? zipkinJson(batch, this.serviceName) : otlpProto(batch, this.serviceName);
        this.sendHttp(endpoint, body, c.kind === "zipkin" ? "application/json" : "application/x-protobuf", done);
      }
    } catch {
      done(false);
    }
  }

  private sendHttp(endpoint: string, body: string | Buffer, contentType: string, done: (ok: boolean) => void): void {
    const c = this.collector;
    const headers = new Headers();
    headers.set("host", c.authority);
    headers.set("content-type", contentType);
    for (const [n, v] of c.headers) headers.set(n, v);
    fetch(`http://${endpoint}${c.path}`, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      decompress: false,
      signal: AbortSignal.timeout(timeoutMs(c)),
    } as RequestInit).then(
      async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        // Zipkin answers 202; OTLP/HTTP 200
        done(res.status >= 200 && res.status < 300);
      },
      () => done(false),
    );
  }

  private session(endpoint: string): ClientHttp2Session {
    if (this.h2 !== null && this.h2Endpoint === endpoint && !this.h2.closed && !this.h2.destroyed) return this.h2;
    this.closeH2();
    const s = connect(`http://${endpoint}`);
    s.on("error", () => undefined);
    s.on("close", () => {
      if (this.h2 === s) this.h2 = null;
    });
    s.unref();
    this.h2 = s;
    this.h2Endpoint = endpoint;
    return s;
  }

  private closeH2(): void {
    const s = this.h2;
    this.h2 = null;
    if (s !== null && !s.destroyed) s.destroy();
  }

  /** OTLP/gRPC: one Export call; OK when the call ends with grpc-status 0. */
  private sendGrpc(endpoint: string, msg: Buffer, done: (ok: boolean) => void): void {
    const c = this.collector;
    let finished = false;
    const end = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(ok);
    };
    const headers: Record<string, string> = { ":method": "POST", ":path": c.path, ":authority": c.authority, "content-type": "application/grpc", te: "trailers" };
    for (const [n, v] of c.headers) headers[n] = v;
    const session = this.session(endpoint);
    const req = session.request(headers);
    const timer = setTimeout(() => {
      req.close();
      // a collector that does not answer in time: its connection is not trusted with the next report
      if (this.h2 === session) this.closeH2();
      end(false);
    }, timeoutMs(c));
    let status: string | undefined;
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
    });
    req.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) status = String(t["grpc-status"]);
    });
    req.on("data", () => undefined);
    req.on("end", () => end(status === "0"));
    req.on("close", () => end(status === "0"));
    req.on("error", () => end(false));
    req.end(grpcFrame(msg));
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.closeH2();
  }
}

/** A report's timeout: at least 1 ms, at most a timer's limit (2^31-1 ms, ~24.8 days; a longer one fires at once). */
function timeoutMs(c: TraceCollector): number {
  return Math.min(Math.max(1, c.timeoutMs), 2 ** 31 - 1);
}

function flushTimer(e: SpanExporter): void {
  e.flush();
}

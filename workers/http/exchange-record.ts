// The access-log side of an exchange: the fields Envoy's default format (and
// Istio's JSON format) report, filled as the exchange goes. Exchange extends it.
import { accessLog, type AccessRecord } from "../access-log.ts";
import type { TlsFactsSource } from "../tls/log-facts.ts";
import { trailerFields } from "./chunked.ts";
import { withTrailers, type KeptForLog } from "./response-log.ts";
import type { ForwardIds } from "./heads-out.ts";
import type { RequestHead } from "./parse-request.ts";

export abstract class ExchangeRecord implements AccessRecord, ForwardIds {
  startMs = 0;
  logPath: string;
  protocol: string;
  status = 0;
  flags = "-";
  details = "";
  termination = "";
  transportFailure = "";
  bytesSent = 0;
  durationMs = 0;
  upstreamServiceTime = -1;
  xff = "";
  requestId = "";
  upstreamHost = "";
  upstreamCluster = "";
  upstreamLocal = "";
  routeName = "";
  sni = "";
  /** Response headers and trailers kept for the log (response-log.ts); null unless a sink reads them (one field, the exchange stays as small as it can). */
  logKept: KeptForLog | null = null;

  constructor(readonly head: RequestHead) {
    this.logPath = head.query === "" ? head.path : head.path + "?" + head.query;
    this.protocol = head.minor === 0 ? "HTTP/1.0" : "HTTP/1.1";
    if (accessLog.enabled) this.startMs = Date.now();
  }

  /** Every field as the constructor leaves it, for `head` (Exchange.make: a finished exchange made again). */
  protected renewRecord(head: RequestHead): void {
    (this as { head: RequestHead }).head = head;
    this.startMs = accessLog.enabled ? Date.now() : 0;
    this.logPath = head.query === "" ? head.path : head.path + "?" + head.query;
    this.protocol = head.minor === 0 ? "HTTP/1.0" : "HTTP/1.1";
    this.status = 0;
    this.flags = "-";
    this.details = "";
    this.termination = "";
    this.transportFailure = "";
    this.bytesSent = 0;
    this.durationMs = 0;
    this.upstreamServiceTime = -1;
    this.xff = "";
    this.requestId = "";
    this.upstreamHost = "";
    this.upstreamCluster = "";
    this.upstreamLocal = "";
    this.routeName = "";
    this.sni = "";
    this.logKept = null;
  }

  get method(): string {
    return this.head.method;
  }
  get userAgent(): string {
    return this.head.header("user-agent") ?? "";
  }
  get authority(): string {
    return this.head.authority;
  }
  /** A request header for a custom format or a filter, read from the head at log time (nothing is captured ahead). */
  reqHeader(name: string): string | undefined {
    return name === ":scheme" ? this.head.scheme : this.head.header(name);
  }
  /** %RESP(X)% / CEL response.headers: the kept value (only names a sink uses are kept). */
  respHeader(name: string): string | null {
    const k = this.logKept;
    if (k === null) return null;
    const i = k.names.indexOf(name);
    return i < 0 ? null : (k.values[i] ?? null);
  }
  /** %TRAILER(X)% / CEL response.trailers. */
  respTrailer(name: string): string | null {
    let t = this.logKept?.trailers ?? null;
    if (t === null) {
      const bytes = this.chunkedTrailerBytes();
      if (bytes === null) return null;
      t = trailerFields(bytes);
      this.logKept = withTrailers(this.logKept, t);
    }
    for (let i = 0; i < t.length; i++) if (t[i]![0] === name) return t[i]![1];
    return null;
  }
  /** The trailer section an HTTP/1.1 upstream's chunked body ended with, when kept (AccessLog.trailers). */
  protected abstract chunkedTrailerBytes(): number[] | null;
  abstract get downstreamTls(): TlsFactsSource | null;
  abstract get mtls(): boolean;
  abstract get bytesReceived(): number;
  abstract get downstreamLocal(): string;
  abstract get downstreamRemote(): string;
}

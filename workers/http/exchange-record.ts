// The access-log side of an exchange: the fields Envoy's default format (and
// Istio's JSON format) report, filled as the exchange goes. Exchange extends it.
import { accessLog, type AccessRecord } from "../access-log.ts";
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

  constructor(readonly head: RequestHead) {
    this.logPath = head.query === "" ? head.path : head.path + "?" + head.query;
    this.protocol = head.minor === 0 ? "HTTP/1.0" : "HTTP/1.1";
    if (accessLog.enabled) this.startMs = Date.now();
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
  abstract get bytesReceived(): number;
  abstract get downstreamLocal(): string;
  abstract get downstreamRemote(): string;
}

// Per-worker metric counters in the shape the primary sums and renders
// (messages.ts StatsSample): Istio's request metrics and upstream connection counters.
import type { StatsSample } from "../src/snapshot/messages.ts";

/** Istio's default buckets for istio_request_duration_milliseconds. */
export const DURATION_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

class RequestSeries {
  count = 0;
  durationSum = 0;
  /** Non-cumulative counts per bucket; rendered cumulatively. */
  buckets = new Float64Array(DURATION_BUCKETS.length);
  requestBytes = 0;
  responseBytes = 0;
  constructor(readonly labels: string) {}
}

export class Stats {
  /** route → destination → (code, flags) → series: keys are strings the snapshot already holds, so no key is built per request. */
  private byRoute = new Map<string, Map<string, Map<number, RequestSeries>>>();
  private flagIds = new Map<string, number>();
  private series: RequestSeries[] = [];
  /** Counters by series name; a series shows in samples once it counted something. */
  private counters = new Map<string, Counter>();
  /** Sampled gauges, computed when asked (e.g. open upstream connections per cluster). */
  gauges: () => StatsSample = () => ({});

  /** One finished request. `flags` is Envoy's response-flags string ("-" for none). */
  request(code: number, flags: string, route: string, dest: string, durationMs: number, reqBytes: number, respBytes: number): void {
    let s = this.last;
    if (s === null || code !== this.lastCode || route !== this.lastRoute || dest !== this.lastDest || flags !== this.lastFlags) {
      s = this.last = this.seriesOf(code, flags, route, dest);
      this.lastCode = code;
      this.lastFlags = flags;
      this.lastRoute = route;
      this.lastDest = dest;
    }
    s.count++;
    s.durationSum += durationMs;
    s.requestBytes += reqBytes;
    s.responseBytes += respBytes;
    const b = DURATION_BUCKETS;
    for (let i = 0; i < b.length; i++) {
      if (durationMs <= b[i]!) {
        s.buckets[i]!++;
        break;
      }
    }
  }

  /**
   * The series of the last request() (series are never dropped): a worker's
   * requests mostly repeat the one before's labels, which then cost four
   * comparisons instead of four Map lookups.
   */
  private last: RequestSeries | null = null;
  private lastCode = 0;
  private lastFlags = "";
  private lastRoute = "";
  private lastDest = "";

  private seriesOf(code: number, flags: string, route: string, dest: string): RequestSeries {
    let byDest = this.byRoute.get(route);
    if (byDest === undefined) this.byRoute.set(route, (byDest = new Map()));
    let byKey = byDest.get(dest);
    if (byKey === undefined) byDest.set(dest, (byKey = new Map()));
    let fid = this.flagIds.get(flags);
    if (fid === undefined) this.flagIds.set(flags, (fid = this.flagIds.size));
    const key = code * 4096 + fid;
    let s = byKey.get(key);
    if (s === undefined) {
      const labels = `response_code="${code}",response_flags="${esc(flags)}",route="${esc(route)}",destination_service="${esc(dest)}"`;
      s = new RequestSeries(labels);
      byKey.set(key, s);
      this.series.push(s);
    }
    return s;
  }

  /** The counter of a full series, e.g. `gangway_upstream_cx_total{cluster="x"}`, made at the first ask; callers counting per connection keep it. */
  counter(series: string): Counter {
    let c = this.counters.get(series);
    if (c === undefined) this.counters.set(series, (c = new Counter()));
    return c;
  }

  /** Add to a counter named as a full series. */
  add(series: string, v = 1): void {
    this.counter(series).v += v;
  }

  /** gangway_upstream_cx_total by cluster (a TCP session opens one connection each). */
  private cxCounters = new Map<string, Counter>();

  upstreamConnection(cluster: string): void {
    let c = this.cxCounters.get(cluster);
    if (c === undefined) this.cxCounters.set(cluster, (c = this.counter(`gangway_upstream_cx_total{cluster="${esc(cluster)}"}`)));
    c.v++;
  }

  upstreamError(cluster: string, flag: string): void {
    this.add(`gangway_upstream_rq_error_total{cluster="${esc(cluster)}",flag="${esc(flag)}"}`);
  }

  /** Outlier detection: an ejection, one refused by maxEjectionPercent (overflow), or an ejection ended (Envoy's outlier_detection.* counters). */
  outlierEvent(cluster: string, action: "eject" | "uneject" | "overflow"): void {
    this.add(`gangway_outlier_events_total{cluster="${esc(cluster)}",action="${action}"}`);
  }

  private tcpKeys = new Map<string, TcpSeries>();

  /** The istio_tcp_* counters of a destination, made once. */
  private tcpSeries(dest: string): TcpSeries {
    let k = this.tcpKeys.get(dest);
    if (k === undefined) {
      const label = `{destination_service="${esc(dest)}"}`;
      k = {
        opened: this.counter(`istio_tcp_connections_opened_total${label}`),
        closed: this.counter(`istio_tcp_connections_closed_total${label}`),
        received: this.counter(`istio_tcp_received_bytes_total${label}`),
        sent: this.counter(`istio_tcp_sent_bytes_total${label}`),
      };
      this.tcpKeys.set(dest, k);
    }
    return k;
  }

  /** A proxied TCP connection (passthrough, TCP route) got its destination: its counters, which the connection keeps. */
  tcpOpened(dest: string): TcpSeries {
    const k = this.tcpSeries(dest);
    k.opened.v++;
    return k;
  }

  /** A proxied TCP connection is over: closed counter and the bytes not counted yet. */
  tcpClosed(t: TcpCounted): void {
    t.tcpCounters!.closed.v++;
    this.tcpBytes(t);
  }

  /** Bytes a TCP connection moved since last counted (Istio counts them while the connection runs). */
  tcpBytes(t: TcpCounted): void {
    const k = t.tcpCounters!;
    if (t.received > t.countedReceived) k.received.v += t.received - t.countedReceived;
    if (t.sent > t.countedSent) k.sent.v += t.sent - t.countedSent;
    t.countedReceived = t.received;
    t.countedSent = t.sent;
  }

  /** Run before each sample (count the bytes of connections still open). */
  beforeSample: (() => void)[] = [];

  /** A TLS connection closed before or during the handshake (unknown SNI, bad hello, client certificate ...). */
  tlsRefused(listener: string, reason: string): void {
    this.add(`gangway_tls_refused_total{listener="${esc(listener)}",reason="${esc(reason)}"}`);
  }

  /** A connection closed for lack of a valid PROXY protocol header (Envoy's downstream_cx_proxy_proto_error). */
  proxyProtocolError(listener: string): void {
    this.add(`gangway_proxy_protocol_errors_total{listener="${esc(listener)}"}`);
  }

  private handshakeKeys = new Map<string, [string, string]>();

  /** A TLS handshake finished; `resumed`: an earlier session was resumed (Envoy's ssl.session_reused). */
  tlsHandshake(listener: string, resumed: boolean): void {
    let k = this.handshakeKeys.get(listener);
    if (k === undefined) {
      const l = esc(listener);
      k = [`gangway_tls_handshakes_total{listener="${l}",resumed="false"}`, `gangway_tls_handshakes_total{listener="${l}",resumed="true"}`];
      this.handshakeKeys.set(listener, k);
    }
    this.add(k[resumed ? 1 : 0]);
  }

  sample(): StatsSample {
    for (const f of this.beforeSample) f();
    const out: StatsSample = {};
    for (const s of this.series) {
      const l = s.labels;
      out[`istio_requests_total{${l}}`] = s.count;
      out[`istio_request_bytes_total{${l}}`] = s.requestBytes;
      out[`istio_response_bytes_total{${l}}`] = s.responseBytes;
      let cum = 0;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        cum += s.buckets[i]!;
        out[`istio_request_duration_milliseconds_bucket{${l},le="${DURATION_BUCKETS[i]}"}`] = cum;
      }
      out[`istio_request_duration_milliseconds_bucket{${l},le="+Inf"}`] = s.count;
      out[`istio_request_duration_milliseconds_sum{${l}}`] = s.durationSum;
      out[`istio_request_duration_milliseconds_count{${l}}`] = s.count;
    }
    for (const [k, c] of this.counters) if (c.v !== 0) out[k] = c.v; // made, not counted yet: not shown
    const g = this.gauges();
    for (const k in g) out[k] = g[k]!;
    return out;
  }
}

/** One counter; held by whoever counts it often (no series name looked up per count). */
export class Counter {
  v = 0;
}

/** The istio_tcp_* counters of one destination service. */
export interface TcpSeries {
  readonly opened: Counter;
  readonly closed: Counter;
  readonly received: Counter;
  readonly sent: Counter;
}

/** What the istio_tcp_* counters read of a TCP connection. */
export interface TcpCounted {
  /** Its destination's counters (tcpOpened's), null before it had one. */
  tcpCounters: TcpSeries | null;
  /** Bytes from the client (request direction) / to the client. */
  received: number;
  sent: number;
  countedReceived: number;
  countedSent: number;
}

export function clusterLabel(cluster: string): string {
  return `cluster="${esc(cluster)}"`;
}

export const stats = new Stats();

// An access-log line's fields (AccessRecord) and Istio's two default formats
// written by hand: the text format (Envoy command operators, `-` for empty) and
// the JSON keys. The per-request path of every default configuration.

import type { TlsFactsSource } from "./tls/log-facts.ts";

/** What a line is made of; the HTTP exchange provides these fields. */
export interface AccessRecord {
  startMs: number;
  method: string;
  /** `X-ENVOY-ORIGINAL-PATH?:PATH`, with the query. */
  logPath: string;
  protocol: string;
  status: number;
  flags: string;
  details: string;
  termination: string;
  transportFailure: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  /** -1: none */
  upstreamServiceTime: number;
  xff: string;
  userAgent: string;
  requestId: string;
  authority: string;
  upstreamHost: string;
  upstreamCluster: string;
  upstreamLocal: string;
  downstreamLocal: string;
  downstreamRemote: string;
  sni: string;
  routeName: string;
  /** A request header by lower-case name, for %REQ(X)% and filters (HTTP only; read at log time, never captured ahead). */
  reqHeader?(name: string): string | undefined;
  /** The client presented a certificate that was verified (CEL `connection.mtls`). */
  mtls?: boolean;
  /**
   * A response header by lower-case name (%RESP(X)%, CEL response.headers): null when the
   * response had none. Only the names a sink uses are kept (AccessLog.respNames).
   */
  respHeader?(name: string): string | null;
  /** A response trailer by lower-case name (%TRAILER(X)%, CEL response.trailers); kept only when a sink uses trailers. */
  respTrailer?(name: string): string | null;
  /** The terminated TLS connection (null: plain text), read only for a TLS operator or attribute. */
  readonly downstreamTls?: TlsFactsSource | null;
}

/** The last second isoTime formatted (ms / 1000, floored) and its text up to the milliseconds. */
let isoSecond = NaN;
let isoPrefix = "";
/** "000Z" … "999Z": the milliseconds and the zone. */
const MS3: string[] = [];
for (let i = 0; i < 1000; i++) MS3.push(String(i).padStart(3, "0") + "Z");

/**
 * new Date(ms).toISOString(), with the text up to the second kept for the
 * last second seen: lines of the same second differ only in the milliseconds
 * (toISOString was ~155 ns of a ~290 ns text line, bun 1.4.4).
 */
export function isoTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSecond) {
    const iso = new Date(sec * 1000).toISOString(); // "…T03:10:35.000Z" (years past 9999 have a sign and 6 digits)
    isoPrefix = iso.slice(0, iso.length - 4);
    isoSecond = sec;
  }
  const tail = MS3[ms - sec * 1000];
  return tail === undefined ? new Date(ms).toISOString() : isoPrefix + tail; // (a fraction of a millisecond: as Date has it)
}

function d(v: string): string {
  return v === "" ? "-" : v;
}

export function formatText(r: AccessRecord): string {
  return (
    `[${isoTime(r.startMs)}] "${d(r.method)} ${d(r.logPath)} ${r.protocol}" ${r.status} ${d(r.flags)} ` +
    `${d(r.details)} ${d(r.termination)} "${d(r.transportFailure)}" ${r.bytesReceived} ${r.bytesSent} ${r.durationMs} ` +
    `${r.upstreamServiceTime < 0 ? "-" : r.upstreamServiceTime} "${d(r.xff)}" "${d(r.userAgent)}" "${d(r.requestId)}" ` +
    `"${d(r.authority)}" "${d(r.upstreamHost)}" ${d(r.upstreamCluster)} ${d(r.upstreamLocal)} ${d(r.downstreamLocal)} ` +
    `${d(r.downstreamRemote)} ${d(r.sni)} ${d(r.routeName)}\n`
  );
}

function n(v: string): string | null {
  return v === "" || v === "-" ? null : v;
}

/** Istio's JSON access-log keys. */
export function formatJson(r: AccessRecord): string {
  return (
    JSON.stringify({
      start_time: isoTime(r.startMs),
      method: n(r.method), // null for a TCP connection, as Envoy
      path: n(r.logPath),
      protocol: n(r.protocol),
      response_code: r.status,
      response_flags: n(r.flags),
      response_code_details: n(r.details),
      connection_termination_details: n(r.termination),
      upstream_transport_failure_reason: n(r.transportFailure),
      bytes_received: r.bytesReceived,
      bytes_sent: r.bytesSent,
      duration: r.durationMs,
      upstream_service_time: r.upstreamServiceTime < 0 ? null : String(r.upstreamServiceTime),
      x_forwarded_for: n(r.xff),
      user_agent: n(r.userAgent),
      request_id: n(r.requestId),
      authority: n(r.authority),
      upstream_host: n(r.upstreamHost),
      upstream_cluster: n(r.upstreamCluster),
      upstream_local_address: n(r.upstreamLocal),
      downstream_local_address: n(r.downstreamLocal),
      downstream_remote_address: n(r.downstreamRemote),
      requested_server_name: n(r.sni),
      route_name: n(r.routeName),
    }) + "\n"
  );
}

// Access log: one line per request in Istio's default text format (Envoy
// command operators, `-` for empty) or one JSON object per line. Lines are
// batched and written on a short timer or when the batch grows, never one
// write per request.
import { closeSync, openSync, writeSync } from "node:fs";
import type { AccessLogConfig, CelNode, LogFormat } from "../src/snapshot/access-log.ts";
import { formatterOf } from "./access-log-format.ts";
import { filterOf } from "./access-log-filter.ts";
import { reportError, workerLog } from "./context.ts";

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
}

const FLUSH_MS = 100;
const FLUSH_BYTES = 64 * 1024;
/** A pipe write up to this size is atomic, so lines of several workers never interleave. */
const ATOMIC = 4096;
/** If the sink is stuck, drop lines beyond this rather than grow without bound. */
const MAX_PENDING = 4 * 1024 * 1024;

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

/** One destination: its descriptor and the lines not written yet. Sinks writing to one path share it (lines stay whole and in order). */
class Output {
  pending = "";
  timer: ReturnType<typeof setTimeout> | null = null;
  constructor(
    readonly fd: number,
    readonly ownFd: boolean,
  ) {}

  add(line: string): void {
    if (this.pending.length > MAX_PENDING) return;
    this.pending += line;
    if (this.pending.length >= FLUSH_BYTES) this.flush();
    else if (this.timer === null) this.timer = setTimeout(flushTimer, FLUSH_MS, this);
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    let data = this.pending;
    if (data.length === 0 || this.fd < 0) return;
    this.pending = "";
    try {
      while (data.length > 0) {
        // cut at a line end so each write is whole lines, ≤ ATOMIC bytes when possible
        let cut = data.length;
        if (cut > ATOMIC) {
          const nl = data.lastIndexOf("\n", ATOMIC - 1);
          cut = nl >= 0 ? nl + 1 : data.indexOf("\n") + 1 || data.length;
        }
        const buf = Buffer.from(data.slice(0, cut));
        let off = 0;
        while (off < buf.length) off += writeSync(this.fd, buf, off);
        data = data.slice(cut);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        this.pending = data + this.pending; // try again on the next flush
        if (this.timer === null) this.timer = setTimeout(flushTimer, FLUSH_MS, this);
      } else reportError("access log", err);
    }
  }

  close(): void {
    this.flush();
    if (this.ownFd) closeSync(this.fd);
  }
}

function flushTimer(out: Output): void {
  out.flush();
}

/** Where a line goes, in which format, and for which records (null: all). */
interface Sink {
  out: Output;
  format: (r: AccessRecord) => string;
  filter: ((r: AccessRecord) => boolean) | null;
}

/** `stdout`, `/dev/stdout` (Istio's name for it) and `/dev/stderr` are the process's own descriptors. */
function openOutput(path: string): Output {
  if (path === "stdout" || path === "/dev/stdout") return new Output(1, false);
  if (path === "/dev/stderr") return new Output(2, false);
  return new Output(openSync(path, "a"), true);
}

/** What makes two sink lists the same: destination (stdout however named), format, filter. */
function sinksKey(sinks: { path: string; format: LogFormat; filter: CelNode | null }[]): string {
  return JSON.stringify(sinks.map((s) => [s.path === "/dev/stdout" ? "stdout" : s.path, s.format, s.filter]));
}

export class AccessLog {
  /** False when logging is off: callers skip building the record. */
  enabled = false;
  private sinks: Sink[] = [];
  private outputs: Output[] = [];
  /** The sinks applied (sinksKey): unchanged ones are not applied again (files not reopened, a failed open not retried). */
  private applied: string | null = null;

  /** The start-up destination and format (--access-log, --log-format), until a snapshot carries its own. */
  configure(target: string, format: "text" | "json"): void {
    const off = target === "off" || target === "";
    this.setSinks(off ? [] : [{ path: target, format: format === "json" ? formatJson : formatText, filter: null }]);
    this.applied = sinksKey(off ? [] : [{ path: target, format: { kind: format === "json" ? "json-default" : "text-default" }, filter: null }]);
  }

  /**
   * A snapshot's access-log configuration (src/compile/access-log.ts); undefined keeps
   * the current one. Files are opened again only when the sinks changed. A file that
   * cannot be opened is reported and its sink dropped; the others are kept.
   */
  apply(config: AccessLogConfig | undefined): void {
    if (config === undefined) return;
    const key = sinksKey(config.sinks);
    if (key === this.applied) return;
    const sinks: { path: string; format: (r: AccessRecord) => string; filter: ((r: AccessRecord) => boolean) | null }[] = [];
    for (const s of config.sinks) sinks.push({ path: s.path, format: formatterOf(s.format), filter: s.filter === null ? null : filterOf(s.filter) });
    this.setSinks(sinks);
    this.applied = key;
  }

  private setSinks(specs: { path: string; format: (r: AccessRecord) => string; filter: ((r: AccessRecord) => boolean) | null }[]): void {
    this.close();
    const byPath = new Map<string, Output>();
    const sinks: Sink[] = [];
    for (const spec of specs) {
      const key = spec.path === "/dev/stdout" ? "stdout" : spec.path;
      let out = byPath.get(key);
      if (out === undefined) {
        try {
          out = openOutput(spec.path);
        } catch (err) {
          // a path the configuration names that cannot be opened: said, and the other sinks kept (traffic is not refused for it)
          workerLog("error", `cannot open the access log ${spec.path}: ${(err as Error).message}; its lines are dropped until the configuration changes`);
          continue;
        }
        byPath.set(key, out);
      }
      sinks.push({ out, format: spec.format, filter: spec.filter });
    }
    this.sinks = sinks;
    this.outputs = [...byPath.values()];
    this.enabled = sinks.length > 0;
  }

  log(r: AccessRecord): void {
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) {
      const s = sinks[i]!;
      if (s.filter !== null && !s.filter(r)) continue;
      s.out.add(s.format(r));
    }
  }

  flush(): void {
    for (const o of this.outputs) o.flush();
  }

  close(): void {
    for (const o of this.outputs) o.close();
    this.outputs = [];
    this.sinks = [];
    this.enabled = false;
  }
}

export const accessLog = new AccessLog();

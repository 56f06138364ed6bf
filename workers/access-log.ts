// Access log: one line per request or TCP connection to each sink of the
// snapshot's access-log configuration (destination, format, filter; before the
// first snapshot, --access-log / --log-format). Istio's default formats are the
// hand-written writers of access-log-line.ts; other formats access-log-format.ts.
// Lines are batched per destination and written on a short timer or when the
// batch grows, never one write per request.
import { closeSync, openSync, writeSync } from "node:fs";
import type { AccessLogConfig, CelNode, LogFormat } from "../src/snapshot/access-log.ts";
import { formatterOf } from "./access-log-format.ts";
import { filterOf } from "./access-log-filter.ts";
import { logNeeds } from "./access-log-needs.ts";
import { formatJson, formatText, type AccessRecord } from "./access-log-line.ts";
import { reportError, workerLog } from "./context.ts";

export { formatJson, formatText, isoTime, type AccessRecord } from "./access-log-line.ts";

const FLUSH_MS = 100;
const FLUSH_BYTES = 64 * 1024;
/** A pipe write up to this size is atomic, so lines of several workers never interleave. */
const ATOMIC = 4096;
/** If the sink is stuck, drop lines beyond this rather than grow without bound. */
const MAX_PENDING = 4 * 1024 * 1024;

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
  /** Response headers some sink reads (%RESP(X)%, CEL response.headers): an exchange keeps these, and nothing when null. */
  respNames: string[] | null = null;
  /** Some sink reads response trailers: an exchange keeps them. */
  trailers = false;
  /** Some sink reads the downstream TLS connection: its facts are read at the handshake (workers/tls/log-facts.ts readTlsFacts). */
  tls = false;
  private sinks: Sink[] = [];
  private outputs: Output[] = [];
  /** The sinks applied (sinksKey): unchanged ones are not applied again (files not reopened, a failed open not retried). */
  private applied: string | null = null;

  /** The start-up destination and format (--access-log, --log-format), until a snapshot carries its own. */
  configure(target: string, format: "text" | "json"): void {
    const off = target === "off" || target === "";
    this.setSinks(off ? [] : [{ path: target, format: format === "json" ? formatJson : formatText, filter: null }]);
    this.respNames = null;
    this.trailers = false;
    this.tls = false;
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
    const needs = logNeeds(config.sinks);
    this.respNames = needs.respNames.length === 0 ? null : needs.respNames;
    this.trailers = needs.trailers;
    this.tls = needs.tls;
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
    this.respNames = null;
    this.trailers = false;
    this.tls = false;
  }
}

export const accessLog = new AccessLog();

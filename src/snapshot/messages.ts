// Messages between the primary and its data-plane workers (postMessage).
import type { PathNormalization } from "../route/normalize-path.ts";
import type { Snapshot } from "./types.ts";
import type { SnapshotDelta } from "./delta.ts";

export interface WorkerOptions {
  workerId: number;
  /** `stdout`, `off`, or a file path (appended to). */
  accessLog: string;
  logFormat: "text" | "json";
  serverHeader: string;
  /** `--path-normalization` (Istio's mesh pathNormalization); BASE when absent. */
  pathNormalization?: PathNormalization;
  /** Edge limits (README "Timeouts and limits"); 0 turns one off; absent: the default (workers/context.ts). */
  requestHeadersTimeoutMs?: number;
  streamIdleTimeoutMs?: number;
  maxConnectionDurationMs?: number;
  drainTimeoutMs?: number;
  /** Every traffic listener expects a PROXY protocol (v1 or v2) header first (Istio's gatewayTopology.proxyProtocol). */
  proxyProtocol?: boolean;
}

export type ToWorker =
  /**
   * `beat`: the cell this worker adds 1 to every BEAT_MS, and the cell it keeps its longest gap
   * between beats in (src/admin/heartbeat.ts Beater); the primary restarts a worker whose beat stops.
   */
  | { type: "init"; options: WorkerOptions; beat?: { cells: SharedArrayBuffer; beatCell: number; gapCell: number } }
  /** `sentAt`: wall-clock ms (performance.timeOrigin + now()) when posted, for the worker's receive time. */
  | { type: "snapshot"; snapshot: Snapshot; sentAt?: number }
  /**
   * The full snapshot of `version` serialized once by the primary (bun:jsc
   * `serialize`, postMessage's own format) and shared by every worker it is
   * posted to: serializing 10,000 VirtualServices takes seconds, per worker
   * when each is posted the object.
   */
  | { type: "snapshot-bytes"; version: number; bytes: SharedArrayBuffer; sentAt?: number }
  /** The changes from version `delta.base` (src/snapshot/delta.ts); a worker not at that version answers `resync`. */
  | { type: "snapshot-delta"; delta: SnapshotDelta; sentAt?: number }
  /** Stop accepting, finish in-flight work within `graceMs`, then post `drained`. */
  | { type: "drain"; graceMs: number }
  | { type: "stats"; id: number };

export interface ListenerStatus {
  name: string;
  port: number;
  bindPort: number;
  /** Empty when bound; otherwise why not (e.g. EADDRINUSE). */
  error: string;
  /** The bind itself failed (the port may free up: worth another try). */
  bindFailed?: boolean;
}

export type FromWorker =
  /** Posted after every snapshot is applied: which listeners are bound. */
  | { type: "applied"; workerId: number; version: number; listeners: ListenerStatus[]; timing?: ApplyTiming }
  /** A delta this worker cannot apply (not at its base version, or it failed): send the full snapshot. */
  | { type: "resync"; workerId: number; version: number; reason: string }
  | { type: "stats"; id: number; workerId: number; counters: StatsSample }
  | { type: "drained"; workerId: number }
  | { type: "log"; level: "info" | "warn" | "error"; message: string };

/** How long a snapshot took to reach a worker and to apply there (ms). */
export interface ApplyTiming {
  /** Posted by the primary → handled by the worker (structured-clone deserialisation and queueing included). */
  receiveMs: number;
  /** Delta rebuilt (if one), regexes revived, clusters and listeners applied. */
  applyMs: number;
  delta: boolean;
}

/** Metric samples a worker reports; the primary sums them across workers. */
export interface StatsSample {
  /** `name{label="v",...}` → value; counters summed, histograms as _bucket/_sum/_count series. */
  [series: string]: number;
}

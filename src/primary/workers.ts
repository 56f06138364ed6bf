// The primary's side of the data plane: starts N Bun workers, publishes each
// snapshot to all of them, restarts a worker that dies (with the current
// snapshot), gathers their counters, and drains them on shutdown.
import type { ApplyTiming, FromWorker, ListenerStatus, StatsSample, ToWorker, WorkerOptions } from "../snapshot/messages.ts";
import type { Snapshot } from "../snapshot/types.ts";
import { makeDelta } from "../snapshot/delta.ts";
import { atWorkerPriority } from "./priority.ts";
import { log } from "../log.ts";
import { closeSync, openSync } from "node:fs";
import { serialize } from "bun:jsc";
import { BeatWatch, stuckAction } from "../admin/heartbeat.ts";

const wallNow = (): number => performance.timeOrigin + performance.now();

const WORKER_URL = new URL("../../workers/worker.ts", import.meta.url);

/** How long the serialized full snapshot is kept for more workers that need it (those started together, a resync). */
const FULL_KEEP_MS = 10_000;

/** Free descriptors asked for before a worker is restarted: its thread's own and a few to read its modules (measured: 3). */
const WORKER_DESCRIPTORS = 16;

/** Can the process open `n` more descriptors now? (They are opened and closed again.) */
function descriptorsFree(n: number): boolean {
  const fds: number[] = [];
  try {
    for (let i = 0; i < n; i++) fds.push(openSync("/dev/null", "r"));
    return true;
  } catch {
    return false;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

interface Slot {
  id: number;
  worker: Worker;
  /** Version of the last snapshot this worker applied, and its listener states. */
  applied: number;
  listeners: ListenerStatus[];
  alive: boolean;
  /** Version of the last snapshot posted to it (full or delta): a delta from it is what it can apply next. */
  sent: number;
  /** Receive and apply time of the last snapshot it applied. */
  timing: ApplyTiming | null;
  /** Its heartbeat (cell `id` of the pool's beats), as the primary sees it. */
  watch: BeatWatch;
  /** When it was terminated for not beating (performance.now()), null when it was not. */
  terminatedAt: number | null;
}

/** What one publish cost (the reload log line's fields). */
export interface PublishReport {
  /** Finding the changed parts (the delta), ms. */
  diffMs: number;
  /** Posting (structured clone) to every worker, ms. */
  sendMs: number;
  /** Workers sent a delta / the full snapshot. */
  deltas: number;
  fulls: number;
  /** Virtual hosts the delta carried / left to the workers' copies. */
  vhostsSent: number;
  vhostsKept: number;
  /** Per worker that applied it: receive and apply ms. */
  workers: ApplyTiming[];
}

export interface PoolEvents {
  /** A worker applied a snapshot (also after a restart). */
  onApplied?: () => void;
  /** What allBound() answers may have changed (a snapshot published, a worker applied one or exited). */
  onChange?: () => void;
  /** The worker script (tests run the pool against stand-ins). */
  workerUrl?: URL;
}

export class WorkerPool {
  private slots: Slot[] = [];
  private current: Snapshot | null = null;
  /** The current snapshot serialized, shared by the workers it is posted to whole (sendFull). */
  private full: { version: number; bytes: SharedArrayBuffer } | null = null;
  private waiters: { version: number; resolve: () => void }[] = [];
  private statsWaiters = new Map<number, { waiting: Set<Slot>; samples: StatsSample[]; resolve: (s: StatsSample[]) => void }>();
  private drainWaiters: (() => void)[] = [];
  private nextStatsId = 1;
  private stopping = false;
  restarts = 0;
  /** Deltas a worker could not apply (answered with the full snapshot). */
  resyncs = 0;
  /** Full snapshots serialized (once per version, shared by the workers it went to). */
  serializations = 0;
  /** Workers terminated (and restarted) because they stopped beating. */
  stuckRestarts = 0;
  /** One heartbeat cell per worker slot (src/admin/heartbeat.ts). */
  private readonly beats: Int32Array;

  constructor(
    private readonly count: number,
    private readonly options: Omit<WorkerOptions, "workerId">,
    private readonly events: PoolEvents = {},
  ) {
    // per worker id: its beat counter (cell 2 × id) and its own longest gap in ms (2 × id + 1)
    this.beats = new Int32Array(new SharedArrayBuffer(8 * Math.max(1, count)));
  }

  /**
   * Checks every worker's heartbeat (the primary's watchdog, every BEAT_MS): a worker that
   * has not beaten for `timeoutMs` (alive, but its event loop stuck) is terminated, and
   * restarted by the exit path as a crashed one. Returns the id + 1 of a worker terminated
   * `timeoutMs` ago that has still not ended (the process is then not live), else 0.
   */
  checkHeartbeats(now: number, timeoutMs: number): number {
    if (this.stopping) return 0;
    let wedged = 0;
    for (const s of this.slots) {
      if (!s.alive) continue;
      const age = s.watch.age(Atomics.load(this.beats, 2 * s.id), now);
      const action = stuckAction(age, timeoutMs, s.terminatedAt === null ? null : now - s.terminatedAt);
      if (action === "terminate") {
        s.terminatedAt = now;
        this.stuckRestarts++;
        log("error", "worker stopped beating; terminating it to restart it", { worker: s.id, beat_age_ms: Math.round(age), liveness_timeout_ms: timeoutMs });
        s.worker.terminate();
        this.events.onChange?.(); // not serving from now on
      } else if (action === "wedged" && wedged === 0) {
        wedged = s.id + 1;
      }
    }
    return wedged;
  }

  /**
   * Per live worker: ms since its heartbeat last moved, as the primary sees it; and the
   * longest time between two of its beats, as it measured it (since the process started).
   */
  heartbeats(now: number): { id: number; ageMs: number; maxGapMs: number }[] {
    const out = [];
    for (const s of this.slots) {
      if (!s.alive) continue;
      const ageMs = s.watch.age(Atomics.load(this.beats, 2 * s.id), now);
      out.push({ id: s.id, ageMs, maxGapMs: Atomics.load(this.beats, 2 * s.id + 1) });
    }
    return out;
  }

  /** Start the workers on a first snapshot; resolves once all of them applied it. */
  async start(snapshot: Snapshot): Promise<void> {
    this.current = snapshot;
    for (let i = 0; i < this.count; i++) this.slots.push(this.spawn(i));
    this.events.onChange?.();
    await this.whenApplied(snapshot.version);
  }

  /** Publish a new snapshot; resolves when every live worker applied it (or after 10 s). */
  async publish(snapshot: Snapshot): Promise<PublishReport> {
    const t = performance.now();
    const prev = this.current;
    this.current = snapshot;
    this.events.onChange?.();
    const report: PublishReport = { diffMs: 0, sendMs: 0, deltas: 0, fulls: 0, vhostsSent: 0, vhostsKept: 0, workers: [] };
    // workers that were sent the previous snapshot get the changes only (built once, posted to each)
    const d = prev !== null && this.slots.some((s) => s.alive && s.sent === prev.version) ? makeDelta(prev, snapshot) : null;
    if (d !== null) {
      report.vhostsSent = d.sent;
      report.vhostsKept = d.kept;
    }
    report.diffMs = performance.now() - t;
    const t1 = performance.now();
    for (const s of this.slots) {
      if (!s.alive) continue;
      s.timing = null;
      if (d !== null && prev !== null && s.sent === prev.version) {
        s.sent = snapshot.version;
        this.send(s, { type: "snapshot-delta", delta: d.delta, sentAt: wallNow() });
        report.deltas++;
      } else {
        this.sendFull(s);
        report.fulls++;
      }
    }
    report.sendMs = performance.now() - t1;
    await this.whenApplied(snapshot.version);
    for (const s of this.slots) if (s.alive && s.applied === snapshot.version && s.timing !== null) report.workers.push(s.timing);
    return report;
  }

  private sendFull(s: Slot): void {
    if (this.current === null) return;
    const version = this.current.version;
    s.sent = version;
    if (this.full === null || this.full.version !== version) {
      let bytes: SharedArrayBuffer;
      try {
        bytes = serialize(this.current) as SharedArrayBuffer;
      } catch (err) {
        log("error", "cannot serialize the snapshot for a worker", { worker: s.id, error: String(err) });
        return;
      }
      this.serializations++;
      const full = (this.full = { version, bytes });
      setTimeout(() => this.full === full && (this.full = null), FULL_KEEP_MS).unref?.();
    }
    this.send(s, { type: "snapshot-bytes", version, bytes: this.full.bytes, sentAt: wallNow() });
  }

  /** Listener states as every worker reports them for the current version. */
  listenerStates(): ListenerStatus[][] {
    return this.slots.map((s) => s.listeners);
  }

  /** True when every worker applied the current snapshot and bound all its listeners. */
  allBound(): boolean {
    if (this.current === null || this.slots.length === 0) return false;
    for (const s of this.slots) {
      if (!s.alive || s.applied !== this.current.version) return false;
      for (const l of s.listeners) if (l.error !== "") return false;
    }
    return true;
  }

  /**
   * Serving (admin `/ready`): every live worker has applied a snapshot and bound its listeners.
   * A worker applying a newer snapshot keeps serving the one before, so a reload does not turn
   * `/ready` to 503 while it is applied (Envoy's server stays LIVE through configuration updates);
   * allBound() is the stricter "the current version everywhere". A worker terminated for not
   * beating is not serving, also while it has not ended.
   */
  serving(): boolean {
    if (this.current === null || this.slots.length === 0) return false;
    for (const s of this.slots) {
      if (!s.alive || s.applied === 0 || s.terminatedAt !== null) return false;
      for (const l of s.listeners) if (l.error !== "") return false;
    }
    return true;
  }

  /** Did a worker fail to bind a listener of the current snapshot (a port held by another process)? */
  bindFailed(): boolean {
    for (const s of this.slots) for (const l of s.listeners) if (l.bindFailed === true) return true;
    return false;
  }

  /** Counters from every live worker (a worker that does not answer within 2 s is left out). */
  stats(): Promise<StatsSample[]> {
    const live = this.slots.filter((s) => s.alive);
    if (live.length === 0) return Promise.resolve([]);
    const id = this.nextStatsId++;
    return new Promise((resolve) => {
      const entry = { waiting: new Set(live), samples: [] as StatsSample[], resolve };
      this.statsWaiters.set(id, entry);
      for (const s of live) this.send(s, { type: "stats", id });
      setTimeout(() => {
        if (this.statsWaiters.delete(id)) resolve(entry.samples);
      }, 2000).unref?.();
    });
  }

  /** Stop accepting everywhere; resolve when all workers drained or `graceMs` (+1 s) passed. */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    const live = this.slots.filter((s) => s.alive);
    let pending = live.length;
    if (pending === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        if (--pending <= 0) resolve();
      };
      for (let i = 0; i < live.length; i++) this.drainWaiters.push(done);
      for (const s of live) this.send(s, { type: "drain", graceMs });
      setTimeout(resolve, graceMs + 1000).unref?.();
    });
  }

  terminate(): void {
    this.stopping = true;
    for (const s of this.slots) {
      s.alive = false;
      s.worker.terminate();
    }
  }

  private whenApplied(version: number): Promise<void> {
    if (this.appliedEverywhere(version)) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = { version, resolve };
      this.waiters.push(entry);
      setTimeout(() => {
        const i = this.waiters.indexOf(entry);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          log("warn", "workers did not all apply the snapshot in time", { version });
          resolve();
        }
      }, 10_000).unref?.();
    });
  }

  private appliedEverywhere(version: number): boolean {
    for (const s of this.slots) if (s.alive && s.applied < version) return false;
    return true;
  }

  private send(s: Slot, msg: ToWorker): void {
    try {
      s.worker.postMessage(msg);
    } catch (err) {
      log("error", "cannot post to worker", { worker: s.id, error: String(err) });
    }
  }

  private spawn(id: number): Slot {
    const worker = atWorkerPriority(() => new Worker((this.events.workerUrl ?? WORKER_URL).href));
    const watch = new BeatWatch(Atomics.load(this.beats, 2 * id), performance.now());
    const slot: Slot = { id, worker, applied: 0, listeners: [], alive: true, sent: 0, timing: null, watch, terminatedAt: null };
    worker.addEventListener("message", (e: MessageEvent<FromWorker>) => this.onMessage(slot, e.data));
    worker.addEventListener("error", (e: ErrorEvent) => {
      log("error", "worker error", { worker: id, error: e.message });
    });
    worker.addEventListener("close", () => this.onExit(slot));
    this.send(slot, { type: "init", options: { ...this.options, workerId: id }, beat: { cells: this.beats.buffer as SharedArrayBuffer, beatCell: 2 * id, gapCell: 2 * id + 1 } });
    this.sendFull(slot); // a new or restarted worker always starts from the full snapshot
    return slot;
  }

  private settleStats(id: number): void {
    const entry = this.statsWaiters.get(id);
    if (entry === undefined || entry.waiting.size > 0) return;
    this.statsWaiters.delete(id);
    entry.resolve(entry.samples);
  }

  private onExit(slot: Slot): void {
    if (!slot.alive) return;
    slot.alive = false;
    this.events.onChange?.();
    // a dead worker answers no stats request: stop waiting for it
    for (const [id, entry] of this.statsWaiters) {
      if (entry.waiting.delete(slot)) this.settleStats(id);
    }
    if (this.stopping) return;
    this.restarts++;
    if (slot.terminatedAt !== null) log("error", "stuck worker ended; restarting it with the current snapshot", { worker: slot.id, restarts: this.restarts });
    else log("error", "worker exited unexpectedly; restarting it with the current snapshot", { worker: slot.id, restarts: this.restarts });
    const delay = Math.min(100 * this.restarts, 2000);
    let waited = false;
    const restart = (): void => {
      if (this.stopping) return;
      // Bun cannot start a worker thread without a few free descriptors: with none,
      // `new Worker` ends the whole process ("bun ran out of file descriptors")
      if (!descriptorsFree(WORKER_DESCRIPTORS)) {
        if (!waited) log("error", "out of file descriptors: the worker is restarted once some are free", { worker: slot.id });
        waited = true;
        setTimeout(restart, 500);
        return;
      }
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn(slot.id);
    };
    setTimeout(restart, delay);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.type) {
      case "applied": {
        slot.applied = msg.version;
        slot.listeners = msg.listeners;
        slot.timing = msg.timing ?? null;
        for (const l of msg.listeners) {
          if (l.error !== "") log("error", "listener not bound", { worker: slot.id, listener: l.name, port: l.bindPort, error: l.error });
        }
        this.waiters = this.waiters.filter((w) => {
          if (!this.appliedEverywhere(w.version)) return true;
          w.resolve();
          return false;
        });
        this.events.onApplied?.();
        this.events.onChange?.();
        return;
      }
      case "resync": {
        log("info", "worker asked for the full snapshot", { worker: slot.id, version: msg.version, reason: msg.reason });
        this.resyncs++;
        this.sendFull(slot);
        return;
      }
      case "stats": {
        const entry = this.statsWaiters.get(msg.id);
        if (entry === undefined) return;
        entry.samples.push(msg.counters);
        entry.waiting.delete(slot);
        this.settleStats(msg.id);
        return;
      }
      case "drained": {
        const w = this.drainWaiters.shift();
        w?.();
        return;
      }
      case "log":
        log(msg.level, msg.message, { worker: slot.id });
        return;
    }
  }
}

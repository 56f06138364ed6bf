// The primary's side of the data plane: starts N Bun workers, publishes each
// snapshot to all of them, restarts a worker that dies (with the current
// snapshot), gathers their counters, and drains them on shutdown.
import type { FromWorker, ListenerStatus, StatsSample, ToWorker, WorkerOptions } from "../snapshot/messages.ts";
import type { Snapshot } from "../snapshot/types.ts";
import { log } from "../log.ts";

const WORKER_URL = new URL("../../workers/worker.ts", import.meta.url);

interface Slot {
  id: number;
  worker: Worker;
  /** Version of the last snapshot this worker applied, and its listener states. */
  applied: number;
  listeners: ListenerStatus[];
  alive: boolean;
}

export interface PoolEvents {
  /** A worker applied a snapshot (also after a restart). */
  onApplied?: () => void;
  /** The worker script (tests run the pool against stand-ins). */
  workerUrl?: URL;
}

export class WorkerPool {
  private slots: Slot[] = [];
  private current: Snapshot | null = null;
  private waiters: { version: number; resolve: () => void }[] = [];
  private statsWaiters = new Map<number, { waiting: Set<Slot>; samples: StatsSample[]; resolve: (s: StatsSample[]) => void }>();
  private drainWaiters: (() => void)[] = [];
  private nextStatsId = 1;
  private stopping = false;
  restarts = 0;

  constructor(
    private readonly count: number,
    private readonly options: Omit<WorkerOptions, "workerId">,
    private readonly events: PoolEvents = {},
  ) {}

  /** Start the workers on a first snapshot; resolves once all of them applied it. */
  async start(snapshot: Snapshot): Promise<void> {
    this.current = snapshot;
    for (let i = 0; i < this.count; i++) this.slots.push(this.spawn(i));
    await this.whenApplied(snapshot.version);
  }

  /** Publish a new snapshot; resolves when every live worker applied it (or after 10 s). */
  async publish(snapshot: Snapshot): Promise<void> {
    this.current = snapshot;
    for (const s of this.slots) if (s.alive) this.send(s, { type: "snapshot", snapshot });
    await this.whenApplied(snapshot.version);
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
    const worker = new Worker((this.events.workerUrl ?? WORKER_URL).href);
    const slot: Slot = { id, worker, applied: 0, listeners: [], alive: true };
    worker.addEventListener("message", (e: MessageEvent<FromWorker>) => this.onMessage(slot, e.data));
    worker.addEventListener("error", (e: ErrorEvent) => {
      log("error", "worker error", { worker: id, error: e.message });
    });
    worker.addEventListener("close", () => this.onExit(slot));
    this.send(slot, { type: "init", options: { ...this.options, workerId: id } });
    if (this.current !== null) this.send(slot, { type: "snapshot", snapshot: this.current });
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
    // a dead worker answers no stats request: stop waiting for it
    for (const [id, entry] of this.statsWaiters) {
      if (entry.waiting.delete(slot)) this.settleStats(id);
    }
    if (this.stopping) return;
    this.restarts++;
    log("error", "worker exited unexpectedly; restarting it with the current snapshot", { worker: slot.id, restarts: this.restarts });
    const delay = Math.min(100 * this.restarts, 2000);
    setTimeout(() => {
      if (this.stopping) return;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn(slot.id);
    }, delay);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.type) {
      case "applied": {
        slot.applied = msg.version;
        slot.listeners = msg.listeners;
        for (const l of msg.listeners) {
          if (l.error !== "") log("error", "listener not bound", { worker: slot.id, listener: l.name, port: l.bindPort, error: l.error });
        }
        this.waiters = this.waiters.filter((w) => {
          if (!this.appliedEverywhere(w.version)) return true;
          w.resolve();
          return false;
        });
        this.events.onApplied?.();
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

// Heartbeats, and what their ages decide. Each thread (the primary, every data-plane
// worker, the admin thread) adds 1 to its own cell of a shared Int32Array every BEAT_MS
// while its event loop turns; a thread that watches sees the cell stop moving. Counters,
// not timestamps: threads do not share a clock origin (performance.now() is per thread),
// and a wall-clock step (NTP) must not read as a stall; the watcher times the last change
// it saw with its own clock. No import: the admin thread loads this module.

/** How often a thread beats (and the primary checks the workers' and the admin thread's beats). */
export const BEAT_MS = 1000;

/**
 * Default `--liveness-timeout`: a heartbeat this old means stuck. The longest legitimate
 * stall measured is the primary's start-up load of 10,000 VirtualServices (bench/README.md
 * "Liveness"): a few seconds on one synchronous stretch; this leaves a wide margin for
 * larger configurations and a slower or busier machine.
 */
export const LIVENESS_TIMEOUT_MS = 60_000;

export function beat(cells: Int32Array, i: number): void {
  Atomics.add(cells, i, 1);
}

/**
 * A thread's own heartbeat: each beat adds 1 to `beatCell` and keeps in `gapCell` the
 * longest time (ms) between two of its beats, its longest blocked stretch plus BEAT_MS
 * (measured by the thread itself: a watcher's view also holds the watcher's own stalls).
 */
export class Beater {
  private last = performance.now();

  constructor(
    private readonly cells: Int32Array,
    private readonly beatCell: number,
    private readonly gapCell: number,
  ) {}

  beat(): void {
    const now = performance.now();
    const gap = Math.round(now - this.last);
    this.last = now;
    if (gap > Atomics.load(this.cells, this.gapCell)) Atomics.store(this.cells, this.gapCell, gap);
    Atomics.add(this.cells, this.beatCell, 1);
  }
}

/** One watched cell: how long it has not moved, as seen from the watching thread. */
export class BeatWatch {
  private changedAt: number;

  constructor(
    private last: number,
    now: number,
  ) {
    this.changedAt = now;
  }

  /** ms since the cell last moved; `value` is the cell read now. */
  age(value: number, now: number): number {
    if (value !== this.last) {
      this.last = value;
      this.changedAt = now;
    }
    return now - this.changedAt;
  }

  /** Start counting again from `now` (a restarted thread beats on the same cell). */
  reset(value: number, now: number): void {
    this.last = value;
    this.changedAt = now;
  }
}

export type Liveness = { live: true } | { live: false; reason: string };

/**
 * `/healthz/live`: not live when the primary has not beaten for `timeoutMs` (its event
 * loop is blocked: no reload, no worker restart, no admin answer beyond the probes would
 * happen again), or when a worker that stopped beating did not end when terminated
 * (`wedgedWorker`, its id + 1; 0: none). A stuck worker that does end is restarted by the
 * pool and leaves the process live.
 */
export function liveness(primaryAgeMs: number, timeoutMs: number, wedgedWorker: number): Liveness {
  if (primaryAgeMs >= timeoutMs) return { live: false, reason: `the primary has not beaten for ${Math.round(primaryAgeMs / 1000)}s (--liveness-timeout ${Math.round(timeoutMs / 1000)}s)` };
  if (wedgedWorker > 0) return { live: false, reason: `worker ${wedgedWorker - 1} stopped beating and did not end when terminated` };
  return { live: true };
}

export type StuckAction = "ok" | "terminate" | "wedged";

/**
 * What is done with a thread (a worker, the admin thread) whose heartbeat is `ageMs` old:
 * terminated (and restarted by its owner once it has ended) at `timeoutMs`; reported
 * wedged when it was terminated `timeoutMs` ago and has still not ended.
 * `terminatedAgoMs`: since it was terminated for not beating, null when it was not.
 */
export function stuckAction(ageMs: number, timeoutMs: number, terminatedAgoMs: number | null): StuckAction {
  if (terminatedAgoMs !== null) return terminatedAgoMs >= timeoutMs ? "wedged" : "ok";
  return ageMs >= timeoutMs ? "terminate" : "ok";
}

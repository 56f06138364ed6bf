// The primary's heartbeat and watchdog (src/admin/heartbeat.ts), every BEAT_MS on the
// primary's event loop: beats for the admin thread (which answers `/healthz/live` 503
// when the beats stop), restarts a worker or the admin thread that stopped beating, and
// tells the admin thread about a worker that would not end. Its gauges go to
// /stats/prometheus.
import { BEAT_MS } from "../admin/heartbeat.ts";
import type { AdminThread } from "../admin/thread.ts";
import type { StatsSample } from "../snapshot/messages.ts";
import { spin, takeFault } from "../test-fault.ts";
import type { WorkerPool } from "./workers.ts";

export class Watchdog {
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastBeat = performance.now();
  /** The longest time between two of the primary's beats (ms): its longest blocked stretch, plus BEAT_MS. */
  private primaryMaxGapMs = 0;
  pool: WorkerPool | null = null;

  constructor(
    private readonly admin: AdminThread | null,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.tick(), BEAT_MS);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private beat(): void {
    const now = performance.now();
    this.primaryMaxGapMs = Math.max(this.primaryMaxGapMs, now - this.lastBeat);
    this.lastBeat = now;
    this.admin?.beatPrimary();
  }

  private tick(): void {
    this.beat();
    const now = performance.now();
    this.admin?.checkHeartbeat(now);
    if (this.pool !== null) this.admin?.setWedgedWorker(this.pool.checkHeartbeats(now, this.timeoutMs));
    const block = takeFault("primary"); // tests only (src/test-fault.ts)
    if (block !== null) spin(Number(block) || 0);
  }

  /** gangway_* series: heartbeat ages and gaps, restarts for not beating. */
  gauges(): StatsSample {
    const now = performance.now();
    const out: StatsSample = {};
    out['gangway_heartbeat_max_gap_seconds{thread="primary"}'] = seconds(Math.max(this.primaryMaxGapMs, now - this.lastBeat));
    if (this.admin !== null) {
      out['gangway_heartbeat_max_gap_seconds{thread="admin"}'] = seconds(this.admin.maxGapMs());
      out["gangway_admin_thread_restarts_total"] = this.admin.restarts;
    }
    if (this.pool !== null) {
      let workersMax = 0;
      for (const w of this.pool.heartbeats(now)) {
        out[`gangway_worker_heartbeat_age_seconds{worker="${w.id}"}`] = seconds(w.ageMs);
        workersMax = Math.max(workersMax, w.maxGapMs);
      }
      out['gangway_heartbeat_max_gap_seconds{thread="worker"}'] = seconds(workersMax);
      out["gangway_worker_stuck_restarts_total"] = this.pool.stuckRestarts;
    }
    return out;
  }
}

/** Milliseconds as seconds to the millisecond (`1.002`, not `1.0016406180000004`). */
function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

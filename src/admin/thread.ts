// The primary's side of the admin thread (thread-worker.ts): starts it with the
// listeners to open, keeps the cells it answers probes from (the readiness flag,
// the primary's heartbeat), answers the requests it passes on with the primary's
// own handlers, and restarts it when it ends or stops beating.
import { log } from "../log.ts";
import type { AdminRole } from "./probes.ts";
import { ADMIN_BEAT, ADMIN_GAP, CELLS, PRIMARY_BEAT, READY, WEDGED_WORKER, type FromAdminThread, type ListenerSpec, type ToAdminThread } from "./thread-messages.ts";
import { beat, BeatWatch, stuckAction } from "./heartbeat.ts";

const WORKER_URL = new URL("./thread-worker.ts", import.meta.url);

export type StartedListener = { role: AdminRole; port: number } | { role: AdminRole; error: string };

type Handle = (role: AdminRole, req: Request) => Response | Promise<Response>;

/** First restart after 100 ms, doubling per death in a row up to this. */
const RESTART_MAX_MS = 5000;
/** A thread that ran this long before it ended starts the backoff again from 100 ms. */
const STABLE_MS = 60_000;

/** The restart delay after `deaths` deaths in a row (1, 2, ...). */
export function restartDelayMs(deaths: number): number {
  return Math.min(100 * 2 ** Math.max(0, deaths - 1), RESTART_MAX_MS);
}

export class AdminThread {
  /** Kept across restarts: a restarted thread answers `/ready` from the primary's current flag at once. */
  private readonly flags = new Int32Array(new SharedArrayBuffer(4 * CELLS));
  private worker: Worker | null = null;
  /** "starting": spawned, listeners not yet open; "running": answering; "down": ended, a restart pending. */
  private phase: "starting" | "running" | "down" = "starting";
  private stopped = false;
  private readonly watch = new BeatWatch(0, performance.now());
  private terminatedAt: number | null = null;
  private startedAt = 0;
  private deaths = 0;
  private wedgedLogged = false;
  /** The first start succeeded: from then on an end is restarted. */
  private started = false;
  /** Times the thread was started again (it ended, or stopped beating). */
  restarts = 0;

  private constructor(
    private specs: ListenerSpec[],
    private readonly handle: Handle,
    private readonly livenessTimeoutMs: number,
  ) {}

  /**
   * Starts the thread and its listeners; resolves with each listener's port or
   * why it could not listen. `handle` answers what the thread does not (the
   * configuration dumps, metrics), on the primary's thread.
   */
  static async start(listeners: ListenerSpec[], handle: Handle, livenessTimeoutMs: number): Promise<{ thread: AdminThread; listeners: StartedListener[] }> {
    const thread = new AdminThread(listeners, handle, livenessTimeoutMs);
    const started = await thread.spawn();
    // a restarted thread listens where this one does (a port 0 is chosen once)
    thread.specs = listeners.map((l, i) => {
      const s = started[i];
      return s !== undefined && "port" in s ? { ...l, port: s.port } : l;
    });
    thread.started = true;
    return { thread, listeners: started };
  }

  /** What `/ready` answers from now on (200 when true). */
  setReady(ready: boolean): void {
    Atomics.store(this.flags, READY, ready ? 1 : 0);
  }

  /** The primary's heartbeat (its event loop turned), read by the thread for `/healthz/live`. */
  beatPrimary(): void {
    beat(this.flags, PRIMARY_BEAT);
  }

  /** A stuck worker that did not end when terminated (its id + 1), or 0: `/healthz/live` 503 while set. */
  setWedgedWorker(idPlusOne: number): void {
    Atomics.store(this.flags, WEDGED_WORKER, idPlusOne);
  }

  /**
   * The primary's watchdog: a thread that stopped beating (running, or restarted and not
   * yet listening: its age counts from its spawn) is terminated, then restarted.
   */
  checkHeartbeat(now: number): void {
    if (this.stopped || !this.started || this.phase === "down" || this.worker === null) return;
    const age = this.watch.age(Atomics.load(this.flags, ADMIN_BEAT), now);
    const action = stuckAction(age, this.livenessTimeoutMs, this.terminatedAt === null ? null : now - this.terminatedAt);
    if (action === "terminate") {
      this.terminatedAt = now;
      log("error", "the admin thread stopped beating; terminating it to restart it", { beat_age_ms: Math.round(age) });
      this.worker.terminate();
    } else if (action === "wedged" && !this.wedgedLogged) {
      this.wedgedLogged = true;
      log("error", "the admin thread stopped beating and did not end when terminated: probes go unanswered");
    }
  }

  /** The longest time between two of the thread's beats (ms), as it measured it. */
  maxGapMs(): number {
    return Atomics.load(this.flags, ADMIN_GAP);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.worker === null) return;
    this.post(this.worker, { type: "stop" });
    this.worker.terminate();
  }

  private spawn(): Promise<StartedListener[]> {
    const worker = (this.worker = new Worker(WORKER_URL.href));
    this.phase = "starting";
    this.terminatedAt = null;
    this.wedgedLogged = false;
    this.startedAt = performance.now();
    this.watch.reset(Atomics.load(this.flags, ADMIN_BEAT), this.startedAt);
    return new Promise<StartedListener[]>((resolve, reject) => {
      let settled = false;
      worker.addEventListener("message", (e: MessageEvent<FromAdminThread>) => {
        const m = e.data;
        if (m.type === "started") {
          settled = true;
          if (worker === this.worker) this.phase = "running";
          resolve(m.listeners);
        } else if (m.type === "request") void this.answer(worker, m.id, m.role, m.method, m.url);
      });
      worker.addEventListener("error", (e: ErrorEvent) => {
        if (!settled) reject(new Error(`admin thread: ${e.message}`));
        else log("error", "the admin thread threw", { error: e.message });
        settled = true;
      });
      worker.addEventListener("close", () => {
        if (!settled) reject(new Error("admin thread exited"));
        settled = true;
        if (worker === this.worker) this.onExit();
      });
      this.post(worker, { type: "start", listeners: this.specs, flags: this.flags.buffer as SharedArrayBuffer, livenessTimeoutMs: this.livenessTimeoutMs });
    });
  }

  /** The thread ended (threw, exited, or was terminated for not beating): start it again after a bounded backoff. */
  private onExit(): void {
    const was = this.phase;
    this.phase = "down";
    // the first start's failure is the caller's (serve exits 1); after stop() nothing is restarted
    if (this.stopped || !this.started) return;
    const now = performance.now();
    this.deaths = was === "running" && now - this.startedAt >= STABLE_MS ? 1 : this.deaths + 1;
    const delay = restartDelayMs(this.deaths);
    log("error", "the admin thread ended: the admin, status and metrics listeners do not answer until it is restarted", { restart_in_ms: delay, deaths_in_a_row: this.deaths });
    setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    this.restarts++;
    let listeners: StartedListener[];
    try {
      listeners = await this.spawn();
    } catch (err) {
      log("error", "the admin thread did not start again", { error: String(err) });
      if (this.phase !== "down" && this.worker !== null) this.worker.terminate(); // its close schedules the next try
      return;
    }
    const failed = listeners.filter((l) => "error" in l);
    if (failed.length > 0) {
      log("error", "the restarted admin thread cannot listen; trying again", { errors: failed.map((l) => `${l.role}: ${"error" in l ? l.error : ""}`).join("; ") });
      this.worker?.terminate(); // its close schedules the next try
      return;
    }
    log("info", "admin thread restarted", { restarts: this.restarts, listeners: listeners.map((l) => `${l.role}:${"port" in l ? l.port : "?"}`).join(",") });
  }

  private post(worker: Worker, m: ToAdminThread): void {
    try {
      worker.postMessage(m);
    } catch {
      // the thread ended; its restart asks again
    }
  }

  private async answer(worker: Worker, id: number, role: AdminRole, method: string, url: string): Promise<void> {
    let res: Response;
    try {
      res = await this.handle(role, new Request(url, { method }));
    } catch {
      res = new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    const body = await res.arrayBuffer();
    const headers: [string, string][] = [];
    res.headers.forEach((v, k) => headers.push([k, v]));
    if (!this.stopped && worker === this.worker) this.post(worker, { type: "answer", id, status: res.status, headers, body });
  }
}

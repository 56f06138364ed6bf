// The primary's side of the admin thread (thread-worker.ts): starts it with the
// listeners to open, keeps the readiness flag it answers probes from, and
// answers the requests it passes on with the primary's own handlers.
import { log } from "../log.ts";
import type { AdminRole } from "./probes.ts";
import { READY, type FromAdminThread, type ListenerSpec, type ToAdminThread } from "./thread-messages.ts";

const WORKER_URL = new URL("./thread-worker.ts", import.meta.url);

export type StartedListener = { role: AdminRole; port: number } | { role: AdminRole; error: string };

export class AdminThread {
  private readonly flags = new Int32Array(new SharedArrayBuffer(4));
  private stopped = false;

  private constructor(private readonly worker: Worker) {}

  /**
   * Starts the thread and its listeners; resolves with each listener's port or
   * why it could not listen. `handle` answers what the thread does not (the
   * configuration dumps, metrics), on the primary's thread.
   */
  static async start(listeners: ListenerSpec[], handle: (role: AdminRole, req: Request) => Response | Promise<Response>): Promise<{ thread: AdminThread; listeners: StartedListener[] }> {
    const worker = new Worker(WORKER_URL.href);
    const thread = new AdminThread(worker);
    const started = new Promise<StartedListener[]>((resolve, reject) => {
      worker.addEventListener("message", (e: MessageEvent<FromAdminThread>) => {
        const m = e.data;
        if (m.type === "started") resolve(m.listeners);
        else if (m.type === "request") void thread.answer(m.id, handle, m.role, m.method, m.url);
      });
      worker.addEventListener("error", (e: ErrorEvent) => reject(new Error(`admin thread: ${e.message}`)));
      worker.addEventListener("close", () => {
        reject(new Error("admin thread exited"));
        if (!thread.stopped) log("error", "the admin thread exited: the admin, status and metrics listeners no longer answer");
      });
    });
    thread.send({ type: "start", listeners, flags: thread.flags.buffer as SharedArrayBuffer });
    return { thread, listeners: await started };
  }

  /** What `/ready` answers from now on (200 when true). */
  setReady(ready: boolean): void {
    Atomics.store(this.flags, READY, ready ? 1 : 0);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.send({ type: "stop" });
    this.worker.terminate();
  }

  private send(m: ToAdminThread): void {
    this.worker.postMessage(m);
  }

  private async answer(id: number, handle: (role: AdminRole, req: Request) => Response | Promise<Response>, role: AdminRole, method: string, url: string): Promise<void> {
    let res: Response;
    try {
      res = await handle(role, new Request(url, { method }));
    } catch {
      res = new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    const body = await res.arrayBuffer();
    const headers: [string, string][] = [];
    res.headers.forEach((v, k) => headers.push([k, v]));
    if (!this.stopped) this.send({ type: "answer", id, status: res.status, headers, body });
  }
}

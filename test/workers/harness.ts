// Test harness: a real worker thread driven through its message protocol, a
// raw TCP client for byte-exact HTTP, and small helpers.
import type { FromWorker, ListenerStatus, StatsSample, WorkerOptions } from "../../src/snapshot/messages.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";

export class WorkerHarness {
  readonly worker: Worker;
  readonly logs: string[] = [];
  private waiters: { pred: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void }[] = [];

  /** `env`: the worker's process.env (default: this one's), e.g. GANGWAY_H2=node. */
  constructor(options: Partial<WorkerOptions> = {}, env?: Record<string, string>) {
    this.worker = new Worker(new URL("../../workers/worker.ts", import.meta.url).href, env === undefined ? undefined : { env });
    this.worker.addEventListener("message", (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === "log") this.logs.push(`${m.level}: ${m.message}`);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
    this.worker.postMessage({
      type: "init",
      options: { workerId: 0, accessLog: "off", logFormat: "text", serverHeader: "istio-envoy", ...options },
    });
  }

  next<T extends FromWorker>(pred: (m: FromWorker) => boolean, ms = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("worker did not answer")), ms);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m as T);
        },
      });
    });
  }

  async apply(s: Snapshot): Promise<ListenerStatus[]> {
    const p = this.next<Extract<FromWorker, { type: "applied" }>>((m) => m.type === "applied" && m.version === s.version);
    this.worker.postMessage({ type: "snapshot", snapshot: s });
    return (await p).listeners;
  }

  async stats(): Promise<StatsSample> {
    const id = Math.floor(Math.random() * 1e9);
    const p = this.next<Extract<FromWorker, { type: "stats" }>>((m) => m.type === "stats" && m.id === id);
    this.worker.postMessage({ type: "stats", id });
    return (await p).counters;
  }

  async drain(graceMs: number): Promise<void> {
    const p = this.next((m) => m.type === "drained", graceMs + 5000);
    this.worker.postMessage({ type: "drain", graceMs });
    await p;
  }

  stop(): void {
    this.worker.terminate();
  }
}

/** Raw HTTP over TCP: send bytes, collect what comes back until `done` says so or the server closes. */
export async function raw(
  port: number,
  send: string | Uint8Array | (string | Uint8Array)[],
  done: (got: Buffer) => boolean = () => false,
  timeoutMs = 5000,
): Promise<{ text: string; bytes: Buffer; closed: boolean }> {
  const chunks: Buffer[] = [];
  let closed = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, d) {
        chunks.push(Buffer.from(d));
        if (done(Buffer.concat(chunks))) finish();
      },
      close() {
        closed = true;
        finish();
      },
      error() {
        closed = true;
        finish();
      },
    },
  });
  const parts = Array.isArray(send) ? send : [send];
  for (const p of parts) {
    sock.write(p);
    if (parts.length > 1) await Bun.sleep(20);
  }
  const timer = setTimeout(finish, timeoutMs);
  await finished;
  clearTimeout(timer);
  const closedByServer = closed;
  sock.end();
  const bytes = Buffer.concat(chunks);
  return { text: bytes.toString("latin1"), bytes, closed: closedByServer };
}

/** Count complete HTTP responses with Content-Length bodies in `text` (for pipelining tests). */
export function countResponses(text: string): number {
  return text.split("HTTP/1.1 ").length - 1;
}

/** A header's value in a raw response head (first one, case-insensitive). */
export function headerOf(text: string, name: string): string | undefined {
  const head = text.slice(0, text.indexOf("\r\n\r\n"));
  for (const line of head.split("\r\n").slice(1)) {
    const i = line.indexOf(":");
    if (line.slice(0, i).toLowerCase() === name) return line.slice(i + 1).trim();
  }
  return undefined;
}

export function sha256(b: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(b).digest("hex");
}

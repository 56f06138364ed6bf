// The admin thread (a Bun Worker): runs the admin, status and metrics listeners
// off the primary's thread. Probes (`/ready`, `/healthz/*`, the status port)
// are answered here from the readiness flag the primary keeps in shared
// memory, so they answer while the primary decodes or compiles a large
// configuration (seconds, on one synchronous stretch); every other request
// (`/config_dump`, `/stats/prometheus`, …) is passed to the primary, which
// answers it as before once its thread is free. `/healthz/live` is decided here
// from the primary's heartbeat (heartbeat.ts); this thread beats too, and the
// primary restarts it when it stops beating or ends.
import { serveAdminHttp1, type AdminServer } from "./http1.ts";
import { probeAnswer, type Health } from "./probes.ts";
import { ADMIN_BEAT, ADMIN_GAP, PRIMARY_BEAT, READY, WEDGED_WORKER, type FromAdminThread, type ToAdminThread } from "./thread-messages.ts";
import { Beater, BEAT_MS, BeatWatch, liveness } from "./heartbeat.ts";
import { spin, takeFault } from "../test-fault.ts";

declare const self: Worker;

let flags: Int32Array | null = null;
const servers: AdminServer[] = [];
const pending = new Map<number, (r: Response) => void>();
let nextId = 1;

const post = (m: FromAdminThread): void => self.postMessage(m);
let primary: BeatWatch | null = null;
let timeoutMs = Infinity;
const health: Health = {
  ready: () => flags !== null && Atomics.load(flags, READY) === 1,
  live: () => {
    if (flags === null || primary === null) return { live: true };
    return liveness(primary.age(Atomics.load(flags, PRIMARY_BEAT), performance.now()), timeoutMs, Atomics.load(flags, WEDGED_WORKER));
  },
};

function onBeat(cells: Int32Array, beater: Beater): void {
  beater.beat();
  primary?.age(Atomics.load(cells, PRIMARY_BEAT), performance.now()); // seen between probes too
  // tests only (src/test-fault.ts)
  if (takeFault("admin") !== null) setTimeout(() => {
    throw new Error("test fault: the admin thread throws");
  });
  if (takeFault("admin-hang") !== null) spin(Infinity);
}

self.addEventListener("message", (e: MessageEvent<ToAdminThread>) => {
  const m = e.data;
  switch (m.type) {
    case "start": {
      const cells = (flags = new Int32Array(m.flags));
      timeoutMs = m.livenessTimeoutMs;
      primary = new BeatWatch(Atomics.load(cells, PRIMARY_BEAT), performance.now());
      const beater = new Beater(cells, ADMIN_BEAT, ADMIN_GAP);
      setInterval(() => onBeat(cells, beater), BEAT_MS);
      beater.beat();
      const out: FromAdminThread & { type: "started" } = { type: "started", listeners: [] };
      for (const l of m.listeners) {
        const role = l.role;
        try {
          const server = serveAdminHttp1(
            l.host,
            l.port,
            (req) => {
              const local = probeAnswer(role, req, health);
              if (local !== null) return local;
              const id = nextId++;
              return new Promise<Response>((resolve) => {
                pending.set(id, resolve);
                post({ type: "request", id, role, method: req.method, url: req.url });
              });
            },
            30,
          );
          servers.push(server);
          out.listeners.push({ role, port: server.port });
        } catch (err) {
          out.listeners.push({ role, error: String(err) });
        }
      }
      post(out);
      return;
    }
    case "answer": {
      const resolve = pending.get(m.id);
      if (resolve === undefined) return;
      pending.delete(m.id);
      resolve(new Response(m.body, { status: m.status, headers: m.headers }));
      return;
    }
    case "stop":
      for (const s of servers) s.stop(true);
      servers.length = 0;
      return;
  }
});

// The admin thread (a Bun Worker): runs the admin, status and metrics listeners
// off the primary's thread. Probes (`/ready`, `/healthz/*`, the status port)
// are answered here from the readiness flag the primary keeps in shared
// memory, so they answer while the primary decodes or compiles a large
// configuration (seconds, on one synchronous stretch); every other request
// (`/config_dump`, `/stats/prometheus`, …) is passed to the primary, which
// answers it as before once its thread is free.
import { serveAdminHttp1, type AdminServer } from "./http1.ts";
import { probeAnswer } from "./probes.ts";
import { READY, type FromAdminThread, type ToAdminThread } from "./thread-messages.ts";

declare const self: Worker;

let flags: Int32Array | null = null;
const servers: AdminServer[] = [];
const pending = new Map<number, (r: Response) => void>();
let nextId = 1;

const post = (m: FromAdminThread): void => self.postMessage(m);
const ready = (): boolean => flags !== null && Atomics.load(flags, READY) === 1;

self.addEventListener("message", (e: MessageEvent<ToAdminThread>) => {
  const m = e.data;
  switch (m.type) {
    case "start": {
      flags = new Int32Array(m.flags);
      const out: FromAdminThread & { type: "started" } = { type: "started", listeners: [] };
      for (const l of m.listeners) {
        const role = l.role;
        try {
          const server = serveAdminHttp1(
            l.host,
            l.port,
            (req) => {
              const local = probeAnswer(role, req, ready);
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

// The admin answers that need nothing but the readiness flag and the heartbeats: `/ready`,
// `/healthz/ready`, `/healthz/live`, the index, a method other than GET/HEAD,
// and the whole status listener. The admin thread (thread-worker.ts) answers
// these itself, so they answer while the primary's thread is busy loading or
// compiling a configuration; everything else is asked of the primary. No
// import beyond heartbeat.ts here: the admin thread loads this module.
import type { Liveness } from "./heartbeat.ts";

export type AdminRole = "admin" | "status" | "metrics";

export function text(body: string, status = 200, type = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { "content-type": type } });
}

export function readiness(ready: boolean): Response {
  return ready ? text("LIVE\n") : text("NOT READY\n", 503);
}

/** What the probes read: the readiness flag, and the liveness the heartbeats decide (heartbeat.ts). */
export interface Health {
  ready(): boolean;
  live(): Liveness;
}

/**
 * Liveness (an extension of INTERFACE.md's admin): 200 while the primary's event loop
 * beats (also while draining, while a traffic port is held by another process, or while a
 * configuration is loaded or compiled, so a liveness probe never kills a pod that is only
 * not ready or busy); 503 with the reason when it has not beaten for --liveness-timeout,
 * or a stuck worker did not end when terminated.
 */
export function livenessAnswer(l: Liveness): Response {
  return l.live ? text("ALIVE\n") : text(`NOT LIVE: ${l.reason}\n`, 503);
}

export function pathOf(req: Request): string {
  return new URL(req.url).pathname.replace(/\/+$/, "") || "/";
}

const INDEX = "gangway admin\n  /ready /healthz/ready /healthz/live\n  /config_dump /listeners /routes /clusters /certs\n  /status (Gateway API)\n  /stats/prometheus\n";

/** `--status-port`: the readiness answer (and liveness) only; nothing that shows configuration. */
export function handleStatus(req: Request, health: Health): Response {
  if (req.method !== "GET" && req.method !== "HEAD") return text("method not allowed\n", 405);
  const path = pathOf(req);
  if (path === "/healthz/ready") return readiness(health.ready());
  if (path === "/healthz/live") return livenessAnswer(health.live());
  return text("not found\n", 404);
}

/**
 * The answer of a request that needs only the readiness flag, or null: the
 * request needs the configuration or the workers' counters (the primary's).
 */
export function probeAnswer(role: AdminRole, req: Request, health: Health): Response | null {
  if (role === "status") return handleStatus(req, health);
  if (req.method !== "GET" && req.method !== "HEAD") return text("method not allowed\n", 405);
  if (role === "metrics") return null;
  switch (pathOf(req)) {
    case "/ready":
    case "/healthz/ready":
      return readiness(health.ready());
    case "/healthz/live":
      return livenessAnswer(health.live());
    case "/":
      return text(INDEX);
  }
  return null;
}

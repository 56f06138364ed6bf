// The admin answers that need nothing but the readiness flag: `/ready`,
// `/healthz/ready`, `/healthz/live`, the index, a method other than GET/HEAD,
// and the whole status listener. The admin thread (thread-worker.ts) answers
// these itself, so they answer while the primary's thread is busy loading or
// compiling a configuration; everything else is asked of the primary. No
// import beyond Bun here: the admin thread loads this module alone.

export type AdminRole = "admin" | "status" | "metrics";

export function text(body: string, status = 200, type = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { "content-type": type } });
}

export function readiness(ready: boolean): Response {
  return ready ? text("LIVE\n") : text("NOT READY\n", 503);
}

/**
 * Liveness (an extension of INTERFACE.md's admin): 200 while the process answers,
 * also while draining, while a traffic port is held by another process, or while a
 * configuration is loaded or compiled, so a liveness probe never kills a pod that
 * is only not ready or busy.
 */
export function liveness(): Response {
  return text("ALIVE\n");
}

export function pathOf(req: Request): string {
  return new URL(req.url).pathname.replace(/\/+$/, "") || "/";
}

const INDEX = "gangway admin\n  /ready /healthz/ready /healthz/live\n  /config_dump /listeners /routes /clusters /certs\n  /status (Gateway API)\n  /stats/prometheus\n";

/** `--status-port`: the readiness answer (and liveness) only; nothing that shows configuration. */
export function handleStatus(req: Request, ready: () => boolean): Response {
  if (req.method !== "GET" && req.method !== "HEAD") return text("method not allowed\n", 405);
  const path = pathOf(req);
  if (path === "/healthz/ready") return readiness(ready());
  if (path === "/healthz/live") return liveness();
  return text("not found\n", 404);
}

/**
 * The answer of a request that needs only the readiness flag, or null: the
 * request needs the configuration or the workers' counters (the primary's).
 */
export function probeAnswer(role: AdminRole, req: Request, ready: () => boolean): Response | null {
  if (role === "status") return handleStatus(req, ready);
  if (req.method !== "GET" && req.method !== "HEAD") return text("method not allowed\n", 405);
  if (role === "metrics") return null;
  switch (pathOf(req)) {
    case "/ready":
    case "/healthz/ready":
      return readiness(ready());
    case "/healthz/live":
      return liveness();
    case "/":
      return text(INDEX);
  }
  return null;
}

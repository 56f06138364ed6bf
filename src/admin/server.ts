// The admin listener (INTERFACE.md): readiness, the compiled configuration as
// JSON, and Prometheus metrics.
import type { Server } from "bun";
import type { Snapshot } from "../snapshot/types.ts";
import { snapshotToJSON } from "../snapshot/dump.ts";
import { certsReport } from "./certs.ts";

export interface AdminState {
  ready(): boolean;
  snapshot(): Snapshot | null;
  metrics(): Promise<string>;
}

const PARTS = ["listeners", "routes", "clusters"] as const;

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

function text(body: string, status = 200, type = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { "content-type": type } });
}

export async function handleAdmin(req: Request, state: AdminState): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname.replace(/\/+$/, "") || "/";
  if (req.method !== "GET" && req.method !== "HEAD") return text("method not allowed\n", 405);
  switch (path) {
    case "/ready":
    case "/healthz/ready":
      return state.ready() ? text("LIVE\n") : text("NOT READY\n", 503);
    case "/stats/prometheus":
      return text(await state.metrics(), 200, "text/plain; version=0.0.4; charset=utf-8");
    case "/":
      return text(
        "gangway admin\n  /ready /healthz/ready\n  /config_dump /listeners /routes /clusters /certs\n  /stats/prometheus\n",
      );
  }
  const snap = state.snapshot();
  if (path === "/config_dump") {
    if (snap === null) return jsonResponse({ error: "no configuration loaded" }, 503);
    // INTERFACE.md: "secrets without private keys" — the credentials as /certs reports them
    return jsonResponse({ ...(snapshotToJSON(snap) as Record<string, unknown>), secrets: certsReport(snap) });
  }
  if (path === "/certs" || path === "/secrets") {
    if (snap === null) return jsonResponse({ error: "no configuration loaded" }, 503);
    return jsonResponse({ version: snap.version, certs: certsReport(snap) });
  }
  const part = path.slice(1) as (typeof PARTS)[number];
  if ((PARTS as readonly string[]).includes(part)) {
    if (snap === null) return jsonResponse({ error: "no configuration loaded" }, 503);
    const dump = snapshotToJSON(snap) as Record<string, unknown>;
    return jsonResponse({ version: snap.version, [part]: dump[part] ?? [] });
  }
  return text("not found\n", 404);
}

export function startAdmin(host: string, port: number, state: AdminState): Server<undefined> {
  return Bun.serve({
    hostname: host,
    port,
    // measured: with `development: false` Bun.serve sets SO_REUSEPORT unless told not to,
    // and a second gateway on the same admin port would share it silently
    reusePort: false,
    development: false,
    idleTimeout: 30,
    fetch: (req) => handleAdmin(req, state),
    error: () => text("internal error\n", 500),
  });
}

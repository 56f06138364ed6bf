// The admin listener (INTERFACE.md): readiness, the compiled configuration as
// JSON, and Prometheus metrics; and the two listeners safe to publish, as Istio
// splits them: the status port (readiness alone) and the metrics port.
import type { Snapshot } from "../snapshot/types.ts";
import { snapshotToJSON } from "../snapshot/dump.ts";
import { certsReport } from "./certs.ts";
import { serveAdminHttp1, type AdminServer } from "./http1.ts";
import { handleStatus as statusAnswer, pathOf, probeAnswer, text, type AdminRole, type Health } from "./probes.ts";
import type { Liveness } from "./heartbeat.ts";

export type { AdminRole } from "./probes.ts";

export interface AdminState {
  ready(): boolean;
  /** Absent: live (the primary answering is its loop turning). */
  live?(): Liveness;
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

async function prometheus(state: AdminState): Promise<Response> {
  return text(await state.metrics(), 200, "text/plain; version=0.0.4; charset=utf-8");
}

/** `--metrics-port`: `/stats/prometheus` only. */
export async function handleMetrics(req: Request, state: AdminState): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") return text("method not allowed\n", 405);
  if (pathOf(req) === "/stats/prometheus") return prometheus(state);
  return text("not found\n", 404);
}

/** 127.0.0.0/8, ::1 and `localhost`: an admin bound elsewhere is reachable from the network. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/** `--status-port`: the readiness answer (and liveness) only; nothing that shows configuration. */
function health(state: AdminState): Health {
  return { ready: () => state.ready(), live: () => state.live?.() ?? { live: true } };
}

export function handleStatus(req: Request, state: AdminState): Response {
  return statusAnswer(req, health(state));
}

export async function handleAdmin(req: Request, state: AdminState): Promise<Response> {
  const probe = probeAnswer("admin", req, health(state));
  if (probe !== null) return probe;
  const path = pathOf(req);
  if (path === "/stats/prometheus") return prometheus(state);
  const snap = state.snapshot();
  if (path === "/config_dump") {
    if (snap === null) return jsonResponse({ error: "no configuration loaded" }, 503);
    // INTERFACE.md: "secrets without private keys" — the credentials as /certs reports them
    return jsonResponse({ ...(snapshotToJSON(snap) as Record<string, unknown>), secrets: certsReport(snap) });
  }
  if (path === "/status") {
    // Gateway API status of this instance's Gateways and their routes (INTERFACE.md)
    if (snap === null) return jsonResponse({ error: "no configuration loaded" }, 503);
    return jsonResponse({ items: snap.gatewayStatus ?? [] });
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

const HANDLERS: Record<AdminRole, (req: Request, state: AdminState) => Response | Promise<Response>> = {
  admin: handleAdmin,
  status: handleStatus,
  metrics: handleMetrics,
};

/**
 * The listener of one role. Not Bun.serve: it closes a connection, unanswered, when a request
 * comes in while `/stats/prometheus` awaits the workers (two pipelined scrapes); http1.ts
 * answers pipelined requests in order. Like Bun.listen, it does not share its port
 * (no SO_REUSEPORT: a second gateway on the same admin port fails to start).
 */
export function startAdmin(host: string, port: number, state: AdminState, role: AdminRole = "admin"): AdminServer {
  const handle = HANDLERS[role];
  return serveAdminHttp1(host, port, (req) => handle(req, state), 30);
}

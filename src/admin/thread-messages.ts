// Messages between the primary and the admin thread (thread.ts, thread-worker.ts).
import type { AdminRole } from "./probes.ts";

export interface ListenerSpec {
  role: AdminRole;
  host: string;
  port: number;
}

export type ToAdminThread =
  /** `flags`: the cells below; `livenessTimeoutMs`: --liveness-timeout (heartbeat.ts). */
  | { type: "start"; listeners: ListenerSpec[]; flags: SharedArrayBuffer; livenessTimeoutMs: number }
  | { type: "answer"; id: number; status: number; headers: [string, string][]; body: ArrayBuffer }
  | { type: "stop" };

export type FromAdminThread =
  | { type: "started"; listeners: ({ role: AdminRole; port: number } | { role: AdminRole; error: string })[] }
  | { type: "request"; id: number; role: AdminRole; method: string; url: string };

/** Cells of the shared Int32Array: 1 when the primary would answer `/ready` 200. */
export const READY = 0;
/** The primary's heartbeat, read by the admin thread (`/healthz/live`). */
export const PRIMARY_BEAT = 1;
/** The admin thread's heartbeat, read by the primary (a stuck admin thread is restarted). */
export const ADMIN_BEAT = 2;
/** The admin thread's longest time between two of its beats (ms; heartbeat.ts Beater). */
export const ADMIN_GAP = 3;
/** The id + 1 of a stuck worker that did not end when terminated (not live); 0: none. */
export const WEDGED_WORKER = 4;
export const CELLS = 5;

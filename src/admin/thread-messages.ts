// Messages between the primary and the admin thread (thread.ts, thread-worker.ts).
import type { AdminRole } from "./probes.ts";

export interface ListenerSpec {
  role: AdminRole;
  host: string;
  port: number;
}

export type ToAdminThread =
  | { type: "start"; listeners: ListenerSpec[]; flags: SharedArrayBuffer }
  | { type: "answer"; id: number; status: number; headers: [string, string][]; body: ArrayBuffer }
  | { type: "stop" };

export type FromAdminThread =
  | { type: "started"; listeners: ({ role: AdminRole; port: number } | { role: AdminRole; error: string })[] }
  | { type: "request"; id: number; role: AdminRole; method: string; url: string };

/** Index in the shared Int32Array: 1 when the primary would answer `/ready` 200. */
export const READY = 0;

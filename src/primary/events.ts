// The gateway's own log lines about what a snapshot changed: credentials loaded,
// rotated or dropped (the SDS lines of Istio's gateway log), and listeners
// bound or closed.
import { log } from "../log.ts";
import type { Snapshot } from "../snapshot/types.ts";
import type { ListenerStatus } from "../snapshot/messages.ts";

function fingerprint(s: Snapshot, key: string): string {
  const c = s.credentials.get(key)!;
  return `${c.chain[0]?.fingerprint256 ?? ""}/${c.ca.map((x) => x.fingerprint256).join(",")}`;
}

/** One line per credential that appeared, changed or went away between two snapshots. */
export function logCredentialChanges(prev: Snapshot | null, next: Snapshot): void {
  for (const [key, c] of next.credentials) {
    const before = prev?.credentials.has(key) ? fingerprint(prev, key) : null;
    const now = fingerprint(next, key);
    if (before === now) continue;
    const leaf = c.chain[0];
    log("info", before === null ? "credential loaded" : "credential updated", {
      resource: key,
      from: c.sources.join(",") || "-",
      subject: leaf?.subject ?? "-",
      not_after: leaf?.notAfter ?? "-",
      ca: c.ca.length > 0 ? c.ca.map((x) => x.subject).join("; ") : "-",
    });
  }
  if (prev !== null) {
    for (const key of prev.credentials.keys()) if (!next.credentials.has(key)) log("info", "credential removed", { resource: key });
  }
}

/** Listener lines from the first worker's report: bound, closed, or failed. */
export class ListenerLog {
  private bound = new Map<string, string>();

  update(statuses: ListenerStatus[], address: string): void {
    const now = new Map<string, string>();
    for (const s of statuses) {
      const where = `${address}:${s.bindPort}`;
      if (s.error === "") {
        now.set(s.name, where);
        if (this.bound.get(s.name) !== where) log("info", "listener bound", { listener: s.name, address: where });
      }
    }
    for (const [name, where] of this.bound) if (!now.has(name)) log("info", "listener closed", { listener: name, address: where });
    this.bound = now;
  }
}

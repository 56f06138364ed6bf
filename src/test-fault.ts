// For tests only (README "Health"): GANGWAY_TEST_FAULT_FILE=PATH lets a test make one
// thread misbehave, to see the heartbeats catch it. On each heartbeat every thread reads
// PATH; the first thread of the role the file names removes it (one thread takes it)
// and then:
//   worker         a data-plane worker spins forever (alive, answering nothing)
//   admin          the admin thread throws (and ends)
//   admin-hang     the admin thread spins forever
//   primary MS     the primary blocks its thread for MS milliseconds
// Unset (always, outside tests): nothing is read.
import { readFileSync, unlinkSync } from "node:fs";

const FILE = process.env.GANGWAY_TEST_FAULT_FILE ?? "";

export type FaultRole = "worker" | "admin" | "admin-hang" | "primary";

/** The fault's argument when the file names `role` and this thread took it; else null. */
export function takeFault(role: FaultRole): string | null {
  if (FILE === "") return null;
  let words: string[];
  try {
    words = readFileSync(FILE, "utf8").trim().split(/\s+/);
  } catch {
    return null;
  }
  if (words[0] !== role) return null;
  try {
    unlinkSync(FILE);
  } catch {
    return null; // another thread took it
  }
  return words.slice(1).join(" ");
}

/** Blocks this thread's event loop for `ms` (forever when Infinity). */
export function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the fault: nothing else runs on this thread
  }
}

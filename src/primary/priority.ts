// The primary's thread at a lower CPU priority (nice 10 by default), so that a
// reload's read/decode/compile yields the CPU to the data-plane workers, which
// are other threads of the same process (Bun Workers). On Linux the nice value
// is per thread: setpriority(PRIO_PROCESS, 0, n) changes the calling thread
// only, and threads created later inherit it. So the primary lowers itself
// after starting the workers, and raises itself back around spawning a worker
// that restarts (raising needs CAP_SYS_NICE or RLIMIT_NICE: when not permitted,
// the restarted worker runs at the primary's nice value, and that is logged).
// Best-effort: nothing fails when libc or the permission is missing.
// GANGWAY_PRIMARY_NICE=0 leaves the priority alone; other values 1..19 are used as given.
import { dlopen, FFIType } from "bun:ffi";
import { log } from "../log.ts";

const PRIO_PROCESS = 0;

type Libc = { setpriority: (which: number, who: number, prio: number) => number };

let libc: Libc | null | undefined;
let lowered = 0;
let warnedRestore = false;

function open(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") return null; // elsewhere the nice value is per process: the workers would share it
  try {
    for (const name of ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]) {
      try {
        const lib = dlopen(name, { setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 } });
        libc = { setpriority: (a, b, c) => lib.symbols.setpriority(a, b, c) };
        break;
      } catch {
        // try the next name
      }
    }
  } catch {
    libc = null;
  }
  return libc;
}

/** The nice value asked for by GANGWAY_PRIMARY_NICE (default 10); 0: leave the priority alone. */
export function wantedNice(env: Record<string, string | undefined> = process.env): number {
  const v = env.GANGWAY_PRIMARY_NICE;
  if (v === undefined || v.trim() === "") return 10;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 19 ? n : 10;
}

/** Sets the calling thread's nice value; false when not possible. */
function setThreadNice(n: number): boolean {
  const c = open();
  if (c === null) return false;
  try {
    return c.setpriority(PRIO_PROCESS, 0, n) === 0;
  } catch {
    return false;
  }
}

/** Lower the primary's thread (call after the workers started). Returns the nice value set, or 0. */
export function lowerPrimaryPriority(): number {
  const n = wantedNice();
  if (n === 0) return 0;
  if (!setThreadNice(n)) {
    log("debug", "primary priority unchanged (setpriority not available or not permitted)", { nice: n });
    return 0;
  }
  lowered = n;
  return n;
}

/** Run `spawn` (a new Worker) at normal priority, so the worker thread does not inherit the primary's nice value. */
export function atWorkerPriority<T>(spawn: () => T): T {
  if (lowered === 0) return spawn();
  const raised = setThreadNice(0);
  if (!raised && !warnedRestore) {
    warnedRestore = true;
    log("warn", "cannot raise the primary's priority back to start a worker: the restarted worker runs at the primary's nice value (GANGWAY_PRIMARY_NICE=0 avoids it)", { nice: lowered });
  }
  try {
    return spawn();
  } finally {
    if (raised) setThreadNice(lowered);
  }
}

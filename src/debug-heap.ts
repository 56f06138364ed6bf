// Debug only (bench/reload-rss.sh): GANGWAY_DEBUG_HEAP=1 logs the JS heap of the primary and of
// each worker after every reload; =gc runs a full collection first, so the figures are what is
// still reachable, with how many of the snapshots (primary) or generations (worker) ever
// applied are still alive (1 is the current one; exchanges in flight may hold the previous).
import { heapStats } from "bun:jsc";

export const DEBUG_HEAP = process.env.GANGWAY_DEBUG_HEAP ?? "";

/** The heap line after `current` was applied (it is kept weakly, to count survivors later). */
export class HeapProbe {
  private readonly applied: WeakRef<object>[] = [];

  line(version: number, current: object, what: string): string {
    this.applied.push(new WeakRef(current));
    if (DEBUG_HEAP === "gc") Bun.gc(true);
    const h = heapStats();
    const alive = this.applied.filter((w) => w.deref() !== undefined).length;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    return `heap version=${version} heap_mb=${mb(h.heapSize)} capacity_mb=${mb(h.heapCapacity)} objects=${h.objectCount} ${what}_alive=${alive} of ${this.applied.length}`;
  }
}

// After a reload the primary's previous snapshot is garbage, and at 10,000 VirtualServices
// a snapshot is hundreds of MB of small objects. Under traffic JavaScriptCore postpones the
// full collection that would free it, so RSS climbed ~500 MB over 18 reloads (bench/
// reload-rss.sh LOAD=1; nothing stays reachable: GANGWAY_DEBUG_HEAP=gc). The primary's heap
// is its own (workers are separate VMs), so collecting it does not pause traffic; it runs at
// nice 10 (priority.ts). To keep the cost bounded, collect only when the heap has grown by
// half again (and 64 MB) since the size left by the last collection.
// GANGWAY_PRIMARY_GC=0 turns it off.

const OFF = process.env.GANGWAY_PRIMARY_GC === "0";
const SLACK = 64 * 1024 * 1024;

export class HeapTrim {
  private base = 0;
  collections = 0;

  /** Call after a reload was published; returns the ms spent collecting (0 when it did not). */
  afterReload(): number {
    if (OFF) return 0;
    const used = process.memoryUsage().heapUsed;
    if (this.base !== 0 && used < this.base * 1.5 + SLACK) return 0;
    const t = performance.now();
    Bun.gc(true);
    this.base = process.memoryUsage().heapUsed;
    this.collections++;
    return performance.now() - t;
  }
}

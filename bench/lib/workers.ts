// gangway's data plane without the primary, for the side-by-side benchmarks:
// N workers given one snapshot, their log lines on stderr.
import type { FromWorker } from "../../src/snapshot/messages.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";

/** Starts `count` workers serving `snapshot`; prints `ready` on stdout once every one has applied it. */
export function startWorkers(snapshot: Snapshot, count: number, ready: string, accessLog = "off"): void {
  let applied = 0;
  for (let i = 0; i < count; i++) {
    const w = new Worker(new URL("../../workers/worker.ts", import.meta.url).href);
    w.addEventListener("message", (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === "log") console.error(m.message);
      if (m.type === "applied" && ++applied === count) console.log(ready);
    });
    w.postMessage({ type: "init", options: { workerId: i, accessLog, logFormat: "text", serverHeader: "istio-envoy" } });
    w.postMessage({ type: "snapshot", snapshot });
  }
}

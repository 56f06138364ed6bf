// gangway's data plane for the HTTP proxy benchmark: N workers (default 2)
// on LISTEN_PORT, one catch-all route to the upstream on UPSTREAM_PORT.
// Usage: bun bench/http-proxy-gangway.ts [listenPort=18081] [upstreamPort=18080] [workers=2] [accessLog=off]
import type { FromWorker } from "../src/snapshot/messages.ts";
import type { Snapshot } from "../src/snapshot/types.ts";
import { benchSnapshot } from "./http-proxy-snapshot.ts";

const listenPort = Number(process.argv[2] ?? 18081);
const upstreamPort = Number(process.argv[3] ?? 18080);
const workers = Number(process.argv[4] ?? 2);
const accessLog = process.argv[5] ?? "off";

const snapshot: Snapshot = benchSnapshot(listenPort, upstreamPort);

let applied = 0;
for (let i = 0; i < workers; i++) {
  const w = new Worker(new URL("../workers/worker.ts", import.meta.url).href);
  w.addEventListener("message", (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    if (m.type === "log") console.error(m.message);
    if (m.type === "applied" && ++applied === workers) console.log(`gangway on ${listenPort} (${workers} workers) → ${upstreamPort}`);
  });
  w.postMessage({ type: "init", options: { workerId: i, accessLog, logFormat: "text", serverHeader: "istio-envoy" } });
  w.postMessage({ type: "snapshot", snapshot });
}

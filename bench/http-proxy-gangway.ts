// gangway's data plane for the HTTP proxy benchmark: N workers (default 2)
// on LISTEN_PORT, one catch-all route to the upstream on UPSTREAM_PORT.
// Usage: bun bench/http-proxy-gangway.ts [listenPort=18081] [upstreamPort=18080] [workers=2] [accessLog=off]
import type { Snapshot } from "../src/snapshot/types.ts";
import { benchSnapshot } from "./http-proxy-snapshot.ts";
import { startWorkers } from "./lib/workers.ts";

const listenPort = Number(process.argv[2] ?? 18081);
const upstreamPort = Number(process.argv[3] ?? 18080);
const workers = Number(process.argv[4] ?? 2);
const accessLog = process.argv[5] ?? "off";

const snapshot: Snapshot = benchSnapshot(listenPort, upstreamPort);

startWorkers(snapshot, workers, `gangway on ${listenPort} (${workers} workers) → ${upstreamPort}`, accessLog);

// Profiling aid: the worker's data plane in the main thread (no Worker), for
// `bun --cpu-prof-md bench/http-proxy-inproc.ts` while wrk runs. Exits after SECONDS.
// Usage: bun bench/http-proxy-inproc.ts [listenPort=18083] [upstreamPort=18080] [seconds=12]
import type { Snapshot } from "../src/snapshot/types.ts";
import { benchSnapshot } from "./http-proxy-snapshot.ts";
import { setPost, startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { applyListeners } from "../workers/listeners.ts";

const listenPort = Number(process.argv[2] ?? 18083);
const upstreamPort = Number(process.argv[3] ?? 18080);
const seconds = Number(process.argv[4] ?? 12);

const snapshot: Snapshot = benchSnapshot(listenPort, upstreamPort);

setPost((m) => console.error(JSON.stringify(m)));
startClock();
console.log(JSON.stringify(applyListeners(applyClusters(snapshot))));
setTimeout(() => process.exit(0), seconds * 1000);

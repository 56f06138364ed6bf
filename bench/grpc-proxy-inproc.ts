// Profiling aid: grpc-proxy-gangway.ts's data plane in the main thread (no Worker),
// for `bun --cpu-prof-md bench/grpc-proxy-inproc.ts` while h2load runs. Exits after SECONDS.
// Usage: bun bench/grpc-proxy-inproc.ts [listenPort=18191] [upstreamPort=18190] [seconds=12]
import { setPost, startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { applyListeners } from "../workers/listeners.ts";
import { grpcBenchSnapshot } from "./lib/compile-yaml.ts";

const listenPort = Number(process.argv[2] ?? 18191);
const upstreamPort = Number(process.argv[3] ?? 18190);
const seconds = Number(process.argv[4] ?? 12);
const snapshot = grpcBenchSnapshot(listenPort, upstreamPort);
setPost((m) => console.error(JSON.stringify(m)));
startClock();
console.log(JSON.stringify(applyListeners(applyClusters(snapshot))));
setTimeout(() => process.exit(0), seconds * 1000);

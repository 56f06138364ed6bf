// Profiling aid: the TLS data plane of a config directory in the main thread (no
// Worker), for `bun --cpu-prof-md bench/tls-proxy-inproc.ts DIR` while wrk runs.
// Exits after SECONDS.
// Usage: bun bench/tls-proxy-inproc.ts CONFIG_DIR [port-map=443:18446] [seconds=12]
import { parseArgs } from "../src/cli/args.ts";
import { loadAndBuild } from "../src/primary/pipeline.ts";
import { options, setPost, startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { applyListeners } from "../workers/listeners.ts";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: tls-proxy-inproc.ts CONFIG_DIR [port-map] [seconds]");
const portMap = process.argv[3] ?? "443:18446";
const seconds = Number(process.argv[4] ?? 12);

const built = loadAndBuild(parseArgs(["--config", dir, "--port-map", portMap, "--bind", "127.0.0.1", "--access-log", "off"]), 1);
if (!built.ok) throw new Error("config does not build");
options.accessLog = "off";
setPost((m) => console.error(JSON.stringify(m)));
startClock();
console.log(JSON.stringify(applyListeners(applyClusters(built.snapshot))));
setTimeout(() => process.exit(0), seconds * 1000);

// gangway's side of the gRPC unary benchmark (grpc-proxy.sh): N workers on
// LISTEN_PORT (an HTTP server, clients speak h2c with prior knowledge), one
// route to `grpc.internal` (a STATIC ServiceEntry, port protocol GRPC, so the
// upstream is HTTP/2 cleartext) on UPSTREAM_PORT. The configuration goes
// through decode and compile as the gateway's does.
// Usage: bun bench/grpc-proxy-gangway.ts [listenPort=18191] [upstreamPort=18190] [workers=2]
import { grpcBenchSnapshot } from "./lib/compile-yaml.ts";
import { startWorkers } from "./lib/workers.ts";

const listenPort = Number(process.argv[2] ?? 18191);
const upstreamPort = Number(process.argv[3] ?? 18190);
const workers = Number(process.argv[4] ?? 2);
const snapshot = grpcBenchSnapshot(listenPort, upstreamPort);
startWorkers(snapshot, workers, `gangway on ${listenPort} (${workers} workers) → h2c gRPC ${upstreamPort}`);

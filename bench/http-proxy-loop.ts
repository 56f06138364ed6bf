// JS per proxied HTTP/1.1 keep-alive request through the worker's whole path
// (Downstream, Exchange, pool, UpstreamConn, response side, finish, stats),
// without sockets: a client socket and an upstream socket that take every
// write, fed wrk's request and nginx's `return 200` response in turn. What
// it leaves out is Bun's native side (socket writes, the event loop).
// The snapshot is gangway's own compile of issue15-http1.sh's configuration (a VirtualService
// routing every host to a ServiceEntry: Istio's default retry policy included), given as
// CONFIG=DIR (written by http1_peers in issue15-lib.sh), else the simple benchSnapshot.
// Usage: [CONFIG=DIR] bun bench/http-proxy-loop.ts [requests per round=200000] [rounds=9]
// (A/B: copy it into the other checkout and run both, alternating.)
import type { Socket } from "bun";
import { benchSnapshot } from "./http-proxy-snapshot.ts";
import { parseArgs } from "../src/cli/args.ts";
import { loadAndBuild } from "../src/primary/pipeline.ts";
import { startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { httpHandlers, type Downstream } from "../workers/http/downstream.ts";
import { UpstreamConn } from "../workers/http/upstream-conn.ts";
import { PortState } from "../workers/port-state.ts";

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 9);

startClock();
function snapshot() {
  const dir = process.env.CONFIG;
  if (dir === undefined) return benchSnapshot(18083, 18080);
  const built = loadAndBuild(parseArgs(["--config", dir, "--port-map", "80:18083", "--bind", "127.0.0.1"]), 1);
  if (!built.ok) throw new Error("the configuration does not load");
  return built.snapshot;
}
const gen = applyClusters(snapshot());
const listener = gen.snapshot.listeners[0]!;
const port = new PortState("127.0.0.1:18083", listener, gen, "http");
const pool = [...gen.clusters.values()][0]!.pools[0]!;

let upWritten = 0;
let downWritten = 0;
const upSock = {
  data: null as unknown,
  localAddress: "127.0.0.1",
  localPort: 40000,
  localFamily: "IPv4",
  write(b: Uint8Array, off?: number, n?: number): number {
    const len = n ?? b.length - (off ?? 0);
    upWritten += len;
    return len;
  },
  pause() {},
  resume() {},
  end() {},
  terminate() {},
  setKeepAlive() {},
};
const conn = new UpstreamConn(pool, { onUpstreamOpen() {}, onUpstreamData() {}, onUpstreamDrain() {}, onUpstreamClose() {} });
pool.connections++;
conn.onOpen(upSock as unknown as Socket<UpstreamConn>);
conn.release(true);

const downSock = {
  data: null as unknown as Downstream,
  remoteAddress: "127.0.0.1",
  remotePort: 50000,
  localAddress: "127.0.0.1",
  localPort: 18083,
  write(b: Uint8Array, off?: number, n?: number): number {
    const len = n ?? b.length - (off ?? 0);
    downWritten += len;
    return len;
  },
  pause() {},
  resume() {},
  end() {},
  terminate() {},
};
const h = httpHandlers(port);
h.open(downSock as unknown as Socket<Downstream>);

// as wrk sends it, and as the nginx upstream answers
const REQ = "GET / HTTP/1.1\r\nHost: 127.0.0.1:18083\r\n\r\n";
const RESP = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 07:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!";

function once(): void {
  // a fresh Buffer per read, as Bun gives one
  h.data(downSock as unknown as Socket<Downstream>, Buffer.from(REQ, "latin1"));
  const c = upSock.data as UpstreamConn;
  c.user!.onUpstreamData(c, Buffer.from(RESP, "latin1"));
}

// the two Buffer.from per request are part of every round (about what Bun's own read buffers cost)
function baseline(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Buffer.from(REQ, "latin1").length + Buffer.from(RESP, "latin1").length;
  return s;
}

// sanity: one request end to end
upSock.data = conn;
const beforeDown = downWritten;
once();
if (downWritten === beforeDown || upWritten === 0) throw new Error("no request went through");

for (let i = 0; i < 50_000; i++) once();
baseline(50_000);
let best = Infinity;
let bestBase = Infinity;
for (let r = 0; r < ROUNDS; r++) {
  let t0 = performance.now();
  for (let i = 0; i < N; i++) once();
  best = Math.min(best, ((performance.now() - t0) * 1000) / N);
  t0 = performance.now();
  baseline(N);
  bestBase = Math.min(bestBase, ((performance.now() - t0) * 1000) / N);
}
console.log(
  `per request: ${best.toFixed(3)} µs (of which making the two read Buffers ${bestBase.toFixed(3)}), best of ${ROUNDS} rounds of ${N}; up ${(upWritten / (N * ROUNDS + 50_001)).toFixed(0)} B, down ${(downWritten / (N * ROUNDS + 50_001)).toFixed(0)} B per request`,
);
process.exit(0);

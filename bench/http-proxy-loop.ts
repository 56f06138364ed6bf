// JS per proxied HTTP/1.1 keep-alive request through the worker's whole path
// (Downstream, Exchange, pool, UpstreamConn, response side, finish, stats),
// without sockets: a client socket and an upstream socket that take every
// write, fed wrk's request and nginx's `return 200` response in turn. What
// it leaves out is Bun's native side (socket writes, the event loop).
// The snapshot is gangway's own compile of issue15-http1.sh's configuration (a VirtualService
// routing every host to a ServiceEntry: Istio's default retry policy included), given as
// CONFIG=DIR (written by http1_peers in issue15-lib.sh), else the simple benchSnapshot.
// MESH=FILE: the mesh config (with a Telemetry in CONFIG: tracing on, bench/tracing-cost.sh).
// CPU=1: per round this process's CPU time (user + system) instead of wall time: steadier on a
// machine other processes keep busy (their time slices are not counted; their cache traffic still is).
// ALLOC=1: instead, the objects made per request, by type (bun:jsc heapStats).
// TLS=1: the client connections are TLS-terminated ones, as Bun's upgraded TLS socket delivers
// them (workers/tls/native.ts: its handlers, and the raw socket's ciphertext read first, as Bun
// calls the listener's data handler for it); CONFIG must then have an HTTPS server on port 443
// (bench/http-proxy-loop-ab.sh makes one). The TLS records themselves are Bun's: left out.
// Usage: [CONFIG=DIR] [CONNS=32] [CPU=1] [ALLOC=1 [ALLOC_N=2000]] [TLS=1] bun bench/http-proxy-loop.ts [requests per round=200000] [rounds=9]
// (A/B: copy it into the other checkout and run both, alternating.)
import type { Socket } from "bun";
import { heapStats } from "bun:jsc";
import { benchSnapshot } from "./http-proxy-snapshot.ts";
import { parseArgs } from "../src/cli/args.ts";
import { loadAndBuild } from "../src/primary/pipeline.ts";
import { startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { httpHandlers, type Downstream } from "../workers/http/downstream.ts";
import { UpstreamConn } from "../workers/http/upstream-conn.ts";
import { PortState } from "../workers/port-state.ts";
import { tlsHandlers } from "../workers/tls/listener.ts";
import { NativeTls, nativeTlsHandlers } from "../workers/tls/native.ts";

const TLS = process.env.TLS === "1";
const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 9);

startClock();
function snapshot() {
  const dir = process.env.CONFIG;
  if (dir === undefined) return benchSnapshot(18083, 18080);
  const mesh = process.env.MESH === undefined ? [] : ["--mesh-config", process.env.MESH];
  const built = loadAndBuild(parseArgs(["--config", dir, "--port-map", TLS ? "443:18083" : "80:18083", "--bind", "127.0.0.1", ...mesh]), 1);
  if (!built.ok) throw new Error("the configuration does not load");
  return built.snapshot;
}
const gen = applyClusters(snapshot());
// MESH=FILE with a Telemetry tracing in CONFIG: the worker's tracer applies the snapshot (imported only then,
// so that this file still runs in a checkout without tracing)
if (process.env.MESH !== undefined) (await import("../workers/tracing.ts")).tracer.apply(gen.snapshot);
const listener = gen.snapshot.listeners.find((l) => (TLS ? l.tls !== null : l.routeTable !== null))!;
if (listener === undefined) throw new Error(TLS ? "no HTTPS listener in CONFIG" : "no HTTP listener");
const port = new PortState("127.0.0.1:18083", listener, gen, TLS ? "tls" : "http");
const pool = [...gen.clusters.values()][0]!.pools[0]!;

// CONNS client connections (and as many upstream ones), all requests sent before the responses
// come back: as many exchanges in flight as wrk -c64 keeps on each of 2 workers, so the objects
// touched per request are as many as in the real run (CONNS=1: one of each, all in cache)
const CONNS = Number(process.env.CONNS ?? 32);
let upWritten = 0;
let downWritten = 0;
function sink(kind: "up" | "down") {
  return (b: Uint8Array, off?: number, n?: number): number => {
    const len = n ?? b.length - (off ?? 0);
    if (kind === "up") upWritten += len;
    else downWritten += len;
    return len;
  };
}
const upWrite = sink("up");
const downWrite = sink("down");
function noop() {}
const nobody = { onUpstreamOpen: noop, onUpstreamData: noop, onUpstreamDrain: noop, onUpstreamClose: noop };
for (let i = 0; i < CONNS; i++) {
  const upSock = { data: null as unknown, localAddress: "127.0.0.1", localPort: 40000 + i, localFamily: "IPv4", write: upWrite, pause: noop, resume: noop, end: noop, terminate: noop, setKeepAlive: noop };
  const conn = new UpstreamConn(pool, nobody);
  upSock.data = conn;
  pool.connections++;
  conn.onOpen(upSock as unknown as Socket<UpstreamConn>);
  conn.release(true);
}

const h = httpHandlers(port);
const downSocks: Socket<Downstream>[] = [];
/** TLS: the raw sockets under the TLS ones (upgraded: their data handler returns at once). */
const rawSocks: Socket<any>[] = [];
const rawData = tlsHandlers(port).data;
const CIPHERTEXT = Buffer.alloc(22 + 29); // a TLS 1.3 record around REQ (5 header + 16 tag + 1 type + 7): its size only
for (let i = 0; i < CONNS; i++) {
  const s = { data: null as unknown as Downstream, remoteAddress: "127.0.0.1", remotePort: 50000 + i, localAddress: "127.0.0.1", localPort: 18083, write: downWrite, pause: noop, resume: noop, end: noop, terminate: noop, alpnProtocol: "http/1.1", isSessionReused: () => false };
  if (TLS) {
    // as listener.ts upgrades a socket (native.ts): the raw socket's state, then the TLS socket's open and handshake
    const raw = { data: { buf: null, deadline: -1, port, conn: null, native: s, tcp: null, proxy: null } };
    rawSocks.push(raw as unknown as Socket<any>);
    s.data = new NativeTls(port, listener.tls!.chains[0]!, "127.0.0.1", raw as unknown as Socket<any>, noop) as unknown as Downstream;
    nativeTlsHandlers.open(s as never);
    nativeTlsHandlers.handshake(s as never);
  } else h.open(s as unknown as Socket<Downstream>);
  downSocks.push(s as unknown as Socket<Downstream>);
}
const downOf = (i: number): Downstream => (TLS ? (downSocks[i]!.data as unknown as NativeTls).d! : downSocks[i]!.data);

// as wrk sends it, and as the nginx upstream answers
const REQ = "GET / HTTP/1.1\r\nHost: 127.0.0.1:18083\r\n\r\n";
const RESP = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 07:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!";

const data = TLS ? (nativeTlsHandlers.data as unknown as typeof h.data) : h.data;
/** As once, through the client socket's data handler (recycling finished exchanges first, as Bun's callback does). */
function onceHandler(): void {
  for (let i = 0; i < CONNS; i++) {
    if (TLS) rawData(rawSocks[i]!, Buffer.from(CIPHERTEXT)); // Bun's ciphertext tap, before it decrypts
    data(downSocks[i]!, Buffer.from(REQ, "latin1"));
  }
  for (let i = 0; i < CONNS; i++) {
    const c = downOf(i).ex!.conn!;
    c.user!.onUpstreamData(c, Buffer.from(RESP, "latin1"));
  }
}

// the two Buffer.from per request are part of every round (about what Bun's own read buffers cost)
function baseline(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Buffer.from(REQ, "latin1").length + Buffer.from(RESP, "latin1").length + (TLS ? Buffer.from(CIPHERTEXT).length : 0);
  return s;
}

// sanity: one request end to end on each connection
onceHandler();
if (downWritten === 0 || upWritten === 0) throw new Error("no request went through");

const loops = Math.max(1, Math.round(N / CONNS));
if (process.env.ALLOC === "1") {
  // objects made per request, by type: counted over a few thousand requests after a full GC (no GC runs meanwhile)
  for (let i = 0; i < 20_000 / CONNS; i++) onceHandler();
  Bun.gc(true);
  const a = heapStats().objectTypeCounts;
  const n = Math.max(1, Math.round(Number(process.env.ALLOC_N ?? 2000) / CONNS));
  for (let i = 0; i < n; i++) onceHandler();
  const b = heapStats().objectTypeCounts;
  console.log(`objects made per request (the two read Buffers included), ${n * CONNS} requests:`);
  const diff = Object.keys(b).map((k) => [k, (b[k]! - (a[k] ?? 0)) / (n * CONNS)] as const).filter(([, d]) => d > 0);
  for (const [k, d] of diff.sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`  ${k} ${d.toFixed(2)}`);
  process.exit(0);
}
for (let i = 0; i < 50_000 / CONNS; i++) onceHandler();
baseline(50_000);
/** ms: wall time, or (CPU=1) this process's CPU time (user + system), which a busy machine's other processes do not add to. */
const clock = process.env.CPU === "1" ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();
let best = Infinity;
let bestBase = Infinity;
for (let r = 0; r < ROUNDS; r++) {
  let t0 = clock();
  for (let i = 0; i < loops; i++) onceHandler();
  best = Math.min(best, ((clock() - t0) * 1000) / (loops * CONNS));
  t0 = clock();
  baseline(loops * CONNS);
  bestBase = Math.min(bestBase, ((clock() - t0) * 1000) / (loops * CONNS));
}
const total = (ROUNDS * loops + 1 + Math.floor(50_000 / CONNS)) * CONNS;
console.log(
  `per request: ${best.toFixed(3)} µs (of which making the ${TLS ? "three" : "two"} read Buffers ${bestBase.toFixed(3)}), best of ${ROUNDS} rounds of ${loops * CONNS}, ${CONNS} connections; up ${(upWritten / total).toFixed(0)} B, down ${(downWritten / total).toFixed(0)} B per request`,
);
process.exit(0);

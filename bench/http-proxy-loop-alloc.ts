// What one proxied keep-alive request allocates on the JS heap (http-proxy-loop.ts's path and
// snapshot, CONFIG as there): objects by type over N requests after a full GC (no GC runs
// meanwhile for a few thousand requests), and the closure scopes made on each side.
// Usage: [CONFIG=DIR] bun bench/http-proxy-loop-alloc.ts [requests=2000]
import { heapStats } from "bun:jsc";
import type { Socket } from "bun";
import { benchSnapshot } from "./http-proxy-snapshot.ts";
import { parseArgs } from "../src/cli/args.ts";
import { loadAndBuild } from "../src/primary/pipeline.ts";
import { startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { httpHandlers, type Downstream } from "../workers/http/downstream.ts";
import { UpstreamConn } from "../workers/http/upstream-conn.ts";
import { PortState } from "../workers/port-state.ts";

const N = Number(process.argv[2] ?? 2000);

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

upSock.data = conn;
for (let i = 0; i < 20_000; i++) once();
Bun.gc(true);
const a = heapStats();
const before = { ...a.objectTypeCounts };
for (let i = 0; i < N; i++) once();
const b = heapStats();
const diff: [string, number][] = [];
for (const [k, v] of Object.entries(b.objectTypeCounts)) {
  const d = v - (before[k] ?? 0);
  if (d > 0) diff.push([k, d / N]);
}
diff.sort((x, y) => y[1] - x[1]);
console.log(`objects made per request (the harness's two read Buffers included), ${N} requests:`);
for (const [k, v] of diff.slice(0, 15)) console.log(`  ${k} ${v.toFixed(2)}`);
process.exit(0);

// CPU per TCP session through gangway's TCP session code (in this process, plain TCP,
// no TLS) by session size, for the JS relay and the native relay with a given hand-off
// threshold: where the hand-off pays (workers/tcp/native-relay.ts RELAY_HANDOFF).
// Each session: the client sends 100 bytes, the upstream answers SIZE bytes and closes.
// CPU is the process's (the relay thread included: process.cpuUsage), per session.
// Usage: bun bench/relay-handoff.ts [sessions=400] [concurrency=8] [sizes=65536,262144,1048576,4194304] [handoffs=js,0,65536,262144,1048576]
import type { Socket, TCPSocketListener } from "bun";
import type { Cluster, Snapshot, TcpRouteTable } from "../src/snapshot/types.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import type { PortState } from "../workers/listeners.ts";
import { tcpHandlers } from "../workers/tcp/handoff.ts";
import { relayOptions, relayWarm } from "../workers/tcp/native-relay.ts";

const [nArg, cArg, sizesArg, hArg] = process.argv.slice(2);
const N = Number(nArg ?? 400);
const C = Number(cArg ?? 8);
const sizes = (sizesArg ?? "65536,262144,1048576,4194304").split(",").map(Number);
const handoffs = (hArg ?? "js,0,65536,262144,1048576").split(",");

let size = 0;
const body = Buffer.alloc(Math.max(...sizes), 1);
const upstream: TCPSocketListener<{ off: number; go?: () => void }> = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(s) {
      s.data = { off: 0 };
    },
    data(s) {
      const d = s.data;
      if (d.go !== undefined) return;
      d.go = () => {
        while (d.off < size) {
          const n = s.write(body.subarray(d.off, size));
          if (n <= 0) return;
          d.off += n;
        }
        s.end();
      };
      d.go();
    },
    drain(s) {
      s.data.go?.();
    },
  },
});
const cluster: Cluster = { name: "up", serviceHost: "up.bench", port: 7000, subset: "", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port: upstream.port, weight: 1, labels: {} }] };
const gen = applyClusters({ clusters: new Map([["up", cluster]]) } as unknown as Snapshot);
const route = { name: "to-up", source: "bench", sniHosts: [], destinations: [{ cluster: "up", weight: 100, host: "up.bench", port: 7000, subset: "" }], totalWeight: 100 };
const table: TcpRouteTable = { name: "tcp", routes: [route], exactHosts: new Map(), wildcardHosts: [], catchAll: 0 };
const port = { listener: { tcpRoutes: table }, gen, draining: false } as unknown as PortState;
const front = Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket: tcpHandlers(port) });
relayWarm();

function one(): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    Bun.connect({
      hostname: "127.0.0.1",
      port: front.port,
      socket: {
        open: (s: Socket<undefined>) => void s.write(Buffer.alloc(100, 2)),
        data: (_s, b) => void (got += b.length),
        close: () => (got === size ? resolve() : reject(new Error(`got ${got} of ${size}`))),
        connectError: (_s, e) => reject(e),
      },
    }).catch(reject);
  });
}

async function run(): Promise<{ cpuUs: number; ms: number }> {
  let next = 0;
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next++ < N) await one();
    }),
  );
  const u = process.cpuUsage(u0);
  return { cpuUs: (u.user + u.system) / N, ms: performance.now() - t0 };
}

console.log(`sessions ${N}, concurrency ${C}; CPU µs per session (client, upstream and gangway in one process)`);
console.log(["size", ...handoffs.map((h) => (h === "js" ? "js" : `native@${h}`))].join("\t"));
for (const s of sizes) {
  size = s;
  const row: string[] = [String(s)];
  for (const h of handoffs) {
    relayOptions.native = h !== "js";
    relayOptions.handoff = h === "js" ? Infinity : Number(h);
    await run(); // warm
    const r = await run();
    row.push(`${r.cpuUs.toFixed(0)} (${((N * s) / 1048576 / (r.ms / 1000)).toFixed(0)} MB/s)`);
  }
  console.log(row.join("\t"));
}
upstream.stop(true);
front.stop(true);
process.exit(0);

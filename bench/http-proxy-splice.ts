// Floor for the HTTP proxy benchmark: a raw L4 splice (Bun.listen → Bun.connect,
// one upstream connection per client connection, no HTTP parsing), N workers.
// Usage: bun bench/http-proxy-splice.ts [listenPort=18084] [upstreamPort=18080] [workers=2]
// SPLICE_SPIN_NS=n: each client read also spins n ns of pure computation (no allocation, no
// syscall): how much req/s and CPU a given user-space cost per request takes from the ceiling.
import type { Socket } from "bun";

const listenPort = Number(process.argv[2] ?? 18084);
const upstreamPort = Number(process.argv[3] ?? 18080);
const workers = Number(process.argv[4] ?? 2);

const spinNs = Number(process.env.SPLICE_SPIN_NS ?? 0);
let sink = 0;
/** Loop iterations that take about `spinNs` (calibrated below; no clock read per request). */
let spinIters = 0;
function spin(): void {
  let x = sink;
  for (let i = 0; i < spinIters; i++) x = (x * 1103515245 + 12345) | 0;
  sink = x;
}
if (spinNs > 0) {
  // calibrated on the fastest of many short passes (the first ones run in the slower tiers, and
  // the others proxies starting beside this one take the CPU from some of them)
  spinIters = 1e5;
  let best = Infinity;
  for (let pass = 0; pass < 40; pass++) {
    const t = performance.now();
    spin();
    best = Math.min(best, performance.now() - t);
  }
  spinIters = Math.max(1, Math.round((1e5 * spinNs) / (best * 1e6)));
}

interface Pair {
  peer: Socket<Pair> | null;
  early: Buffer[];
}

if (Bun.isMainThread) {
  for (let i = 0; i < workers; i++) new Worker(import.meta.url, { argv: process.argv.slice(2) } as WorkerOptions);
  console.log(`splice on ${listenPort} → ${upstreamPort}`);
} else {
  const up = {
    open(s: Socket<Pair>) {
      const down = s.data.peer!;
      down.data.peer = s;
      for (const b of down.data.early) s.write(b);
    },
    data(s: Socket<Pair>, d: Buffer) {
      s.data.peer?.write(d);
    },
    close(s: Socket<Pair>) {
      s.data.peer?.end();
    },
  };
  Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: listenPort,
    reusePort: true,
    socket: {
      open(s: Socket<Pair>) {
        s.data = { peer: null, early: [] };
        Bun.connect<Pair>({ hostname: "127.0.0.1", port: upstreamPort, socket: up, data: { peer: s, early: [] } });
      },
      data(s: Socket<Pair>, d: Buffer) {
        if (spinNs > 0) spin();
        if (s.data.peer) s.data.peer.write(d);
        else s.data.early.push(d);
      },
      close(s: Socket<Pair>) {
        s.data.peer?.end();
      },
    },
  } as unknown as Parameters<typeof Bun.listen<Pair>>[0]);
}

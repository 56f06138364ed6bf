// What an idle keep-alive connection costs inside one worker: the worker's data plane runs
// in this process (no Worker thread), a child process (bench/idle-conns.ts) opens N
// connections, sends one GET on each and keeps them idle; after a full GC this prints the
// RSS and JS-heap delta per connection and the JS object types that grew (count per conn).
// `floor` runs a minimal Bun.listen server instead (the Bun floor: a socket with a tiny data object).
// Usage: bun bench/idle-inproc.ts [n=5000] [gangway|floor] [port=18490]
import { gcAndSweep, heapStats, memoryUsage } from "bun:jsc";
import type { Socket } from "bun";
import { benchSnapshot } from "./http-proxy-snapshot.ts";
import { setPost, startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { applyListeners } from "../workers/listeners.ts";
import { withIdleClients } from "./idle-clients.ts";

const n = Number(process.argv[2] ?? 5000);
const mode = process.argv[3] ?? "gangway";
const port = Number(process.argv[4] ?? 18490);
/** Object types listed: those whose count per connection changed by at least this (MIN=0.01 for the rare ones). */
const MIN_PER_CONN = Number(process.env.MIN ?? 0.5);
const RESPONSE = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";

// the upstream: a raw responder (one connection per concurrent request; a handful stay pooled)
const upstream = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(s: Socket<undefined>, d: Buffer) {
      const text = d.toString("latin1");
      let k = 0;
      for (let i = text.indexOf("\r\n\r\n"); i !== -1; i = text.indexOf("\r\n\r\n", i + 4)) k++;
      if (k > 0) s.write(RESPONSE.repeat(k));
    },
  },
});

if (mode === "floor") {
  Bun.listen<{ n: number }>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        s.data = { n: 0 };
      },
      data(s) {
        s.data.n++;
        s.write(RESPONSE);
      },
    },
  });
} else {
  setPost(() => {});
  startClock();
  applyListeners(applyClusters(benchSnapshot(port, upstream.port)));
}

function settle(): { rss: number; heap: number; capacity: number; extra: number; malloc: number; counts: Record<string, number>; mi: any } {
  for (let i = 0; i < 3; i++) Bun.gc(true);
  if (process.env.SWEEP === "1") gcAndSweep();
  if (process.env.SHRINK === "1") (Bun as unknown as { shrink(): void }).shrink();
  const h = heapStats();
  return {
    rss: process.memoryUsage().rss,
    heap: h.heapSize,
    capacity: h.heapCapacity,
    extra: h.extraMemorySize,
    malloc: memoryUsage().current,
    counts: { ...h.objectTypeCounts },
    mi: (h as unknown as { mimalloc?: unknown }).mimalloc,
  };
}

async function run(): Promise<void> {
  // warm up: a first batch opens and closes so code paths, pools and buffers exist before the baseline
  await withIdleClients(port, Math.min(500, n), 0, settle);
  await Bun.sleep(500);
  const before = settle();
  const after = await withIdleClients(port, n, 2, settle);
  const per = (a: number, b: number) => ((a - b) / n).toFixed(0);
  console.log(
    `${mode}: ${n} idle conns: RSS ${(before.rss / 1048576).toFixed(1)} -> ${(after!.rss / 1048576).toFixed(1)} MB, ` +
      `${per(after!.rss, before.rss)} B/conn; JS heap ${per(after!.heap, before.heap)} B/conn (capacity ${per(after!.capacity, before.capacity)}, ` +
      `extra ${per(after!.extra, before.extra)}); mimalloc ${per(after!.malloc, before.malloc)} B/conn`,
  );
  const grew = Object.entries(after!.counts)
    .map(([k, v]) => [k, (v - (before.counts[k] ?? 0)) / n] as const)
    .filter(([, d]) => Math.abs(d) >= MIN_PER_CONN)
    .sort((a, b) => b[1] - a[1]);
  for (const [k, d] of grew) console.log(`  ${k.padEnd(28)} ${d.toFixed(2)} per conn`);
  const mb = before.mi, ma = after!.mi;
  if (mb?.malloc_bins !== undefined) {
    console.log(`  malloc: in use ${per(ma.malloc_normal.current, mb.malloc_normal.current)} B/conn, pages committed ${per(ma.page_committed.current, mb.page_committed.current)} B/conn, committed ${per(ma.committed.current, mb.committed.current)} B/conn`);
    for (let i = 0; i < ma.malloc_bins.length; i++) {
      const d = (ma.malloc_bins[i].current - (mb.malloc_bins[i]?.current ?? 0)) / n;
      const bytes = d * ma.malloc_bins[i].block_size;
      if (Math.abs(bytes) >= 4) console.log(`  malloc ${String(ma.malloc_bins[i].block_size).padStart(6)} B blocks ${d.toFixed(3)} per conn (${bytes.toFixed(0)} B)`);
    }
  }
  process.exit(0);
}

await run();

// Micro costs (ns, best of 5 hot loops) of the JS steps a new TLS passthrough connection takes:
// ClientHello parse, chain and route choice, TCP counters, timers. Hot loops hide cache misses:
// bench/perf-passthrough.sh shows what they cost between real connections.
// Usage: node_modules/.bin/bun bench/passthrough-steps.ts
import { compileSnapshot } from "../src/compile/index.ts";
import { decodeFiles } from "../src/decode/index.ts";
import { dispatchTcp, selectChain } from "../src/dispatch/dispatch.ts";
import { parseClientHello } from "../workers/tls/client-hello.ts";
import { clientHello } from "../test/helpers/client-hello.ts";
import { stats } from "../workers/stats.ts";
import { DeadlineQueue } from "../workers/deadline-queue.ts";
import { passthroughConfig } from "./lib/passthrough-config.ts";

const text = passthroughConfig("*.example.com", "bulk.example.com", 9999);
const opts = { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map<number, number>(), bindAddress: "0.0.0.0" };
const snap = structuredClone(compileSnapshot(decodeFiles([{ path: "a.yaml", text }]).resources, opts, 1));
const l = snap.listeners[0]!;
const hello = clientHello("bulk.example.com");
const N = 1_000_000;
let sink: unknown;
function time(name: string, f: () => void): void {
  for (let i = 0; i < 100_000; i++) f();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) f();
    best = Math.min(best, ((performance.now() - t0) * 1e6) / N);
  }
  console.log(`${name.padEnd(40)} ${best.toFixed(1)} ns`);
}
time("parseClientHello", () => (sink = parseClientHello(hello)));
time("selectChain", () => (sink = selectChain(l, "bulk.example.com")));
const c = selectChain(l, "bulk.example.com");
time("dispatchTcp", () => (sink = dispatchTcp(snap, c.chain!.tcpRoutes, "bulk.example.com")));
const d = dispatchTcp(snap, c.chain!.tcpRoutes, "bulk.example.com");
console.log(d.kind, d.destination?.cluster, d.cluster?.serviceHost);
const t = { tcpCounters: null as ReturnType<typeof stats.tcpOpened> | null, received: 0, sent: 0, countedReceived: 0, countedSent: 0 };
time("stats open+cx+close(bytes)", () => {
  t.tcpCounters = stats.tcpOpened("backend.bench.internal");
  stats.upstreamConnection("outbound|443||backend.bench.internal");
  t.received += 100;
  t.sent += 10;
  stats.tcpClosed(t);
});
time("setTimeout+clearTimeout", () => clearTimeout(setTimeout(() => {}, 10000)));
const q = new DeadlineQueue<object>(10000, () => {}, () => {});
const o = {};
time("DeadlineQueue add+cancel", () => q.cancel(q.add(o)));
time("performance.now", () => (sink = performance.now()));
time("Date.now", () => (sink = Date.now()));
time("Promise.catch", () => (sink = Promise.resolve(1).catch(() => {})));
void sink;
process.exit(0);

// The least a Bun passthrough proxy does per connection (issue 15 target 4 ceiling):
// WORKERS threads, each a Bun.listen (reusePort, allowHalfOpen) that reads the first
// chunk (PARSE=1: gangway's parseClientHello on it, else only a check of the first byte),
// Bun.connect to the upstream with hoisted handlers, the chunk written once it is open,
// bytes relayed both ways (pause on backpressure), a FIN passed on with shutdown(), a
// side's close ends the other. No routing, no timers, no stats, no access log.
// TIMERS=1 adds gangway's two timers per connection (hello deadline, connect timeout).
// Usage: WORKERS=2 bun bench/ceiling-passthrough.ts LISTEN_PORT UPSTREAM_PORT
import type { Socket, TCPSocketListenOptions } from "bun";
import { parseClientHello } from "../workers/tls/client-hello.ts";

interface Side {
  peer: Socket<Side> | null;
  pending: Uint8Array[];
  eof: boolean;
  first: Uint8Array | null;
  timer: ReturnType<typeof setTimeout> | null;
}

const PARSE = process.env.PARSE === "1";
const TIMERS = process.env.TIMERS === "1";

function relay(s: Socket<Side>, b: Uint8Array): void {
  const d = s.data;
  const to = d.peer;
  if (to === null || d.pending.length > 0) {
    d.pending.push(b);
    return;
  }
  const n = to.write(b);
  if (n < b.length) {
    d.pending.push(b.subarray(n));
    s.pause();
  }
}

function flush(s: Socket<Side>): void {
  const from = s.data.peer;
  if (from === null) return;
  const q = from.data.pending;
  while (q.length > 0) {
    const b = q[0]!;
    const n = s.write(b);
    if (n < b.length) {
      q[0] = b.subarray(n);
      return;
    }
    q.shift();
  }
  if (from.data.eof) s.shutdown();
  else from.resume();
}

function end(s: Socket<Side>): void {
  s.data.eof = true;
  const p = s.data.peer;
  if (p === null || s.data.pending.length > 0) return;
  if (p.data.eof) p.end();
  else p.shutdown();
}

function close(s: Socket<Side>): void {
  const d = s.data;
  if (d.timer !== null) clearTimeout(d.timer);
  d.peer?.end();
}

function noop(): void {}

const upHandlers = {
  open(u: Socket<Side>): void {
    const c = u.data.peer!;
    if (u.data.timer !== null) clearTimeout(u.data.timer);
    u.data.timer = null;
    c.data.peer = u;
    flush(u);
  },
  data: relay,
  drain: flush,
  end,
  close,
  connectError(u: Socket<Side>): void {
    u.data.peer?.end();
  },
  error: noop,
};

function connectUp(c: Socket<Side>, upPort: number): void {
  const data: Side = { peer: c, pending: [], eof: false, first: null, timer: null };
  if (TIMERS) data.timer = setTimeout(() => c.end(), 10_000);
  Bun.connect<Side>({ hostname: "127.0.0.1", port: upPort, allowHalfOpen: true, data, socket: upHandlers }).catch(noop);
}

function serve(listenPort: number, upPort: number): void {
  // reusePort works for Bun.listen (BUN-NOTES) though bun-types lists it only for Bun.serve
  const opts = {
    hostname: "127.0.0.1",
    port: listenPort,
    reusePort: true,
    allowHalfOpen: true,
    socket: {
      open(c: Socket<Side>) {
        c.data = { peer: null, pending: [], eof: false, first: null, timer: null };
        if (TIMERS) c.data.timer = setTimeout(() => c.terminate(), 5000);
      },
      data(c: Socket<Side>, b: Buffer) {
        const d = c.data;
        if (d.first !== null) return relay(c, b);
        // the first chunk: the "peek"
        if (PARSE) {
          if (parseClientHello(b).status !== "ok") return void c.terminate();
        } else if (b[0] !== 0x16) return void c.terminate();
        if (d.timer !== null) clearTimeout(d.timer);
        d.timer = null;
        d.first = b;
        d.pending.push(b);
        connectUp(c, upPort);
      },
      drain: flush,
      end,
      close,
      error: noop,
    },
  };
  Bun.listen<Side>(opts as unknown as TCPSocketListenOptions<Side>);
}

declare const self: Worker;
if (Bun.isMainThread) {
  const [listenPort, upPort] = process.argv.slice(2).map(Number);
  const n = Number(process.env.WORKERS ?? 2);
  for (let i = 0; i < n; i++) {
    const w = new Worker(import.meta.url);
    w.postMessage([listenPort, upPort]);
  }
  console.log(`ceiling-passthrough :${listenPort} -> :${upPort}, ${n} workers, parse ${PARSE}, timers ${TIMERS}`);
} else {
  self.onmessage = (e: MessageEvent) => {
    const [l, u] = e.data as [number, number];
    serve(l, u);
  };
}

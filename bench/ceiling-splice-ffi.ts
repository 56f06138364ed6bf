// Prototype TCP relay for issue 15 target 4: MODE=js copies bytes through JS (Bun
// reads into a Buffer, we write it to the other socket, pause/resume backpressure);
// MODE=splice hands both fds, once connected, to bench/lib/splice-relay.c (bun:ffi cc,
// splice(2) through a pipe on its own thread + epoll) and only closes the sockets when
// the C side reports the pair done. HANDOFF=<bytes>: splice only after that many bytes
// went through JS (0: at once). No SNI peek, no accounting: the ceiling of each way.
// Usage: MODE=js|splice bun bench/ceiling-splice-ffi.ts LISTEN_PORT UPSTREAM_PORT
import { cc, JSCallback } from "bun:ffi";
import type { Socket } from "bun";
import { join } from "node:path";

const [listenPort, upPort] = process.argv.slice(2).map(Number);
const MODE = process.env.MODE ?? "js";
const HANDOFF = Number(process.env.HANDOFF ?? 0);

interface Side { peer: Socket<Side> | null; pending: Uint8Array[]; pair: Pair; client: boolean; eof: boolean }
interface Pair { c: Socket<Side>; u: Socket<Side> | null; moved: number; spliced: number; closed: boolean }

const byId = new Map<number, Pair>();
let lib: { sr_add(a: number, b: number): number; sr_close(id: number): void } | null = null;
if (MODE === "splice") {
  const { symbols } = cc({
    source: join(import.meta.dir, "lib/splice-relay.c"),
    symbols: {
      sr_start: { args: ["ptr"], returns: "int" },
      sr_add: { args: ["int", "int"], returns: "int" },
      sr_close: { args: ["int"], returns: "void" },
    },
  });
  const done = new JSCallback(
    (id: number, _ab: number, _ba: number, _err: number) => {
      const p = byId.get(id);
      if (p === undefined) return;
      byId.delete(id);
      p.closed = true;
      p.c.end();
      p.u?.end();
    },
    { args: ["int", "f64", "f64", "int"], returns: "void", threadsafe: true },
  );
  const r = symbols.sr_start(done.ptr);
  if (r !== 0) throw new Error(`sr_start ${r}`);
  lib = symbols as never;
}

function trySplice(p: Pair): void {
  if (lib === null || p.u === null || p.spliced >= 0 || p.moved < HANDOFF) return;
  // nothing of ours queued either way, no FIN seen: the C side takes the sockets as they are
  if (p.c.data.pending.length > 0 || p.u.data.pending.length > 0 || p.c.data.eof || p.u.data.eof) return;
  p.c.pause();
  p.u.pause();
  const id = lib.sr_add((p.c as unknown as { fd: number }).fd, (p.u as unknown as { fd: number }).fd);
  if (id < 0) {
    p.c.resume();
    p.u.resume();
    return;
  }
  p.spliced = id;
  byId.set(id, p);
}

function relay(s: Socket<Side>, b: Uint8Array): void {
  const d = s.data;
  if (d.pair.spliced >= 0) console.error(`data while spliced: ${b.length} from ${d.client ? "client" : "upstream"}`);
  d.pair.moved += b.length;
  const to = d.peer;
  if (to === null || d.pending.length > 0) {
    d.pending.push(b);
    return;
  }
  const n = to.write(b);
  if (n < b.length) {
    d.pending.push(b.subarray(n));
    s.pause();
  } else if (d.pair.spliced < 0) trySplice(d.pair);
}

function flush(s: Socket<Side>): void {
  // drain on s: what the other side queued for s
  const from = s.data.peer;
  if (from === null || s.data.pair.spliced >= 0) return;
  const q = from.data.pending;
  while (q.length > 0) {
    const b = q[0];
    const n = s.write(b);
    if (n < b.length) {
      q[0] = b.subarray(n);
      return;
    }
    q.shift();
  }
  if (from.data.eof) {
    s.shutdown();
    return;
  }
  from.resume();
  trySplice(s.data.pair);
}

const handlers = {
  data: relay,
  drain: flush,
  end(s: Socket<Side>) {
    if (s.data.pair.spliced >= 0) return;
    s.data.eof = true;
    if (s.data.pending.length === 0) s.data.peer?.shutdown();
  },
  close(s: Socket<Side>) {
    const p = s.data.pair;
    if (p.spliced >= 0 && !p.closed) return; // the C side sees it too and reports the pair
    s.data.peer?.end();
  },
  error() {},
};

Bun.listen<Side>({
  allowHalfOpen: true,
  hostname: "127.0.0.1",
  port: listenPort,
  socket: {
    ...handlers,
    open(c) {
      const pair: Pair = { c, u: null, moved: 0, spliced: -1, closed: false };
      c.data = { peer: null, pending: [], pair, client: true, eof: false };
      Bun.connect<Side>({
        hostname: "127.0.0.1",
        port: upPort,
        allowHalfOpen: true,
        data: { peer: c, pending: [], pair, client: false, eof: false },
        socket: {
          ...handlers,
          open(u) {
            pair.u = u;
            c.data.peer = u;
            flush(u);
            trySplice(pair);
          },
          connectError() {
            c.end();
          },
        },
      }).catch(() => c.end());
    },
  },
});
console.log(`relay ${MODE} :${listenPort} -> :${upPort} handoff ${HANDOFF}`);

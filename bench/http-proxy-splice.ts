// Floor for the HTTP proxy benchmark: a raw L4 splice (Bun.listen → Bun.connect,
// one upstream connection per client connection, no HTTP parsing), N workers.
// Usage: bun bench/http-proxy-splice.ts [listenPort=18084] [upstreamPort=18080] [workers=2]
import type { Socket } from "bun";

const listenPort = Number(process.argv[2] ?? 18084);
const upstreamPort = Number(process.argv[3] ?? 18080);
const workers = Number(process.argv[4] ?? 2);

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
        if (s.data.peer) s.data.peer.write(d);
        else s.data.early.push(d);
      },
      close(s: Socket<Pair>) {
        s.data.peer?.end();
      },
    },
  } as unknown as Parameters<typeof Bun.listen<Pair>>[0]);
}

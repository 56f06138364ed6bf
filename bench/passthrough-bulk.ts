// Raw bulk through a TLS passthrough proxy (issue 15 target 4, the "raw" leg of
// bench/issue15-passthrough.sh): the client sends a real ClientHello with an SNI, then
// one command byte, then only raw bytes flow, so the proxy's relay is measured and not
// a TLS backend's encryption (the nginx /big leg is capped by the backend).
//   bun bench/passthrough-bulk.ts backend PORT            a backend: "D" streams bytes until
//                                                        the client closes, "U" reads and drops
//   bun bench/passthrough-bulk.ts client PORT SNI D|U SECONDS CONNS
//                                                        prints "MB/s bytes" for CONNS connections
// Loopback only; the client stops after SECONDS (bounded), the backend runs until killed.
import type { Socket } from "bun";
import { clientHello } from "../test/helpers/client-hello.ts";

const CHUNK = Buffer.alloc(256 * 1024, 0x5a);
const [mode, portArg, ...rest] = process.argv.slice(2);
const port = Number(portArg);

interface Back {
  /** Bytes still to skip: the ClientHello record, then the command byte decides. */
  need: number;
  cmd: number;
}

/** Write CHUNK until the socket takes less (then `drain` goes on). */
function pump(s: Socket<any>): number {
  let n = 0;
  for (;;) {
    const w = s.write(CHUNK);
    if (w > 0) n += w;
    if (w < CHUNK.length) return n;
  }
}

if (mode === "backend") {
  Bun.listen<Back>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        s.data = { need: -1, cmd: 0 };
      },
      data(s, b) {
        const d = s.data;
        if (d.cmd !== 0) return; // "U": dropped
        if (d.need < 0) d.need = b.length >= 5 ? 5 + b.readUInt16BE(3) : Infinity;
        if (b.length <= d.need) {
          d.need -= b.length;
          return;
        }
        d.cmd = b[d.need]!;
        if (d.cmd === 0x44) pump(s); // "D"
      },
      drain(s) {
        if (s.data.cmd === 0x44) pump(s);
      },
      error() {},
    },
  });
  console.log(`raw backend on 127.0.0.1:${port}`);
} else if (mode === "client") {
  const [sni = "raw.bench", dir = "D", secs = "3", conns = "4"] = rest;
  const first = Buffer.concat([clientHello(sni), Buffer.from(dir === "U" ? "U" : "D")]);
  let bytes = 0;
  let counting = false;
  let stop = false;
  const socks: Socket<undefined>[] = [];
  const upload = dir === "U";
  await Promise.all(
    Array.from({ length: Number(conns) }, () =>
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            socks.push(s);
            s.write(first);
            if (upload) pump(s);
          },
          data(_s, b) {
            if (counting) bytes += b.length;
          },
          drain(s) {
            if (!upload || stop) return;
            const n = pump(s);
            if (counting) bytes += n;
          },
          error() {},
        },
      }),
    ),
  );
  await Bun.sleep(500); // warm-up: not counted
  counting = true;
  const t0 = performance.now();
  await Bun.sleep(Number(secs) * 1000);
  const ms = performance.now() - t0;
  const n = bytes;
  stop = true;
  for (const s of socks) s.terminate();
  console.log(`${(n / 1048576 / (ms / 1000)).toFixed(0)} ${n}`);
  process.exit(0);
} else {
  console.error("usage: bun bench/passthrough-bulk.ts backend PORT | client PORT SNI D|U SECONDS CONNS");
  process.exit(2);
}

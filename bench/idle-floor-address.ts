// What reading the client's address costs an idle connection in a bare Bun server: a
// Bun.listen server (in this process) whose socket data is a 12-field object, as gangway's
// Downstream is, holding N idle keep-alive connections (bench/idle-conns.ts in a child
// process: one GET each, answered, then idle). After a full GC it prints the RSS and JS
// heap per connection. ADDR picks how the peer address is read at accept:
//   none  not read (Bun's floor with gangway's object size)
//   bun   socket.remoteAddress: Bun makes a string per socket and keeps it on the socket
//   ffi   workers/peer-address.ts (libc getpeername, one string per IPv4 address)
// Loopback only, bounded by the client's own limits (90 s).
// Usage: ADDR=bun|ffi|none bun bench/idle-floor-address.ts [n=10000] [port=18490]
import { heapStats } from "bun:jsc";
import type { Socket } from "bun";
import { peerIp } from "../workers/peer-address.ts";
import { withIdleClients } from "./idle-clients.ts";

const n = Number(process.argv[2] ?? 10_000);
const port = Number(process.argv[3] ?? 18490);
const mode = process.env.ADDR ?? "bun";
const RESPONSE = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";

/** 12 fields, as Downstream (JSC: a 112-byte object). */
class Conn {
  bits = 0;
  buf: Buffer | null = null;
  off = 0;
  ex: object | null = null;
  x: object | null = null;
  lastActive = 0;
  headStart = 0;
  prevConn: Conn | null = null;
  nextConn: Conn | null = null;
  constructor(
    readonly socket: Socket<Conn>,
    readonly ip: string,
    readonly port: number,
  ) {}
}

Bun.listen<Conn>({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(s) {
      const ip = mode === "bun" ? s.remoteAddress : mode === "ffi" ? peerIp(s) : "";
      s.data = new Conn(s, ip, port);
    },
    data(s, d) {
      if (d.includes("\r\n\r\n")) s.write(RESPONSE);
    },
  },
});

function settle(): { rss: number; heap: number } {
  for (let i = 0; i < 3; i++) Bun.gc(true);
  return { rss: process.memoryUsage().rss, heap: heapStats().heapSize };
}

await withIdleClients(port, Math.min(500, n), 0, settle); // warm-up: code paths and buffers exist before the baseline
await Bun.sleep(500);
const before = settle();
const after = (await withIdleClients(port, n, 2, settle))!;
console.log(`ADDR=${mode}: ${n} idle conns: RSS ${((after.rss - before.rss) / n).toFixed(0)} B/conn, JS heap ${((after.heap - before.heap) / n).toFixed(0)} B/conn`);
process.exit(0);

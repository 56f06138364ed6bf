// A port for a server the test starts later on a port it names (a gateway child's
// listeners and admin, a worker thread's listener). bind(0) hands out random ports of
// the kernel's ephemeral range, and one closed at once is free again: two calls gave
// the same port about once in 10,000 (measured), and any socket bound to port 0 or
// connecting out in the meantime could take it before the server bound it. So the
// port is taken below that range, where the kernel never picks one itself, and never
// handed out twice by this process. Falls back to bind(0) when there is no room below.
import { readFileSync } from "node:fs";

const handedOut = new Set<number>();

/** The lowest port of the ephemeral range (ip_local_port_range), 32768 when unreadable. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "latin1").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

const LOW = ephemeralLow();
/** The 12,000 ports below the ephemeral range, or none when that would reach below 10000. */
const BELOW = LOW - 12_000 >= 10_000 ? { from: LOW - 12_000, count: 12_000 } : null;

/** A port that was free a moment ago on 127.0.0.1, outside the ephemeral range, not handed out before. */
export function freePort(): number {
  for (let i = 0; i < 500; i++) {
    const want = BELOW === null ? 0 : BELOW.from + Math.floor(Math.random() * BELOW.count);
    if (handedOut.has(want)) continue;
    let l: Bun.TCPSocketListener<undefined>;
    try {
      l = Bun.listen<undefined>({ hostname: "127.0.0.1", port: want, socket: { data() {} } });
    } catch {
      continue; // held by someone
    }
    const p = l.port;
    l.stop(true);
    if (handedOut.has(p)) continue;
    handedOut.add(p);
    return p;
  }
  throw new Error("no free loopback port found in 500 tries");
}

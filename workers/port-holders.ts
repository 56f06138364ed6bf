// Who else listens on a port we are about to bind with SO_REUSEPORT. The kernel lets
// any process of the same user share such a port and splits the connections between
// them silently (two gangways, a Bun.serve, a node server with reusePort): before a
// worker binds, the listening sockets of /proc/net/tcp{,6} on that address and port
// are compared with our own sockets (/proc/self/fd, every worker's included, as they
// are threads of one process). Linux only; elsewhere nothing is found and the bind
// decides alone.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ListeningSocket {
  /** Canonical address: dotted IPv4, or IPv6 in full lower-case hex groups; "0.0.0.0" / "::" for any. */
  address: string;
  port: number;
  inode: number;
  uid: number;
  family: 4 | 6;
}

const LISTEN = "0A";

/** An IPv4 address as /proc/net/tcp prints it: one 32-bit word in host (little-endian) order. */
function ipv4(hex: string): string {
  const n = parseInt(hex, 16) >>> 0;
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
}

/** An IPv6 address of /proc/net/tcp6: four 32-bit words, each in host order. */
function ipv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  if (bytes.every((b) => b === 0)) return "::";
  // ::ffff:a.b.c.d (an IPv4 client of a dual-stack socket)
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return bytes.slice(12).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":");
}

/** The LISTEN sockets of one /proc/net/tcp or tcp6 text. */
export function parseProcNetTcp(text: string, family: 4 | 6): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== LISTEN) continue;
    const [addr, port] = f[1]!.split(":");
    if (addr === undefined || port === undefined) continue;
    out.push({ address: family === 4 ? ipv4(addr) : ipv6(addr), port: parseInt(port, 16), uid: Number(f[7]), inode: Number(f[9]), family });
  }
  return out;
}

/** Canonical form of a bind address (for comparison with parsed ones). */
export function canonicalAddress(a: string): string {
  if (a === "" || a === "0.0.0.0") return "0.0.0.0";
  if (!a.includes(":")) return a;
  if (a === "::" || /^[0:]+$/.test(a)) return "::";
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (m !== null) return m[1]!;
  // expand "::" and drop leading zeros, as ipv6() prints
  const [head, tail] = a.toLowerCase().split("::");
  const h = head === "" || head === undefined ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill("0");
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16).toString(16)).join(":");
}

/** Would a listener on `held` take connections meant for a bind on `bind` (same port assumed)? */
export function overlaps(bind: string, held: ListeningSocket): boolean {
  const b = canonicalAddress(bind);
  const h = held.address;
  if (h === "::" || b === "::") return true; // a dual-stack wildcard meets every address (a v6-only one is taken as one too)
  if (b === "0.0.0.0") return h.includes("."); // any IPv4 address, the wildcard included
  if (h === "0.0.0.0") return b.includes(".");
  return b === h;
}

/** Inodes of this process's sockets. */
export function ownSocketInodes(fdDir = "/proc/self/fd"): Set<number> {
  const own = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return own;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${fdDir}/${fd}`));
      if (m !== null) own.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return own;
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function listeningOn(address: string, port: number): ListeningSocket[] {
  const all = [...parseProcNetTcp(read("/proc/net/tcp"), 4), ...parseProcNetTcp(read("/proc/net/tcp6"), 6)];
  return all.filter((s) => s.port === port && overlaps(address, s));
}

/**
 * Listening sockets of other processes on `address:port` (empty when none, or without
 * /proc). The table is read again after our own sockets: one of ours closing meanwhile
 * (a worker rebinding a port) is gone from the second read, not taken for another's.
 */
export function foreignListeners(address: string, port: number): ListeningSocket[] {
  const first = listeningOn(address, port);
  if (first.length === 0) return [];
  const own = ownSocketInodes();
  const still = new Set(listeningOn(address, port).map((s) => s.inode));
  return first.filter((s) => !own.has(s.inode) && still.has(s.inode));
}

/** The pid and command holding socket `inode`, when this user may see it (a bounded scan of /proc). */
export function socketOwner(inode: number, maxProcs = 4096): string | null {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).slice(0, maxProcs);
  } catch {
    return null;
  }
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) {
          const cmd = read(`/proc/${pid}/cmdline`).split("\0").filter(Boolean).slice(0, 3).join(" ");
          return `pid ${pid}${cmd !== "" ? ` (${cmd.length > 80 ? cmd.slice(0, 77) + "..." : cmd})` : ""}`;
        }
      } catch {
        // gone meanwhile
      }
    }
  }
  return null;
}

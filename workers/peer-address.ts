// A client socket's peer IP as a string shared by every connection from that
// address. Bun's `socket.remoteAddress` makes a new string per socket and keeps
// it on the socket for the socket's life (~90 B of RSS per idle connection,
// measured with 10,000 idle connections: bench/README.md, eleventh run). For an
// IPv4 peer, libc's getpeername is called through bun:ffi instead (one
// syscall, as Bun's getter makes) and the dotted string comes from a small
// table keyed by the address, so 10,000 connections from one load balancer or
// NAT hold one string. Anything else (IPv6, a wrapped socket without an fd,
// not Linux, `GANGWAY_PEER_FFI=off`, libc not loadable) reads `remoteAddress`.
import { dlopen } from "bun:ffi";

const AF_INET = 2;
/** Distinct IPv4 peers kept; the table starts over when full (the strings stay with the connections holding them). */
const TABLE_MAX = 4096;

type GetPeerName = (fd: number, addr: Uint8Array, len: Uint32Array) => number;

let getpeername: GetPeerName | null | undefined;
/** struct sockaddr_in6 is the largest a TCP socket's peer can be (28 bytes). */
const addr = new Uint8Array(28);
const family = new Uint16Array(addr.buffer, 0, 1);
const len = new Uint32Array(1);
const names = new Map<number, string>();

function load(): GetPeerName | null {
  if (process.platform !== "linux" || process.env.GANGWAY_PEER_FFI === "off") return null;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      const lib = dlopen(name, { getpeername: { args: ["i32", "ptr", "ptr"], returns: "i32" } });
      return lib.symbols.getpeername as unknown as GetPeerName;
    } catch {
      // next name (musl has no libc.so.6)
    }
  }
  return null;
}

/** IPv4 peers in the table now (tests). */
export function peerNamesKept(): number {
  return names.size;
}

/** What peerIp reads of a socket (Bun's TCP and TLS sockets; gangway's TLS bridge has no fd). */
export interface PeerSocket {
  readonly remoteAddress: string;
  readonly fd?: number;
}

/** The socket's peer IP ("" when unknown): the shared string for IPv4, Bun's own otherwise. */
export function peerIp(s: PeerSocket): string {
  const fd = s.fd;
  if (getpeername === undefined) getpeername = load();
  if (getpeername !== null && typeof fd === "number" && fd >= 0) {
    len[0] = addr.length;
    if (getpeername(fd, addr, len) === 0 && family[0] === AF_INET) {
      const key = addr[4]! * 16777216 + ((addr[5]! << 16) | (addr[6]! << 8) | addr[7]!);
      let ip = names.get(key);
      if (ip === undefined) {
        if (names.size >= TABLE_MAX) names.clear();
        ip = `${addr[4]}.${addr[5]}.${addr[6]}.${addr[7]}`;
        names.set(key, ip);
      }
      return ip;
    }
  }
  return s.remoteAddress ?? "";
}

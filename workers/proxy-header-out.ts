// The PROXY protocol header gangway sends first on an upstream connection
// when the cluster's DestinationRule sets trafficPolicy.proxyProtocol (Istio
// wraps the cluster's transport socket in Envoy's upstream proxy_protocol
// socket): the downstream client's address as source, the address the client
// connected to (the gateway's side) as destination, TCP over IPv4 or IPv6.
// v1 is the text line, v2 the binary form with the PROXY command and no TLVs
// (haproxy's proxy-protocol.txt; the parser of such headers is
// proxy-protocol.ts). Pure: addresses in, bytes out.
import { isIPv4, isIPv6 } from "node:net";
import { V2_SIG } from "./proxy-protocol.ts";

export type ProxyVersion = 1 | 2;

/** An address as Bun reports it (IPv6 without brackets) and its port. */
export interface Endpoint {
  ip: string;
  port: number;
}

const V1_UNKNOWN = Buffer.from("PROXY UNKNOWN\r\n", "latin1");
/** v2 LOCAL command, no address: the receiver keeps the connection's own addresses. */
const V2_LOCAL = Buffer.concat([V2_SIG, Buffer.from([0x20, 0x00, 0x00, 0x00])]);

/** a.b.c.d of an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else null. */
function mappedV4(ip: string): string | null {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m !== null && isIPv4(m[1]!) ? m[1]! : null;
}

/** The 16 bytes of an IPv6 address (with `::` and an embedded IPv4 tail), written at out[at]. */
export function writeV6(ip: string, out: Buffer, at: number): void {
  let s = ip;
  const pct = s.indexOf("%"); // zone id: not carried
  if (pct >= 0) s = s.slice(0, pct);
  const groups: number[] = [];
  const parse = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (g.includes(".")) {
        const [a, b, c, d] = g.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const dbl = s.indexOf("::");
  if (dbl < 0) groups.push(...parse(s));
  else {
    const head = parse(s.slice(0, dbl));
    const tail = parse(s.slice(dbl + 2));
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  }
  for (let i = 0; i < 8; i++) out.writeUInt16BE(groups[i] ?? 0, at + 2 * i);
}

function writeV4(ip: string, out: Buffer, at: number): void {
  const p = ip.split(".");
  for (let i = 0; i < 4; i++) out[at + i] = Number(p[i]);
}

/**
 * The header for a connection from `src` to `dst`. Both IPv4 (an
 * IPv4-mapped IPv6 address counts as IPv4 when the other is IPv4 too):
 * TCP4; else both as IPv6 (IPv4 written IPv4-mapped): TCP6. An address that
 * is no IP (none known): v1 `PROXY UNKNOWN`, v2 the LOCAL command.
 */
export function proxyHeader(version: ProxyVersion, src: Endpoint, dst: Endpoint): Buffer {
  let s = src.ip;
  let d = dst.ip;
  const sv4 = isIPv4(s) ? s : mappedV4(s);
  const dv4 = isIPv4(d) ? d : mappedV4(d);
  let v4 = false;
  if (sv4 !== null && dv4 !== null) {
    s = sv4;
    d = dv4;
    v4 = true;
  } else {
    if (isIPv4(s)) s = `::ffff:${s}`;
    if (isIPv4(d)) d = `::ffff:${d}`;
    if (!isIPv6(s) || !isIPv6(d)) return version === 1 ? V1_UNKNOWN : V2_LOCAL;
  }
  if (version === 1) return Buffer.from(`PROXY ${v4 ? "TCP4" : "TCP6"} ${s} ${d} ${src.port} ${dst.port}\r\n`, "latin1");
  const len = v4 ? 12 : 36;
  const b = Buffer.allocUnsafe(16 + len);
  V2_SIG.copy(b, 0);
  b[12] = 0x21; // version 2, PROXY
  b[13] = v4 ? 0x11 : 0x21; // AF_INET / AF_INET6, STREAM
  b.writeUInt16BE(len, 14);
  if (v4) {
    writeV4(s, b, 16);
    writeV4(d, b, 20);
  } else {
    writeV6(s, b, 16);
    writeV6(d, b, 32);
  }
  b.writeUInt16BE(src.port & 0xffff, 16 + len - 4);
  b.writeUInt16BE(dst.port & 0xffff, 16 + len - 2);
  return b;
}

/** "ip:port" / "[ip6]:port" (the access log's form) → Endpoint; ip "" when it has none. */
export function endpointOf(hostPort: string): Endpoint {
  const colon = hostPort.lastIndexOf(":");
  if (colon < 0) return { ip: "", port: 0 };
  let ip = hostPort.slice(0, colon);
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  return { ip, port: Number(hostPort.slice(colon + 1)) || 0 };
}

/** Two headers are the same bytes (null: none): connections made with one carry only the same client. */
export function sameHeader(a: Buffer | null, b: Buffer | null): boolean {
  return a === b || (a !== null && b !== null && a.equals(b));
}

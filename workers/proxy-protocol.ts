// PROXY protocol v1 (text) and v2 (binary) headers, as a load balancer sends
// them before anything else on a connection (haproxy's proxy-protocol.txt;
// Envoy's proxy_protocol listener filter, which Istio enables with
// gatewayTopology.proxyProtocol). The header's source address becomes the
// client's address for x-forwarded-for, policies and the access log. A
// connection without a valid header is closed, as Envoy closes it.
import { FirstBytes } from "./first-bytes.ts";
import { isIP } from "node:net";

/** The header's source: `ip` "" when it carries none (v1 UNKNOWN, v2 LOCAL or a non-IP family): keep the socket's. */
export interface ProxiedAddress {
  ip: string;
  port: number;
  /**
   * The header's destination, the address the client reached (Envoy restores
   * the connection's local address from it): set by ProxyHeaderReader when
   * the header names a source; an upstream PROXY header repeats it.
   */
  dstIp?: string;
  dstPort?: number;
}

export const PROXY_MORE = 0;
export const PROXY_BAD = -1;

const V1_PREFIX = Buffer.from("PROXY ", "latin1");
export const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** A v1 line is at most 107 bytes, CRLF included. */
const V1_MAX = 107;
const PORT = /^(0|[1-9][0-9]{0,4})$/;

/** Could `buf` still become a header of either version (or is one starting)? */
function prefixOk(buf: Uint8Array, sig: Uint8Array): boolean {
  const n = Math.min(buf.length, sig.length);
  for (let i = 0; i < n; i++) if (buf[i] !== sig[i]) return false;
  return true;
}

/**
 * Parse a PROXY header at the start of `buf`: its length (> 0) with `out`
 * filled, PROXY_MORE when more bytes are needed, PROXY_BAD when the bytes
 * cannot be one.
 */
export function parseProxyHeader(buf: Uint8Array, out: ProxiedAddress): number {
  if (buf.length === 0) return PROXY_MORE;
  if (buf[0] === 0x50 /* P */) return parseV1(buf, out);
  if (buf[0] === 0x0d) return parseV2(buf, out);
  return PROXY_BAD;
}

function parseV1(buf: Uint8Array, out: ProxiedAddress): number {
  if (!prefixOk(buf, V1_PREFIX)) return PROXY_BAD;
  let end = -1;
  const lim = Math.min(buf.length, V1_MAX);
  for (let i = 0; i < lim; i++) {
    if (buf[i] === 0x0d) {
      if (i + 1 >= buf.length) return PROXY_MORE;
      if (buf[i + 1] !== 0x0a) return PROXY_BAD;
      end = i;
      break;
    }
    if (buf[i] === 0x0a) return PROXY_BAD;
  }
  if (end < 0) return buf.length >= V1_MAX ? PROXY_BAD : PROXY_MORE;
  const line = Buffer.from(buf.buffer, buf.byteOffset, end).toString("latin1");
  const parts = line.split(" ");
  if (parts[1] === "UNKNOWN") {
    out.ip = "";
    out.port = 0;
    return end + 2;
  }
  if (parts.length !== 6) return PROXY_BAD;
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const family = proto === "TCP4" ? 4 : proto === "TCP6" ? 6 : 0;
  if (family === 0 || isIP(src) !== family || isIP(dst) !== family) return PROXY_BAD;
  if (!PORT.test(sport) || !PORT.test(dport) || Number(sport) > 65535 || Number(dport) > 65535) return PROXY_BAD;
  out.ip = src;
  out.port = Number(sport);
  return end + 2;
}

function parseV2(buf: Uint8Array, out: ProxiedAddress): number {
  if (!prefixOk(buf, V2_SIG)) return PROXY_BAD;
  if (buf.length < 16) return PROXY_MORE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return PROXY_BAD;
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return PROXY_BAD;
  const fam = buf[13]!;
  const len = (buf[14]! << 8) | buf[15]!;
  const total = 16 + len;
  if (buf.length < total) return PROXY_MORE;
  out.ip = "";
  out.port = 0;
  if (cmd === 0) return total; // LOCAL: the balancer's own connection (health checks)
  const af = fam >> 4;
  const proto = fam & 0x0f;
  if (proto > 2) return PROXY_BAD;
  if (af === 1) {
    if (len < 12) return PROXY_BAD;
    out.ip = `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}`;
    out.port = (buf[24]! << 8) | buf[25]!;
  } else if (af === 2) {
    if (len < 36) return PROXY_BAD;
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(((buf[16 + 2 * i]! << 8) | buf[17 + 2 * i]!).toString(16));
    out.ip = compressV6(groups);
    out.port = (buf[48]! << 8) | buf[49]!;
  } else if (af > 3) return PROXY_BAD;
  // AF_UNSPEC / AF_UNIX: no IP to take; TLVs after the addresses are skipped
  return total;
}

/** The destination of a complete header `buf` that named a source (`out.ip` set) into out.dstIp/dstPort. */
export function headerDestination(buf: Uint8Array, out: ProxiedAddress): void {
  if (out.ip === "") return;
  if (buf[0] === 0x50) {
    const end = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.length, V1_MAX)).indexOf("\r\n");
    const parts = Buffer.from(buf.buffer, buf.byteOffset, end).toString("latin1").split(" ");
    out.dstIp = parts[3]!;
    out.dstPort = Number(parts[5]);
  } else if (buf[13]! >> 4 === 1) {
    out.dstIp = `${buf[20]}.${buf[21]}.${buf[22]}.${buf[23]}`;
    out.dstPort = (buf[26]! << 8) | buf[27]!;
  } else {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(((buf[32 + 2 * i]! << 8) | buf[33 + 2 * i]!).toString(16));
    out.dstIp = compressV6(groups);
    out.dstPort = (buf[50]! << 8) | buf[51]!;
  }
}

/** RFC 5952 text of 8 hex groups (longest run of two or more zero groups as `::`); IPv4-mapped as ::ffff:a.b.c.d. */
function compressV6(g: string[]): string {
  if (g.slice(0, 5).every((x) => x === "0") && g[5] === "ffff") {
    const a = parseInt(g[6]!, 16);
    const b = parseInt(g[7]!, 16);
    return `::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(":");
  return g.slice(0, best).join(":") + "::" + g.slice(best + bestLen).join(":");
}

/** Bytes of a connection before its PROXY header is complete. */
export class ProxyHeaderReader {
  private buf: FirstBytes | null = null;
  readonly addr: ProxiedAddress = { ip: "", port: 0 };

  /**
   * Feed bytes: the bytes after the header (possibly empty) once it is
   * complete (`addr` then holds its source), null while more are needed,
   * or PROXY_BAD: close the connection.
   */
  feed(data: Buffer): Buffer | null | typeof PROXY_BAD {
    // the header in several reads grows in one buffer (linear copies: first-bytes.ts)
    const b = this.buf === null ? data : this.buf.append(data);
    const r = parseProxyHeader(b, this.addr);
    if (r === PROXY_BAD) return PROXY_BAD;
    if (r === PROXY_MORE) {
      if (b.length > 16 + 65535) return PROXY_BAD;
      if (this.buf === null) {
        this.buf = new FirstBytes();
        this.buf.append(b);
      }
      return null;
    }
    this.buf = null;
    headerDestination(b, this.addr);
    return b.subarray(r);
  }
}

/** How long a connection may take to send its PROXY header (Envoy's listener_filters_timeout default). */
export const PROXY_HEADER_TIMEOUT_MS = 15_000;

/** Raw client sockets whose PROXY header named another client: the access log of TCP sessions reads it. */
const proxied = new WeakMap<object, ProxiedAddress>();

export function setProxied(socket: object, addr: ProxiedAddress): void {
  if (addr.ip !== "") proxied.set(socket, { ip: addr.ip, port: addr.port, dstIp: addr.dstIp, dstPort: addr.dstPort });
}

/** The PROXY header's source for `socket`, or undefined (none, or it carried no address). */
export function proxiedOf(socket: object): ProxiedAddress | undefined {
  return proxied.get(socket);
}

// IP addresses and CIDR blocks as numbers, for ipBlocks / remoteIpBlocks /
// source.ip / remote.ip / destination.ip. IPv4 as 32 bits, IPv6 as 128 bits
// (bigint); an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) counts as IPv4,
// as Envoy compares it. Pure; plain data (survives postMessage).
import { isIPv4, isIPv6 } from "node:net";

export interface Cidr {
  /** 4 or 6 */
  v: 4 | 6;
  /** Network address, as a decimal string of its bits (bigint does not survive every structured clone path we use). */
  base: string;
  bits: number;
  /** As written. */
  text: string;
}

function v4(ip: string): bigint {
  let n = 0n;
  for (const part of ip.split(".")) n = (n << 8n) | BigInt(Number(part));
  return n;
}

function v6(ip: string): bigint {
  let s = ip;
  let tail: bigint[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".", lastColon) > 0) {
    const n = v4(s.slice(lastColon + 1));
    tail = [n >> 16n, n & 0xffffn];
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const [head, rest] = s.split("::") as [string, string | undefined];
  const a = head === "" ? [] : head.split(":");
  const b = rest === undefined || rest === "" ? [] : rest.split(":");
  const groups = rest === undefined ? a : [...a, ...Array(8 - a.length - b.length).fill("0"), ...b];
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 16n) | BigInt(parseInt(groups[i] ?? "0", 16));
  if (tail.length === 2) n = (n >> 32n << 32n) | (tail[0]! << 16n) | tail[1]!;
  return n;
}

const MAPPED = 0xffffn << 32n;

/** An address as (version, number); IPv4-mapped IPv6 as IPv4; null when not an IP. */
export function parseIp(ip: string): { v: 4 | 6; n: bigint } | null {
  let s = ip;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const pct = s.indexOf("%");
  if (pct > 0) s = s.slice(0, pct);
  if (isIPv4(s)) return { v: 4, n: v4(s) };
  if (!isIPv6(s)) return null;
  const n = v6(s);
  if (n >> 32n === 0xffffn && (n & ~0xffffffffn) === MAPPED) return { v: 4, n: n & 0xffffffffn };
  return { v: 6, n };
}

/** `10.0.0.0/8`, `1.2.3.4` (a /32), `2001:db8::/32`; null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === null) return null;
  const max = ip.v === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(b) || Number(b) > max) return null;
    bits = Number(b);
  }
  const shift = BigInt(max - bits);
  return { v: ip.v, base: ((ip.n >> shift) << shift).toString(), bits, text };
}

/** Does `ip` (an address string) fall in `c`? */
export function inCidr(ip: { v: 4 | 6; n: bigint } | null, c: Cidr): boolean {
  if (ip === null || ip.v !== c.v) return false;
  const shift = BigInt((c.v === 4 ? 32 : 128) - c.bits);
  return (ip.n >> shift) << shift === BigInt(c.base);
}

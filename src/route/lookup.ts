// Request → virtual host → route: the lookups the workers run per request and
// that trace() replays. Allocation-light, no RegExp or closure built here; the
// one piece of state is a memo of where the last exact host found in a route
// program has its program (memoProgram). Route conditions are in match.ts, the
// route index layouts in layouts.ts.
import type { FilterChain, RouteProgram, RouteTable, TlsListener } from "../snapshot/types.ts";
import { matchPacked, matchTrie, runProgram } from "./layouts.ts";
import type { RequestView } from "./match.ts";

export * from "./match.ts";

/**
 * Strip the port from a Host header value and lower-case it. Handles `[::1]:80`.
 * One pass over the characters; no new string when there is neither a port
 * nor anything toLowerCase could change (the usual Host header).
 */
export function normalizeHost(raw: string): string {
  const n = raw.length;
  let end = n;
  let lower = false; // a character toLowerCase may change: A-Z or non-ASCII
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf("]");
    if (close > 0) end = close + 1;
    for (let i = 0; i < end; i++) {
      const c = raw.charCodeAt(i);
      if ((c >= 65 && c <= 90) || c > 127) lower = true;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const c = raw.charCodeAt(i);
      if (c === 58 /* : */) end = i; // the last colon
      else if ((c >= 65 && c <= 90) || c > 127) lower = true;
    }
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 46 /* . */) end--; // trailing dot: same host
  const h = end === n ? raw : raw.slice(0, end);
  return lower ? h.toLowerCase() : h;
}

/** A host → index map: route tables (virtual hosts) and TLS listeners (filter chains by SNI). */
export type HostIndex = Pick<RouteTable, "exactHosts" | "wildcardHosts" | "catchAll" | "program">;

/** FNV-1a over UTF-16 code units: the hash of RouteProgram.hostSlots. */
export function hostHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * The program, virtual host and program offset of the last exact host
 * programHost found: selectRoute on that virtual host (the caller's next
 * step) takes the offset from the host record it just read instead of
 * `programAt`, one memory read less per request. The offset is a function of
 * the program and the virtual host, so a stale entry cannot give a wrong
 * answer; selectRoute clears it (no old program kept alive by it).
 */
let memoProgram: RouteProgram | null = null;
let memoVi = -1;
let memoAt = -1;

/** Exact host in the program's hash, or -1. */
function programHost(prog: RouteProgram, host: string): number {
  const slots = prog.hostSlots;
  const code = prog.code;
  const mask = (slots.length >> 1) - 1;
  const len = host.length;
  const hash = hostHash(host);
  for (let s = hash & mask; ; s = (s + 1) & mask) {
    const off = slots[2 * s + 1]! - 1;
    if (off < 0) return -1;
    if (slots[2 * s] !== hash || code[off] !== len) continue;
    let k = 0;
    while (k < len && host.charCodeAt(k) === code[off + 1 + k]) k++;
    if (k < len) continue;
    const rec = off + 1 + len;
    const vi = code[rec]! | (code[rec + 1]! << 16);
    memoProgram = prog;
    memoVi = vi;
    memoAt = code[rec + 2]! | (code[rec + 3]! << 16);
    return vi;
  }
}

/** Index of the virtual host (or filter chain) serving `host` (normalised), or -1. Exact, then longest `*.suffix`, then `*`. */
export function selectVirtualHost(table: HostIndex, host: string): number {
  const prog = table.program;
  if (prog != null) {
    const vi = programHost(prog, host);
    return vi >= 0 ? vi : wildcardOrCatchAll(table, host);
  }
  const exact = table.exactHosts.get(host);
  if (exact !== undefined) return exact;
  return wildcardOrCatchAll(table, host);
}

function wildcardOrCatchAll(table: HostIndex, host: string): number {
  const wild = table.wildcardHosts;
  for (let i = 0; i < wild.length; i++) {
    const w = wild[i]!;
    if (host.length > w.suffix.length && host.endsWith(w.suffix)) return w.index;
  }
  return table.catchAll;
}

/**
 * First route (in configuration order) of virtual host `vi` of `table` that
 * matches, or -1: through the table's route program when it has that virtual
 * host's part, else its path index (layouts.ts).
 */
export function selectRoute(table: RouteTable, vi: number, req: RequestView): number {
  const prog = table.program;
  if (prog != null) {
    const at = prog === memoProgram && vi === memoVi ? memoAt : prog.programAt[vi]!;
    memoProgram = null;
    if (at >= 0) return runProgram(prog, at, req);
  }
  const vh = table.virtualHosts[vi]!;
  return vh.pathIndex.literals.length > 0 ? matchPacked(vh, req) : matchTrie(vh, req);
}

/** Is `host` one of `names` (exact, `*.suffix` covering it, or `*`)? For the 421 check on TLS chains. */
export function hostInNames(names: string[], host: string): boolean {
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (n === "*" || n === host) return true;
    if (n.charCodeAt(0) === 42 /* * */ && host.length > n.length - 1 && host.endsWith(n.slice(1))) return true;
  }
  return false;
}

/**
 * How specifically `names` cover `host`: -1 not at all, 0 by `*`, the
 * suffix length by `*.suffix`, above any suffix by the exact name.
 */
export function coverRank(names: string[], host: string): number {
  let best = -1;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (n === host) return 0x7fffffff;
    if (n === "*") best = best < 0 ? 0 : best;
    else if (n.charCodeAt(0) === 42 /* * */ && host.length > n.length - 1 && host.endsWith(n.slice(1)) && n.length - 1 > best) best = n.length - 1;
  }
  return best;
}

/**
 * 421 Misdirected Request: a request on a connection accepted under `chain` (by
 * SNI) for a host that another server of the port serves (HTTP/2 connection
 * reuse, a Host naming the port's other server). A host no server of the port
 * serves is not misdirected: it finds no virtual host (404), as in Istio.
 * A Gateway API listener's chain (`ownHostsOnly`) is stricter: a Host its
 * names cover is still misdirected when a more specific chain of the port
 * serves it (the conformance suite's rule).
 */
export function misdirected(tls: TlsListener, chain: FilterChain, host: string): boolean {
  if (chain.ownHostsOnly === true) {
    const mine = coverRank(chain.serverNames, host);
    const ci = selectVirtualHost(tls, host);
    if (ci < 0 || tls.chains[ci] === chain) return false;
    return coverRank(tls.chains[ci]!.serverNames, host) > mine;
  }
  if (hostInNames(chain.serverNames, host)) return false;
  const ci = selectVirtualHost(tls, host);
  return ci >= 0 && tls.chains[ci] !== chain;
}

// Compile-time indexes the per-request lookups use: a virtual host's path index
// (exact map, prefix trie, always-list) and a route table's host maps (exact,
// wildcard suffixes longest first, catch-all). Precedence settled here, once.
import { regexLiteralPrefix } from "../decode/regex.ts";
import { hostHash } from "../route/lookup.ts";
import { ConditionRegistry } from "./conditions.ts";
import type { PathIndex, Route, RouteMatch, RouteProgram, RouteTable, TrieNode, VirtualHost, WildcardHost } from "../snapshot/types.ts";

function trieInsert(root: TrieNode, prefix: string, route: number): void {
  let node = root;
  for (let i = 0; i < prefix.length; i++) {
    const ch = prefix[i]!;
    let next = node.children.get(ch);
    if (next === undefined) {
      next = { children: new Map(), routes: [] };
      node.children.set(ch, next);
    }
    node = next;
  }
  if (!node.routes.includes(route)) node.routes.push(route);
}

/** Above this many distinct literals a virtual host uses the exact map and the trie. */
export const PACKED_MAX = 24;

/** Does the match test anything but its uri? */
function hasOtherConditions(m: RouteMatch): boolean {
  if (m.port !== 0 || m.method !== null || m.scheme !== null || m.authority !== null) return true;
  return m.headers.length > 0 || m.withoutHeaders.length > 0 || m.queryParams.length > 0;
}

/**
 * 1: an index hit (or reaching it as always-tested) is a match; 2: the index
 * hit proves the uri, the other conditions remain; 0: test the route.
 */
function uriFlag(ms: RouteMatch[]): number {
  if (ms.length === 0) return 1;
  if (ms.length > 1) return 0;
  const m = ms[0]!;
  const literal = m.uri !== null && m.uri.kind !== "regex" && !m.ignoreUriCase;
  if (hasOtherConditions(m)) return literal ? 2 : 0;
  return m.uri === null || literal ? 1 : 0;
}

/**
 * Where the index finds a match entry from the path alone: a literal exact or
 * prefix uri ("e:…"/"p:…"), a regex's literal prefix ("p:…", the regex is then
 * tested), or nowhere ("a": always tested).
 */
function matchKey(m: RouteMatch): string {
  const u = m.uri;
  if (u === null || m.ignoreUriCase) return "a";
  if (u.kind === "exact") return "e:" + u.value;
  if (u.kind === "prefix") return "p:" + u.value;
  const prefix = regexLiteralPrefix(u.source);
  return prefix === "" ? "a" : "p:" + prefix;
}

/**
 * Each route is filed under the keys of its match entries (a route without
 * entries, or with one the path cannot narrow, is always tested). Few keys
 * (the usual case): one packed list scanned in route order, always-tested
 * routes included as kind 2. Many: exact map + prefix trie + always-list.
 * Route indices are added in ascending order, so every list is ascending.
 * `layout` forces one of the two (the shared layout suite builds each).
 */
export function buildPathIndex(routes: Route[], layout: "auto" | "packed" | "trie" = "auto"): PathIndex {
  const idx: PathIndex = {
    exact: new Map(),
    prefixTrie: { children: new Map(), routes: [] },
    always: [],
    packed: "",
    literals: [],
    literalRoutes: [],
    uriOnly: new Array<number>(routes.length).fill(0),
  };
  // key → routes, keys in order of their first route ("a#<i>": one per always-tested route)
  const keys = new Map<string, number[]>();
  for (let i = 0; i < routes.length; i++) {
    const ms = routes[i]!.matches;
    idx.uriOnly[i] = uriFlag(ms);
    const ks = ms.map(matchKey);
    if (ks.length === 0 || ks.includes("a")) {
      idx.always.push(i);
      keys.set(`a#${i}`, [i]);
      continue;
    }
    for (const key of ks) {
      const l = keys.get(key);
      if (l === undefined) keys.set(key, [i]);
      else if (l[l.length - 1] !== i) l.push(i);
    }
  }
  if (layout === "packed" || (layout === "auto" && keys.size <= PACKED_MAX)) {
    let packed = "";
    for (const [key, list] of keys) {
      const first = list[0]!;
      const value = key[0] === "a" ? "" : key.slice(2);
      const kind = key[0] === "e" ? 0 : key[0] === "p" ? 1 : 2;
      idx.literals.push(packed.length, value.length, kind, first, idx.uriOnly[first]!, idx.literalRoutes.length);
      idx.literalRoutes.push(list);
      packed += value;
    }
    idx.packed = packed;
    return idx;
  }
  for (const [key, list] of keys) {
    if (key[0] === "a") continue;
    const value = key.slice(2);
    for (const r of list) {
      if (key[0] === "e") {
        const l = idx.exact.get(value);
        if (l === undefined) idx.exact.set(value, [r]);
        else l.push(r);
      } else trieInsert(idx.prefixTrie, value, r);
    }
  }
  // lists filled key by key: restore ascending order
  for (const l of idx.exact.values()) l.sort((a, b) => a - b);
  sortTrie(idx.prefixTrie);
  return idx;
}

function sortTrie(n: TrieNode): void {
  n.routes.sort((a, b) => a - b);
  for (const c of n.children.values()) sortTrie(c);
}

const U16 = 0xffff;

/** Growable 16-bit code. */
class Code {
  buf = new Uint16Array(1 << 16);
  length = 0;
  push(x: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = x;
  }
  append(xs: Uint16Array): void {
    if (this.length + xs.length > this.buf.length) this.grow(xs.length);
    this.buf.set(xs, this.length);
    this.length += xs.length;
  }
  private grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const b = new Uint16Array(size);
    b.set(this.buf);
    this.buf = b;
  }
}

/*
 * The route program's format (RouteProgram; read by runProgram and
 * programHost in src/route/). One Uint16Array `code` per route table, written
 * by buildRouteProgram below; every number is one 16-bit unit unless marked
 * (lo, hi): two units, low half first. Offsets are indices into `code`.
 *
 *   host record (one per exact host, found through `hostSlots`):
 *     [len] [len UTF-16 units of the lower-case host]
 *     [virtual host index (lo, hi)] [program offset (lo, hi), 0xffff 0xffff = -1: none]
 *   virtual host program (at `programAt[vh]`; right behind the record of the
 *   virtual host's first exact host, so a lookup reads on in sequence):
 *     [n: literal count]
 *     n × literal, ordered by their first route:
 *       [head: kind (0 exact, 1 prefix, 2 always) | 4 when the first route
 *              matches on the uri alone (uriOnly 1)]
 *       [len] [first route] [m: list length, 0 when bit 4 is set]
 *       [len UTF-16 units of the literal]
 *       m × [route index] [uriOnly flag 0|1|2] [index in `conditions`]
 *
 *   hostSlots (Int32Array, open addressing, power-of-two slot count):
 *     per slot [hostHash(host)] [1 + offset of its host record; 0 = empty]
 *   conditions: the distinct `matches` lists (equal content shared), indexed
 *     by the list entries' third number (src/compile/conditions.ts).
 *
 * runProgram scans a virtual host's literals, skips those whose first route
 * cannot beat the best found, and tests a list's routes in ascending order;
 * a virtual host without packed literals, or whose numbers need more than 16
 * bits, has no program (programAt -1) and is looked up through its PathIndex.
 * The program names virtual hosts and routes by index: snapshots share
 * virtual hosts as they are (a snapshot delta does not copy them).
 */

/**
 * A virtual host's program part as programFor wrote it, for one registry and
 * epoch (its condition numbers hold there); `code` null: it has none. The
 * registry lookups it made, to do again (`touched`: index, `matches`: list).
 */
interface ProgramPart {
  registry: ConditionRegistry;
  epoch: number;
  code: Uint16Array | null;
  touched: number[];
  matches: RouteMatch[][];
}

/** By virtual host (not written to after compile; compile reuse hands unchanged ones to the next table). */
const programParts = new WeakMap<VirtualHost, ProgramPart>();

/**
 * The part programFor wrote for `vh` before in this registry's epoch, its
 * registry lookups done again (the same bookkeeping as looking them up); null
 * when there is none.
 */
function replayPart(vh: VirtualHost, conditions: ConditionRegistry): ProgramPart | null {
  const part = programParts.get(vh);
  if (part === undefined || part.registry !== conditions || part.epoch !== conditions.currentEpoch) return null;
  for (let k = 0; k < part.touched.length; k++) conditions.touch(part.touched[k]!, part.matches[k]!);
  return part;
}

/**
 * programForFresh, or the part it wrote for this virtual host before in this
 * registry's epoch (a program part holds no offsets: it is the same wherever it goes).
 */
function programFor(vh: VirtualHost, conditions: ConditionRegistry, out: Code): boolean {
  const part = replayPart(vh, conditions);
  if (part !== null) {
    if (part.code === null) return false;
    out.append(part.code);
    return true;
  }
  const start = out.length;
  const p: ProgramPart = { registry: conditions, epoch: conditions.currentEpoch, code: null, touched: [], matches: [] };
  if (programForFresh(vh, conditions, out, p)) p.code = out.buf.slice(start, out.length);
  programParts.set(vh, p);
  return p.code !== null;
}

/**
 * Appends one virtual host's packed literals as program code (format above);
 * false, with nothing appended, when it has none (map + trie layout) or a
 * number exceeds 16 bits. The registry lookups go into `part`.
 */
function programForFresh(vh: VirtualHost, conditions: ConditionRegistry, out: Code, part: ProgramPart): boolean {
  const idx = vh.pathIndex;
  const lits = idx.literals;
  if (lits.length === 0 || vh.routes.length > U16 || lits.length / 6 > U16) return false;
  for (let i = 0; i < lits.length; i += 6) {
    const list = lits[i + 4] === 1 ? [] : idx.literalRoutes[lits[i + 5]!]!;
    if (lits[i + 1]! > U16 || list.length > U16) return false;
  }
  const start = out.length;
  out.push(lits.length / 6);
  for (let i = 0; i < lits.length; i += 6) {
    const from = lits[i]!;
    const len = lits[i + 1]!;
    const uriOnly = lits[i + 4] === 1;
    const list = uriOnly ? [] : idx.literalRoutes[lits[i + 5]!]!;
    out.push(lits[i + 2]! | (uriOnly ? 4 : 0));
    out.push(len);
    out.push(lits[i + 3]!);
    out.push(list.length);
    for (let k = 0; k < len; k++) out.push(idx.packed.charCodeAt(from + k));
    for (const r of list) {
      const flag = idx.uriOnly[r]!;
      let cond = 0;
      if (flag !== 1) {
        const ms = vh.routes[r]!.matches;
        cond = conditions.indexOf(ms);
        part.touched.push(cond);
        part.matches.push(ms);
      }
      if (cond > U16) {
        out.length = start;
        return false;
      }
      out.push(r);
      out.push(flag);
      out.push(cond);
    }
  }
  return true;
}

/** The code being written (copied out at the end: one buffer, grown to the largest program, instead of a new one per build). */
const scratch = new Code();

/** Per program (primary side): where each virtual host's segment (its host records and program part) starts in `code`, and at [n] the code's length. */
const segments = new WeakMap<RouteProgram, Int32Array>();

/** A host record's length in code units. */
const recordLength = (host: string) => host.length + 5;

/**
 * Writes offset `at` (-1: none) into the records of virtual host `vi`'s
 * segment, which spans [from, to): its first host's record starts it, the
 * others' end it (the layout of buildRouteProgram).
 */
function setRecordOffsets(code: Uint16Array, hosts: string[], from: number, to: number, at: number): void {
  if (hosts.length === 0) return;
  const lo = at < 0 ? U16 : at & U16;
  const hi = at < 0 ? U16 : (at >>> 16) & U16;
  let p = from;
  for (let h = 0; h < hosts.length; h++) {
    if (h === 1) {
      p = to;
      for (let k = 1; k < hosts.length; k++) p -= recordLength(hosts[k]!);
    }
    const len = hosts[h]!.length;
    code[p + len + 3] = lo;
    code[p + len + 4] = hi;
    p += len + 5;
  }
}

/**
 * The table's program (layout: RouteProgram) over its virtual hosts and exact
 * host map; `conditions` is the table's registry kept from one compile to the
 * next (compile reuse), or a new one. Its typed arrays live in
 * SharedArrayBuffers: postMessage hands the workers the same memory instead
 * of copying megabytes per worker and reload (Bun's copy of a 3 MB array takes
 * 30-90 ms of the primary's thread); nothing writes to them once built.
 *
 * `prev`: the previous compile's table, when its exact host map is this one
 * (every virtual host has the same domains at its index). Runs of virtual
 * hosts that are prev's own objects, with their parts of this registry's
 * epoch, are copied from prev's code as one piece each, their offsets moved by
 * how far the run moved; the code is the same as building every part again
 * (compile-reuse.test.ts compares with compiles from scratch). prev's arrays
 * are not written to (workers read them).
 */
export function buildRouteProgram(virtualHosts: VirtualHost[], exactHosts: Map<string, number>, conditions = new ConditionRegistry(), prev?: RouteTable): RouteProgram {
  conditions.begin();
  const n = virtualHosts.length;
  const hostsOf: string[][] = virtualHosts.map(() => []);
  for (const [host, i] of exactHosts) hostsOf[i]!.push(host);
  const base = prev !== undefined && prev.exactHosts === exactHosts && prev.virtualHosts.length === n && prev.program != null && conditions.built(prev.program) ? prev.program : null;
  const baseAt = base === null ? undefined : segments.get(base);
  const code = scratch;
  code.length = 0;
  const programAt = new Int32Array(new SharedArrayBuffer(n * 4)).fill(-1);
  const segAt = new Int32Array(n + 1);
  const record = (host: string, vi: number, at: number) => {
    code.push(host.length);
    for (let k = 0; k < host.length; k++) code.push(host.charCodeAt(k));
    code.push(vi & U16);
    code.push(vi >>> 16);
    code.push(at & U16);
    code.push((at >>> 16) & U16);
  };
  // a virtual host prev had at its index, its part replayed (registry bookkeeping included)
  const kept = (i: number) => baseAt !== undefined && virtualHosts[i] === prev!.virtualHosts[i] && replayPart(virtualHosts[i]!, conditions) !== null;
  let moved = baseAt === undefined;
  for (let i = 0; i < n; ) {
    if (kept(i)) {
      let j = i + 1;
      while (j < n && kept(j)) j++;
      const d = code.length - baseAt![i]!;
      code.append(base!.code.subarray(baseAt![i]!, baseAt![j]!));
      for (let k = i; k < j; k++) {
        segAt[k] = baseAt![k]! + d;
        const at = base!.programAt[k]!;
        programAt[k] = at < 0 ? -1 : at + d;
        if (d !== 0) setRecordOffsets(code.buf, hostsOf[k]!, segAt[k]!, baseAt![k + 1]! + d, programAt[k]!);
      }
      if (d !== 0) moved = true;
      i = j;
      continue;
    }
    const vh = virtualHosts[i]!;
    const hosts = hostsOf[i]!;
    segAt[i] = code.length;
    // the program right behind the first host's record: one read, in sequence
    if (hosts.length > 0) record(hosts[0]!, i, code.length + hosts[0]!.length + 5);
    const start = code.length;
    if (programFor(vh, conditions, code)) programAt[i] = start;
    else if (hosts.length > 0) code.buf[start - 2] = code.buf[start - 1] = U16; // no program: -1
    for (let h = 1; h < hosts.length; h++) record(hosts[h]!, i, programAt[i]!);
    if (baseAt !== undefined && (segAt[i] !== baseAt[i] || code.length !== baseAt[i + 1])) moved = true;
    i++;
  }
  segAt[n] = code.length;
  let hostSlots: Int32Array;
  if (!moved) hostSlots = base!.hostSlots; // every host record where it was: the same slots
  else {
    let count = 0;
    for (const hosts of hostsOf) count += hosts.length;
    let cap = 8;
    while (cap < count * 2) cap *= 2;
    hostSlots = new Int32Array(new SharedArrayBuffer(cap * 2 * 4));
    const insert = (host: string, offset: number) => {
      const hash = hostHash(host);
      let s = hash & (cap - 1);
      while (hostSlots[2 * s + 1] !== 0) s = (s + 1) & (cap - 1);
      hostSlots[2 * s] = hash;
      hostSlots[2 * s + 1] = offset + 1;
    };
    for (let i = 0; i < n; i++) {
      const hosts = hostsOf[i]!;
      if (hosts.length === 0) continue;
      insert(hosts[0]!, segAt[i]!);
      let p = segAt[i + 1]!;
      for (let h = 1; h < hosts.length; h++) p -= recordLength(hosts[h]!);
      for (let h = 1; h < hosts.length; h++) {
        insert(hosts[h]!, p);
        p += recordLength(hosts[h]!);
      }
    }
  }
  const shared = new Uint16Array(new SharedArrayBuffer(code.length * 2));
  shared.set(code.buf.subarray(0, code.length));
  const program: RouteProgram = { code: shared, conditions: [], hostSlots, programAt };
  program.conditions = conditions.finish(program);
  segments.set(program, segAt);
  return program;
}

/** Does every virtual host have the domains of `prev`'s at its index? */
function sameDomainsAt(virtualHosts: VirtualHost[], prev: VirtualHost[]): boolean {
  if (virtualHosts.length !== prev.length) return false;
  for (let i = 0; i < prev.length; i++) {
    const a = virtualHosts[i]!.domains;
    const b = prev[i]!.domains;
    if (a === b) continue;
    if (a.length !== b.length) return false;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  }
  return true;
}

/**
 * Domains → exact map, `*.suffix` list (longest suffix first), `*` index; the
 * route program (its conditions in `conditions`). When every virtual host has
 * the domains of `prev`'s (the previous compile's table) at its index, the host
 * maps are prev's (the same objects: a snapshot delta sees them unchanged at once).
 */
export function buildRouteTable(name: string, virtualHosts: VirtualHost[], conditions?: ConditionRegistry, prev?: RouteTable): RouteTable {
  if (prev !== undefined && sameDomainsAt(virtualHosts, prev.virtualHosts)) {
    const program = buildRouteProgram(virtualHosts, prev.exactHosts, conditions, prev);
    return { name, virtualHosts, exactHosts: prev.exactHosts, wildcardHosts: prev.wildcardHosts, catchAll: prev.catchAll, program: prev.program === null ? null : program };
  }
  const exactHosts = new Map<string, number>();
  const wildcardHosts: WildcardHost[] = [];
  let catchAll = -1;
  virtualHosts.forEach((vh, index) => {
    for (const d of vh.domains) {
      if (d === "*") catchAll = index;
      else if (d.startsWith("*.")) wildcardHosts.push({ suffix: d.slice(1), index });
      else exactHosts.set(d, index);
    }
  });
  wildcardHosts.sort((a, b) => b.suffix.length - a.suffix.length || (a.suffix < b.suffix ? -1 : a.suffix > b.suffix ? 1 : 0));
  const program = buildRouteProgram(virtualHosts, exactHosts, conditions);
  // a host record's length is 16 bits: a longer name (none is valid DNS) leaves the table to its maps
  let fits = true;
  for (const h of exactHosts.keys()) if (h.length > U16) fits = false;
  return { name, virtualHosts, exactHosts, wildcardHosts, catchAll, program: fits ? program : null };
}

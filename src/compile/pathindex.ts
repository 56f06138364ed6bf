// Compile-time indexes the per-request lookups use: a virtual host's path index
// (exact map, prefix trie, always-list) and a route table's host maps (exact,
// wildcard suffixes longest first, catch-all). Precedence settled here, once.
import { regexLiteralPrefix } from "../decode/regex.ts";
import type { PathIndex, Route, RouteMatch, RouteTable, TrieNode, VirtualHost, WildcardHost } from "../snapshot/types.ts";

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
 */
export function buildPathIndex(routes: Route[]): PathIndex {
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
  if (keys.size <= PACKED_MAX) {
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

/** Domains → exact map, `*.suffix` list (longest suffix first), `*` index. */
export function buildRouteTable(name: string, virtualHosts: VirtualHost[]): RouteTable {
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
  return { name, virtualHosts, exactHosts, wildcardHosts, catchAll };
}

// Compile-time indexes the per-request lookups use: a virtual host's path index
// (exact map, prefix trie, always-list) and a route table's host maps (exact,
// wildcard suffixes longest first, catch-all). Precedence settled here, once.
import type { PathIndex, Route, RouteTable, TrieNode, VirtualHost, WildcardHost } from "../snapshot/types.ts";

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
  if (node.routes[node.routes.length - 1] !== route) node.routes.push(route);
}

/**
 * Each route goes where its uri conditions can be found from the path alone:
 * case-sensitive exact → `exact`, case-sensitive prefix → trie; a route with
 * no match, a match without uri, a regex or ignoreUriCase → `always`. Route
 * indices are added in ascending order, so every list is ascending.
 */
export function buildPathIndex(routes: Route[]): PathIndex {
  const idx: PathIndex = { exact: new Map(), prefixTrie: { children: new Map(), routes: [] }, always: [] };
  for (let i = 0; i < routes.length; i++) {
    const ms = routes[i]!.matches;
    let always = ms.length === 0;
    for (const m of ms) {
      const u = m.uri;
      if (u === null || u.kind === "regex" || m.ignoreUriCase) always = true;
    }
    if (always) {
      idx.always.push(i);
      continue;
    }
    for (const m of ms) {
      const u = m.uri!;
      if (u.kind === "exact") {
        const l = idx.exact.get(u.value);
        if (l === undefined) idx.exact.set(u.value, [i]);
        else if (l[l.length - 1] !== i) l.push(i);
      } else if (u.kind === "prefix") trieInsert(idx.prefixTrie, u.value, i);
    }
  }
  return idx;
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

// The three layouts of a virtual host's route index, behind one contract
// (RouteLayout.match: the first route in configuration order that accepts the
// request, or -1). Which one a virtual host carries is settled at compile time
// (compile/pathindex.ts): the route program when it has one (the usual case),
// else packed literals, else exact map + prefix trie. One shared precedence
// suite runs over all three (test/unit/route-layouts.test.ts).
import type { Route, RouteMatch, RouteProgram, RouteTable, TrieNode, VirtualHost } from "../snapshot/types.ts";
import { matchOne, matchRest, routeMatches, type RequestView } from "./match.ts";

export interface RouteLayout {
  readonly name: "program" | "packed" | "trie";
  /** Is virtual host `vi` of `table` looked up through this layout? */
  has(table: RouteTable, vi: number): boolean;
  /** Index of the first route of virtual host `vi` (configuration order) that accepts `req`, or -1. */
  match(table: RouteTable, vi: number, req: RequestView): number;
}

/**
 * Smallest index in the ascending `list`, below `best` (or any if -1), whose
 * route matches. Reached through the path index, a route flagged uriOnly 1
 * matches without being looked at; flagged 2, only its other conditions are tested.
 */
function firstIn(list: number[], routes: Route[], req: RequestView, best: number, uriOnly: number[]): number {
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if (best !== -1 && r >= best) return best;
    const flag = uriOnly[r];
    if (flag === 1) return r;
    if (flag === 2 ? matchRest(routes[r]!.matches[0]!, req) : routeMatches(routes[r]!, req)) return r;
  }
  return best;
}

/** Does `path` equal (kind 0) or start with (kind 1) packed[start, start+len)? Kind 2: always. */
function literalHit(path: string, packed: string, start: number, len: number, kind: number): boolean {
  if (kind === 0 ? path.length !== len : path.length < len) return false;
  if (kind === 2) return true;
  for (let k = 0; k < len; k++) if (path.charCodeAt(k) !== packed.charCodeAt(start + k)) return false;
  return true;
}

/** Does any entry of a route's `match[]` accept the request (a non-empty list)? */
function anyMatches(ms: RouteMatch[], req: RequestView): boolean {
  for (let i = 0; i < ms.length; i++) if (matchOne(ms[i]!, req)) return true;
  return false;
}

/**
 * The packed literal scan of selectRoute over a virtual host's part of the
 * route program (layout: RouteProgram): literals in order of their first
 * route, stop once no later literal can give a smaller route.
 */
export function runProgram(prog: RouteProgram, at: number, req: RequestView): number {
  const code = prog.code;
  const path = req.path;
  const plen = path.length;
  let p = at + 1;
  let best = -1;
  for (let n = code[at]!; n > 0; n--) {
    const head = code[p]!;
    const len = code[p + 1]!;
    const first = code[p + 2]!;
    const count = code[p + 3]!;
    if (best !== -1 && first >= best) break;
    const chars = p + 4;
    p = chars + len + 3 * count;
    if ((head & 3) === 0 ? plen !== len : plen < len) continue;
    let k = 0;
    while (k < len && path.charCodeAt(k) === code[chars + k]) k++;
    if (k < len) continue;
    if ((head & 4) !== 0) {
      best = first;
      continue;
    }
    for (let q = chars + len, end = p; q < end; q += 3) {
      const r = code[q]!;
      if (best !== -1 && r >= best) break;
      const flag = code[q + 1]!;
      if (flag === 1) {
        best = r;
        break;
      }
      const ms = prog.conditions[code[q + 2]!]!;
      if (flag === 2 ? matchRest(ms[0]!, req) : anyMatches(ms, req)) {
        best = r;
        break;
      }
    }
  }
  return best;
}

/** Packed literals (PathIndex.literals): one list in route order, always-tested routes included. */
export function matchPacked(vh: VirtualHost, req: RequestView): number {
  const idx = vh.pathIndex;
  const routes = vh.routes;
  const only = idx.uriOnly;
  const path = req.path;
  const lits = idx.literals;
  const packed = idx.packed;
  const lists = idx.literalRoutes;
  let best = -1;
  for (let i = 0; i < lits.length; i += 6) {
    const first = lits[i + 3]!;
    if (best !== -1 && first >= best) break; // literals are ordered by first route
    if (!literalHit(path, packed, lits[i]!, lits[i + 1]!, lits[i + 2]!)) continue;
    // the usual case, a route matched by its uri alone: no list, no route to look at
    best = lits[i + 4] === 1 ? first : firstIn(lists[lits[i + 5]!]!, routes, req, best, only);
  }
  return best;
}

/** Exact map + prefix trie walk + always-list (PathIndex without literals: many of them). */
export function matchTrie(vh: VirtualHost, req: RequestView): number {
  const idx = vh.pathIndex;
  const routes = vh.routes;
  const only = idx.uriOnly;
  const path = req.path;
  let best = -1;
  const ex = idx.exact.get(path);
  if (ex !== undefined) best = firstIn(ex, routes, req, best, only);
  let node: TrieNode | undefined = idx.prefixTrie;
  if (node.routes.length > 0) best = firstIn(node.routes, routes, req, best, only);
  for (let i = 0; i < path.length; i++) {
    node = node.children.get(path[i]!);
    if (node === undefined) break;
    if (node.routes.length > 0) best = firstIn(node.routes, routes, req, best, only);
  }
  return firstIn(idx.always, routes, req, best, only);
}

/** Where virtual host `vi`'s part of the table's route program starts, or -1 (it has none). */
function programAt(table: RouteTable, vi: number): number {
  const prog = table.program;
  return prog == null ? -1 : prog.programAt[vi]!;
}

/** The route program (RouteProgram, byte format in compile/pathindex.ts). */
export const PROGRAM: RouteLayout = {
  name: "program",
  has: (t, vi) => programAt(t, vi) >= 0,
  match: (t, vi, req) => runProgram(t.program!, programAt(t, vi), req),
};

export const PACKED: RouteLayout = {
  name: "packed",
  has: (t, vi) => programAt(t, vi) < 0 && t.virtualHosts[vi]!.pathIndex.literals.length > 0,
  match: (t, vi, req) => matchPacked(t.virtualHosts[vi]!, req),
};

export const MAP_TRIE: RouteLayout = {
  name: "trie",
  has: (t, vi) => programAt(t, vi) < 0 && t.virtualHosts[vi]!.pathIndex.literals.length === 0,
  match: (t, vi, req) => matchTrie(t.virtualHosts[vi]!, req),
};

export const LAYOUTS: readonly RouteLayout[] = [PROGRAM, PACKED, MAP_TRIE];

/** The layout virtual host `vi` of `table` is looked up through (exactly one `has` it). */
export function layoutOf(table: RouteTable, vi: number): RouteLayout {
  return programAt(table, vi) >= 0 ? PROGRAM : table.virtualHosts[vi]!.pathIndex.literals.length > 0 ? PACKED : MAP_TRIE;
}

// Request → virtual host → route: the lookups the workers run per request and
// that trace() replays. Allocation-light, no RegExp or closure built here; the
// one piece of state is a memo of the last virtual host chosen (lastVh).
import type { FilterChain, HeaderMatch, Route, RouteMatch, RouteProgram, RouteTable, StringMatch, TlsListener, TrieNode, VirtualHost } from "../snapshot/types.ts";

/** What a route match needs to know of a request. */
export interface RequestView {
  /** Gateway server port the request arrived on (the Gateway's number, not the local one). */
  port: number;
  /** Lower-case host without port. */
  host: string;
  /** Path without the query string, as received. */
  path: string;
  /** Query string without the `?`, or "". */
  query: string;
  method: string;
  scheme: string;
  /** Header value by lower-case name (first value), or undefined. */
  header(name: string): string | undefined;
}

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
 * The virtual host selectVirtualHost last chose through a route program, and
 * where its program is: selectRoute on that same virtual host (the caller's
 * next step) runs it without reading the virtual host object, one memory
 * read less per request. The program is a function of the virtual host, so a
 * stale entry cannot give a wrong answer; selectRoute clears it (no old
 * snapshot kept alive by it).
 */
let lastVh: VirtualHost | null = null;
let lastProgram: RouteProgram | null = null;
let lastAt = 0;

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
    lastAt = code[rec + 2]! | (code[rec + 3]! << 16);
    return code[rec]! | (code[rec + 1]! << 16);
  }
}

/** Index of the virtual host (or filter chain) serving `host` (normalised), or -1. Exact, then longest `*.suffix`, then `*`. */
export function selectVirtualHost(table: HostIndex, host: string): number {
  const prog = table.program;
  lastVh = null;
  if (prog != null) {
    let vi = programHost(prog, host);
    if (vi < 0) {
      vi = wildcardOrCatchAll(table, host);
      if (vi >= 0) lastAt = prog.programAt[vi]!;
    }
    if (vi >= 0 && lastAt >= 0) {
      lastVh = (table as RouteTable).virtualHosts[vi]!;
      lastProgram = prog;
    }
    return vi;
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

export function matchString(m: StringMatch, value: string): boolean {
  switch (m.kind) {
    case "exact":
      return value === m.value;
    case "prefix":
      return value.startsWith(m.value);
    case "regex":
      return m.regex.test(value);
  }
}

/**
 * The uri condition of a match. With `ignoreUriCase` compile stores exact and
 * prefix values lower-cased, so only the path is lower-cased here (regexes are
 * case-sensitive, as in Envoy).
 */
export function matchUri(m: RouteMatch, path: string): boolean {
  const u = m.uri;
  if (u === null) return true;
  if (!m.ignoreUriCase || u.kind === "regex") return matchString(u, path);
  return matchString(u, path.toLowerCase());
}

/** Value of query parameter `name` (raw, not decoded), "" if present without `=`, else undefined. */
export function queryParam(query: string, name: string): string | undefined {
  if (query.length === 0) return undefined;
  let start = 0;
  while (start <= query.length) {
    let amp = query.indexOf("&", start);
    if (amp < 0) amp = query.length;
    const eq = query.indexOf("=", start);
    const keyEnd = eq >= 0 && eq < amp ? eq : amp;
    if (keyEnd - start === name.length && query.startsWith(name, start)) {
      return keyEnd === amp ? "" : query.slice(keyEnd + 1, amp);
    }
    start = amp + 1;
  }
  return undefined;
}

/**
 * A request header by lower-case name; the pseudo-headers Istio matches on are
 * answered from the request line (`:authority` is the host without port).
 */
export function requestHeader(req: RequestView, name: string): string | undefined {
  if (name.charCodeAt(0) !== 58 /* : */) return req.header(name);
  switch (name) {
    case ":authority":
      return req.host;
    case ":method":
      return req.method;
    case ":scheme":
      return req.scheme;
    case ":path":
      return req.query.length === 0 ? req.path : req.path + "?" + req.query;
  }
  return req.header(name);
}

function headerMatches(h: HeaderMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  return h.match === null || matchString(h.match, value);
}

/** withoutHeaders: inverted; a missing header reads as "" for value matchers (Envoy's treat_missing_header_as_empty). */
function headerExcludes(h: HeaderMatch, value: string | undefined): boolean {
  if (h.match === null) return value !== undefined;
  return matchString(h.match, value === undefined ? "" : value);
}

/** Does one `match[]` entry accept the request? Fields inside are AND'd. */
export function matchOne(m: RouteMatch, req: RequestView): boolean {
  return matchUri(m, req.path) && matchRest(m, req);
}

/** Every condition of a match but its uri. */
export function matchRest(m: RouteMatch, req: RequestView): boolean {
  if (m.port !== 0 && m.port !== req.port) return false;
  if (m.method !== null && !matchString(m.method, req.method)) return false;
  if (m.scheme !== null && !matchString(m.scheme, req.scheme)) return false;
  if (m.authority !== null && !matchString(m.authority, req.host)) return false;
  const hs = m.headers;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    if (!headerMatches(h, requestHeader(req, h.name))) return false;
  }
  const without = m.withoutHeaders;
  for (let i = 0; i < without.length; i++) {
    const h = without[i]!;
    if (headerExcludes(h, requestHeader(req, h.name))) return false;
  }
  const qs = m.queryParams;
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i]!;
    if (!headerMatches(q, queryParam(req.query, q.name))) return false;
  }
  return true;
}

/** Does the route accept the request? Its `match[]` entries are OR'd; none means all. */
export function routeMatches(route: Route, req: RequestView): boolean {
  const ms = route.matches;
  if (ms.length === 0) return true;
  for (let i = 0; i < ms.length; i++) if (matchOne(ms[i]!, req)) return true;
  return false;
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
function runProgram(prog: RouteProgram, at: number, req: RequestView): number {
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

/**
 * First route (in configuration order) that matches, or -1. Candidates come
 * from the path index (the route program, packed literals, or exact map +
 * prefix trie walk) and the always-list; the smallest candidate index that
 * fully matches wins, which is first-match order.
 */
export function selectRoute(vh: VirtualHost, req: RequestView): number {
  const last = lastProgram;
  const hit = vh === lastVh;
  lastVh = null;
  lastProgram = null;
  if (hit) return runProgram(last!, lastAt, req);
  const prog = vh.program;
  if (prog != null) return runProgram(prog, vh.programAt!, req);
  const idx = vh.pathIndex;
  const routes = vh.routes;
  const only = idx.uriOnly;
  const path = req.path;
  let best = -1;
  const lits = idx.literals;
  if (lits.length > 0) {
    // packed: literals and always-tested routes in one list, in route order
    const packed = idx.packed;
    const lists = idx.literalRoutes;
    for (let i = 0; i < lits.length; i += 6) {
      const first = lits[i + 3]!;
      if (best !== -1 && first >= best) break; // literals are ordered by first route
      if (!literalHit(path, packed, lits[i]!, lits[i + 1]!, lits[i + 2]!)) continue;
      // the usual case, a route matched by its uri alone: no list, no route to look at
      best = lits[i + 4] === 1 ? first : firstIn(lists[lits[i + 5]!]!, routes, req, best, only);
    }
    return best;
  }
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
 * 421 Misdirected Request: a request on a connection accepted under `chain` (by
 * SNI) for a host that another server of the port serves (HTTP/2 connection
 * reuse, a Host naming the port's other server). A host no server of the port
 * serves is not misdirected: it finds no virtual host (404), as in Istio.
 */
export function misdirected(tls: TlsListener, chain: FilterChain, host: string): boolean {
  if (hostInNames(chain.serverNames, host)) return false;
  const ci = selectVirtualHost(tls, host);
  return ci >= 0 && tls.chains[ci] !== chain;
}

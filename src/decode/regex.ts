// Istio regexes are RE2 (Envoy's safe_regex): every regex of a configuration
// (matches on uri, headers, query parameters, authority, method, scheme;
// rewrites; CORS origins) is compiled here, once, by re2js — a JavaScript port
// of RE2 with RE2's syntax and its linear-time matching. JavaScript's own
// engine backtracks: `(a+)+$` against "aaa…!" costs it ~0.5 s of a worker per
// request; RE2 answers in time linear in the input. Measured in
// bench/regex-engines.bench.ts: ~4–10× the cost of a JS RegExp on typical route
// regexes (0.2–1.4 µs a match); re2-wasm was ~25–40×. The simplest patterns
// (`/items/[0-9]+`: one variable quantifier over single characters), for which
// a RegExp provably runs in linear time with RE2's meaning, are tested with a
// RegExp instead (regex-fast.ts has the argument); re2js decides the rest.
import { RE2JS } from "re2js";
import { linearJsSource } from "./regex-fast.ts";
import type { CompiledRegex, HeaderMatch, Listener, RouteMatch, RouteTable, StringMatch } from "../snapshot/types.ts";

export type { CompiledRegex };

/** Longest pattern accepted (Envoy's default regex program size limit is about this). */
export const MAX_REGEX = 1024;

/**
 * A compiled RE2 pattern. Only `source` and `engine` survive postMessage (the
 * engine is a private field): a worker revives it with `reviveRegexes`.
 */
class Re2Regex implements CompiledRegex {
  readonly engine = "re2";
  readonly #re: RE2JS;
  /** The same full match as a RegExp, for the patterns regex-fast.ts proves linear and equal; else null. */
  readonly #js: RegExp | null;
  constructor(
    readonly source: string,
    re: RE2JS,
    js: RegExp | null,
  ) {
    this.#re = re;
    this.#js = js;
  }

  /** Full match, as Istio's StringMatch `regex` (Envoy's safe_regex). */
  test(input: string): boolean {
    const js = this.#js;
    return js !== null ? js.test(input) : this.#re.matches(input);
  }

  /**
   * Every non-overlapping match replaced, as RE2::GlobalReplace does for
   * Envoy's regex_rewrite: `\0`…`\9` in `substitution` are the match and its
   * groups, `\\` a backslash; an empty match right where the previous match
   * ended is skipped (`a*` over `aaa` is one replacement, where re2js's own
   * replaceAll, like Java's, makes two).
   */
  replaceAll(input: string, substitution: string): string {
    const m = this.#re.matcher(input);
    let out = "";
    let p = 0;
    let lastEnd = -1;
    let count = 0;
    while (p <= input.length && m.find(p)) {
      const start = m.start();
      const end = m.end();
      if (start === lastEnd && end === start) {
        if (p >= input.length) break;
        const n = input.codePointAt(p)! > 0xffff ? 2 : 1; // one character on
        out += input.slice(p, p + n);
        p += n;
        continue;
      }
      out += input.slice(p, start) + rewrite(substitution, m);
      p = lastEnd = end;
      count++;
      if (end === start && p >= input.length) break;
    }
    return count === 0 ? input : out + input.slice(p);
  }
}

/** RE2's Rewrite: `\N` the group (empty when it did not take part), `\\` a backslash, anything else as written. */
function rewrite(sub: string, m: { group(n: number): string | null }): string {
  let out = "";
  let from = 0;
  for (let i = sub.indexOf("\\"); i >= 0 && i + 1 < sub.length; i = sub.indexOf("\\", from)) {
    const c = sub[i + 1]!;
    out += sub.slice(from, i) + (c >= "0" && c <= "9" ? (m.group(c.charCodeAt(0) - 48) ?? "") : c);
    from = i + 2;
  }
  return out + sub.slice(from);
}

/** A re2js parse error in the words users know from RE2's documentation. */
function explain(re: string, message: string): string {
  const m = message.replace(/^error parsing regexp: /, "");
  if (/\(\?<?[=!]/.test(re)) return "lookahead and lookbehind are not supported by RE2";
  if (re.includes("(?P=") || re.includes("(?P>")) return "named backreferences are not supported by RE2";
  if (/invalid escape sequence: `\\[1-9]/.test(m)) return "backreferences are not supported by RE2";
  return m;
}

/** `^(?:…)$` for a pattern regex-fast.ts accepts (linear time, RE2's meaning), else null. */
function fastRegExp(re: string): RegExp | null {
  const js = linearJsSource(re);
  if (js === null) return null;
  try {
    return new RegExp(`^(?:${js})$`, "u");
  } catch {
    return null;
  }
}

/** One compiled regex per distinct pattern (in the primary and in each worker). */
const cache = new Map<string, CompiledRegex>();

/** Compile an RE2 pattern (full-match semantics for `test`). */
export function compileRe2(re: string): { ok: true; regex: CompiledRegex } | { ok: false; error: string } {
  if (re.length > MAX_REGEX) return { ok: false, error: `regex is longer than ${MAX_REGEX} characters` };
  const hit = cache.get(re);
  if (hit !== undefined) return { ok: true, regex: hit };
  try {
    const regex = new Re2Regex(re, RE2JS.compile(re), fastRegExp(re));
    if (cache.size > 10_000) cache.clear();
    cache.set(re, regex);
    return { ok: true, regex };
  } catch (err) {
    return { ok: false, error: explain(re, err instanceof Error ? err.message : String(err)) };
  }
}

/** Is `v` a compiled regex that lost its engine in postMessage (`{source, engine}` only)? */
function isDeadRegex(v: unknown): v is { source: string; engine: "re2" } {
  if (v === null || typeof v !== "object" || v instanceof Re2Regex) return false;
  const o = v as { engine?: unknown; source?: unknown };
  return o.engine === "re2" && typeof o.source === "string";
}

/** The compiled regex for a dead one (a failure would be a bug: then it never matches, rather than crash). */
function revived(v: { source: string }): CompiledRegex {
  const c = compileRe2(v.source);
  return c.ok ? c.regex : { source: v.source, engine: "re2", test: () => false, replaceAll: (s: string) => s };
}

function reviveMatch(m: StringMatch | null): void {
  if (m !== null && m.kind === "regex" && isDeadRegex(m.regex)) m.regex = revived(m.regex);
}

function reviveKeyed(list: HeaderMatch[]): void {
  for (let i = 0; i < list.length; i++) reviveMatch(list[i]!.match);
}

/** Any other field of a route (action, policies): a small tree, walked whole. */
function reviveIn(o: object, depth: number): void {
  if (depth > 8 || ArrayBuffer.isView(o) || o instanceof Map || o instanceof Set) return;
  const rec = o as Record<string, unknown>;
  const keys = Array.isArray(o) ? null : Object.keys(o);
  const n = keys === null ? (o as unknown[]).length : keys.length;
  for (let i = 0; i < n; i++) {
    const k = keys === null ? i : keys[i]!;
    const v = rec[k as string];
    if (v === null || typeof v !== "object") continue;
    if (isDeadRegex(v)) rec[k as string] = revived(v);
    else reviveIn(v, depth + 1);
  }
}

function reviveMatches(ms: RouteMatch[]): void {
  for (const m of ms) {
    reviveMatch(m.uri);
    reviveMatch(m.scheme);
    reviveMatch(m.method);
    reviveMatch(m.authority);
    reviveKeyed(m.headers);
    reviveKeyed(m.withoutHeaders);
    reviveKeyed(m.queryParams);
  }
}

/** The same for route program conditions that came apart from their routes (a snapshot delta's new ones). */
export function reviveConditions(list: readonly RouteMatch[][]): void {
  for (const ms of list) reviveMatches(ms);
}

function reviveTable(t: RouteTable | null, done: Set<RouteTable>): void {
  if (t === null || done.has(t)) return;
  done.add(t);
  for (const vh of t.virtualHosts) {
    for (const r of vh.routes) {
      reviveMatches(r.matches);
      for (const k in r) if (k !== "matches" && k !== "name" && k !== "source") {
        const v = (r as unknown as Record<string, unknown>)[k];
        if (v !== null && typeof v === "object") reviveIn(v, 0);
      }
    }
  }
}

/**
 * Give every regex of the snapshot's route tables its engine back after
 * postMessage: the match conditions, and any regex elsewhere in a route
 * (rewrites, policies; a regex kept inside a Map is not found). Run by the
 * worker on each new snapshot, so no regex is compiled while a request waits.
 */
export function reviveRegexes(listeners: readonly Pick<Listener, "routeTable" | "tls">[]): void {
  const done = new Set<RouteTable>();
  for (const l of listeners) {
    reviveTable(l.routeTable, done);
    for (const c of l.tls?.chains ?? []) reviveTable(c.routeTable, done);
  }
}

const META = new Set("\\^$.|?*+()[]{}".split(""));

/**
 * A literal every path matching the (full-match) RE2 pattern starts with, or
 * "": `/items/[0-9]+` → `/items/`, `/api/v1/.*` → `/api/v1/`, `a|b` → "".
 * Lets the path index test a regex route only on paths with that prefix.
 */
export function regexLiteralPrefix(re: string): string {
  // top-level alternation or leading flags: no common prefix worth finding
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) return "";
  }
  let i = re.startsWith("^") ? 1 : 0;
  let out = "";
  while (i < re.length) {
    const c = re[i]!;
    let lit: string;
    let next: number;
    if (c === "\\") {
      const e = re[i + 1];
      if (e === undefined || /[A-Za-z0-9]/.test(e)) break; // a class (\d, \w) or special escape
      lit = e;
      next = i + 2;
    } else if (META.has(c)) break;
    else {
      lit = c;
      next = i + 1;
    }
    const q = re[next];
    if (q === "?" || q === "*" || q === "{") break; // this character may be absent
    out += lit;
    if (q === "+") break; // repeated: what follows is not at a fixed place
    i = next;
  }
  return out;
}

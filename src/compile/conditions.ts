// The conditions a route program tests (RouteProgram.conditions): the distinct
// `matches` lists of its routes, equal content sharing one entry, so that
// thousands of virtual hosts repeating a condition test one object (it stays
// in cache: a lookup over 10,000 hosts is bound by memory reads).
//
// A registry keeps each content's index from one compile to the next and only
// appends: a table's new program's `conditions` extends the previous one's, so
// a snapshot delta sends the conditions that are new and a worker appends them
// to what it has (src/snapshot/delta.ts), instead of receiving or rebuilding
// all of them on every reload. Entries that no program uses any more are kept
// until they outnumber those in use; then the registry starts a new epoch from
// empty (the next delta sends every condition of that table once).
import type { HeaderMatch, RouteMatch, RouteProgram, StringMatch } from "../snapshot/types.ts";

/** A string as `<length>:<string>`: keys built of these cannot run into each other. */
function lp(s: string): string {
  return `${s.length}:${s}`;
}

function stringMatchKey(m: StringMatch | null): string {
  if (m === null) return "-";
  if (m.kind === "regex") return "r" + lp(m.source);
  return m.kind[0] + lp(m.value);
}

function keyedKey(list: HeaderMatch[]): string {
  let k = `${list.length}`;
  for (const h of list) k += lp(h.name) + (h.claim === undefined ? "h" : `c${h.claim.length}${h.claim.map(lp).join("")}`) + stringMatchKey(h.match);
  return k;
}

/** conditionsKey per matches list: compile reuse hands the same route objects to the next compile's program. */
const conditionKeys = new WeakMap<RouteMatch[], string>();

/** Every field the lookup tests (not the name): equal keys, equal matching. Route matches are not changed once compiled. */
function conditionsKey(ms: RouteMatch[]): string {
  let k = conditionKeys.get(ms);
  if (k === undefined) conditionKeys.set(ms, (k = conditionsKeyOf(ms)));
  return k;
}

function conditionsKeyOf(ms: RouteMatch[]): string {
  let k = "";
  for (const m of ms) {
    k += `${stringMatchKey(m.uri)}|${m.ignoreUriCase}|${stringMatchKey(m.scheme)}|${stringMatchKey(m.method)}|${stringMatchKey(m.authority)}`;
    k += `|${keyedKey(m.headers)}|${keyedKey(m.withoutHeaders)}|${keyedKey(m.queryParams)}|${m.port};`;
  }
  return k;
}

/** Which registry and epoch built a program's conditions (primary side only: not part of the snapshot). */
const origin = new WeakMap<RouteProgram, { registry: ConditionRegistry; epoch: number }>();

/** Below this many entries a registry is never started over (the unused ones cost little). */
const MIN_RESET = 1024;

export class ConditionRegistry {
  private list: RouteMatch[][] = [];
  private byKey = new Map<string, number>();
  /** Per entry, the last build that used it. */
  private usedIn: number[] = [];
  private build = 0;
  private used = 0;
  private epoch = 0;

  /** Before a program is built: starts over when unused entries outnumber those the last build used. */
  begin(): void {
    if (this.list.length > MIN_RESET && this.list.length > 2 * this.used) {
      this.list = [];
      this.byKey = new Map();
      this.usedIn = [];
      this.epoch++;
    }
    this.build++;
    this.used = 0;
  }

  /** The index of `ms`'s content; the entry now holds `ms` (the same content as before). */
  indexOf(ms: RouteMatch[]): number {
    const key = conditionsKey(ms);
    let i = this.byKey.get(key);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(ms);
      this.usedIn.push(0);
      this.byKey.set(key, i);
    } else this.list[i] = ms; // the current routes' own object: a full snapshot clones it once, with the route
    if (this.usedIn[i] !== this.build) {
      this.usedIn[i] = this.build;
      this.used++;
    }
    return i;
  }

  /** Entries are numbered anew from this value on (a program part built in another epoch does not hold). */
  get currentEpoch(): number {
    return this.epoch;
  }

  /**
   * indexOf(ms) again, for a program part built earlier in this epoch that
   * found `ms` at `i`: the same bookkeeping without the key (entries keep their
   * index within an epoch).
   */
  touch(i: number, ms: RouteMatch[]): void {
    this.list[i] = ms;
    if (this.usedIn[i] !== this.build) {
      this.usedIn[i] = this.build;
      this.used++;
    }
  }

  /** Was `program` built by this registry in its current epoch (its condition numbers hold here)? */
  built(program: RouteProgram): boolean {
    const o = origin.get(program);
    return o !== undefined && o.registry === this && o.epoch === this.epoch;
  }

  /** The conditions so far, as the program built now keeps them (a copy: later builds append and replace). */
  finish(program: RouteProgram): RouteMatch[][] {
    origin.set(program, { registry: this, epoch: this.epoch });
    return this.list.slice();
  }
}

/**
 * How many of `next`'s conditions are `prev`'s, at the same indices: prev's
 * length when both programs came from one registry in one epoch (next's list
 * extends prev's), else 0.
 */
export function conditionsKept(prev: RouteProgram, next: RouteProgram): number {
  const a = origin.get(prev);
  const b = origin.get(next);
  if (a === undefined || b === undefined || a.registry !== b.registry || a.epoch !== b.epoch) return 0;
  return prev.conditions.length <= next.conditions.length ? prev.conditions.length : 0;
}

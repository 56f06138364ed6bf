// Snapshot deltas: what the primary posts to a worker that already serves the
// previous snapshot. Structured clone of a 10,000-VirtualService snapshot takes
// seconds per worker; a one-VirtualService change touches one virtual host.
//
// A delta carries the new snapshot with each route table replaced by a
// RouteTableDelta: the order of its virtual hosts (by name), the virtual hosts
// that are new or changed (without their share of the route program), and the
// table's indexes as the primary built them (exact hosts, wildcards, the route
// program's typed arrays, and where each program condition lives, so the worker
// points the program at its own route objects). Clusters, credentials and
// security go whole (small); findings are not sent (workers do not read them).
// A worker whose version is not the delta's base answers `resync` and gets the
// full snapshot. test/unit/snapshot-delta.test.ts: base + delta equals the
// full snapshot.
import type { RouteMatch, RouteProgram, RouteTable, Snapshot, VirtualHost, WildcardHost } from "./types.ts";

export interface RouteTableDelta {
  delta: true;
  name: string;
  /** Virtual host names in table order; null: the same as the base table's. */
  order: string[] | null;
  /** New or changed virtual hosts (program null, programAt 0: set from `program` on arrival). */
  changed: VirtualHost[];
  /** null: the same as the base table's (a change that kept every host). */
  exactHosts: Map<string, number> | null;
  wildcardHosts: WildcardHost[] | null;
  catchAll: number;
  /** The table's program without `conditions`; `conditionAt` [vh index, route index] pairs name the route whose `matches` is each condition. */
  program: { code: Uint16Array; hostSlots: Int32Array; programAt: Int32Array; conditionAt: Int32Array } | null;
  hasProgram: boolean;
}

export interface SnapshotDelta {
  base: number;
  /** The snapshot with every route table a RouteTableDelta (typed loosely: it is rebuilt by applyDelta). */
  snapshot: Snapshot;
}

function vhEqual(a: VirtualHost, b: VirtualHost): boolean {
  if (a === b) return true;
  if (a.name !== b.name || a.pathIndex !== b.pathIndex || a.routes.length !== b.routes.length || a.domains.length !== b.domains.length) return false;
  for (let i = 0; i < a.routes.length; i++) if (a.routes[i] !== b.routes[i]) return false;
  for (let i = 0; i < a.domains.length; i++) if (a.domains[i] !== b.domains[i]) return false;
  return true;
}

function sameMap(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, v] of b) if (a.get(k) !== v) return false;
  return true;
}

function sameWildcards(a: WildcardHost[], b: WildcardHost[]): boolean {
  return a.length === b.length && a.every((w, i) => w.suffix === b[i]!.suffix && w.index === b[i]!.index);
}

/** Route tables of a snapshot, by `listener\0table` (listener tables and TLS chains' tables). */
export function routeTables(s: Snapshot): Map<string, RouteTable> {
  const out = new Map<string, RouteTable>();
  for (const l of s.listeners) {
    if (l.routeTable !== null) out.set(`${l.name}\0${l.routeTable.name}`, l.routeTable);
    for (const c of l.tls?.chains ?? []) if (c.routeTable !== null) out.set(`${l.name}\0${c.routeTable.name}`, c.routeTable);
  }
  return out;
}

function tableDelta(prev: RouteTable | undefined, t: RouteTable, stats: { sent: number; kept: number }): RouteTableDelta {
  const old = new Map<string, VirtualHost>();
  for (const vh of prev?.virtualHosts ?? []) old.set(vh.name, vh);
  const changed: VirtualHost[] = [];
  for (const vh of t.virtualHosts) {
    const o = old.get(vh.name);
    if (o !== undefined && vhEqual(o, vh)) stats.kept++;
    else {
      changed.push({ ...vh, program: null, programAt: 0 });
      stats.sent++;
    }
  }
  let program: RouteTableDelta["program"] = null;
  const p = t.program;
  if (p !== undefined && p !== null) {
    const where = new Map<RouteMatch[], number>();
    t.virtualHosts.forEach((vh, i) => {
      if (vh.routes.length > 65536) throw new Error(`virtual host ${vh.name} has more routes than a delta can name`);
      vh.routes.forEach((r, j) => where.has(r.matches) || where.set(r.matches, i * 65536 + j));
    });
    const conditionAt = new Int32Array(p.conditions.length * 2);
    for (let c = 0; c < p.conditions.length; c++) {
      const at = where.get(p.conditions[c]!);
      if (at === undefined) throw new Error(`route program condition ${c} is no route's matches`);
      conditionAt[2 * c] = Math.floor(at / 65536);
      conditionAt[2 * c + 1] = at % 65536;
    }
    program = { code: p.code, hostSlots: p.hostSlots, programAt: p.programAt, conditionAt };
  }
  const sameOrder = prev !== undefined && prev.virtualHosts.length === t.virtualHosts.length && prev.virtualHosts.every((vh, i) => vh.name === t.virtualHosts[i]!.name);
  return {
    delta: true,
    name: t.name,
    order: sameOrder ? null : t.virtualHosts.map((vh) => vh.name),
    changed,
    exactHosts: prev !== undefined && sameMap(prev.exactHosts, t.exactHosts) ? null : t.exactHosts,
    wildcardHosts: prev !== undefined && sameWildcards(prev.wildcardHosts, t.wildcardHosts) ? null : t.wildcardHosts,
    catchAll: t.catchAll,
    program,
    hasProgram: p !== undefined,
  };
}

/**
 * `next` as a delta from `prev` (the snapshot the workers serve), or null when
 * a delta would not be smaller (most virtual hosts changed, or a route index
 * too large for the condition table): then the full snapshot is sent.
 */
export function makeDelta(prev: Snapshot, next: Snapshot): { delta: SnapshotDelta; sent: number; kept: number } | null {
  const before = routeTables(prev);
  const stats = { sent: 0, kept: 0 };
  const conv = (l: string, t: RouteTable | null): RouteTable | null => (t === null ? null : (tableDelta(before.get(`${l}\0${t.name}`), t, stats) as unknown as RouteTable));
  let listeners;
  try {
    listeners = next.listeners.map((l) => ({
      ...l,
      routeTable: conv(l.name, l.routeTable),
      tls: l.tls === null ? null : { ...l.tls, chains: l.tls.chains.map((c) => ({ ...c, routeTable: conv(l.name, c.routeTable) })) },
    }));
  } catch {
    return null;
  }
  if (stats.sent > 64 && stats.sent > stats.kept) return null;
  return { delta: { base: prev.version, snapshot: { ...next, listeners, findings: [] } }, ...stats };
}

function isDelta(t: unknown): t is RouteTableDelta {
  return t !== null && typeof t === "object" && (t as { delta?: unknown }).delta === true;
}

/**
 * Rebuilds the full snapshot from `base` (what this worker serves, its regexes
 * revived) and a delta. Returns the snapshot and the virtual hosts that came
 * with the delta (their regexes still to revive).
 */
export function applyDelta(base: Snapshot, d: SnapshotDelta): { snapshot: Snapshot; fresh: VirtualHost[] } {
  const before = routeTables(base);
  const fresh: VirtualHost[] = [];
  const rebuild = (l: string, t: RouteTable | null): RouteTable | null => {
    if (!isDelta(t)) return t;
    const baseTable = before.get(`${l}\0${t.name}`);
    const old = new Map<string, VirtualHost>();
    for (const vh of baseTable?.virtualHosts ?? []) old.set(vh.name, vh);
    const incoming = new Map<string, VirtualHost>();
    for (const vh of t.changed) incoming.set(vh.name, vh);
    fresh.push(...t.changed);
    const same = (what: string) => new Error(`delta keeps the ${what} of route table ${t.name} that the base snapshot lacks`);
    if (baseTable === undefined && (t.order === null || t.exactHosts === null || t.wildcardHosts === null)) throw same("indexes");
    const order = t.order ?? baseTable!.virtualHosts.map((vh) => vh.name);
    const exactHosts = t.exactHosts ?? baseTable!.exactHosts;
    const wildcardHosts = t.wildcardHosts ?? baseTable!.wildcardHosts;
    const virtualHosts = order.map((name) => {
      const vh = incoming.get(name) ?? old.get(name);
      if (vh === undefined) throw new Error(`delta names virtual host ${name} that the base snapshot lacks`);
      return { ...vh }; // a copy: the base snapshot's table keeps its own program offsets
    });
    const table: RouteTable = { name: t.name, virtualHosts, exactHosts, wildcardHosts, catchAll: t.catchAll };
    if (t.hasProgram) table.program = null;
    if (t.program !== null) {
      const p = t.program;
      const conditions: RouteMatch[][] = new Array(p.conditionAt.length / 2);
      for (let c = 0; c < conditions.length; c++) conditions[c] = virtualHosts[p.conditionAt[2 * c]!]!.routes[p.conditionAt[2 * c + 1]!]!.matches;
      const program: RouteProgram = { code: p.code, conditions, hostSlots: p.hostSlots, programAt: p.programAt };
      table.program = program;
      for (let i = 0; i < virtualHosts.length; i++) {
        const vh = virtualHosts[i]!;
        vh.program = p.programAt[i]! < 0 ? null : program;
        vh.programAt = p.programAt[i]! < 0 ? 0 : p.programAt[i]!;
      }
    } else {
      for (const vh of virtualHosts) {
        vh.program = null;
        vh.programAt = 0;
      }
    }
    return table;
  };
  const s = d.snapshot;
  const listeners = s.listeners.map((l) => ({
    ...l,
    routeTable: rebuild(l.name, l.routeTable),
    tls: l.tls === null ? null : { ...l.tls, chains: l.tls.chains.map((c) => ({ ...c, routeTable: rebuild(l.name, c.routeTable) })) },
  }));
  return { snapshot: { ...s, listeners, findings: base.findings }, fresh };
}

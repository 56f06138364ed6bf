// Snapshot deltas: what the primary posts to a worker that already serves the
// previous snapshot. Structured clone of a 10,000-VirtualService snapshot takes
// seconds per worker; a one-VirtualService change touches one virtual host.
//
// A delta carries the new snapshot with each route table replaced by a
// RouteTableDelta: the virtual hosts that are new or changed (and where they
// go), the order of all of them by name only when it changed, and the table's
// indexes as the primary built them (exact hosts and wildcards when they
// changed, the route program's typed arrays). Virtual hosts are not written
// to after compile, so the worker's new table holds its base table's virtual
// host objects as they are: applying a delta costs the changed virtual hosts
// and one array copy, not a copy of every virtual host (a worker's event loop
// stalls for as long as the apply takes). Clusters, credentials and security
// go whole (small); findings are not sent (workers do not read them). A worker
// whose version is not the delta's base answers `resync` and gets the full
// snapshot. test/unit/snapshot-delta.test.ts: base + delta equals the full
// snapshot.
import { conditionsKept } from "../compile/conditions.ts";
import type { RouteMatch, RouteProgram, RouteTable, Snapshot, VirtualHost, WildcardHost } from "./types.ts";

export interface RouteTableDelta {
  delta: true;
  name: string;
  /** Virtual host names in table order; null: the same names in the same order as the base table's. */
  order: string[] | null;
  /** New or changed virtual hosts. */
  changed: VirtualHost[];
  /** When `order` is null: where each of `changed` goes in the table (the others stay the base table's). */
  changedAt: number[];
  /** null: the same as the base table's (a change that kept every host). */
  exactHosts: Map<string, number> | null;
  wildcardHosts: WildcardHost[] | null;
  catchAll: number;
  /**
   * The table's route program; of its conditions only those after the first
   * `conditionsFrom`, which are the base program's (compile/conditions.ts).
   */
  program: (Omit<RouteProgram, "conditions"> & { conditionsFrom: number; conditions: RouteMatch[][] }) | null;
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
  const changed: VirtualHost[] = [];
  const changedAt: number[] = [];
  const vhs = t.virtualHosts;
  const sameOrder = prev !== undefined && prev.virtualHosts.length === vhs.length && prev.virtualHosts.every((vh, i) => vh.name === vhs[i]!.name);
  if (sameOrder) {
    for (let i = 0; i < vhs.length; i++) {
      if (vhEqual(prev.virtualHosts[i]!, vhs[i]!)) stats.kept++;
      else {
        changed.push(vhs[i]!);
        changedAt.push(i);
        stats.sent++;
      }
    }
  } else {
    const old = new Map<string, VirtualHost>();
    for (const vh of prev?.virtualHosts ?? []) old.set(vh.name, vh);
    for (const vh of vhs) {
      const o = old.get(vh.name);
      if (o !== undefined && vhEqual(o, vh)) stats.kept++;
      else {
        changed.push(vh);
        stats.sent++;
      }
    }
  }
  let program: RouteTableDelta["program"] = null;
  const p = t.program;
  if (p != null) {
    const from = prev?.program == null ? 0 : conditionsKept(prev.program, p);
    program = { code: p.code, hostSlots: p.hostSlots, programAt: p.programAt, conditionsFrom: from, conditions: p.conditions.slice(from) };
  }
  return {
    delta: true,
    name: t.name,
    order: sameOrder ? null : vhs.map((vh) => vh.name),
    changed,
    changedAt,
    exactHosts: prev !== undefined && sameMap(prev.exactHosts, t.exactHosts) ? null : t.exactHosts,
    wildcardHosts: prev !== undefined && sameWildcards(prev.wildcardHosts, t.wildcardHosts) ? null : t.wildcardHosts,
    catchAll: t.catchAll,
    program,
    hasProgram: t.program !== undefined,
  };
}

/**
 * `next` as a delta from `prev` (the snapshot the workers serve), or null when
 * a delta would not be smaller (most virtual hosts changed): then the full
 * snapshot is sent.
 */
export function makeDelta(prev: Snapshot, next: Snapshot): { delta: SnapshotDelta; sent: number; kept: number } | null {
  const before = routeTables(prev);
  const stats = { sent: 0, kept: 0 };
  const conv = (l: string, t: RouteTable | null): RouteTable | null => (t === null ? null : (tableDelta(before.get(`${l}\0${t.name}`), t, stats) as unknown as RouteTable));
  const listeners = next.listeners.map((l) => ({
    ...l,
    routeTable: conv(l.name, l.routeTable),
    tls: l.tls === null ? null : { ...l.tls, chains: l.tls.chains.map((c) => ({ ...c, routeTable: conv(l.name, c.routeTable) })) },
  }));
  if (stats.sent > 64 && stats.sent > stats.kept) return null;
  return { delta: { base: prev.version, snapshot: { ...next, listeners, findings: [] } }, ...stats };
}

function isDelta(t: unknown): t is RouteTableDelta {
  return t !== null && typeof t === "object" && (t as { delta?: unknown }).delta === true;
}

/**
 * Rebuilds the full snapshot from `base` (what this worker serves, its regexes
 * revived) and a delta; `base` is left as it was. Returns the snapshot, and the
 * virtual hosts and program conditions that came with the delta (their regexes
 * still to revive).
 */
export function applyDelta(base: Snapshot, d: SnapshotDelta): { snapshot: Snapshot; fresh: VirtualHost[]; freshConditions: RouteMatch[][] } {
  const before = routeTables(base);
  const fresh: VirtualHost[] = [];
  const freshConditions: RouteMatch[][] = [];
  const rebuild = (l: string, t: RouteTable | null): RouteTable | null => {
    if (!isDelta(t)) return t;
    const baseTable = before.get(`${l}\0${t.name}`);
    const lacks = (what: string) => new Error(`delta keeps the ${what} of route table ${t.name} that the base snapshot lacks`);
    if (baseTable === undefined && (t.order === null || t.exactHosts === null || t.wildcardHosts === null)) throw lacks("indexes");
    let virtualHosts: VirtualHost[];
    if (t.order === null) {
      virtualHosts = baseTable!.virtualHosts.slice();
      for (let i = 0; i < t.changed.length; i++) {
        const at = t.changedAt[i]!;
        if (!(at >= 0 && at < virtualHosts.length)) throw lacks(`virtual host ${at}`);
        virtualHosts[at] = t.changed[i]!;
      }
    } else {
      const incoming = new Map<string, VirtualHost>();
      for (const vh of t.changed) incoming.set(vh.name, vh);
      const old = new Map<string, VirtualHost>();
      for (const vh of baseTable?.virtualHosts ?? []) old.set(vh.name, vh);
      virtualHosts = t.order.map((name) => {
        const vh = incoming.get(name) ?? old.get(name);
        if (vh === undefined) throw lacks(`virtual host ${name}`);
        return vh;
      });
    }
    fresh.push(...t.changed);
    const table: RouteTable = {
      name: t.name,
      virtualHosts,
      exactHosts: t.exactHosts ?? baseTable!.exactHosts,
      wildcardHosts: t.wildcardHosts ?? baseTable!.wildcardHosts,
      catchAll: t.catchAll,
    };
    if (t.hasProgram) table.program = null;
    const p = t.program;
    if (p !== null) {
      const kept = baseTable?.program?.conditions ?? [];
      if (p.conditionsFrom !== 0 && p.conditionsFrom !== kept.length) throw lacks(`first ${p.conditionsFrom} program conditions`);
      freshConditions.push(...p.conditions);
      table.program = { code: p.code, conditions: p.conditionsFrom === 0 ? p.conditions : kept.concat(p.conditions), hostSlots: p.hostSlots, programAt: p.programAt };
    }
    return table;
  };
  const s = d.snapshot;
  const listeners = s.listeners.map((l) => ({
    ...l,
    routeTable: rebuild(l.name, l.routeTable),
    tls: l.tls === null ? null : { ...l.tls, chains: l.tls.chains.map((c) => ({ ...c, routeTable: rebuild(l.name, c.routeTable) })) },
  }));
  return { snapshot: { ...s, listeners, findings: base.findings }, fresh, freshConditions };
}

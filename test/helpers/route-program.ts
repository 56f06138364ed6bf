// Route programs in a canonical form for comparisons: a program's condition
// numbers depend on its table's condition registry's history (indices kept
// from one compile to the next, src/compile/conditions.ts), so a program built
// incrementally and one built from scratch test the same conditions under
// different numbers, and the incremental one keeps conditions no route uses.
import type { Listener, RouteMatch, RouteProgram, RouteTable, Snapshot } from "../../src/snapshot/types.ts";

/** `p` with its conditions numbered in order of first use in its code (format: src/compile/pathindex.ts), unused ones left out. */
export function canonicalProgram(p: RouteProgram): RouteProgram {
  const code = p.code.slice();
  const conditions: RouteMatch[][] = [];
  const renumber = new Map<number, number>();
  for (const at of p.programAt) {
    if (at < 0) continue;
    let q = at + 1;
    for (let n = code[at]!; n > 0; n--) {
      const len = code[q + 1]!;
      const count = code[q + 3]!;
      q += 4 + len;
      for (let k = 0; k < count; k++, q += 3) {
        if (code[q + 1] === 1) continue; // matches on the uri alone: no condition
        const c = p.code[q + 2]!;
        let to = renumber.get(c);
        if (to === undefined) {
          renumber.set(c, (to = conditions.length));
          conditions.push(p.conditions[c]!);
        }
        code[q + 2] = to;
      }
    }
  }
  return { ...p, code, conditions };
}

function canonicalTable(t: RouteTable | null): RouteTable | null {
  return t === null || t.program == null ? t : { ...t, program: canonicalProgram(t.program) };
}

/** `s` with every route table's program canonical. */
export function canonicalPrograms(s: Snapshot): Snapshot {
  const listeners: Listener[] = s.listeners.map((l) => ({
    ...l,
    routeTable: canonicalTable(l.routeTable),
    tls: l.tls === null ? null : { ...l.tls, chains: l.tls.chains.map((c) => ({ ...c, routeTable: canonicalTable(c.routeTable) })) },
  }));
  return { ...s, listeners };
}

// One precedence suite (route-precedence.cases.ts), run over trace() — what
// the workers' selectRoute answers — and over each route layout's `match`
// (route program, packed literals, exact map + prefix trie), each built for
// the same routes. Any layout that answers differently fails here.
import { describe, expect } from "bun:test";
import { buildPathIndex, buildRouteProgram } from "../../src/compile/pathindex.ts";
import { LAYOUTS, layoutOf, type RouteLayout } from "../../src/route/layouts.ts";
import { selectVirtualHost } from "../../src/route/lookup.ts";
import type { RouteTable, Snapshot } from "../../src/snapshot/types.ts";
import { requestView, trace } from "../../src/trace.ts";
import { routeSuite, statusOf, type Req } from "./route-precedence.cases.ts";

/** A one-virtual-host table of a copy of `vh` carrying only `layout`'s index (the program's part is the table's). */
function inLayout(vh: RouteTable["virtualHosts"][number], layout: RouteLayout): RouteTable {
  const copy = { ...vh, pathIndex: buildPathIndex(vh.routes, layout.name === "trie" ? "trie" : "packed") };
  const program = layout.name === "program" ? buildRouteProgram([copy], new Map()) : null;
  return { name: "layout", virtualHosts: [copy], exactHosts: new Map(), wildcardHosts: [], catchAll: -1, program };
}

/** Per snapshot and layout, the rebuilt one-host tables (built once, not per request). */
const built = new WeakMap<Snapshot, Map<string, RouteTable[]>>();

function layoutLookup(layout: RouteLayout) {
  return (s: Snapshot, host: string, req: Req): number => {
    const view = requestView({ port: 80, host, ...req });
    const table = s.listeners.find((l) => l.port === 80)!.routeTable!;
    const vi = selectVirtualHost(table, view.host);
    if (vi < 0) return 404;
    let byLayout = built.get(s);
    if (byLayout === undefined) built.set(s, (byLayout = new Map()));
    let tables = byLayout.get(layout.name);
    if (tables === undefined) byLayout.set(layout.name, (tables = table.virtualHosts.map((v) => inLayout(v, layout))));
    const t = tables[vi]!;
    expect(layoutOf(t, 0)).toBe(layout);
    for (const other of LAYOUTS) expect(other.has(t, 0)).toBe(other === layout);
    const ri = layout.match(t, 0, view);
    return ri < 0 ? 404 : statusOf(t.virtualHosts[0]!.routes[ri]!);
  };
}

describe("trace (the workers' selectRoute)", () => {
  routeSuite((s, host, req) => {
    const { path, ...rest } = req;
    return trace(s, { port: 80, host, path, ...rest }).status;
  });
});

for (const layout of LAYOUTS) {
  describe(`layout ${layout.name}`, () => routeSuite(layoutLookup(layout)));
}

// Snapshot deltas (src/snapshot/delta.ts): a worker's copy of the previous
// snapshot plus the delta (both through structured clone, as postMessage does)
// equals the new snapshot; a one-VirtualService change carries one virtual host;
// the rebuilt route program's conditions are the worker's own route objects.
import { describe, expect, test } from "bun:test";
import { compileSnapshot } from "../../src/compile/index.ts";
import { CompileReuse } from "../../src/compile/reuse.ts";
import { DecodeCache } from "../../src/primary/decode-cache.ts";
import { applyDelta, makeDelta, routeTables } from "../../src/snapshot/delta.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { routeConfigYaml } from "../../bench/route-config.ts";

const OPTS = { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map<number, number>(), bindAddress: "0.0.0.0" };

const churn = (body: string, host = "churn.example.com", regex = "/v/[0-9]+") => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: churn}
spec:
  hosts: [${host}]
  gateways: [gw]
  http:
  - match: [{uri: {regex: "${regex}"}}]
    directResponse: {status: 200, body: {string: "${body}"}}
  - directResponse: {status: 200, body: {string: "${body}"}}
`;

const comparable = (s: Snapshot) => ({ ...s, findings: [], createdAt: "" });

describe("snapshot delta", () => {
  test("base + delta equals the new snapshot over a sequence of changes", () => {
    const cache = new DecodeCache();
    const reuse = new CompileReuse();
    const routes = routeConfigYaml(60);
    const steps = [
      [churn("v1")],
      [churn("v2")],
      [churn("v3"), churn("extra", "extra.example.com", "/x/.*").replace("name: churn", "name: extra")],
      [churn("v3", "churn2.example.com")],
      [churn("v4", "churn2.example.com", "/w/[a-z]+")],
      [],
      [churn("back")],
    ];
    let prev: Snapshot | null = null;
    let version = 1;
    let indexesOmitted = 0;
    for (const extra of steps) {
      const files = [{ path: "routes.yaml", text: routes }, ...extra.map((text, i) => ({ path: `churn-${i}.yaml`, text }))];
      const next = compileSnapshot(cache.decode(files).resources, { ...OPTS, reuse }, version++);
      if (prev !== null) {
        const d = makeDelta(prev, next);
        expect(d).not.toBeNull();
        expect(d!.sent).toBeLessThanOrEqual(3);
        expect(d!.kept).toBeGreaterThan(50);
        // a change that kept every host sends no host indexes; one that added or renamed a host does
        const tables = [...routeTables(d!.delta.snapshot).values()] as unknown as { order: unknown; exactHosts: unknown }[];
        const hostsSame = [...routeTables(prev).values()].every((t, i) => [...t.exactHosts.keys()].join() === [...[...routeTables(next).values()][i]!.exactHosts.keys()].join());
        indexesOmitted += tables.filter((t) => t.order === null && t.exactHosts === null).length;
        if (!hostsSame) expect(tables.some((t) => t.exactHosts !== null)).toBe(true);
        const worker = structuredClone(prev);
        const { snapshot, fresh } = applyDelta(worker, structuredClone(d!.delta));
        expect(fresh.length).toBe(d!.sent);
        expect(Bun.deepEquals(comparable(snapshot), comparable(structuredClone(next)), true)).toBe(true);
        // the program's conditions are the rebuilt table's own route objects (the worker revives their regexes)
        for (const t of routeTables(snapshot).values()) {
          const own = new Set(t.virtualHosts.flatMap((vh) => vh.routes.map((r) => r.matches)));
          for (const c of t.program?.conditions ?? []) expect(own.has(c)).toBe(true);
        }
        // the base the worker served is left as it was
        expect(Bun.deepEquals(comparable(worker), comparable(structuredClone(prev)), true)).toBe(true);
      }
      prev = next;
    }
    expect(indexesOmitted).toBeGreaterThan(0);
  });

  test("no previous virtual hosts in common: the full snapshot is sent instead", () => {
    const a = compileSnapshot(new DecodeCache().decode([{ path: "r.yaml", text: routeConfigYaml(100) }]).resources, OPTS, 1);
    const b = compileSnapshot(new DecodeCache().decode([{ path: "r.yaml", text: routeConfigYaml(100) }]).resources, OPTS, 2);
    expect(makeDelta(a, b)).toBeNull(); // compiled without reuse: every virtual host is a new object
  });

  test("a virtual host with more routes than a delta can name: the full snapshot is sent instead", () => {
    const cache = new DecodeCache();
    const reuse = new CompileReuse();
    const files = (body: string) => [{ path: "r.yaml", text: routeConfigYaml(20) }, { path: "c.yaml", text: churn(body) }];
    const a = compileSnapshot(cache.decode(files("v1")).resources, { ...OPTS, reuse }, 1);
    const b = compileSnapshot(cache.decode(files("v2")).resources, { ...OPTS, reuse }, 2);
    expect(makeDelta(a, b)).not.toBeNull();
    const t = [...routeTables(b).values()].find((x) => x.program !== undefined && x.program !== null)!;
    expect(t).toBeDefined();
    const vh = t.virtualHosts[0]!;
    vh.routes = new Array(65537).fill(vh.routes[0]);
    expect(makeDelta(a, b)).toBeNull();
  });
});

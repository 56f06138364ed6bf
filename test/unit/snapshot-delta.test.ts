// Snapshot deltas (src/snapshot/delta.ts): a worker's copy of the previous
// snapshot plus the delta (both through structured clone, as postMessage does)
// equals the new snapshot; a one-VirtualService change carries one virtual host
// and only the route program conditions that are new; the virtual hosts that did
// not change are the worker's own objects, not copies.
import { describe, expect, test } from "bun:test";
import { compileSnapshot } from "../../src/compile/index.ts";
import { CompileReuse } from "../../src/compile/reuse.ts";
import { DecodeCache } from "../../src/primary/decode-cache.ts";
import { applyDelta, makeDelta, routeTables, type RouteTableDelta } from "../../src/snapshot/delta.ts";
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
        // the program's conditions: only those the previous program lacks
        const sentConditions = tables.map((t) => (t as unknown as RouteTableDelta).program?.conditions.length ?? 0).reduce((a, b) => a + b, 0);
        expect(sentConditions).toBeLessThanOrEqual(1);
        const worker = structuredClone(prev);
        const { snapshot, fresh } = applyDelta(worker, structuredClone(d!.delta));
        expect(fresh.length).toBe(d!.sent);
        expect(Bun.deepEquals(comparable(snapshot), comparable(structuredClone(next)), true)).toBe(true);
        // the virtual hosts that did not change are the base's own objects (shared as they are, not copied)
        const baseHosts = new Set([...routeTables(worker).values()].flatMap((t) => t.virtualHosts));
        expect([...routeTables(snapshot).values()].flatMap((t) => t.virtualHosts).filter((vh) => baseHosts.has(vh)).length).toBe(d!.kept);
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

  /** `n` VirtualServices, each with a condition of its own (a header value) and a catch-all. */
  const headerRoutes = (n: number, from = 0) =>
    Array.from(
          { length: n },
          (_, k) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: h${from + k}}
spec:
  hosts: [h${from + k}.example.com]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /a}, headers: {x-v: {exact: "${from + k}"}}}]
    directResponse: {status: 201}
  - directResponse: {status: 200}
`,
    ).join("\n---\n");
  const files = (...texts: string[]) => [{ path: "base.yaml", text: routeConfigYaml(0) }, ...texts.map((text, i) => ({ path: `r${i}.yaml`, text }))];

  test("program conditions keep their numbers from one compile to the next; when most are unused they start over, and the delta sends them all", () => {
    const cache = new DecodeCache();
    const reuse = new CompileReuse();
    const first = headerRoutes(100);
    const steps = [files(first, headerRoutes(1000, 100)), files(first), files(first, headerRoutes(1, 2000)), files(first, headerRoutes(1, 2000), headerRoutes(1, 3000))];
    let prev: Snapshot | null = null;
    let worker: Snapshot | null = null;
    const from: number[] = [];
    const sent: number[] = [];
    steps.forEach((list, i) => {
      const next = compileSnapshot(cache.decode(list).resources, { ...OPTS, reuse }, i + 1);
      if (prev !== null) {
        const d = makeDelta(prev, next);
        expect(d).not.toBeNull();
        const t = [...routeTables(d!.delta.snapshot).values()][0] as unknown as RouteTableDelta;
        from.push(t.program!.conditionsFrom);
        sent.push(t.program!.conditions.length);
        worker = applyDelta(worker!, structuredClone(d!.delta)).snapshot;
        expect(Bun.deepEquals(comparable(worker), comparable(structuredClone(next)), true)).toBe(true);
      } else worker = structuredClone(next);
      prev = next;
    });
    // 1100 → 100 of them: nothing new, numbers kept; then one more, but of the registry's 1100
    // entries the last compile used 100: it starts over and sends all 101; then one more after those
    expect(from).toEqual([1100, 0, 101]);
    expect(sent).toEqual([0, 101, 1]);
  });

  test("a delta whose program conditions do not extend the worker's is refused (the worker resyncs)", () => {
    const cache = new DecodeCache();
    const reuse = new CompileReuse();
    const a = compileSnapshot(cache.decode(files(headerRoutes(20))).resources, { ...OPTS, reuse }, 1);
    const b = compileSnapshot(cache.decode(files(headerRoutes(20), headerRoutes(1, 20))).resources, { ...OPTS, reuse }, 2);
    const d = structuredClone(makeDelta(a, b)!.delta);
    const t = [...routeTables(d.snapshot).values()][0] as unknown as RouteTableDelta;
    expect(t.program!.conditionsFrom).toBe(20);
    t.program!.conditionsFrom = 19;
    expect(() => applyDelta(structuredClone(a), d)).toThrow("program conditions");
  });
});

// Load balancing and destinations: endpoint choice per lbPolicy, weighted
// destinations, host-name endpoints. (Connect timeouts are not tested: this
// sandbox answers connections to unroutable addresses itself.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Cluster } from "../../src/snapshot/types.ts";
import { startBackend } from "./backend.ts";
import { WorkerHarness } from "./harness.ts";
import { applyRoutesOnFreePort } from "./apply-config.ts";
import { cluster, dest, forward, prefix, uriMatch } from "./snapshot-fixture.ts";

const backends = [startBackend("b0"), startBackend("b1"), startBackend("b2")];
const eps = backends.map((b) => ["127.0.0.1", b.port!] as [string, number]);
let w: WorkerHarness;
let port = 0;

function named(c: Cluster, type: Cluster["type"]): Cluster {
  return { ...c, type };
}

beforeAll(async () => {
  w = new WorkerHarness();
  const r = (p: string, action: ReturnType<typeof forward>) => ({ name: p, match: [uriMatch(prefix(p))], action });
  port = await applyRoutesOnFreePort(
    w,
    [
      r("/rr", forward([dest("rr")])),
      r("/random", forward([dest("random")])),
      r("/least", forward([dest("least")])),
      r("/split", forward([dest("one", 80), dest("two", 20)])),
      r("/dns", forward([dest("dns")])),
    ],
    [
      cluster("rr", eps, "ROUND_ROBIN"),
      cluster("random", eps, "RANDOM"),
      cluster("least", eps, "LEAST_REQUEST"),
      cluster("one", [eps[0]!]),
      cluster("two", [eps[1]!]),
      named(cluster("dns", [["localhost", backends[2]!.port!]]), "STRICT_DNS"),
    ],
  );
});

afterAll(() => {
  w.stop();
  for (const b of backends) b.stop(true);
});

async function hits(path: string, n: number): Promise<Record<string, number>> {
  const count: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await fetch(`http://127.0.0.1:${port}${path}/echo`);
    const b = ((await r.json()) as { backend: string }).backend;
    count[b] = (count[b] ?? 0) + 1;
  }
  return count;
}

describe("endpoint choice", () => {
  test("ROUND_ROBIN visits every endpoint in turn", async () => {
    expect(await hits("/rr", 30)).toEqual({ b0: 10, b1: 10, b2: 10 });
  });

  test("RANDOM and LEAST_REQUEST spread over all endpoints", async () => {
    for (const p of ["/random", "/least"]) {
      const c = await hits(p, 60);
      expect(Object.keys(c).sort()).toEqual(["b0", "b1", "b2"]);
    }
  });

  test("weighted destinations split by weight", async () => {
    const c = await hits("/split", 200);
    expect((c.b0 ?? 0) + (c.b1 ?? 0)).toBe(200);
    expect(c.b0!).toBeGreaterThan(130);
    expect(c.b1!).toBeGreaterThan(15);
  });

  test("STRICT_DNS endpoints are host names resolved at connect", async () => {
    expect(await hits("/dns", 2)).toEqual({ b2: 2 });
  });
});

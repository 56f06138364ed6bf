// The per-request side of a retry policy: which endpoint a retry takes
// (previous hosts avoided; a consistent hash picks with its hash again), and
// that the back-off and per-try timers call the exchange back.
import { describe, expect, test } from "bun:test";
import { buildRetryPolicy, defaultRetryPolicy } from "../../src/compile/policies.ts";
import type { ClusterRuntime } from "../../workers/http/clusters.ts";
import { retryTable, Tries, type TryOwner } from "../../workers/http/tries.ts";
import { retryCondition } from "../../src/traffic/retry.ts";
import type { EndpointPool } from "../../workers/http/upstream-pool.ts";

const a = { hostPort: "a" } as EndpointPool;
const b = { hostPort: "b" } as EndpointPool;

/** A runtime whose picks follow `seq` (then repeat the last); records the hashes asked with. */
function runtime(seq: EndpointPool[], hashes: (bigint | null)[]): ClusterRuntime {
  let i = 0;
  return {
    pick(hash: bigint | null = null) {
      hashes.push(hash);
      return seq[Math.min(i++, seq.length - 1)]!;
    },
  } as unknown as ClusterRuntime;
}

function owner(calls: string[]): TryOwner {
  return { nextTry: () => calls.push("nextTry"), onPerTryTimeout: () => calls.push("perTry"), abortOnError: () => calls.push("abort") };
}

describe("retry endpoint choice", () => {
  test("previous hosts: a tried endpoint is picked again only after 5 more picks", () => {
    const t = new Tries(defaultRetryPolicy(), owner([]));
    t.went(a);
    const hashes: (bigint | null)[] = [];
    expect(t.pick(runtime([a, a, b], hashes), null)).toBe(b);
    expect(hashes).toEqual([null, null, null]);
  });

  test("a consistent hash picks with the same hash, tried or not (Istio drops previous hosts then)", () => {
    const t = new Tries(defaultRetryPolicy(), owner([]));
    t.went(a);
    const hashes: (bigint | null)[] = [];
    expect(t.pick(runtime([a, b], hashes), 42n)).toBe(a);
    expect(hashes).toEqual([42n]);
  });

  test("no runtime (the cluster is gone): no endpoint", () => {
    expect(new Tries(defaultRetryPolicy(), owner([])).pick(undefined, null)).toBeNull();
  });
});

describe("a Tries reset for the next request of a made-again exchange", () => {
  test("equals a new one field by field, its timers stopped", async () => {
    const calls: string[] = [];
    const o = owner(calls);
    const p = buildRetryPolicy({ attempts: 3, perTryTimeoutMs: 1, retryOn: "5xx", retryRemoteLocalities: null, retryIgnorePreviousHosts: null, backoffMs: 1 })!;
    const t = new Tries(p, o);
    t.went(a);
    t.schedule();
    t.went(b);
    t.armPerTry();
    expect(t.tried).toEqual([a, b]);
    const q = defaultRetryPolicy();
    t.reset(q);
    const fresh = new Tries(q, o) as unknown as Record<string, unknown>;
    const used = t as unknown as Record<string, unknown>;
    expect(Object.keys(used).sort()).toEqual(Object.keys(fresh).sort());
    for (const k of Object.keys(fresh)) expect([k, used[k]]).toEqual([k, fresh[k]]);
    expect(t.tried).toEqual([]);
    expect(t.count).toBe(1);
    await Bun.sleep(30);
    expect(calls).toEqual([]); // neither the back-off nor the per-try timer of the earlier request fired
    t.went(b);
    expect(t.tried).toEqual([b]);
    const hashes: (bigint | null)[] = [];
    expect(t.pick(runtime([b, a], hashes), null)).toBe(a); // only this request's endpoint is avoided
  });
});

describe("timers call the exchange back", () => {
  test("back-off then nextTry; the per-try timeout then onPerTryTimeout; clear() stops both", async () => {
    const calls: string[] = [];
    const p = buildRetryPolicy({ attempts: 2, perTryTimeoutMs: 1, retryOn: "5xx", retryRemoteLocalities: null, retryIgnorePreviousHosts: null, backoffMs: 1 })!;
    const t = new Tries(p, owner(calls));
    expect(t.allows({ kind: "response", status: 503, grpcStatus: -1 })).toBe(true);
    t.schedule();
    expect(t.count).toBe(2);
    t.armPerTry();
    for (let i = 0; i < 100 && calls.length < 2; i++) await Bun.sleep(5);
    expect(calls.sort()).toEqual(["nextTry", "perTry"]);
    const quiet: string[] = [];
    const u = new Tries(p, owner(quiet));
    u.schedule();
    u.armPerTry();
    u.clear();
    await Bun.sleep(30);
    expect(quiet).toEqual([]);
    expect(u.allows({ kind: "response", status: 503, grpcStatus: -1 })).toBe(true);
    u.schedule();
    u.clear();
    expect(u.allows({ kind: "response", status: 503, grpcStatus: -1 })).toBe(false); // 1 + 2 tries made
  });
});

describe("a policy's response table (computed once per policy)", () => {
  const policies = [
    defaultRetryPolicy(),
    { ...defaultRetryPolicy(), retryOn: ["5xx"], retriableStatusCodes: [] },
    { ...defaultRetryPolicy(), retryOn: ["gateway-error", "retriable-4xx"], retriableStatusCodes: [] },
    { ...defaultRetryPolicy(), retryOn: ["retriable-status-codes", "reset"], retriableStatusCodes: [418, 429, 503] },
    { ...defaultRetryPolicy(), retryOn: ["unavailable", "connect-failure"], retriableStatusCodes: [] },
    { ...defaultRetryPolicy(), retryOn: [], retriableStatusCodes: [] },
  ];
  for (const p of policies) {
    test(`retryOn ${JSON.stringify(p.retryOn)}: the table says what retryCondition says for every status`, () => {
      const t = retryTable(p);
      expect(retryTable(p)).toBe(t);
      for (let s = 100; s < 600; s++) {
        expect([s, t.status[s]]).toEqual([s, retryCondition(p, { kind: "response", status: s, grpcStatus: -1 }) === "" ? 0 : 1]);
      }
      expect(t.grpc).toBe(p.retryOn.some((c) => ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"].includes(c)));
    });
  }
  test("buildRetryPolicy's policies too", () => {
    const p = buildRetryPolicy({ attempts: 2, retryOn: "503,gateway-error" } as never)!;
    expect(p.retriableStatusCodes).toContain(503);
    for (let s = 100; s < 600; s++) expect(retryTable(p).status[s]).toBe(retryCondition(p, { kind: "response", status: s, grpcStatus: -1 }) === "" ? 0 : 1);
  });
});

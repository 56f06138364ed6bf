// Ring hash and Maglev tables: deterministic from the endpoint list (so every
// worker and a reload that keeps the endpoints agree), balanced by weight, and
// minimally disrupted when an endpoint leaves.
import { describe, expect, test } from "bun:test";
import { buildMaglev, buildRing, hostKey, xxHash64, type HashTable, type HashTarget } from "../../src/upstream/consistent-hash.ts";
import { cookieValue, generatedCookie, queryValue, requestHash } from "../../src/upstream/hash-key.ts";

const eps = (n: number, weight = 1): HashTarget[] => Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 8080, weight }));

/** 2000 fixed keys → picked index. */
function picks(t: HashTable): number[] {
  const out: number[] = [];
  for (let i = 0; i < 2000; i++) out.push(t.pick(xxHash64(`user-${i}`)));
  return out;
}

describe("xxHash64 (the hash Envoy uses for ring hash and Maglev)", () => {
  test.each([
    ["", 0n, 0xef46db3751d8e999n],
    ["a", 0n, 0xd24ec4f1a98c6e5bn],
    ["abc", 0n, 0x44bc2cf5ad770999n],
  ])("xxHash64(%p, seed %p) is the reference value", (s, seed, want) => {
    expect(xxHash64(s, seed)).toBe(want);
  });
  test("host keys are ip:port, IPv6 in brackets", () => {
    expect(hostKey({ address: "10.1.2.3", port: 80, weight: 1 })).toBe("10.1.2.3:80");
    expect(hostKey({ address: "fd00::1", port: 80, weight: 1 })).toBe("[fd00::1]:80");
  });
});

describe.each([
  ["ring hash", (t: HashTarget[]) => buildRing(t, 1024, 8_388_608)],
  ["maglev", (t: HashTarget[]) => buildMaglev(t, 65537)],
])("%s", (_name, build) => {
  test("the same endpoints give the same picks (another worker, a reload)", () => {
    expect(picks(build(eps(5)))).toEqual(picks(build(eps(5))));
  });

  test("the order endpoints are listed in does not move a key (uniform weights)", () => {
    const a = eps(5);
    const b = [...a].reverse();
    const pa = picks(build(a)).map((i) => hostKey(a[i]!));
    const pb = picks(build(b)).map((i) => hostKey(b[i]!));
    const moved = pa.filter((k, i) => k !== pb[i]).length;
    expect(moved).toBeLessThan(2000 * 0.02);
  });

  test("every endpoint gets a share near its weight", () => {
    const t = build(eps(4));
    const c = t.counts();
    const total = c.reduce((a, b) => a + b, 0);
    for (const n of c) expect(Math.abs(n / total - 0.25)).toBeLessThan(0.06);
    const hits = new Array(4).fill(0);
    for (const i of picks(t)) hits[i]++;
    for (const h of hits) expect(h).toBeGreaterThan(2000 * 0.15);
  });

  test("weights: an endpoint of weight 3 gets about three times the share", () => {
    const t = build([
      { address: "10.0.0.1", port: 80, weight: 1 },
      { address: "10.0.0.2", port: 80, weight: 3 },
    ]);
    const c = t.counts();
    expect(c[1]! / c[0]!).toBeGreaterThan(2.5);
    expect(c[1]! / c[0]!).toBeLessThan(3.5);
  });

  test("an endpoint leaving moves only the keys it had (mostly)", () => {
    const all = eps(5);
    const before = picks(build(all)).map((i) => hostKey(all[i]!));
    const less = all.filter((_, i) => i !== 2);
    const after = picks(build(less)).map((i) => hostKey(less[i]!));
    let movedOthers = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== "10.0.0.3:8080" && before[i] !== after[i]) movedOthers++;
    expect(after.includes("10.0.0.3:8080")).toBe(false);
    // the ring re-scales (1025 entries for 5, 1024 for 4: 205 → 256 per endpoint), so new entries take some keys from the others
    expect(movedOthers).toBeLessThan(2000 * 0.2);
  });

  test("no endpoints: pick answers -1", () => {
    expect(build([]).pick(123n)).toBe(-1);
  });
});

describe("ring size (Envoy's scale)", () => {
  test("uniform weights: minimumRingSize entries", () => {
    expect(buildRing(eps(3), 1024, 8_388_608).size).toBe(1026); // ceil(1/3 × 1024) × 3 = 342 × 3
    expect(buildRing(eps(4), 1024, 8_388_608).size).toBe(1024);
  });
  test("capped by maximumRingSize", () => {
    expect(buildRing(eps(2), 100_000, 5000).size).toBe(5000);
  });
  test("maglev table size is the given prime", () => {
    expect(buildMaglev(eps(3), 251).size).toBe(251);
    expect(buildMaglev(eps(3), 251).counts().reduce((a, b) => a + b, 0)).toBe(251);
  });
});

describe("request hash keys", () => {
  const src = (headers: Record<string, string>, query = "", ip = "192.0.2.7") => ({ header: (n: string) => headers[n] ?? null, sourceIp: ip, query });
  test.each([
    ["header", { kind: "header" as const, name: "x-user" }, src({ "x-user": "ann" }), xxHash64("ann")],
    ["header absent", { kind: "header" as const, name: "x-user" }, src({}), null],
    ["cookie", { kind: "cookie" as const, name: "sess", path: "", ttlMs: 0 }, src({ cookie: 'a=1; sess="s1"' }), xxHash64("s1")],
    ["cookie absent", { kind: "cookie" as const, name: "sess", path: "", ttlMs: 0 }, src({ cookie: "a=1" }), null],
    ["source ip", { kind: "sourceIp" as const }, src({}), xxHash64("192.0.2.7")],
    ["query", { kind: "query" as const, name: "u" }, src({}, "a=1&u=bob"), xxHash64("bob")],
    ["query absent", { kind: "query" as const, name: "u" }, src({}, "a=1"), null],
  ])("%s", (_n, key, s, want) => {
    expect(requestHash(key, s)).toBe(want);
  });
  test("cookie and query parsing", () => {
    expect(cookieValue("x=1;  y = 2 ; z", "y")).toBe("2");
    expect(cookieValue(null, "y")).toBe(null);
    expect(queryValue("flag&u=", "flag")).toBe("");
    expect(queryValue("u=%20x", "u")).toBe("%20x");
  });
  test("a made-up cookie (ttl set, no cookie sent): hex of the connection's addresses, Envoy's Set-Cookie shape", () => {
    const g = generatedCookie({ kind: "cookie", name: "sess", path: "/app", ttlMs: 60_000 }, "192.0.2.7:5555", "10.0.0.1:8080");
    expect(g.value).toMatch(/^[0-9a-f]{16}$/);
    expect(g.value).toBe(xxHash64("192.0.2.7:555510.0.0.1:8080").toString(16).padStart(16, "0"));
    expect(g.hash).toBe(xxHash64(g.value));
    expect(g.setCookie).toBe(`sess="${g.value}"; Max-Age=60; Path=/app; HttpOnly`);
  });
});

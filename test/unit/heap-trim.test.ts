import { expect, test } from "bun:test";
import { HeapTrim } from "../../src/primary/heap-trim.ts";

test("the primary collects after a reload only when its heap grew by half again and 64 MB", () => {
  const t = new HeapTrim();
  t.afterReload(); // no base yet: collects
  expect(t.collections).toBe(1);
  expect(t.afterReload()).toBe(0); // nothing grew
  expect(t.collections).toBe(1);
  // keep ~160 MB reachable: over base × 1.5 + 64 MB for any base below ~190 MB
  const keep: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) keep.push(new Uint8Array(4 * 1024 * 1024).fill(1));
  const grown: object[] = [];
  for (let i = 0; i < 1_500_000; i++) grown.push({ i, s: "x" + i });
  t.afterReload();
  expect(t.collections).toBe(2);
  expect(keep.length + grown.length).toBeGreaterThan(0);
});

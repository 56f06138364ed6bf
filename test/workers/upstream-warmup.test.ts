// Slow start (DestinationRule loadBalancer.warmup) through a real worker and
// loopback backends: endpoints there from the start share alike; a reload that
// adds an endpoint gives it a small share at first (its window of 2 s just
// began, the others' are over) and its full share once its window is over.
// Counts with generous bounds; the waits only let the windows pass.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Server } from "bun";
import { beInternalEntry, beInternalRule, TO_BE_INTERNAL } from "../helpers/config.ts";
import { compileOnPort } from "./apply-config.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

const WINDOW_MS = 2000;
const backends: Server<undefined>[] = [];

function config(n: number): string {
  const endpoints = backends.slice(0, n).map((b) => `  - {address: 127.0.0.1, ports: {http: ${b.port}}}`);
  // aggression 0.5: the factor grows as (t/window)^2 from minimumPercent's default 10 %, so the first second stays small
  return `${TO_BE_INTERNAL}${beInternalEntry(endpoints)}${beInternalRule(`    loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: ${WINDOW_MS}ms, aggression: 0.5}}`)}`;
}

/** Sends `n` requests one after another; how many each backend answered. */
async function spread(port: number, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await raw(port, "GET / HTTP/1.1\r\nhost: be.internal\r\nconnection: close\r\n\r\n");
    const body = r.text.split("\r\n\r\n")[1] ?? "";
    out[body] = (out[body] ?? 0) + 1;
  }
  return out;
}

let w: WorkerHarness;
beforeAll(() => {
  for (let i = 0; i < 3; i++) backends.push(Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(`b${i}`) }));
  w = new WorkerHarness();
});
afterAll(() => {
  w.stop();
  for (const b of backends) b.stop(true);
});

test("a reload adds an endpoint to a warmup cluster: a small share at first, its full share after the window", async () => {
  const port = freePort();
  await w.apply(compileOnPort(config(2), port));
  // both endpoints joined together: in their windows alike, so round robin as usual
  expect(await spread(port, 20)).toEqual({ b0: 10, b1: 10 });
  await Bun.sleep(WINDOW_MS + 200); // their windows end

  const reloaded = compileOnPort(config(3), port);
  expect(reloaded.clusters.get("outbound|80||be.internal")?.upstream?.slowStart).toEqual({ windowMs: WINDOW_MS, aggression: 0.5, minWeightPercent: 10 });
  await w.apply(reloaded);
  // b2 starts its window (b0 and b1 keep their pools, and so their start): 10 % of its weight (about 3
  // of 60 picks), 25 % one second in, 49 % at 1.4 s; plain round robin would give it a third (20 of 60)
  const first = await spread(port, 60);
  expect((first.b0 ?? 0) + (first.b1 ?? 0) + (first.b2 ?? 0)).toBe(60);
  expect(first.b2 ?? 0).toBeGreaterThanOrEqual(1);
  expect(first.b2 ?? 0).toBeLessThanOrEqual(12);
  expect(first.b0!).toBeGreaterThanOrEqual(25);
  expect(first.b1!).toBeGreaterThanOrEqual(25);

  await Bun.sleep(WINDOW_MS + 200); // b2's window ends
  const after = await spread(port, 60);
  expect(after.b2 ?? 0).toBeGreaterThanOrEqual(15);
  expect(after.b0 ?? 0).toBeGreaterThanOrEqual(15);
  expect(after.b1 ?? 0).toBeGreaterThanOrEqual(15);
}, 30_000);

// The primary's worker pool: publish to all, restart a worker that dies with the
// current snapshot, gather stats from every worker, drain.
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { crashMarker } from "./fixtures/crash-marker.ts";
import { WorkerPool } from "../../src/primary/workers.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";

function snap(version: number): Snapshot {
  return { version, hash: `h${version}`, createdAt: "", listeners: [], clusters: new Map(), credentials: new Map(), findings: [] };
}

test("a worker that dies is restarted with the current snapshot and counted", async () => {
  rmSync(crashMarker(), { force: true });
  const pool = new WorkerPool(2, { accessLog: "off", logFormat: "text", serverHeader: "x" }, { workerUrl: new URL("./fixtures/crashy-worker.ts", import.meta.url) });
  try {
    await pool.start(snap(1));
    expect(pool.allBound()).toBe(true);
    await pool.publish(snap(2));
    const first = await pool.stats(); // worker 0 dies on this request
    expect(first.length).toBe(1);
    const end = Date.now() + 5000;
    while ((pool.restarts === 0 || !pool.allBound()) && Date.now() < end) await Bun.sleep(20);
    expect(pool.restarts).toBe(1);
    expect(pool.allBound()).toBe(true); // the new worker 0 applied version 2
    const after = await pool.stats();
    expect(after.map((s) => Object.keys(s)[0]).sort()).toEqual(['test_requests_total{worker="0"}', 'test_requests_total{worker="1"}']);
    await pool.drain(1000);
  } finally {
    pool.terminate();
  }
});

test("the full snapshot is serialized once per version and the same bytes go to every worker that needs it", async () => {
  const pool = new WorkerPool(3, { accessLog: "off", logFormat: "text", serverHeader: "x" }, { workerUrl: new URL("./fixtures/crashy-worker.ts", import.meta.url) });
  try {
    await pool.start(snap(1));
    expect(pool.allBound()).toBe(true);
    expect(pool.serializations).toBe(1);
    await pool.publish(snap(2)); // deltas: nothing serialized whole
    expect(pool.serializations).toBe(1);
  } finally {
    pool.terminate();
  }
});

test("a worker sent the previous snapshot gets a delta; one that cannot apply it answers resync and gets the full snapshot", async () => {
  const applies = new WorkerPool(2, { accessLog: "off", logFormat: "text", serverHeader: "x" }, { workerUrl: new URL("./fixtures/crashy-worker.ts", import.meta.url) });
  try {
    await applies.start(snap(1));
    const r = await applies.publish(snap(2));
    expect([r.deltas, r.fulls, applies.resyncs]).toEqual([2, 0, 0]);
    expect(r.workers.map((w) => w.delta)).toEqual([true, true]);
    expect(applies.allBound()).toBe(true);
  } finally {
    applies.terminate();
  }
  const refuses = new WorkerPool(2, { accessLog: "off", logFormat: "text", serverHeader: "x" }, { workerUrl: new URL("./fixtures/resync-worker.ts", import.meta.url) });
  try {
    await refuses.start(snap(1));
    const r = await refuses.publish(snap(2));
    expect(r.deltas).toBe(2);
    expect(refuses.resyncs).toBe(2);
    expect(refuses.allBound()).toBe(true); // both applied version 2 from the full snapshot
    expect(r.workers.map((w) => w.delta)).toEqual([false, false]);
    expect(refuses.serializations).toBe(2); // version 1 for both at start, version 2 for both resyncs
    await refuses.publish(snap(3));
    expect(refuses.resyncs).toBe(4);
    expect(refuses.serializations).toBe(3);
    expect(refuses.allBound()).toBe(true);
  } finally {
    refuses.terminate();
  }
});

test("serving through a reload: while the workers apply a new snapshot they serve the one before, so /ready stays 200 (allBound: the new version everywhere)", async () => {
  const pool = new WorkerPool(2, { accessLog: "off", logFormat: "text", serverHeader: "x" }, { workerUrl: new URL("./fixtures/crashy-worker.ts", import.meta.url) });
  try {
    expect(pool.serving()).toBe(false);
    await pool.start(snap(1));
    expect([pool.serving(), pool.allBound()]).toEqual([true, true]);
    const applying = pool.publish(snap(2));
    expect([pool.serving(), pool.allBound()]).toEqual([true, false]);
    await applying;
    expect([pool.serving(), pool.allBound()]).toEqual([true, true]);
  } finally {
    pool.terminate();
  }
});

test("a worker that stops beating is terminated at the timeout, not serving from then, and restarted as a crashed one", async () => {
  // the stand-in never beats (it ignores init's cells): its heartbeat is as old as the worker
  const pool = new WorkerPool(2, { accessLog: "off", logFormat: "text", serverHeader: "x" }, { workerUrl: new URL("./fixtures/crashy-worker.ts", import.meta.url) });
  try {
    await pool.start(snap(1));
    expect(pool.serving()).toBe(true);
    const t = performance.now();
    expect(pool.checkHeartbeats(t, 60_000)).toBe(0); // younger than the timeout: left alone
    expect(pool.stuckRestarts).toBe(0);
    expect(pool.checkHeartbeats(t + 60_000, 60_000)).toBe(0); // both stuck: terminated, none wedged yet
    expect(pool.stuckRestarts).toBe(2);
    expect(pool.serving()).toBe(false);
    const end = Date.now() + 5000;
    while ((pool.restarts < 2 || !pool.allBound()) && Date.now() < end) await Bun.sleep(20);
    expect(pool.restarts).toBe(2);
    expect(pool.serving()).toBe(true); // the new workers applied the current snapshot
    expect(pool.heartbeats(performance.now()).map((h) => h.id).sort()).toEqual([0, 1]);
  } finally {
    pool.terminate();
  }
});

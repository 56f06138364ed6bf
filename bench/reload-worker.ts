// The worker's share of a reload at scale, in-process: what a worker does with the
// delta of a one-VirtualService change to HOSTS VirtualServices: receive the message
// (a real postMessage to a Worker that only notes when it arrived: "post" is the
// primary's time in postMessage, "arrived" the time until the worker has it), rebuild
// the snapshot from its base (applyDelta, here on a bun:jsc deserialize copy), apply
// the clusters (applyClusters). Every millisecond a worker spends here is a stall of
// its event loop: requests in flight wait, which is what shows in p99 during
// reloads (target 6).
// Usage: bun bench/reload-worker.ts [hosts=10000] [changes=5]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deserialize, serialize } from "bun:jsc";
import { defaultOptions } from "../src/cli/args.ts";
import { loadAndBuild, newReloadCaches } from "../src/primary/pipeline.ts";
import type { Snapshot } from "../src/snapshot/types.ts";
import { applyDelta, makeDelta } from "../src/snapshot/delta.ts";
import { reviveRegexes } from "../src/decode/regex.ts";
import { applyClusters } from "../workers/http/clusters.ts";

const hosts = Number(process.argv[2] ?? 10_000);
const changes = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(join(tmpdir(), "gangway-reload-worker-"));
const run = (...args: string[]) => Bun.spawnSync([process.execPath, join(import.meta.dir, "reload-config.ts"), dir, ...args]);
run("18580", String(hosts));
const o = { ...defaultOptions(), configDirs: [dir], portMap: new Map([[80, 18581]]) };
const caches = newReloadCaches();
// answers each message with how long after its `at` it arrived
const echo = new Worker(URL.createObjectURL(new Blob(["self.onmessage = (e) => self.postMessage(performance.timeOrigin + performance.now() - e.data.at);"], { type: "application/javascript" })));
const ms = (n: number) => n.toFixed(1).padStart(7);
const build = (v: number, prev?: Snapshot): Snapshot => {
  const r = loadAndBuild(o, v, prev?.credentials, caches);
  if (!r.ok) throw new Error(JSON.stringify(r.errors.slice(0, 3)));
  return r.snapshot;
};

try {
  let primary = build(1);
  let worker = deserialize(serialize(primary)) as Snapshot;
  reviveRegexes(worker.listeners);
  applyClusters(worker);
  for (let v = 1; v <= changes; v++) {
    run("--churn", String(v));
    const next = build(v + 1, primary);
    const d = makeDelta(primary, next);
    if (d === null) throw new Error("no delta");
    let t = performance.now();
    echo.postMessage({ at: performance.timeOrigin + t, delta: d.delta });
    const post = performance.now() - t;
    const arrived = await new Promise<number>((r) => (echo.onmessage = (e) => r(e.data as number)));
    const got = deserialize(serialize(d.delta)) as typeof d.delta;
    t = performance.now();
    const r = applyDelta(worker, got);
    const rebuild = performance.now() - t;
    t = performance.now();
    applyClusters(r.snapshot);
    const clusters = performance.now() - t;
    worker = r.snapshot;
    primary = next;
    console.log(`change #${v}: post ${ms(post)}  arrived ${ms(arrived)}  applyDelta ${ms(rebuild)}  applyClusters ${ms(clusters)} ms  (${r.snapshot.clusters.size} clusters, ${d.sent} vhosts sent)`);
  }
} finally {
  echo.terminate();
  rmSync(dir, { recursive: true, force: true });
}

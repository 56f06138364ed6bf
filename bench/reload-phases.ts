// Phase times of a reload at scale, in-process: a first load of HOSTS VirtualServices, then
// a one-VirtualService change, with the primary's caches (decode cache, compile reuse) and the
// snapshot delta a worker would get, against the full structured clone it replaces.
// Usage: bun bench/reload-phases.ts [hosts=10000] [changes=3]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultOptions } from "../src/cli/args.ts";
import { loadAndBuild, newReloadCaches, type Phases } from "../src/primary/pipeline.ts";
import type { Snapshot } from "../src/snapshot/types.ts";
import { applyDelta, makeDelta } from "../src/snapshot/delta.ts";

const hosts = Number(process.argv[2] ?? 10_000);
const changes = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), "gangway-reload-phases-"));
const run = (...args: string[]) => Bun.spawnSync([process.execPath, join(import.meta.dir, "reload-config.ts"), dir, ...args]);
run("18580", String(hosts));
const o = { ...defaultOptions(), configDirs: [dir], portMap: new Map([[80, 18581]]) };
const caches = newReloadCaches();
const ms = (n: number) => n.toFixed(0).padStart(6);

function one(label: string, version: number, prev: Snapshot | null): Snapshot {
  const phases = { read: 0, decode: 0, compile: 0, filesDecoded: 0, filesCached: 0 } as Phases;
  const t = performance.now();
  const r = loadAndBuild(o, version, prev?.credentials, caches, phases);
  const total = performance.now() - t;
  if (!r.ok) throw new Error(JSON.stringify(r.errors.slice(0, 3)));
  let c = performance.now();
  const worker = structuredClone(prev ?? r.snapshot); // a worker's copy of what it serves (the full clone a reload used to post)
  const clone = performance.now() - c;
  let deltaText = "";
  if (prev !== null) {
    c = performance.now();
    const d = makeDelta(prev, r.snapshot);
    const diff = performance.now() - c;
    c = performance.now();
    const sent = d === null ? null : structuredClone(d.delta);
    const send = performance.now() - c;
    c = performance.now();
    if (sent !== null) applyDelta(worker, sent);
    const apply = performance.now() - c;
    deltaText = d === null ? "; delta: none (full snapshot)" : `; delta: diff ${ms(diff)} clone ${ms(send)} rebuild ${ms(apply)} ms, ${d.sent} vhosts sent, ${d.kept} kept`;
  }
  console.log(
    `${label.padEnd(22)} read ${ms(phases.read)}  decode ${ms(phases.decode)} (${phases.filesDecoded} files decoded, ${phases.filesCached} cached)  compile ${ms(phases.compile)}  total ${ms(total)} ms;` +
      ` full clone ${ms(clone)} ms; routes reused ${caches.reuse.stats.reused}, built ${caches.reuse.stats.built}${deltaText}`,
  );
  return r.snapshot;
}

try {
  let s = one(`first load (${hosts} VS)`, 1, null);
  for (let v = 1; v <= changes; v++) {
    run("--churn", String(v));
    s = one(`one-VS change #${v}`, v + 1, s);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

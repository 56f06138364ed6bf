// A worker that dies while the process is out of file descriptors: Bun cannot
// start a worker thread without a few descriptors (with none free, `new Worker`
// ends the whole process: "bun ran out of file descriptors"). The pool waits
// for descriptors before starting the new worker, then starts it with the
// current snapshot. Run in a child process under `ulimit -n`.
import { expect, test } from "bun:test";
import { ROOT, runUnderFdLimit } from "../helpers/fd-fill.ts";

test("a worker that dies while the process has no free descriptor is restarted once descriptors are free, and the process lives", async () => {
  const script = `
import { openSync, closeSync, rmSync } from "node:fs";
import { crashMarker } from "${ROOT}/test/workers/fixtures/crash-marker.ts";
import { WorkerPool } from "${ROOT}/src/primary/workers.ts";
const snap = (version) => ({ version, hash: "h" + version, createdAt: "", listeners: [], clusters: new Map(), credentials: new Map(), findings: [] });
const pool = new WorkerPool(1, { accessLog: "off", logFormat: "text", serverHeader: "x" }, { workerUrl: new URL("file://${ROOT}/test/workers/fixtures/crashy-worker.ts") });
await pool.start(snap(1));
await pool.stats(); // worker 0 dies on it; the pool starts a new one a moment later
const held = [];
try { for (;;) held.push(openSync("/dev/null", "r")); } catch {}
await Bun.sleep(800);
for (const fd of held) closeSync(fd);
const end = Date.now() + 8000;
while ((pool.restarts === 0 || !pool.allBound()) && Date.now() < end) await Bun.sleep(20);
console.log(JSON.stringify({ held: held.length, restarts: pool.restarts, bound: pool.allBound() }));
pool.terminate();
rmSync(crashMarker(), { force: true });
process.exit(0);
`;
  const { code, out, err } = await runUnderFdLimit(script, 64);
  const result = out.split("\n").find((l) => l.startsWith("{")) ?? "";
  expect({ code, result }, (out + err).slice(-600)).toEqual({ code: 0, result: expect.stringContaining('"restarts":1,"bound":true') });
}, 30_000);

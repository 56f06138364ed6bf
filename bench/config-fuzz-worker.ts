// Fuzzed configurations that load, applied to a real worker thread with real
// traffic (test/helpers/config-worker-check.ts); test/workers/config-fuzz-worker.test.ts
// runs a few in CI.
//
//   bun bench/config-fuzz-worker.ts [--from N] [--count N] [--seconds S] [--mode semantic|structural] [--group SUBSTRING]
//
// Cases are those of bench/config-fuzz.ts (same numbers, same --mode); the ones
// the pipeline refuses are skipped. Exit 1 when a case broke an invariant.
import { buildFiles } from "../test/helpers/config-invariants.ts";
import { semanticCase } from "../test/helpers/config-mutate-semantic.ts";
import { mutatedCase, seedGroups } from "../test/helpers/config-mutate.ts";
import { loadFuzzPki } from "../test/helpers/config-fuzz-pki.ts";
import { WorkerCheck } from "../test/helpers/config-worker-check.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const groups = seedGroups().filter((g) => g.name.includes(opt("--group", "")));
await loadFuzzPki();
const semantic = opt("--mode", "semantic") === "semantic";
const from = Number(opt("--from", "1"));
const count = Number(opt("--count", "1000"));
const seconds = Number(opt("--seconds", "300"));

let check = new WorkerCheck();
const t0 = performance.now();
let run = 0;
let applied = 0;
let broken = 0;
for (let seed = from; seed < from + count; seed++) {
  if (performance.now() - t0 > seconds * 1000) break;
  run++;
  const c = semantic ? semanticCase(groups, seed) : mutatedCase(groups, seed);
  const b = buildFiles(c.files);
  if (!b.ok) continue;
  applied++;
  const problems = await check.problems(b.snapshot);
  if (problems.length > 0) {
    broken++;
    console.log(`case ${seed} (${c.group})\n  ${c.mutations.join("\n  ")}\n  => ${problems.slice(0, 4).join("\n  => ")}`);
    // a fresh worker for the next case: this one's state is suspect
    check.stop();
    check = new WorkerCheck();
  }
  if (run % 200 === 0) console.error(`${run} cases, ${applied} applied, ${broken} broken, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
console.log(`span reports the collector got: ${check.spanReports}`);
console.log(`backend requests that came after their case's traffic had ended (late retries, mirrors): ${check.strayHits} of ${check.backendHits}`);
for (const [k, n] of [...check.answers].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(6)}  ${k}`);
check.stop();
console.log(`\n${run} ${semantic ? "semantic" : "structural"} cases from ${from} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${applied} applied to a worker, ${broken} broke an invariant`);
process.exit(broken > 0 ? 1 : 0);

// The configuration fuzzer at large counts (test/unit/config-fuzz.test.ts runs a
// few thousand cases in CI):
//
//   bun bench/config-fuzz.ts [--from N] [--count N] [--seconds S] [--group SUBSTRING] [--mode structural|semantic]
//   bun bench/config-fuzz.ts --show N [--mode semantic]   # case N's mutations and files, to reproduce it
//
// --mode semantic: test/helpers/config-mutate-semantic.ts (values the schema lets
// through, at odd points), a stream of cases apart from the structural one.
// The summary says how many cases reached compile and how many loaded.
//
// Case N is deterministic (test/helpers/config-mutate.ts): `--show N` prints the
// files it wrote; `--from N --count 1` checks it alone. Exit 1 when a case broke
// an invariant (each is printed with its case number and its mutations).
import { invariantProblems, seedState, type FuzzSeen, type SeedState } from "../test/helpers/config-invariants.ts";
import { semanticCase } from "../test/helpers/config-mutate-semantic.ts";
import { mutatedCase, seedGroups } from "../test/helpers/config-mutate.ts";
import { loadFuzzPki } from "../test/helpers/config-fuzz-pki.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};

const filter = opt("--group", "");
const groups = seedGroups().filter((g) => g.name.includes(filter));
const states = new Map<string, SeedState>();
const stateOf = (name: string) => {
  let s = states.get(name);
  if (s === undefined) states.set(name, (s = seedState(groups.find((g) => g.name === name)!.files)));
  return s;
};
await loadFuzzPki();
const semantic = opt("--mode", "structural") === "semantic";
const caseOf = (seed: number) => (semantic ? semanticCase(groups, seed) : mutatedCase(groups, seed));

if (args.includes("--show")) {
  const c = caseOf(Number(opt("--show", "0")));
  console.log(`case ${c.seed} (${c.group})`);
  for (const m of c.mutations) console.log(`  ${m}`);
  for (const f of c.files) console.log(`==> ${f.path} <==\n${f.text.length > 4000 ? `${f.text.slice(0, 4000)}\n...(${f.text.length} chars)` : f.text}`);
  console.log("problems:", await invariantProblems(c.files, stateOf(c.group)));
  process.exit(0);
}

const from = Number(opt("--from", "1"));
const count = Number(opt("--count", "10000"));
const seconds = Number(opt("--seconds", "600"));
const t0 = performance.now();
let run = 0;
let broken = 0;
const seen: FuzzSeen = { compiled: 0, loaded: 0 };
const byKind = new Map<string, number>();
for (let seed = from; seed < from + count; seed++) {
  if (performance.now() - t0 > seconds * 1000) break;
  const c = caseOf(seed);
  const problems = await invariantProblems(c.files, stateOf(c.group), seen);
  run++;
  if (problems.length > 0) {
    broken++;
    const key = problems[0]!.replace(/[0-9]+/g, "N").slice(0, 120);
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
    if ((byKind.get(key) ?? 0) <= 3) console.log(`case ${seed} (${c.group})\n  ${c.mutations.join("\n  ")}\n  => ${problems.slice(0, 3).join("\n  => ")}`);
  }
  if (run % 1000 === 0) console.error(`${run} cases, ${broken} broken, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
console.log(`\n${run} ${semantic ? "semantic" : "structural"} cases from ${from} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${broken} broke an invariant`);
console.log(`reached compile: ${seen.compiled} (${((100 * seen.compiled) / Math.max(run, 1)).toFixed(1)} %), loaded: ${seen.loaded} (${((100 * seen.loaded) / Math.max(run, 1)).toFixed(1)} %)`);
for (const [k, n] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(6)}  ${k}`);
process.exit(broken > 0 ? 1 : 0);

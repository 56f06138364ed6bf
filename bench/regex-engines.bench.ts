// Regex engines on typical route regexes (tinybench): JavaScript's RegExp
// (backtracking), re2js (RE2 ported to JavaScript, linear time), gangway's
// CompiledRegex (re2js, or a RegExp for the patterns regex-fast.ts proves
// linear) and, when installed (`npm i --no-save re2-wasm`), re2-wasm. Run:
//   node_modules/.bin/bun bench/regex-engines.bench.ts
// Figures are printed, never asserted; noisy on a shared machine.
import { Bench } from "tinybench";
import { RE2JS } from "re2js";
import { compileRe2 } from "../src/decode/regex.ts";

const CASES: [string, string][] = [
  ["/items/[0-9]+", "/items/12345"],
  ["/api/v[12]/users/[^/]+/orders", "/api/v2/users/bob/orders"],
  [".*\\.(css|js|png)", "/static/app/main.css"],
  ["(?i)/login", "/LOGIN"],
  ["v[0-9]+", "v12"],
];

type Wasm = { new (p: string, f: string): { test(s: string): boolean } };
let wasm: Wasm | null = null;
try {
  wasm = ((await import("re2-wasm" as string)) as { RE2: Wasm }).RE2;
} catch {
  // not installed: the two others only
}

const bench = new Bench({ time: 400 });
for (const [p, s] of CASES) {
  const ci = p.startsWith("(?i)");
  const js = new RegExp(`^(?:${ci ? p.slice(4) : p})$`, ci ? "iu" : "u");
  const re2 = RE2JS.compile(p);
  if (!js.test(s) || !re2.matches(s)) throw new Error(`${p} should match ${s}`);
  bench.add(`RegExp  ${p}`, () => void js.test(s));
  bench.add(`re2js   ${p}`, () => void re2.matches(s));
  const c = compileRe2(p);
  if (!c.ok) throw new Error(c.error);
  const g = c.regex;
  bench.add(`gangway ${p}`, () => void g.test(s));
  if (wasm !== null) {
    const w = new wasm(`^(?:${p})$`, "u");
    bench.add(`re2-wasm ${p}`, () => void w.test(s));
  }
}
await bench.run();
for (const t of bench.tasks) {
  const r = t.result;
  if (r.state === "completed") console.log(`${t.name.padEnd(48)} ${(r.latency.mean * 1e6).toFixed(0).padStart(6)} ns`);
}

const evil = "a".repeat(30_000) + "!";
let t0 = performance.now();
RE2JS.compile("(a+)+$").matches(evil);
console.log(`re2js  (a+)+$ on 30,000 a's + !: ${(performance.now() - t0).toFixed(1)} ms`);
t0 = performance.now();
/^(?:(a+)+$)$/u.test("a".repeat(28) + "!");
console.log(`RegExp (a+)+$ on only 28 a's + !: ${(performance.now() - t0).toFixed(1)} ms`);

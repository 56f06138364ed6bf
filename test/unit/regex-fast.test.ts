// regex-fast.ts: which RE2 patterns may run on a JavaScript RegExp (linear
// time, RE2's meaning), and a seeded differential against re2js on random
// patterns of that shape and random inputs (newlines, \r, U+2028, é, emoji…).
import { describe, expect, test } from "bun:test";
import { RE2JS } from "re2js";
import { compileRe2 } from "../../src/decode/regex.ts";
import { linearJsSource } from "../../src/decode/regex-fast.ts";

const ACCEPTED: [string, string][] = [
  ["/items/[0-9]+", "\\/items\\/[0-9]+"],
  ["/api/v[12]/users/[^/]+/orders", "\\/api\\/v[12]\\/users\\/[^\\/]+\\/orders"],
  ["v\\d+", "v[0-9]+"],
  ["^/static/.*$", "\\/static\\/[^\\n]*"],
  ["[a-zA-Z_\\-]{2,8}", "[a-zA-Z_\\-]{2,8}"],
  ["\\w{3}-\\d{4}", "[0-9A-Za-z_]{3}-[0-9]{4}"],
  ["a.b*?", "a[^\\n]b*?"],
  ["x:y@z~!", "x:y@z~!"],
  ["\\.\\%", "\\.%"],
  ["", ""],
];

const REFUSED = [
  "(a+)+$", // a group
  "a*b*", // two variable quantifiers
  "/api/.*/v[0-9]+", // two
  "a|b", // alternation
  "(?i)/admin", // flags
  "\\bword", // word boundary
  "[[:alpha:]]+",
  "é+",
  "a{,2}", // a literal in RE2
  "a{1000}", // above the fixed-count cap
  "\\pL+",
  "a**",
  "\\s+", // JS and RE2 disagree on \s: left to re2js
  "[a-]",
  "[z-a]",
  "[0-z]",
  "a$b",
  "\\Qa.b\\E",
];

describe("patterns that may run on a RegExp", () => {
  for (const [re, js] of ACCEPTED) test(`${re} → ${js}`, () => expect(linearJsSource(re)).toBe(js));
});

describe("patterns left to re2js", () => {
  for (const re of REFUSED) test(re, () => expect(linearJsSource(re)).toBeNull());
});

describe("RegExp and RE2 agree on every accepted pattern (seeded, random)", () => {
  let seed = 2026;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const ATOMS = ["a", "b", "/", ".", "\\.", "\\d", "\\w", "[a-c]", "[^/]", "[^a\\n]", "[\\d.]", "[_\\-]", "-", "0", "\\$", "\\[", "[\\]x]", "%", "[A-Z]"];
  const QUANTS = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{2,}", "*?", "+?", "{0,2}?"];
  const INPUT = ["a", "b", "c", "/", ".", "-", "_", "0", "9", "A", "Z", "x", "]", "[", "$", "%", "\n", "\r", "\u2028", "é", "😀", " ", "\t"];
  const patterns: string[] = [];
  while (patterns.length < 400) {
    let p = rnd(5) === 0 ? "^" : "";
    let variable = false;
    for (let k = 1 + rnd(5); k > 0; k--) {
      let q = QUANTS[rnd(QUANTS.length)]!;
      const isVar = q !== "" && q !== "{2}";
      if (isVar && variable) q = "";
      variable ||= isVar;
      p += ATOMS[rnd(ATOMS.length)]! + q;
    }
    if (rnd(5) === 0) p += "$";
    if (linearJsSource(p) !== null) patterns.push(p);
  }
  test("400 patterns × 60 inputs", () => {
    for (const p of patterns) {
      const js = new RegExp(`^(?:${linearJsSource(p)})$`, "u");
      const re2 = RE2JS.compile(p);
      for (let q = 0; q < 60; q++) {
        let s = "";
        for (let k = rnd(7); k > 0; k--) s += INPUT[rnd(INPUT.length)]!;
        // inputs near a match too: the pattern's own characters
        if (q % 2 === 0) s = p.replace(/\\[dw]/g, "1").replace(/[\\^$[\]*+?{}()]/g, "").slice(0, 6) + s.slice(0, rnd(3));
        expect([p, s, js.test(s)]).toEqual([p, s, re2.matches(s)]);
      }
    }
  });
});

test("a RegExp pattern stays linear: [a-z]*b against 30,000 a's completes, no match", () => {
  const c = compileRe2("[a-z]*b");
  if (!c.ok) throw new Error(c.error);
  expect(c.regex.test("a".repeat(30_000))).toBe(false);
  expect(c.regex.test("a".repeat(30_000) + "b")).toBe(true);
});

// A fast path for the simplest RE2 patterns: those for which JavaScript's
// backtracking RegExp provably runs in linear time and means exactly what RE2
// means, so the full-match `test` of a route regex such as `/items/[0-9]+` costs
// a RegExp's ~60 ns instead of re2js's ~300 ns. Anything else is left to re2js.
//
// The patterns accepted: a sequence of single-character atoms (an ASCII literal,
// an escaped ASCII punctuation character, `.`, `\d`, `\w`, or a class `[...]` of
// ASCII literals, ranges between ASCII letters or digits, `\d`, `\w` and escaped
// punctuation), each optionally quantified, where AT MOST ONE quantifier has a
// variable count (`*`, `+`, `?`, `{m,}`, `{m,n}` with m < n, greedy or lazy; `{n}` is
// fixed); optionally a leading `^` and a trailing `$`. No groups, alternation,
// flags, anchors elsewhere, word boundaries or non-ASCII characters.
//
// Why linear (the soundness argument): the RegExp is `^(?:P)$`. Without groups
// or alternation, the only choice points a backtracking matcher creates are
// the counts a variable quantifier may take: one quantifier over a single-
// character atom offers at most n + 1 counts for an input of n characters, and
// every other atom consumes a fixed number of characters, matched
// deterministically in O(|P|). So a match attempt from position 0 costs
// O(n · |P|), and an attempt from any later position fails at `^` in O(1):
// O(n · |P|) in all. Two variable quantifiers would give O(n²) (`a*a*b`), a
// quantified group exponential (`(a+)+`): both are refused.
//
// Why the same meaning: every atom is translated to an explicit JavaScript
// class with RE2's definition (`.` → `[^\n]`, RE2 excludes only `\n`, while
// JavaScript's `.` also excludes `\r`, U+2028, U+2029; `\d` → `[0-9]`, `\w` →
// `[0-9A-Za-z_]`), compiled with the `u` flag so a class matches a code point as
// RE2 does. test/unit/regex-fast.test.ts checks both engines agree on random
// patterns and inputs.

const FIXED_MAX = 100;

/** ASCII punctuation RE2 lets you escape to mean itself. */
const PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
/** Characters that are metacharacters outside a class (never literals unescaped). */
const META = "\\.+*?()|[]{}^$";

function isAsciiPrintable(c: string): boolean {
  return c >= " " && c <= "~";
}

/** JavaScript's syntax characters: the only ones `u` mode lets you escape (`-` too, in a class). */
const JS_SYNTAX = "^$\\.*+?()[]{}|/";

/** A literal ASCII character as JavaScript `u`-mode source. */
function lit(c: string, inClass: boolean): string {
  return JS_SYNTAX.includes(c) || (inClass && c === "-") ? "\\" + c : c;
}

/** Translate the class starting at re[i] === "[": [source, next index] or null. */
function classAt(re: string, i: number): [string, number] | null {
  let j = i + 1;
  let out = "[";
  if (re[j] === "^") {
    out += "^";
    j++;
  }
  let items = 0;
  while (j < re.length && re[j] !== "]") {
    const c = re[j]!;
    let item: string;
    if (c === "\\") {
      const e = re[j + 1];
      if (e === undefined) return null;
      if (e === "d") item = "0-9";
      else if (e === "w") item = "0-9A-Za-z_";
      else if (PUNCT.includes(e)) item = lit(e, true);
      else return null;
      j += 2;
      items++;
      out += item;
      continue;
    }
    if (!isAsciiPrintable(c) || c === "[" || c === "^" || c === "-" || c === " ") return null;
    // a range between two letters or digits of one kind
    if (re[j + 1] === "-" && re[j + 2] !== undefined && re[j + 2] !== "]") {
      const d = re[j + 2]!;
      const sameKind = (c >= "0" && c <= "9" && d >= "0" && d <= "9") || (c >= "a" && c <= "z" && d >= "a" && d <= "z") || (c >= "A" && c <= "Z" && d >= "A" && d <= "Z");
      if (!sameKind || d < c) return null;
      out += c + "-" + d;
      j += 3;
      items++;
      continue;
    }
    out += lit(c, true);
    j++;
    items++;
  }
  if (j >= re.length || items === 0) return null;
  return [out + "]", j + 1];
}

/** Quantifier at re[i], if any: [source, variable?, next index]; null: malformed or too large. */
function quantAt(re: string, i: number): [string, boolean, number] | null {
  const c = re[i];
  let q: string;
  let variable: boolean;
  let j: number;
  if (c === "*" || c === "+" || c === "?") {
    q = c;
    variable = true;
    j = i + 1;
  } else if (c === "{") {
    const m = /^\{([0-9]{1,3})(,([0-9]{0,3}))?\}/.exec(re.slice(i));
    if (m === null) return null; // RE2 reads `{,2}` and friends as literals: not here
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : m[3] === "" ? Infinity : Number(m[3]);
    if (hi < lo || lo > FIXED_MAX || (hi !== Infinity && hi > FIXED_MAX)) return null;
    q = m[0];
    variable = hi !== lo;
    j = i + m[0].length;
  } else return ["", false, i];
  if (re[j] === "?") {
    q += "?"; // lazy: the same counts, tried in the other order
    j++;
  }
  if (re[j] === "*" || re[j] === "+" || re[j] === "?" || re[j] === "{") return null; // RE2 rejects `a**`
  return [q, variable, j];
}

/**
 * JavaScript source (for `^(?:…)$` with flag `u`) that matches exactly what the
 * RE2 pattern `re` fully matches, in linear time; null when `re` is outside the
 * shape above.
 */
export function linearJsSource(re: string): string | null {
  let i = 0;
  let end = re.length;
  if (re[0] === "^") i = 1;
  if (end > i && re[end - 1] === "$" && re[end - 2] !== "\\") end--;
  let out = "";
  let variables = 0;
  while (i < end) {
    const c = re[i]!;
    let atom: string;
    if (c === "[") {
      const k = classAt(re.slice(0, end), i);
      if (k === null) return null;
      [atom, i] = k;
    } else if (c === ".") {
      atom = "[^\\n]";
      i++;
    } else if (c === "\\") {
      const e = re[i + 1];
      if (e === undefined || i + 1 >= end) return null;
      if (e === "d") atom = "[0-9]";
      else if (e === "w") atom = "[0-9A-Za-z_]";
      else if (PUNCT.includes(e)) atom = lit(e, false);
      else return null;
      i += 2;
    } else if (isAsciiPrintable(c) && !META.includes(c)) {
      atom = lit(c, false);
      i++;
    } else return null;
    const q = quantAt(re.slice(0, end), i);
    if (q === null) return null;
    if (q[1] && ++variables > 1) return null;
    out += atom + q[0];
    i = q[2];
  }
  return out;
}

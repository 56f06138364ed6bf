// Istio regexes are RE2 (Envoy's safe_regex, full match). This translates the RE2
// syntax JavaScript spells differently (`(?P<n>`, `\A`, `\z`, `\Q…\E`, POSIX
// classes, leading `(?i)`, `\pL`) and rejects what RE2 does not have
// (backreferences, lookaround) or JavaScript cannot express, so a regex that
// passes here means the same thing it means to Envoy. Compiled with the `u` flag
// (RE2 matches code points) and anchored: `^(?:re)$`.

export type RegexResult = { ok: true; source: string; flags: string } | { ok: false; error: string };

const POSIX: Record<string, string> = {
  alnum: "a-zA-Z0-9",
  alpha: "a-zA-Z",
  ascii: "\\x00-\\x7F",
  blank: " \\t",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "A-Za-z0-9_",
  xdigit: "0-9A-Fa-f",
};

/** Characters JavaScript's `u` mode lets us escape with a backslash. */
const SYNTAX = new Set("^$\\.*+?()[]{}|/-".split(""));
const CLASS_ESCAPES = new Set("dDwWsSbBnrtfv".split(""));
const QUANT = /^\{[0-9]+(,[0-9]*)?\}/;

function escapeLiteral(ch: string, inClass: boolean): string {
  if (ch === "-" && !inClass) return ch; // `\-` is only valid inside a class in `u` mode
  return SYNTAX.has(ch) ? "\\" + ch : ch;
}

/** RE2 `\p{X}`: X is a general category (JS spells it the same) or a script (JS: `Script=X`). */
function unicodeClass(c: string, name: string): string {
  if (name.startsWith("^")) {
    c = c === "p" ? "P" : "p"; // RE2 `\p{^X}` is `\P{X}`
    name = name.slice(1);
  }
  const bare = `\\${c}{${name}}`;
  try {
    new RegExp(bare, "u");
    return bare;
  } catch {
    return `\\${c}{Script=${name}}`;
  }
}

/** Translate one escape starting at `re[i] === "\\"`; returns [text, next index] or an error. */
function escape(re: string, i: number, inClass: boolean): [string, number] | string {
  const c = re[i + 1];
  if (c === undefined) return "trailing backslash";
  if (c >= "1" && c <= "9") return "backreferences are not supported by RE2";
  if (CLASS_ESCAPES.has(c)) {
    if (inClass && (c === "b" || c === "B")) return `\\${c} inside a character class`;
    return ["\\" + c, i + 2];
  }
  switch (c) {
    case "A":
      return inClass ? "\\A inside a character class" : ["^", i + 2];
    case "z":
      return inClass ? "\\z inside a character class" : ["$", i + 2];
    case "a":
      return ["\\x07", i + 2];
    case "C":
    case "Z":
      return `\\${c} is not supported`;
    case "x": {
      if (re[i + 2] === "{") {
        const close = re.indexOf("}", i + 3);
        if (close < 0) return "unterminated \\x{";
        return [`\\u{${re.slice(i + 3, close)}}`, close + 1];
      }
      return ["\\x", i + 2];
    }
    case "p":
    case "P": {
      if (re[i + 2] === "{") {
        const close = re.indexOf("}", i + 3);
        if (close < 0) return `unterminated \\${c}{`;
        return [unicodeClass(c, re.slice(i + 3, close)), close + 1];
      }
      const name = re[i + 2];
      if (name === undefined || !/[A-Za-z]/.test(name)) return `invalid \\${c}`;
      return [unicodeClass(c, name), i + 3];
    }
  }
  if (/[A-Za-z0-9]/.test(c)) return `unknown escape \\${c}`;
  return [escapeLiteral(c, inClass), i + 2];
}

/** Translate an RE2 pattern to a JavaScript source + flags (not yet anchored). */
export function translateRe2(re: string): RegexResult {
  let out = "";
  let flags = "u";
  let i = 0;
  // A leading flag group `(?i)`, `(?s)`, `(?is)` applies to the whole pattern.
  const lead = /^\(\?([ims]+)\)/.exec(re);
  if (lead !== null) {
    for (const f of lead[1]!) if (!flags.includes(f)) flags += f;
    i = lead[0].length;
  }
  let inClass = false;
  let classStart = -1;
  while (i < re.length) {
    const ch = re[i]!;
    if (ch === "\\") {
      if (!inClass && re[i + 1] === "Q") {
        let end = re.indexOf("\\E", i + 2);
        if (end < 0) end = re.length;
        for (const lit of re.slice(i + 2, end)) out += escapeLiteral(lit, false);
        i = end + 2;
        continue;
      }
      const e = escape(re, i, inClass);
      if (typeof e === "string") return { ok: false, error: e };
      out += e[0];
      i = e[1];
      continue;
    }
    if (inClass) {
      if (ch === "[" && re[i + 1] === ":") {
        const close = re.indexOf(":]", i + 2);
        if (close > 0) {
          const name = re.slice(i + 2, close);
          if (name.startsWith("^")) return { ok: false, error: `negated POSIX class [:${name}:] is not supported` };
          const cls = POSIX[name];
          if (cls === undefined) return { ok: false, error: `unknown POSIX class [:${name}:]` };
          out += cls;
          i = close + 2;
          continue;
        }
      }
      if (ch === "]" && i === classStart) {
        out += "\\]"; // RE2: `]` first in a class is a literal
        i++;
        continue;
      }
      if (ch === "]") inClass = false;
      out += ch === "[" ? "\\[" : ch;
      i++;
      continue;
    }
    switch (ch) {
      case "[":
        inClass = true;
        out += "[";
        i++;
        if (re[i] === "^") {
          out += "^";
          i++;
        }
        classStart = i;
        continue;
      case "(": {
        if (re[i + 1] !== "?") break;
        const rest = re.slice(i + 2);
        if (rest.startsWith("P<")) {
          out += "(?<";
          i += 4;
          continue;
        }
        if (rest.startsWith("=") || rest.startsWith("!") || rest.startsWith("<=") || rest.startsWith("<!")) {
          return { ok: false, error: "lookahead and lookbehind are not supported by RE2" };
        }
        if (rest.startsWith("P=") || rest.startsWith("P>")) return { ok: false, error: "named backreferences are not supported by RE2" };
        const fl = /^([a-zA-Z-]*)([:)])/.exec(rest);
        if (fl !== null && fl[1] !== "") {
          if (!/^[ims]*(-[ims]*)?$/.test(fl[1]!)) return { ok: false, error: `unsupported flags (?${fl[1]})` };
          if (fl[2] === ")") return { ok: false, error: `flags (?${fl[1]}) are only supported at the start; use (?${fl[1]}:...)` };
        }
        break;
      }
      case "{":
        if (!QUANT.test(re.slice(i))) {
          out += "\\{";
          i++;
          continue;
        }
        {
          const q = QUANT.exec(re.slice(i))![0];
          out += q;
          i += q.length;
          continue;
        }
      case "}":
        out += "\\}";
        i++;
        continue;
    }
    out += ch;
    i++;
  }
  if (inClass) return { ok: false, error: "missing closing ]" };
  return { ok: true, source: out, flags };
}

/** Translate and compile as a full match. */
export function compileRe2(re: string): { ok: true; regex: RegExp } | { ok: false; error: string } {
  if (re.length > 1024) return { ok: false, error: "regex is longer than 1024 characters" };
  const t = translateRe2(re);
  if (!t.ok) return t;
  try {
    return { ok: true, regex: new RegExp(`^(?:${t.source})$`, t.flags) };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { ok: false, error: msg.replace(/^Invalid regular expression: /, "") };
  }
}

const META = new Set("\\^$.|?*+()[]{}".split(""));

/**
 * A literal every path matching the (full-match) RE2 pattern starts with, or
 * "": `/items/[0-9]+` → `/items/`, `/api/v1/.*` → `/api/v1/`, `a|b` → "".
 * Lets the path index test a regex route only on paths with that prefix.
 */
export function regexLiteralPrefix(re: string): string {
  // top-level alternation or leading flags: no common prefix worth finding
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) return "";
  }
  let i = re.startsWith("^") ? 1 : 0;
  let out = "";
  while (i < re.length) {
    const c = re[i]!;
    let lit: string;
    let next: number;
    if (c === "\\") {
      const e = re[i + 1];
      if (e === undefined || /[A-Za-z0-9]/.test(e)) break; // a class (\d, \w) or special escape
      lit = e;
      next = i + 2;
    } else if (META.has(c)) break;
    else {
      lit = c;
      next = i + 1;
    }
    const q = re[next];
    if (q === "?" || q === "*" || q === "{") break; // this character may be absent
    out += lit;
    if (q === "+") break; // repeated: what follows is not at a fixed place
    i = next;
  }
  return out;
}

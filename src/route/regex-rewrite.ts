// rewrite.uriRegexRewrite as Envoy's regex_rewrite runs it: RE2::GlobalReplace
// of the pattern over the path (every non-overlapping match, not a full
// match), `\1`..`\9` naming groups, `\0` the whole match, `\\` a backslash.
// The pattern is compiled by decode/regex.ts (RE2, linear time), whose
// CompiledRegex.replaceAll does the replacing; this file checks the
// substitution as Envoy does when it loads the route (RE2::CheckRewriteString).
import { RE2JS } from "re2js";
import { compileRe2 } from "../decode/regex.ts";
import type { RegexRewrite } from "../snapshot/types.ts";

export type RegexRewriteResult = { ok: true; rewrite: RegexRewrite } | { ok: false; error: string };

/** Compile once (decode checks, compile stores it in the snapshot). */
export function compileRegexRewrite(pattern: string, substitution: string): RegexRewriteResult {
  const c = compileRe2(pattern);
  if (!c.ok) return c;
  let groups: number;
  try {
    groups = RE2JS.compile(pattern).groupCount();
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const bad = checkSubstitution(substitution, groups);
  if (bad !== "") return { ok: false, error: bad };
  return { ok: true, rewrite: { pattern, regex: c.regex, substitution } };
}

/** RE2::CheckRewriteString: only `\0`..`\9` (up to the group count) and `\\` are escapes. */
function checkSubstitution(s: string, groups: number): string {
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "\\") continue;
    const c = s[i + 1];
    if (c === undefined) return "the substitution ends with a lone backslash";
    if (c === "\\") {
      i++;
      continue;
    }
    if (c < "0" || c > "9") return `invalid escape \\${c} in the substitution (use \\0..\\9 or \\\\)`;
    if (Number(c) > groups) return `the substitution uses \\${c} but the regex has ${groups} capture group${groups === 1 ? "" : "s"}`;
    i++;
  }
  return "";
}

/** The path with every match replaced; the path itself when nothing matches. */
export function applyRegexRewrite(rw: RegexRewrite, path: string): string {
  return rw.regex.replaceAll(path, rw.substitution);
}

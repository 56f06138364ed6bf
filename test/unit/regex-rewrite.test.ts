// rewrite.uriRegexRewrite: RE2::GlobalReplace semantics, `\N` groups, and the
// substitution checks Envoy makes when it loads the route.
import { describe, expect, test } from "bun:test";
import { applyRegexRewrite, compileRegexRewrite } from "../../src/route/regex-rewrite.ts";

function rewrite(pattern: string, sub: string, path: string): string {
  const c = compileRegexRewrite(pattern, sub);
  if (!c.ok) throw new Error(c.error);
  return applyRegexRewrite(c.rewrite, path);
}

describe("uriRegexRewrite", () => {
  const cases: [string, string, string, string][] = [
    // Istio's documented example: swap two path elements
    ["^/service/([^/]+)(/.*)$", "\\2/instance/\\1", "/service/foo/v1/api", "/v1/api/instance/foo"],
    // every match is replaced, not only a full match
    ["one", "two", "/xxx/one/yyy/one/zzz", "/xxx/two/yyy/two/zzz"],
    ["/+", "/", "/a//b///c", "/a/b/c"],
    // no match: the path as it was
    ["^/nothing", "/x", "/api/v1", "/api/v1"],
    // \0 is the whole match, \\ a backslash
    ["[0-9]+", "<\\0>", "/items/42/x/7", "/items/<42>/x/<7>"],
    ["a", "\\\\", "/a", "/\\"],
    // an empty match right after a match is skipped (RE2), where JS's replace would add one more
    ["a*", "-", "aaa", "-"],
    ["x*", "-", "abc", "-a-b-c-"],
    // RE2 syntax JavaScript spells differently
    ["^/(?P<ver>v[0-9])/(.*)$", "/\\2?version=\\1", "/v2/users", "/users?version=v2"],
    ["(?i)/API", "/api", "/Api/x", "/api/x"],
    // `$` in the substitution is literal (not a JS replacement pattern)
    ["/price", "/$1", "/price", "/$1"],
  ];
  for (const [pattern, sub, path, want] of cases) {
    test(`${pattern} → ${sub} on ${path}`, () => expect(rewrite(pattern, sub, path)).toBe(want));
  }

  const bad: [string, string, RegExp][] = [
    ["/(a)", "\\2", /uses \\2 but the regex has 1 capture group/],
    ["/a", "\\q", /invalid escape/],
    ["/a", "x\\", /lone backslash/],
    ["/(a", "x", /./],
    ["(a)\\1", "x", /backreferences/],
  ];
  for (const [pattern, sub, why] of bad) {
    test(`refused: ${pattern} → ${sub}`, () => {
      const c = compileRegexRewrite(pattern, sub);
      expect(c.ok).toBe(false);
      if (!c.ok) expect(c.error).toMatch(why);
    });
  }

  test("the compiled regex is reused across calls (no lastIndex left behind)", () => {
    const c = compileRegexRewrite("b", "c");
    if (!c.ok) throw new Error(c.error);
    expect(applyRegexRewrite(c.rewrite, "/abab")).toBe("/acac");
    expect(applyRegexRewrite(c.rewrite, "/b")).toBe("/c");
  });
});

import { describe, expect, test } from "bun:test";
import { compileRe2, regexLiteralPrefix } from "../../src/decode/regex.ts";

/** [RE2 pattern, input, full match?] */
const MATCHES: [string, string, boolean][] = [
  ["/status/[0-9]+", "/status/200", true],
  ["/status/[0-9]+", "/status/200/x", false], // full match, as Envoy's safe_regex
  ["/status/[0-9]+", "x/status/200", false],
  ["a|b", "a", true],
  ["a|b", "ab", false], // anchoring wraps the alternation
  ["(?i)/Admin.*", "/ADMIN/x", true],
  ["(?i:ab)c", "ABc", true],
  ["(?P<id>[0-9]+)", "42", true],
  ["\\A/x\\z", "/x", true],
  ["[[:digit:]]+", "123", true],
  ["[[:alpha:]_]+", "ab_c", true],
  ["\\pL+", "héllo", true],
  ["\\p{Greek}+", "αβγ", true],
  ["\\p{^Greek}+", "abc", true],
  ["\\Q.*+\\E", ".*+", true],
  ["\\Q.*+\\E", "aaa", false],
  ["a\\-b", "a-b", true],
  ["[]a]+", "]a]", true],
  ["x{2}", "xx", true],
  ["a{,2}", "a{,2}", true], // RE2: not a quantifier, literal
  [".", "😀", true], // code points, as RE2 over UTF-8
  ["/api/v[12]/.*", "/api/v2/users", true],
  ["*", "", false], // a lone * is invalid (decode turns header regex "*" into presence first)
];

describe("RE2 regexes compile to anchored JavaScript with the same meaning", () => {
  for (const [re, input, want] of MATCHES) {
    test(`${re} ${want ? "matches" : "does not match"} ${JSON.stringify(input)}`, () => {
      const c = compileRe2(re);
      if (re === "*") {
        expect(c.ok).toBe(false);
        return;
      }
      if (!c.ok) throw new Error(c.error);
      expect(c.regex.test(input)).toBe(want);
    });
  }
});

const REJECTED: [string, string][] = [
  ["(?=a)a", "lookahead"],
  ["(?<!a)b", "lookahead and lookbehind"],
  ["(a)\\1", "backreferences"],
  ["(?P=n)", "named backreferences"],
  ["a(?i)b", "only supported at the start"],
  ["(?U)a+", "unsupported flags"],
  ["[[:^alpha:]]", "negated POSIX"],
  ["[[:nope:]]", "unknown POSIX"],
  ["\\Z", "not supported"],
  ["(a", ""],
  ["[a", "missing closing ]"],
  ["a".repeat(1025), "longer than 1024"],
];

describe("RE2 syntax JavaScript lacks, or RE2 rejects, is an error", () => {
  for (const [re, msg] of REJECTED) {
    test(`${re.slice(0, 20)} → ${msg || "invalid"}`, () => {
      const c = compileRe2(re);
      expect(c.ok).toBe(false);
      if (!c.ok) expect(c.error).toContain(msg);
    });
  }
});

describe("a regex's literal prefix lets the path index skip it", () => {
  const cases: [string, string][] = [
    ["/items/[0-9]+", "/items/"],
    ["/api/v1/.*", "/api/v1/"],
    ["^/foo", "/foo"],
    ["/x\\.y/z", "/x.y/z"],
    ["ab*c", "a"], // b may be absent
    ["ab+c", "ab"],
    ["/a?b", "/"],
    ["/status/(200|404)", "/status/"],
    ["a|b", ""], // top-level alternation
    ["(?i)/abc", ""], // flags change what the literal means
    ["\\d+", ""],
    ["[/]abc", ""],
  ];
  for (const [re, prefix] of cases) test(`${re} → ${JSON.stringify(prefix)}`, () => expect(regexLiteralPrefix(re)).toBe(prefix));
});

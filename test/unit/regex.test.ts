import { describe, expect, test } from "bun:test";
import { compileRe2, regexLiteralPrefix, reviveRegexes } from "../../src/decode/regex.ts";

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
  // RE2 syntax JavaScript could not express, valid since the engine is RE2's
  ["a(?i)b", "aB", true],
  ["a(?i)b", "Ab", false],
  ["(?U)a+", "aaa", true],
  ["[[:^alpha:]]+", "12", true],
  ["[[:^alpha:]]+", "1a", false],
  ["(?s:.)", "\n", true],
  [".", "\n", false],
];

describe("RE2 regexes are full matches with RE2's meaning", () => {
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
  ["[[:nope:]]", "invalid character class range"],
  ["\\Z", "invalid escape sequence"],
  ["a{1001}", "invalid repeat count"],
  ["(a", "missing closing )"],
  ["[a", "missing closing ]"],
  ["a".repeat(1025), "longer than 1024"],
];

describe("what RE2 rejects is an error, in RE2's words", () => {
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

describe("linear time: no catastrophic backtracking (issue 13 B7)", () => {
  test("(a+)+$ against 30,000 a's and a ! completes, without a match", () => {
    const c = compileRe2("(a+)+$");
    if (!c.ok) throw new Error(c.error);
    const evil = "a".repeat(30_000) + "!";
    for (let i = 0; i < 3; i++) expect(c.regex.test(evil)).toBe(false);
    expect(c.regex.test("a".repeat(30_000))).toBe(true);
  });
  test("(x+x+)+y and (.*a){12} too", () => {
    for (const [re, input] of [["(x+x+)+y", "x".repeat(5_000)], ["(.*a){12}", "a".repeat(5_000) + "b"]] as const) {
      const c = compileRe2(re);
      if (!c.ok) throw new Error(c.error);
      expect(c.regex.test(input)).toBe(false);
    }
  });
});

describe("rewrites: every match replaced, Envoy's \\N groups", () => {
  const cases: [string, string, string, string][] = [
    ["^/service/([^/]+)(/.*)$", "\\2/instance/\\1", "/service/foo/v1/api", "/v1/api/instance/foo"],
    ["one", "two", "/xxx/one/yyy/one/zzz", "/xxx/two/yyy/two/zzz"],
    ["^(.*?)one(.*)$", "\\1two\\2", "/xxx/one/yyy/one/zzz", "/xxx/two/yyy/one/zzz"],
    ["(?i)/v1/", "/$v2/", "/V1/x", "/$v2/x"],
    // RE2's GlobalReplace: \0 the whole match, \\ a backslash, no empty match right after a match
    ["[0-9]+", "<\\0>", "/items/42/x/7", "/items/<42>/x/<7>"],
    ["a", "\\\\", "/a", "/\\"],
    ["a*", "-", "aaa", "-"],
    ["x*", "-", "abc", "-a-b-c-"],
  ];
  for (const [re, sub, input, want] of cases) {
    test(`${re} → ${sub}`, () => {
      const c = compileRe2(re);
      if (!c.ok) throw new Error(c.error);
      expect(c.regex.replaceAll(input, sub)).toBe(want);
    });
  }
});

describe("after postMessage a compiled regex is revived with its engine", () => {
  test("structuredClone drops the engine; reviveRegexes restores it in place", () => {
    const c = compileRe2("/items/[0-9]+");
    if (!c.ok) throw new Error(c.error);
    const uri = { kind: "regex", source: "/items/[0-9]+", regex: c.regex };
    const rewrite = { match: c.regex, substitution: "/x" };
    const table = { virtualHosts: [{ routes: [{ name: "r", source: "s", matches: [{ uri, scheme: null, method: null, authority: null, headers: [{ name: "x", match: uri }], withoutHeaders: [], queryParams: [] }], action: { rewrite } }] }] };
    const snap = { listeners: [{ routeTable: table, tls: { chains: [{ routeTable: table }] } }] };
    const clone = structuredClone(snap) as unknown as typeof snap;
    const route = clone.listeners[0]!.routeTable.virtualHosts[0]!.routes[0]!;
    expect(typeof (route.matches[0]!.uri.regex as { test?: unknown }).test).toBe("undefined");
    reviveRegexes(clone.listeners as never);
    expect(route.matches[0]!.uri.regex.test("/items/42")).toBe(true);
    expect(route.matches[0]!.uri.regex.test("/items/x")).toBe(false);
    expect(route.matches[0]!.headers[0]!.match.regex.test("/items/1")).toBe(true);
    expect(route.action.rewrite.match.replaceAll("/items/7", "/i")).toBe("/i"); // a regex elsewhere in a route
  });
});

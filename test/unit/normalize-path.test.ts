// Istio's pathNormalization modes as tables: Istio's own integration tables
// (tests/integration/security/normalization_test.go) and Envoy's
// path_utility_test.cc cases, plus what gangway adds (invalid escapes → 400).
import { describe, expect, test } from "bun:test";
import { normalizePath, type PathNormalization } from "../../src/route/normalize-path.ts";

type Row = [input: string, want: string | null];

/** Each row: [input, NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES]; null = 400. */
const ISTIO: [string, string, string, string, string][] = [
  ["/", "/", "/", "/", "/"],
  ["/app/", "/app/", "/app/", "/app/", "/app/"],
  ["/app/../admin", "/app/../admin", "/admin", "/admin", "/admin"],
  ["/app", "/app", "/app", "/app", "/app"],
  ["/app//", "/app//", "/app//", "/app/", "/app/"],
  ["/app/%2f", "/app/%2f", "/app/%2f", "/app/%2f", "/app/"],
  ["/app%2f/", "/app%2f/", "/app%2f/", "/app%2f/", "/app/"],
  ["/xyz%30..//abc", "/xyz%30..//abc", "/xyz0..//abc", "/xyz0../abc", "/xyz0../abc"],
  ["/app/%2E./admin", "/app/%2E./admin", "/admin", "/admin", "/admin"],
  ["/app\\admin", "/app\\admin", "/app/admin", "/app/admin", "/app/admin"],
  ["/app/\\/\\/\\admin", "/app/\\/\\/\\admin", "/app//////admin", "/app/admin", "/app/admin"],
  ["/%2Fapp%5cadmin%5Cabc", "/%2Fapp%5cadmin%5Cabc", "/%2Fapp%5cadmin%5Cabc", "/%2Fapp%5cadmin%5Cabc", "/app/admin/abc"],
  [
    "/%5Capp%2f%5c%2F%2e%2e%2fadmin%5c\\abc",
    "/%5Capp%2f%5c%2F%2e%2e%2fadmin%5c\\abc",
    "/%5Capp%2f%5c%2F..%2fadmin%5c/abc",
    "/%5Capp%2f%5c%2F..%2fadmin%5c/abc",
    "/app/admin/abc",
  ],
  ["/app//../admin", "/app//../admin", "/app/admin", "/app/admin", "/app/admin"],
  ["/app//../../admin", "/app//../../admin", "/admin", "/admin", "/admin"],
];

const MODES: PathNormalization[] = ["NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"];

describe("Istio's normalization table, per mode", () => {
  for (const row of ISTIO) {
    MODES.forEach((mode, k) => {
      test(`${mode} ${row[0]} → ${row[k + 1]}`, () => expect(normalizePath(row[0], mode)).toBe(row[k + 1]!));
    });
  }
});

const DECODE_ONLY: Row[] = [
  ["/%c0%2e%c0%2e/admin", "/%c0.%c0./admin"],
  ["/%c0%2fadmin", "/%c0/admin"],
  // not normalized (Istio's "NotNormalized" group)
  ["/0x2e0x2e/admin", "/0x2e0x2e/admin"],
  ["/%25c0%25afadmin", "/%25c0%25afadmin"],
  ["/%252e%252e/admin", "/%252e%252e/admin"],
  ["/%c0%ae%c0%ae/admin", "/%c0%ae%c0%ae/admin"],
  ["/.../admin", "/.../admin"],
  ["/..;/admin", "/..;/admin"],
  ["/admin;a=b/xyz", "/admin;a=b/xyz"],
  ["/ADMIN", "/ADMIN"],
  ["/admin%00", null],
];

describe("DECODE_AND_MERGE_SLASHES: Istio's decoded and not-normalized rows", () => {
  for (const [input, want] of DECODE_ONLY) test(`${input} → ${want}`, () => expect(normalizePath(input, "DECODE_AND_MERGE_SLASHES")).toBe(want));
});

describe("DECODE_AND_MERGE_SLASHES: every escape %01..%ff (Istio's PercentEncoded group)", () => {
  const decoded = (i: number) => (i >= 0x30 && i <= 0x39) || (i >= 0x41 && i <= 0x5a) || (i >= 0x61 && i <= 0x7a) || [0x2d, 0x2e, 0x2f, 0x5c, 0x5f, 0x7e].includes(i);
  test("unreserved characters and slashes decoded, the rest kept as sent", () => {
    for (let i = 1; i <= 0xff; i++) {
      const input = `/admin%${i.toString(16).padStart(2, "0")}`;
      const want = decoded(i) ? `/admin${i === 0x5c ? "/" : String.fromCharCode(i)}` : input;
      expect([input, normalizePath(input, "DECODE_AND_MERGE_SLASHES")]).toEqual([input, want]);
    }
  });
});

const BASE: Row[] = [
  // Envoy's path_utility_test.cc
  ["/xyz", "/xyz"],
  ["/a/b/../c", "/a/c"],
  ["/a/b/./c", "/a/b/c"],
  ["/a/b/../../../../c", "/c"],
  ["/a/..\\c", "/c"],
  ["/%c0%af", "/%c0%af"],
  ["/%5c%25", "/%5c%25"],
  ["/a/b/%2E%2E/c", "/a/c"],
  ["/a/b/%2E./c", "/a/c"],
  ["/a/b/%2E/c", "/a/b/c"],
  ["/../a/b", "/a/b"],
  ["/./a/b", "/a/b"],
  ["/A/B/C", "/A/B/C"],
  ["/a/%2F%2f/c", "/a/%2F%2f/c"], // hex case kept
  ["/xyz/.%00../abc", null],
  ["/xyz/%00.%00./abc", null],
  ["/xyz/AAAAA%%0000/abc", null],
  // the audit's bypasses
  ["/%70rivate", "/private"],
  ["/x/../private", "/private"],
  ["/x\\..\\private", "/private"],
  ["/%2e%2e/private", "/private"],
  ["/x/%2E%2e/private/", "/private/"],
  // trailing dot segments keep the directory's slash
  ["/a/b/..", "/a/"],
  ["/a/.", "/a/"],
  ["/a/./", "/a/"],
  ["/a/.b/c", "/a/.b/c"],
  ["/file%2ehtml", "/file.html"],
  ["//a//b", "//a//b"],
  // invalid escapes: 400 (Chromium would copy them)
  ["/a%zz", null],
  ["/a%4", null],
  ["/a%", null],
  ["/a%g1", null],
  // characters Chromium escapes; other escapes stay as sent
  ['/a"b<c>d^e`f{g|h}', "/a%22b%3Cc%3Ed%5Ee%60f%7Bg%7Ch%7D"],
  ["/a%7b%7B", "/a%7b%7B"],
  ["/%41%7e%2D%5f", "/A~-_"],
  ["/a;b=c,d@e:f!$&'()*+", "/a;b=c,d@e:f!$&'()*+"],
  // not paths: left alone
  ["*", "*"],
  ["", ""],
];

describe("BASE (Istio's default)", () => {
  for (const [input, want] of BASE) test(`${input} → ${want}`, () => expect(normalizePath(input, "BASE")).toBe(want));
});

describe("NONE leaves everything, invalid escapes included", () => {
  for (const input of ["/a/../b", "/%70", "/a%zz", "/a%00", "/a\\b"]) test(input, () => expect(normalizePath(input, "NONE")).toBe(input));
});

describe("nothing to normalize: the same string back", () => {
  const same = ["/", "/status/200", "/a/b.c/d", "/a.b", "/a-b_c~d", "/a//b"];
  for (const p of same) test(p, () => expect(Object.is(normalizePath(p, "BASE"), p)).toBe(true));
  test("MERGE_SLASHES still looks at //", () => expect(normalizePath("/a//b", "MERGE_SLASHES")).toBe("/a/b"));
});

describe("normalizing twice changes nothing more", () => {
  const inputs = [...ISTIO.map((r) => r[0]), ...BASE.map((r) => r[0]), ...DECODE_ONLY.map((r) => r[0])];
  for (const mode of MODES) {
    test(mode, () => {
      for (const input of inputs) {
        const once = normalizePath(input, mode);
        if (once === null) continue;
        expect([input, normalizePath(once, mode)]).toEqual([input, once]);
      }
    });
  }
});

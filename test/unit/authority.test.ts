// Host / :authority validation (issue 13 B6): reg-name or IP literal, numeric port.
import { describe, expect, test } from "bun:test";
import { MAX_HOST, validAuthority } from "../../src/route/authority.ts";

const VALID = [
  "",
  "a",
  "httpbin.example.com",
  "HTTPBIN.Example.COM",
  "a.example.com.",
  "a.example.com:80",
  "a.example.com:",
  "a.example.com:65535",
  "a.example.com:0",
  "127.0.0.1",
  "127.0.0.1:8080",
  "[::1]",
  "[::1]:443",
  "[2001:db8::8:800:200c:417a]",
  "[2001:db8:0:0:8:800:200c:417a]:8443",
  "[::ffff:192.0.2.1]",
  "[v1.fe80::a+en1]",
  "xn--bcher-kva.example",
  "a_b.example",
  "%41.example",
  "a!$&'()*+,;=~b",
  "a".repeat(MAX_HOST),
  "a".repeat(MAX_HOST) + ":80",
];

const INVALID = [
  "a example.com",
  "a.example.com/",
  "a.example.com/x",
  "a\\b",
  "a.example.com:@evil.com",
  "user@a.example.com",
  "h:80:90",
  "h:8o",
  "h:65536",
  "h:123456",
  "h: 80",
  ":80",
  "a.example.com\t",
  "a%zz",
  "a%4",
  "é.example",
  "a\"b",
  "a<b>",
  "a?b",
  "a#b",
  "[::1",
  "[]",
  "[::1]x",
  "[::1]:99999",
  "[1:2:3:4:5:6:7:8:9]",
  "[1::2::3]",
  "[::1%25eth0]",
  "[::ffff:300.0.0.1]",
  "[g::1]",
  "a".repeat(MAX_HOST + 1),
  "a".repeat(50_000),
];

describe("valid authorities", () => {
  for (const a of VALID) test(JSON.stringify(a.length > 40 ? `${a.slice(0, 20)}…(${a.length})` : a), () => expect(validAuthority(a)).toBe(true));
});

describe("invalid authorities", () => {
  for (const a of INVALID) test(JSON.stringify(a.length > 40 ? `${a.slice(0, 20)}…(${a.length})` : a), () => expect(validAuthority(a)).toBe(false));
});

// Regex routes in a real worker (issue 13 B7): the snapshot's compiled RE2
// regexes survive postMessage (revived on receipt) and a pathological pattern
// answers a hostile path at once instead of backtracking for seconds.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { compileRe2 } from "../../src/decode/regex.ts";
import type { StringMatch } from "../../src/snapshot/types.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { applyRoutesOnFreePort } from "./apply-config.ts";
import { uriMatch } from "./snapshot-fixture.ts";

function regex(source: string): StringMatch {
  const c = compileRe2(source);
  if (!c.ok) throw new Error(c.error);
  return { kind: "regex", source, regex: c.regex };
}

let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness();
  port = await applyRoutesOnFreePort(w, [
    { name: "evil", match: [uriMatch(regex("/(a+)+"))], action: { kind: "direct", status: 201, body: "evil" } },
    { name: "items", match: [uriMatch(regex("/items/[0-9]+"))], action: { kind: "direct", status: 202, body: "item" } },
    { name: "by-header", match: [uriMatch(null, { headers: [{ name: "x-v", match: regex("v[0-9]+") }] })], action: { kind: "direct", status: 203, body: "v" } },
  ]);
});

afterAll(() => w.stop());

async function status(path: string, extra = ""): Promise<number> {
  const r = await raw(port, `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}Connection: close\r\n\r\n`, undefined, 20_000);
  return Number(r.text.slice(9, 12));
}

test("regex routes match in the worker (full match)", async () => {
  expect(await status("/items/42")).toBe(202);
  expect(await status("/items/42/x")).toBe(404);
  expect(await status("/x", "x-v: v12\r\n")).toBe(203);
  expect(await status("/x", "x-v: v12a\r\n")).toBe(404);
  expect(await status("/aaa")).toBe(201);
});

test("(a+)+ against /aaa…(30k)…! is answered (404), the worker still serves", async () => {
  expect(await status("/" + "a".repeat(30_000) + "!")).toBe(404);
  expect(await status("/items/7")).toBe(202);
});

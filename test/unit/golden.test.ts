// Golden files: the walkthrough's YAML (test/golden/<case>/input.yaml, plus the
// httpbin sample) → snapshotToJSON (test/golden/<case>/snapshot.json).
// UPDATE_GOLDEN=1 bun test test/unit/golden.test.ts rewrites them; review the diff.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileSnapshot } from "../../src/compile/index.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import { snapshotToJSON } from "../../src/snapshot/dump.ts";
import { options } from "./pipeline-helpers.ts";

const GOLDEN = join(import.meta.dir, "..", "golden");
const update = process.env.UPDATE_GOLDEN === "1";

function render(dir: string): string {
  // paths relative to test/golden, so findings read the same on every machine
  const files = ["httpbin.yaml", `${dir}/input.yaml`].map((p) => ({ path: p, text: readFileSync(join(GOLDEN, p), "utf8") }));
  const { resources, errors } = decodeFiles(files);
  expect(errors).toEqual([]);
  const snap = compileSnapshot(resources, options(), 1);
  const json = snapshotToJSON({ ...snap, createdAt: "2020-05-21T03:22:50.000Z" });
  return JSON.stringify(json, null, 2) + "\n";
}

describe("golden: walkthrough configuration → config dump", () => {
  const cases = readdirSync(GOLDEN, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(GOLDEN, d.name, "input.yaml")));
  test("there are cases", () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    test(c.name, () => {
      const out = render(c.name);
      const file = join(GOLDEN, c.name, "snapshot.json");
      if (update || !existsSync(file)) {
        writeFileSync(file, out);
        if (!update) throw new Error(`${file} was missing and has been written: review it, then run again`);
        return;
      }
      expect(out).toBe(readFileSync(file, "utf8"));
    });
  }
});

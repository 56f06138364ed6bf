// Every shipped example configuration loads and analyzes without a finding.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { defaultOptions } from "../../src/cli/args.ts";
import { formatFinding, loadAndBuild } from "../../src/primary/pipeline.ts";

const CONFIG = join(import.meta.dir, "..", "..", "config");
const steps = readdirSync(join(CONFIG, "walkthrough")).sort();

describe("config/ examples", () => {
  test.each([["quickstart", [join(CONFIG, "quickstart")]] as const, ...steps.map((s) => [s, [join(CONFIG, "backends"), join(CONFIG, "walkthrough", s)]] as const)])(
    "%s: no findings",
    (_name, dirs) => {
      const o = { ...defaultOptions(), configDirs: [...dirs] };
      const built = loadAndBuild(o, 1);
      expect(built.ok ? built.snapshot.findings.map(formatFinding) : built.errors.map(formatFinding)).toEqual([]);
      if (built.ok) expect(built.snapshot.listeners.length).toBeGreaterThan(0);
    },
  );
});

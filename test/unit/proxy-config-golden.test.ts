// proxy-config tables for the walkthrough's configurations, as golden files
// (UPDATE_GOLDEN=1 rewrites them).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultOptions } from "../../src/cli/args.ts";
import { render } from "../../src/cli/proxy-config.ts";
import { loadAndBuild } from "../../src/primary/pipeline.ts";
import { snapshotToJSON } from "../../src/snapshot/dump.ts";

const ROOT = join(import.meta.dir, "..", "..");
const GOLDEN = join(ROOT, "test/golden/proxy-config");
const CASES: [string, string[]][] = [
  ["http-gateway", ["config/quickstart"]],
  ["tls-multi-host", ["config/backends", "config/walkthrough/06-tls-multi-host"]],
  ["ingress", ["config/backends", "config/walkthrough/03-ingress"]],
];

describe("proxy-config golden tables", () => {
  test.each(CASES)("%s", (name, dirs) => {
    const built = loadAndBuild({ ...defaultOptions(), configDirs: dirs.map((d) => join(ROOT, d)) }, 1);
    if (!built.ok) throw new Error("does not load");
    const dump = snapshotToJSON(built.snapshot) as Record<string, any>;
    // validity depends on the clock; the rest is stable
    const text = ["listeners", "routes", "clusters", "endpoints", "secrets"]
      .map((k) => `## ${k}\n${render(k, dump).replace(/\b(ACTIVE\s+)(true|false)(\s+)\S+(\s+)\S+(\s+)\S+/g, "$1$2$3SERIAL$4NOT_AFTER$5NOT_BEFORE")}`)
      .join("\n");
    const file = join(GOLDEN, `${name}.txt`);
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, "utf8"));
  });
});

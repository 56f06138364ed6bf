// `gateway analyze --config DIR`: load and compile, print every finding; exit 1
// when any is an Error (a document that does not load counts as one).
import { stringify } from "yaml";
import { UsageError, type Options } from "./args.ts";
import { formatFinding, loadAndBuild } from "../primary/pipeline.ts";
import type { Finding } from "../snapshot/types.ts";

export function analyzeCommand(o: Options): number {
  const format = o.extra.get("-o")?.at(-1) ?? "text";
  if (!["text", "json", "yaml"].includes(format)) throw new UsageError("analyze: -o is text, json or yaml");
  const built = loadAndBuild(o, 1);
  const findings: Finding[] = built.ok ? built.snapshot.findings : built.errors;
  const errors = findings.filter((f) => f.level === "Error").length;
  if (format === "json") process.stdout.write(JSON.stringify(findings, null, 2) + "\n");
  else if (format === "yaml") process.stdout.write(stringify(findings));
  else if (findings.length === 0) process.stdout.write("✔ No validation issues found when analyzing the configuration.\n");
  else for (const f of findings) process.stdout.write(formatFinding(f) + "\n");
  return errors > 0 ? 1 : 0;
}

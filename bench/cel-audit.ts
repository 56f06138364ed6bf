// For every distinct CEL rule of the CRDs gangway reads (bench/cel-rules.ts), one object
// violating it and the nearest object satisfying it, decoded as gangway decodes files:
// is the violation an Error, and is the valid object clean?
//   bun bench/cel-audit.ts [/work/schemasrc] [--md] [--json]
// The originals are not in the repository (schemas/README.md); the inputs are here.
import { stringify } from "yaml";
import { decodeFiles } from "../src/decode/index.ts";
import { celRules } from "./cel-rules.ts";
import { caseFor, documentFor, type Case, type CelRow as Row } from "../test/helpers/cel-cases.ts";

export type Result = { row: Row; c: Case; bad: string[]; good: string[] };

function findings(doc: Record<string, unknown>): string[] {
  const { errors } = decodeFiles([{ path: "cel.yaml", text: stringify(doc) }]);
  return errors.map((e) => `${e.code} ${e.field ?? ""}: ${e.message}`);
}

export function audit(src: string): Result[] {
  return celRules(src).map((row) => {
    const c = caseFor(row);
    return { row, c, bad: findings(documentFor(row, c, "bad")), good: findings(documentFor(row, c, "good")) };
  });
}

if (import.meta.main) {
  const src = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "/work/schemasrc";
  const results = audit(src);
  const beforeArg = process.argv.find((a) => a.startsWith("--before="));
  if (process.argv.includes("--md")) {
    const before: { bad: string[] }[] | null = beforeArg === undefined ? null : JSON.parse(await Bun.file(beforeArg.slice(9)).text());
    const cell = (t: string) => t.replace(/\|/g, "\\|").replace(/\s+/g, " ");
    console.log("| # | kind | field (`self`) | versions | CEL rule | CRD message | covered by |");
    console.log("|---|---|---|---|---|---|---|");
    results.forEach((x, i) => {
      const was = before?.[i]?.bad ?? [];
      const own = x.bad.find((b) => b.endsWith(`: ${x.row.message}`));
      const cover = x.c.na !== undefined ? `n/a: ${x.c.na}${was.length > 0 ? ` (refused anyway: ${was[0]})` : ""}`
        : was.length > 0 ? `before: ${was[0]}`
        : own !== undefined ? `**was accepted**; now src/decode/cel.ts: ${own}`
        : x.bad.length > 0 ? `**was accepted**; now ${x.bad[0]}` : "**accepted (left)**";
      const rule = x.row.rule.replace(/\s+/g, " ");
      console.log(`| ${i + 1} | ${x.row.kind.split("/")[1]} (${x.row.kind.split(".")[0]}) | \`${x.row.path}\` | ${x.row.versions.join(", ")} | \`${cell(rule.length > 160 ? rule.slice(0, 157) + "..." : rule)}\` | ${cell(x.row.message)} | ${cell(cover)} |`);
    });
  } else if (process.argv.includes("--json")) console.log(JSON.stringify(results.map((x) => ({ kind: x.row.kind, path: x.row.path, message: x.row.message, bad: x.bad, good: x.good, na: x.c.na })), null, 1));
  else {
    results.forEach((x, i) => {
      const state = x.c.na !== undefined ? `n/a (${x.c.na})` : x.bad.length > 0 ? "REFUSED" : "ACCEPTED";
      console.log(`${i + 1}\t${x.row.kind.split("/")[1]}(${x.row.kind.split(".")[0]})\t${x.row.path}\t${x.row.message}\n\t${state}: ${x.bad.join(" | ")}${x.good.length > 0 ? `\n\tVALID INPUT REFUSED: ${x.good.join(" | ")}` : ""}`);
    });
    const n = (f: (x: Result) => boolean) => results.filter(f).length;
    const own = results.filter((x) => x.bad.some((b) => b.endsWith(`: ${x.row.message}`)));
    console.error(`CRD message given for ${own.length}`);
    console.error(`${results.length} rules: refused ${n((x) => x.c.na === undefined && x.bad.length > 0)}, accepted ${n((x) => x.c.na === undefined && x.bad.length === 0)}, n/a ${n((x) => x.c.na !== undefined)}, valid input refused ${n((x) => x.good.length > 0)}`);
  }
}

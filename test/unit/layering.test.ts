// The layering of src/ and workers/: no import cycles, type-only imports
// included (a file imports only files below it), so each layer can be read
// and tested without the ones above it.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const IMPORT = /^(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gms;

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith(".ts")) out.push(normalize(p));
  }
  return out;
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let n = 0;
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const c: string[] = [];
    for (;;) {
      const w = stack.pop()!;
      on.delete(w);
      c.push(w);
      if (w === v) break;
    }
    if (c.length > 1) out.push(c.map((f) => relative(ROOT, f)).sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe("layering", () => {
  test("no import cycles in src/ and workers/, type-only imports included", () => {
    const graph = new Map<string, string[]>();
    for (const f of [...tsFiles(join(ROOT, "src")), ...tsFiles(join(ROOT, "workers"))]) {
      const deps = [...readFileSync(f, "utf8").matchAll(IMPORT)].map((m) => normalize(join(dirname(f), m[1]!)));
      graph.set(f, deps);
    }
    expect(cycles(graph)).toEqual([]);
  });

  test("the primary and the data plane import nothing from the CLI", () => {
    const cli = join(ROOT, "src", "cli") + "/";
    const offenders: string[] = [];
    for (const f of [...tsFiles(join(ROOT, "src", "primary")), ...tsFiles(join(ROOT, "workers"))]) {
      for (const m of readFileSync(f, "utf8").matchAll(IMPORT)) {
        if (normalize(join(dirname(f), m[1]!)).startsWith(cli)) offenders.push(`${relative(ROOT, f)} → ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

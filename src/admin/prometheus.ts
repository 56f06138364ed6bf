// Renders summed metric samples in the Prometheus text format (0.0.4).
import type { StatsSample } from "../snapshot/messages.ts";

/** Add every series of every sample into one. */
export function sumSamples(samples: StatsSample[]): StatsSample {
  const out: StatsSample = {};
  for (const s of samples) {
    for (const k in s) out[k] = (out[k] ?? 0) + s[k]!;
  }
  return out;
}

function familyOf(series: string): string {
  const brace = series.indexOf("{");
  const name = brace < 0 ? series : series.slice(0, brace);
  return name.replace(/_(bucket|sum|count)$/, "");
}

function typeOf(family: string, names: Set<string>): string {
  if (names.has(family + "_bucket")) return "histogram";
  if (family.endsWith("_total")) return "counter";
  return "gauge";
}

function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (v === Infinity) return "+Inf";
  return String(v);
}

/** Series grouped by family, families sorted, one `# TYPE` line each. */
export function renderPrometheus(series: StatsSample, help: Record<string, string> = {}): string {
  const families = new Map<string, string[]>();
  const names = new Set<string>();
  for (const k in series) {
    const brace = k.indexOf("{");
    names.add(brace < 0 ? k : k.slice(0, brace));
    const fam = familyOf(k);
    let list = families.get(fam);
    if (list === undefined) families.set(fam, (list = []));
    list.push(k);
  }
  let out = "";
  for (const fam of [...families.keys()].sort()) {
    // a bare `_count`/`_sum` without buckets is its own family
    if (help[fam] !== undefined) out += `# HELP ${fam} ${help[fam]}\n`;
    out += `# TYPE ${fam} ${typeOf(fam, names)}\n`;
    for (const k of families.get(fam)!.sort(bucketOrder)) out += `${k} ${formatValue(series[k]!)}\n`;
  }
  return out;
}

/** Sort buckets by their `le` numerically, other series by name. */
function bucketOrder(a: string, b: string): number {
  const la = /le="([^"]+)"/.exec(a);
  const lb = /le="([^"]+)"/.exec(b);
  if (la && lb && a.replace(la[0], "") === b.replace(lb[0], "")) {
    const na = la[1] === "+Inf" ? Infinity : Number(la[1]);
    const nb = lb[1] === "+Inf" ? Infinity : Number(lb[1]);
    return na - nb;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Escape a label value for a series name. */
export function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

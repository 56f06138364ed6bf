// Decoded documents of each configuration file, kept between reloads: a file
// whose text (and parser choice) is the same as last time is not parsed or
// validated again; its resources, errors and warnings are the ones decoded
// then (the same objects: compile must not mutate resources, and does not;
// test/unit/decode-cache.test.ts checks). A changed file is decoded again as a
// whole. Findings keep naming file, document and field as decodeFiles does.
//
// The key is the file's full text, compared exactly (no hash collision can
// serve stale documents); a 2 MB comparison is a memcmp, far below a parse.
import { decodeFileInto, fastYamlFor } from "../decode/index.ts";
import type { Resource } from "../model/index.ts";
import type { SourceFile } from "../model/meta.ts";
import type { Finding } from "../snapshot/types.ts";

interface Entry {
  text: string;
  fast: boolean;
  resources: Resource[];
  errors: Finding[];
  warnings: Finding[];
  /** `Kind/ns/name` → canonical text of each resource (for change reports), filled when first asked for. */
  keyed: [string, string][] | null;
}

export interface DecodeStats {
  /** Files whose cached documents were used. */
  hits: number;
  /** Files parsed and decoded again. */
  decoded: number;
}

/** `Kind/namespace/name` of a resource, as change reports name it. */
export function resourceKey(r: Resource): string {
  const meta = (r as { metadata?: { name?: string; namespace?: string } }).metadata ?? {};
  return `${(r as { kind?: string }).kind}/${meta.namespace ?? "default"}/${meta.name ?? ""}`;
}

/** A resource's canonical text without where it was read from (a move between files is no change). */
export function resourceText(r: Resource): string {
  return JSON.stringify(r, (k, v) => (k === "source" ? undefined : v));
}

export class DecodeCache {
  private entries = new Map<string, Entry>();
  last: DecodeStats = { hits: 0, decoded: 0 };

  /** decodeFiles(files), with unchanged files taken from the previous call. */
  decode(files: SourceFile[]): { resources: Resource[]; errors: Finding[]; warnings: Finding[]; keyed: () => Map<string, string> } {
    const fast = fastYamlFor(files);
    const next = new Map<string, Entry>();
    const stats: DecodeStats = { hits: 0, decoded: 0 };
    const used: Entry[] = [];
    for (const f of files) {
      let e = this.entries.get(f.path);
      if (e !== undefined && e.text === f.text && e.fast === fast) stats.hits++;
      else {
        e = { text: f.text, fast, resources: [], errors: [], warnings: [], keyed: null };
        decodeFileInto(f, fast, e.resources, e.errors, e.warnings);
        stats.decoded++;
      }
      next.set(f.path, e); // a file read twice (two --config naming it) keeps one entry: same text, same result
      used.push(e);
    }
    this.entries = next; // files no longer read are forgotten
    this.last = stats;
    const resources: Resource[] = [];
    const errors: Finding[] = [];
    const warnings: Finding[] = [];
    for (const e of used) {
      for (const r of e.resources) resources.push(r);
      for (const x of e.errors) errors.push(x);
      for (const x of e.warnings) warnings.push(x);
    }
    const keyed = (): Map<string, string> => {
      const out = new Map<string, string>();
      for (const e of used) {
        e.keyed ??= e.resources.map((r) => [resourceKey(r), resourceText(r)]);
        for (const [k, v] of e.keyed) out.set(k, v);
      }
      return out;
    };
    return { resources, errors, warnings, keyed };
  }
}

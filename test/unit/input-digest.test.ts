// inputDigest with the per-file digest cache a long-running primary keeps
// (FileDigests) equals the digest without it, and any change of a file's text,
// path or set of files changes it.
import { describe, expect, test } from "bun:test";
import { FileDigests, inputDigest } from "../../src/primary/pipeline.ts";
import type { LoadedInput } from "../../src/load/read.ts";

function input(files: [string, string][]): LoadedInput {
  return { files: files.map(([path, text]) => ({ path, text })), secrets: [], errors: [], warnings: [], roots: [] };
}

describe("inputDigest with FileDigests", () => {
  test("cached equals uncached over a sequence of changes, and each change changes the digest", () => {
    const d = new FileDigests();
    const steps: [string, string][][] = [
      [["/c/a.yaml", "a: 1"], ["/c/b.yaml", "b: 1"]],
      [["/c/a.yaml", "a: 1"], ["/c/b.yaml", "b: 2"]], // one text changed
      [["/c/a.yaml", "a: 1"], ["/c/b.yaml", "b: 1"]], // changed back
      [["/c/a.yaml", "a: 1"], ["/c/c.yaml", "b: 1"]], // renamed
      [["/c/a.yaml", "a: 1"]], // removed
      [["/c/a.yaml", "a: 1"], ["/c/c.yaml", "b: 1"]], // back again
      [["/c/a.yaml", "a: 1"], ["/c/c.yaml", "b: 1"]], // unchanged
    ];
    const digests = steps.map((s) => {
      const cached = inputDigest(input(s), d);
      expect(cached).toBe(inputDigest(input(s)));
      return cached;
    });
    for (let i = 1; i < 6; i++) expect(digests[i]).not.toBe(digests[i - 1]);
    expect(digests[2]).toBe(digests[0]);
    expect(digests[6]).toBe(digests[5]);
  });

  test("a file's text moving to another path is a change", () => {
    const d = new FileDigests();
    const a = inputDigest(input([["/c/a.yaml", "x"], ["/c/b.yaml", "y"]]), d);
    const b = inputDigest(input([["/c/a.yaml", "y"], ["/c/b.yaml", "x"]]), d);
    expect(a).not.toBe(b);
  });
});

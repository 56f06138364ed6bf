// The primary's lower priority (src/primary/priority.ts): GANGWAY_PRIMARY_NICE, and
// (Linux) the calling thread only is lowered, in a child process so the test runner keeps its own.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { wantedNice } from "../../src/primary/priority.ts";

describe("primary priority", () => {
  test.each([
    [undefined, 10],
    ["", 10],
    ["0", 0],
    ["5", 5],
    ["19", 19],
    ["20", 10],
    ["-3", 10],
    ["soon", 10],
  ])("GANGWAY_PRIMARY_NICE=%p -> %p", (v, want) => {
    expect(wantedNice({ GANGWAY_PRIMARY_NICE: v })).toBe(want);
  });

  test.if(process.platform === "linux")("lowers the calling thread only; 0 leaves it alone", () => {
    const script = `
      import { readFileSync } from "node:fs";
      import { lowerPrimaryPriority } from ${JSON.stringify(join(import.meta.dir, "../../src/primary/priority.ts"))};
      const nice = () => { const st = readFileSync("/proc/thread-self/stat", "utf8"); return Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[16]); };
      const before = nice();
      const set = lowerPrimaryPriority();
      console.log(JSON.stringify({ before, set, after: nice() }));`;
    const run = (env: string) => {
      const p = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, GANGWAY_PRIMARY_NICE: env } });
      return JSON.parse(p.stdout.toString().trim().split("\n").pop()!);
    };
    const low = run("7");
    if (low.set === 0) return; // not permitted here (best-effort): nothing to check
    expect(low).toEqual({ before: low.before, set: 7, after: 7 }); // an absolute value, not an increment
    const off = run("0");
    expect(off).toEqual({ before: off.before, set: 0, after: off.before });
  });
});

import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { readInput } from "../../src/load/read.ts";
import { watchDirs } from "../../src/load/watch.ts";
import { writeTree } from "../helpers/gateway.ts";
import { writeKubeVolume } from "../helpers/kube-volume.ts";

describe("reading configuration directories", () => {
  test("yaml, yml and json recursively, sorted; hidden entries and other files skipped", () => {
    const dir = writeTree({
      "b.yaml": "b",
      "a/c.yml": "c",
      "a/d.json": "{}",
      "notes.txt": "x",
      ".hidden.yaml": "h",
      ".git/config.yaml": "g",
    });
    const { files, errors } = readInput([dir], null);
    expect(errors).toEqual([]);
    expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual(["a/c.yml", "a/d.json", "b.yaml"]);
  });

  test("a Kubernetes ConfigMap volume is read through its ..data links, once", () => {
    const dir = writeTree({});
    writeKubeVolume(dir, { "gw.yaml": "one", "vs.yaml": "two" });
    const { files } = readInput([dir], null);
    expect(files.map((f) => [f.path.slice(dir.length + 1), f.text])).toEqual([["gw.yaml", "one"], ["vs.yaml", "two"]]);
    writeKubeVolume(dir, { "gw.yaml": "three", "vs.yaml": "four" });
    expect(readInput([dir], null).files.map((f) => f.text)).toEqual(["three", "four"]);
  });

  test("--config FILE reads that one file, whatever its extension", () => {
    const dir = writeTree({ "gw.yaml": "one", "other.yaml": "two", "list.txt": "three" });
    expect(readInput([join(dir, "gw.yaml")], null).files.map((f) => f.text)).toEqual(["one"]);
    expect(readInput([join(dir, "list.txt")], null).files.map((f) => f.text)).toEqual(["three"]);
  });

  test("a missing directory is an error naming it", () => {
    const { errors } = readInput(["/nonexistent/gangway-config"], null);
    expect(errors.length).toBe(1);
    expect(errors[0]!.message).toContain("/nonexistent/gangway-config");
  });

  test("secrets dir: one folder per Secret, one file per key, volume layout included", () => {
    const dir = writeTree({ "plain/cert": "C", "plain/key": "K" });
    writeKubeVolume(join(dir, "mounted"), { "tls.crt": "X", "tls.key": "Y" });
    const { secrets } = readInput([], dir);
    expect(secrets.map((s) => [s.name, s.data])).toEqual([
      ["mounted", { "tls.crt": "X", "tls.key": "Y" }],
      ["plain", { cert: "C", key: "K" }],
    ]);
  });
});

describe("watching", () => {
  async function changes(action: (dir: string) => void, setup: Record<string, string> = { "a.yaml": "1" }): Promise<number> {
    const dir = writeTree(setup);
    let calls = 0;
    const w = watchDirs([dir], () => {
      calls++;
    }, { debounceMs: 30, pollMs: 200 });
    await Bun.sleep(50);
    action(dir);
    const end = Date.now() + 3000;
    while (calls === 0 && Date.now() < end) await Bun.sleep(20);
    w.close();
    return calls;
  }

  test("a file written", async () => {
    expect(await changes((d) => writeFileSync(join(d, "a.yaml"), "2"))).toBeGreaterThan(0);
  });
  test("a file deleted", async () => {
    expect(await changes((d) => unlinkSync(join(d, "a.yaml")))).toBeGreaterThan(0);
  });
  test("a file added in a new sub-directory", async () => {
    expect(await changes((d) => {
      mkdirSync(join(d, "sub"));
      writeFileSync(join(d, "sub/b.yaml"), "x");
    })).toBeGreaterThan(0);
  });
  test("a ..data symlink swap", async () => {
    const dir = writeTree({});
    writeKubeVolume(dir, { "a.yaml": "1" });
    let calls = 0;
    const w = watchDirs([dir], () => {
      calls++;
    }, { debounceMs: 30, pollMs: 200 });
    await Bun.sleep(50);
    writeKubeVolume(dir, { "a.yaml": "2" });
    const end = Date.now() + 3000;
    while (calls === 0 && Date.now() < end) await Bun.sleep(20);
    w.close();
    expect(calls).toBeGreaterThan(0);
  });
  test("a --config FILE rewritten", async () => {
    const dir = writeTree({ "a.yaml": "1" });
    let calls = 0;
    const w = watchDirs([join(dir, "a.yaml")], () => {
      calls++;
    }, { debounceMs: 30, pollMs: 100 });
    await Bun.sleep(50);
    writeFileSync(join(dir, "a.yaml"), "22");
    const end = Date.now() + 3000;
    while (calls === 0 && Date.now() < end) await Bun.sleep(20);
    w.close();
    expect(calls).toBeGreaterThan(0);
  });
  test("bursts are debounced into few calls", async () => {
    const n = await changes((d) => {
      for (let i = 0; i < 20; i++) writeFileSync(join(d, "a.yaml"), String(i));
    });
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(2);
  });
  test("a file written without pause beside the config does not hold a change back past maxWaitMs", async () => {
    const dir = writeTree({ "config/a.yaml": "1", "busy.log": "" });
    let calls = 0;
    const w = watchDirs([join(dir, "config")], () => {
      calls++;
    }, { debounceMs: 100, maxWaitMs: 400, pollMs: 60_000 });
    let n = 0;
    const writer = setInterval(() => writeFileSync(join(dir, "busy.log"), String(n++)), 20); // never 100 ms quiet
    try {
      await Bun.sleep(50);
      writeFileSync(join(dir, "config/a.yaml"), "2");
      const end = Date.now() + 3000;
      while (calls === 0 && Date.now() < end) await Bun.sleep(20);
      expect(calls).toBeGreaterThan(0);
    } finally {
      clearInterval(writer);
      w.close();
    }
  });
});

import { describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, renameSync, symlinkSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { MAX_FILE_BYTES, readInput } from "../../src/load/read.ts";
import { concernsTarget, watchDirs, watchPrint } from "../../src/load/watch.ts";
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

describe("file size cap and misplaced secret files", () => {
  test("a configuration file above the cap is an Error naming it, and is not read", () => {
    const dir = writeTree({ "small.yaml": "a: 1\n" });
    writeFileSync(join(dir, "huge.yaml"), Buffer.alloc(MAX_FILE_BYTES + 1, 0x20));
    const { files, errors } = readInput([dir], null);
    expect(files.map((f) => f.path)).toEqual([join(dir, "small.yaml")]);
    expect(errors.map((e) => [e.code, e.level, e.file])).toEqual([["GW0002", "Error", join(dir, "huge.yaml")]]);
    expect(errors[0]!.message).toBe(`configuration file ${join(dir, "huge.yaml")} is 8.0 MiB, above the 8.0 MiB limit: not read`);
  });

  test("a configuration file that is not UTF-8 is an Error naming it and the first bad byte, not text with U+FFFD in it", () => {
    const dir = writeTree({ "good.yaml": "a: 1\n" });
    writeFileSync(join(dir, "latin1.yaml"), Buffer.concat([Buffer.from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\ndata: {a: \"caf"), Buffer.from([0xe9, 0x22, 0x7d, 0x0a])]));
    const { files, errors } = readInput([dir], null);
    expect(files.map((f) => f.path)).toEqual([join(dir, "good.yaml")]);
    expect(errors.map((e) => [e.code, e.level, e.file, e.message])).toEqual([
      ["GW0101", "Error", join(dir, "latin1.yaml"), `configuration file ${join(dir, "latin1.yaml")} is not UTF-8 text: byte 0xe9 at line 4, byte 15 of the line, is not part of a UTF-8 character: not read`],
    ]);
  });

  test("UTF-16 with a byte order mark is read as YAML allows; a UTF-8 byte order mark is dropped", () => {
    const dir = writeTree({});
    const yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ü}\n";
    writeFileSync(join(dir, "le.yaml"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yaml, "utf16le")]));
    writeFileSync(join(dir, "be.yaml"), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(yaml, "utf16le").swap16()]));
    writeFileSync(join(dir, "u8.yaml"), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(yaml)]));
    const { files, errors } = readInput([dir], null);
    expect(errors).toEqual([]);
    expect(files.map((f) => f.text)).toEqual([yaml, yaml, yaml]);
  });

  test("secret files are not held to UTF-8 (a Secret may hold binary keys gangway does not read)", () => {
    const dir = writeTree({ "cred/tls.crt": "C" });
    writeFileSync(join(dir, "cred/keystore.p12"), Buffer.from([0x30, 0x82, 0xff, 0xfe]));
    const { secrets, errors } = readInput([], dir);
    expect(errors).toEqual([]);
    expect(Object.keys(secrets[0]!.data)).toEqual(["keystore.p12", "tls.crt"]);
  });

  test("a file of exactly the cap is read", () => {
    const dir = writeTree({});
    writeFileSync(join(dir, "big.yaml"), Buffer.alloc(MAX_FILE_BYTES, 0x20));
    const { files, errors } = readInput([dir], null);
    expect(errors).toEqual([]);
    expect(files[0]!.text.length).toBe(MAX_FILE_BYTES);
  });

  test("a secret file above the cap is an Error naming it", () => {
    const dir = writeTree({ "cred/tls.key": "K" });
    writeFileSync(join(dir, "cred/tls.crt"), Buffer.alloc(MAX_FILE_BYTES + 4096, 0x41));
    const { errors } = readInput([], dir);
    expect(errors.map((e) => [e.code, e.file])).toEqual([["GW0002", join(dir, "cred/tls.crt")]]);
  });

  test("--secrets-dir: files dropped flat in the folder are a Warning each, naming the layout expected", () => {
    const dir = writeTree({ "tls.crt": "C", "tls.key": "K", "good/tls.crt": "C2", ".hidden": "h" });
    const { secrets, warnings, errors } = readInput([], dir);
    expect(errors).toEqual([]);
    expect(secrets.map((s) => s.name)).toEqual(["good"]);
    expect(warnings.map((w) => [w.code, w.level, w.file])).toEqual([
      ["GW0003", "Warning", join(dir, "tls.crt")],
      ["GW0003", "Warning", join(dir, "tls.key")],
    ]);
    expect(warnings[0]!.message).toContain(join(dir, "<secret-name>", "tls.crt"));
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

describe("watching only what concerns the configuration", () => {
  test.each([
    ["/srv/config", "config", true],
    ["/srv/config/", "config", true],
    ["/srv/config", "..data", true],
    ["/srv/config", null, true],
    ["/srv/config", "access.log", false],
    ["/srv/config", "config.bak", false],
    ["/srv/config", "..data_tmp", false],
    ["/srv/vol/gw.yaml", "gw.yaml", true],
  ] as const)("%s, event for %p: %p", (target, name, want) => {
    expect(concernsTarget(target, name)).toBe(want);
  });

  /** A promise that settles once `cond()` holds (checked on each `poke()`), or fails after `ms`. */
  function when(cond: () => boolean, ms = 5000): { poke: () => void; done: Promise<void>; cancel: () => void } {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    done.catch(() => {}); // awaited by the test; a cancelled wait is not an unhandled rejection
    const t = setTimeout(() => reject(new Error("timed out")), ms);
    const poke = () => {
      if (cond()) {
        clearTimeout(t);
        resolve();
      }
    };
    return { poke, done, cancel: () => clearTimeout(t) };
  }

  test("writes to a big file beside the config folder read nothing; a change inside still does, once", async () => {
    const dir = writeTree({ "config/a.yaml": "1", "access.log": "" });
    let calls = 0;
    const ignored: string[] = [];
    const changed = when(() => calls > 0);
    const sawLog = when(() => ignored.length >= 1); // Bun coalesces a tick's events for one name
    const w = watchDirs([join(dir, "config")], () => {
      calls++;
      changed.poke();
    }, { debounceMs: 10, pollMs: 60_000, onIgnored: (_p, name) => {
      ignored.push(name);
      sawLog.poke();
    } });
    try {
      const chunk = Buffer.alloc(1 << 20, 0x61);
      for (let i = 0; i < 8; i++) appendFileSync(join(dir, "access.log"), chunk); // 8 MB of access log
      await sawLog.done; // the watcher saw the writes and set them aside
      expect(calls).toBe(0);
      writeFileSync(join(dir, "config/a.yaml"), "2");
      await changed.done;
      expect(calls).toBe(1);
      expect(new Set(ignored)).toEqual(new Set(["access.log"]));
    } finally {
      changed.cancel();
      sawLog.cancel();
      w.close();
    }
  });

  test("the config folder renamed over (a swapped symlink) is seen, and changes in the new folder after it too", async () => {
    const dir = writeTree({ "v1/a.yaml": "1", "v2/a.yaml": "2" });
    symlinkSync(join(dir, "v1"), join(dir, "config"));
    let calls = 0;
    let check = () => {};
    const w = watchDirs([join(dir, "config")], () => {
      calls++;
      check();
    }, { debounceMs: 10, pollMs: 60_000 });
    const next = (n: number) => new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no call ${n}`)), 5000);
      check = () => {
        if (calls >= n) {
          clearTimeout(t);
          resolve();
        }
      };
      check();
    });
    try {
      symlinkSync(join(dir, "v2"), join(dir, "config.tmp"));
      renameSync(join(dir, "config.tmp"), join(dir, "config"));
      await next(1);
      writeFileSync(join(dir, "v2/a.yaml"), "3"); // the new folder is watched (the poll is off)
      await next(2);
      expect(calls).toBe(2);
    } finally {
      w.close();
    }
  });

  test("a file written between the caller's read (its baseline) and the watch's start: called once, with no event and no poll after", async () => {
    const run = async (edit: boolean): Promise<number> => {
      const dir = writeTree({ "a.yaml": "1" });
      const mesh = join(writeTree({ "mesh.yaml": "a: 1" }), "mesh.yaml");
      const baseline = { print: watchPrint([dir], [mesh]), files: [mesh] };
      if (edit) writeFileSync(join(dir, "a.yaml"), "22"); // before the watch: fs.watch cannot see it
      let calls = 0;
      const w = watchDirs([dir], () => void calls++, { debounceMs: 10, pollMs: 60_000, baseline });
      await until(() => calls > 0, edit ? 5000 : 300);
      w.close();
      return calls;
    };
    expect(await run(true)).toBe(1);
    expect(await run(false)).toBe(0);
    // a mesh config (a single file) edited in between counts too
    const dir = writeTree({ "a.yaml": "1" });
    const mesh = join(writeTree({ "mesh.yaml": "a: 1" }), "mesh.yaml");
    const baseline = { print: watchPrint([dir], [mesh]), files: [mesh] };
    writeFileSync(mesh, "a: 22");
    let calls = 0;
    const w = watchDirs([dir], () => void calls++, { debounceMs: 10, pollMs: 60_000, baseline });
    await until(() => calls > 0, 5000);
    w.close();
    expect(calls).toBe(1);
  });

  test("--config FILE of a mounted volume: the ..data swap beside it is seen", async () => {
    const dir = writeTree({});
    writeKubeVolume(dir, { "gw.yaml": "1" });
    let resolve!: () => void;
    const called = new Promise<void>((r) => (resolve = r));
    const w = watchDirs([join(dir, "gw.yaml")], () => resolve(), { debounceMs: 10, pollMs: 60_000 });
    try {
      writeKubeVolume(dir, { "gw.yaml": "2" });
      await Promise.race([called, Bun.sleep(5000).then(() => Promise.reject(new Error("no call")))]);
    } finally {
      w.close();
    }
  });
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await Bun.sleep(10);
}

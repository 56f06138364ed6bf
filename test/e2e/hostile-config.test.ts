// Hostile configuration files against the real process: each is refused (or read
// around) with a finding naming the file, the last good configuration keeps
// serving, and the admin keeps answering /ready. One gateway for all cases, each
// undone before the next.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { appConfig } from "../helpers/config.ts";
import { writeKubeVolume } from "../helpers/kube-volume.ts";

let be: Backend;
let gw: GatewayProcess;
let dir: string;
const good = () => appConfig(be.port);

beforeAll(async () => {
  be = startHttpbin({ name: "good" });
  dir = writeTree({ "app.yaml": good() });
  gw = await startGateway({ configDirs: [dir] });
});
afterAll(async () => {
  await gw.stop();
  await be.stop();
});

async function get(host = "app.example.com"): Promise<number> {
  const r = await fetch(gw.url(80, "/get"), { headers: { host } });
  await r.arrayBuffer();
  return r.status;
}

/** Does `act`, waits for `verdict` in the log written after it, checks traffic and /ready; returns that log. */
async function hostile(act: () => void, verdict: RegExp): Promise<string> {
  expect(await get()).toBe(200);
  const at = gw.output().length;
  act();
  await gw.waitForOutput(verdict, 20_000, at);
  expect(await get()).toBe(200);
  expect((await gw.admin("/ready")).status).toBe(200);
  expect(gw.proc.exitCode).toBeNull();
  return gw.output().slice(at);
}

/** Puts the good file back and waits until it is served again (a reload or, when nothing changed, a "no change"). */
async function restore(undo: () => void): Promise<void> {
  undo();
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    await Bun.sleep(300);
    if ((await get()) === 200) return;
  }
  throw new Error("the good configuration was not served again");
}

// a case that failed may have left its files behind: start each from the good configuration alone
beforeEach(async () => {
  for (const n of ["bomb.yaml", "deep.yaml", "bin.yaml", "loop", "vol"]) rmSync(join(dir, n), { recursive: true, force: true });
  await restore(() => writeFileSync(join(dir, "app.yaml"), good()));
});

const REJECTED = /configuration rejected; the last good configuration keeps serving/;

describe("hostile configuration files: refused with a finding naming the file, last good keeps serving", () => {
  test("a file that is not UTF-8 (latin-1 in a header match) is refused naming the file and the byte; UTF-16 with a BOM is read", async () => {
    const p = join(dir, "app.yaml");
    const http = `  - match: [{headers: {x-who: {exact: "caf\u00e9"}}}]\n    route: [{destination: {host: app.local, port: {number: 80}}}]`;
    // latin-1: é is the single byte 0xe9; read as UTF-8 it would become U+FFFD and the route would need that header
    const log = await hostile(() => writeFileSync(p, Buffer.from(appConfig(be.port, http), "latin1")), REJECTED);
    expect(log).toMatch(new RegExp(`Error: ${p}: configuration file ${p} is not UTF-8 text: byte 0xe9 at line \\d+, byte \\d+ of the line, is not part of a UTF-8 character: not read \\[GW0101\\]`));
    // the same file saved as UTF-16 (PowerShell's `>`), a new host: it is served
    const utf16 = good().replace(/app\.example\.com/g, "utf16.example.com");
    const at = gw.output().length;
    writeFileSync(p, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(utf16, "utf16le")]));
    await gw.waitForOutput(/configuration reloaded/, 20_000, at);
    expect(await get("utf16.example.com")).toBe(200);
    await restore(() => writeFileSync(p, good()));
  }, 30_000);

  test("a YAML alias bomb is refused as not YAML, naming the file", async () => {
    const p = join(dir, "bomb.yaml");
    let y = "";
    for (let i = 1; i < 10; i++) y += `x${i}: &a${i} [${Array(10).fill(i === 1 ? "a.example.com" : `*a${i - 1}`).join(", ")}]\n`;
    const log = await hostile(() => writeFileSync(p, `${y}apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bomb}\nspec:\n  hosts: *a9\n  http: []\n`), REJECTED);
    expect(log).toContain(`Error: ${p}: document 0: not YAML: Excessive alias count`);
    await restore(() => rmSync(p));
  }, 30_000);

  test("10,000 nested flow sequences are refused as not YAML, naming the file", async () => {
    const p = join(dir, "deep.yaml");
    const log = await hostile(() => writeFileSync(p, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: " + "[".repeat(10_000) + "]".repeat(10_000) + "\n"), REJECTED);
    expect(log).toContain(`Error: ${p}: document 0: not YAML:`);
    await restore(() => rmSync(p));
  }, 30_000);

  test("a file caught mid-write (truncated YAML) and binary garbage are refused naming the file", async () => {
    const p = join(dir, "app.yaml");
    const t = good();
    let log = await hostile(() => writeFileSync(p, t.slice(0, Math.floor(t.length * 0.55))), REJECTED);
    expect(log).toContain(`Error: ${p}: document 1: not YAML:`);
    const bin = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    log = await hostile(() => writeFileSync(join(dir, "bin.yaml"), bin), REJECTED);
    expect(log).toContain(`Error: ${join(dir, "bin.yaml")}:`);
    await restore(() => (writeFileSync(p, t), rmSync(join(dir, "bin.yaml"))));
  }, 30_000);

  test("a directory symlink loop is read once; a volume whose ..data points nowhere is a Warning naming the link", async () => {
    const loop = join(dir, "loop");
    mkdirSync(loop);
    symlinkSync("..", join(loop, "up"));
    symlinkSync(loop, join(loop, "self"));
    const vol = join(dir, "vol");
    writeKubeVolume(vol, { "extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vol}\n" });
    await gw.waitForOutput(/added=ConfigMap\/default\/vol/, 20_000);
    const log = await hostile(() => {
      symlinkSync("..missing", join(vol, "..data_tmp"));
      renameSync(join(vol, "..data_tmp"), join(vol, "..data"));
    }, /removed=ConfigMap\/default\/vol/);
    expect(log).toContain(`Warning: ${join(vol, "extra.yaml")}: ${join(vol, "extra.yaml")} is a symlink to ..data/extra.yaml, which does not exist: skipped`);
    await restore(() => (rmSync(loop, { recursive: true }), rmSync(vol, { recursive: true })));
  }, 30_000);
});

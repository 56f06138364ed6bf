// The configuration fuzzer's mutants (test/helpers/config-mutate.ts) against the
// real process: a running gateway's watched file is replaced by one mutant after
// another. Each one the pure pipeline refuses is refused by the gateway with the
// same first finding in its log (file, document, object, field), the last good
// configuration keeps answering real requests, /ready stays 200. Bounded: at
// most MUTANTS mutants, each waited for up to 20 s.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { formatFinding } from "../../src/primary/pipeline.ts";
import { appConfig } from "../helpers/config.ts";
import { buildFiles } from "../helpers/config-invariants.ts";
import { mutatedCase } from "../helpers/config-mutate.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

const MUTANTS = 6;

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

async function get(): Promise<number> {
  const r = await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } });
  await r.arrayBuffer();
  return r.status;
}

const REJECTED = /configuration rejected; the last good configuration keeps serving/;

/** Writes `text` as `name` (app.yaml or app.json; the other is removed), waits for the rejection, checks the log names `finding` and the good configuration serves. */
async function refused(name: string, text: string, finding: string): Promise<void> {
  const at = gw.output().length;
  rmSync(join(dir, name === "app.yaml" ? "app.json" : "app.yaml"), { force: true });
  writeFileSync(join(dir, name), text);
  await gw.waitForOutput(REJECTED, 20_000, at);
  const log = gw.output().slice(at);
  expect(log).toContain(finding);
  expect(await get()).toBe(200);
  expect((await gw.admin("/ready")).status).toBe(200);
  expect(gw.proc.exitCode).toBeNull();
}

describe("fuzzed configuration files against a running gateway", () => {
  test("a JSON file cut short, then one with a duplicate key: refused naming the file, line and column", async () => {
    expect(await get()).toBe(200);
    const p = join(dir, "app.json");
    await refused("app.json", '{"apiVersion": "v1",\n "kind": "Service",\n "metadata": {"name": "x"', `Error: ${p}: document 0: not JSON: expected ',' or '}' at line 3, column 26 [GW0101]`);
    await refused("app.json", '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "name": "b"}}', `Error: ${p}: document 0: not JSON: duplicate key "name" at line 1, column 67 [GW0101]`);
  }, 60_000);

  test(`${MUTANTS} seeded mutants of the served file: each refused with the pure pipeline's first finding, the last good one serving`, async () => {
    const seed = { name: "app", files: [{ path: "app.yaml", text: good() }] };
    let tried = 0;
    for (let n = 1; n < 500 && tried < MUTANTS; n++) {
      const c = mutatedCase([seed], n);
      const file = c.files[0]!;
      const path = join(dir, file.path);
      const pure = buildFiles([{ path, text: file.text }]);
      if (pure.ok) continue; // a mutant that loads may route otherwise: only refused ones keep the good configuration
      tried++;
      // the finding the log must carry: the first (formatFinding escapes what the file put in it, as the log line does)
      await refused(file.path, file.text, formatFinding(pure.errors[0]!));
    }
    expect(tried).toBe(MUTANTS);
    // the good file back (the configuration served all along: no new version to wait for)
    rmSync(join(dir, "app.json"), { force: true });
    writeFileSync(join(dir, "app.yaml"), good());
    await Bun.sleep(500);
    expect(await get()).toBe(200);
    expect(gw.output()).not.toMatch(/reload failed|uncaught|worker error/);
  }, 180_000);
});

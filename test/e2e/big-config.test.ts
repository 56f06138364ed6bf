// The admin answers while the primary is busy loading a large configuration: a
// file of 40,000 tiny documents takes the primary's thread seconds to decode and
// compile, in one synchronous stretch. The probes are answered by the admin
// thread meanwhile: /ready 503 during the start-up load (until the first
// snapshot is applied), 200 during a reload (the last good configuration
// serves). No timing assertion: the polls answered while the load is still
// running (before its end shows in the log) are counted, and a primary that
// answered its admin itself could answer none of them. And the log of a configuration
// with thousands of findings stays bounded.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { appConfig } from "../helpers/config.ts";

const DOCS = 40_000;

/** DOCS ConfigMaps, one document each (~2.6 MB), named `PREFIX-i`. */
function manyDocuments(prefix: string): string {
  const parts: string[] = [];
  for (let i = 0; i < DOCS; i++) parts.push(`---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${prefix}-${i}}\ndata: {a: b}\n`);
  return parts.join("");
}

let be: Backend;
let gw: GatewayProcess;
let dir: string;

beforeAll(() => {
  be = startHttpbin({ name: "good" });
  dir = writeTree({ "app.yaml": appConfig(be.port), "many.yaml": manyDocuments("start") });
});
afterAll(async () => {
  await gw?.stop();
  await be.stop();
});

/**
 * Polls `path` one request at a time until `done()` (checked after each answer, and
 * before the answer is counted) or 120 s; counts the answers by status.
 */
async function pollUntil(path: string, done: () => boolean): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  const end = Date.now() + 120_000;
  while (Date.now() < end && gw.proc.exitCode === null) {
    const status = await fetch(`http://127.0.0.1:${gw.adminPort}${path}`, { signal: AbortSignal.timeout(60_000) }).then(
      async (r) => (await r.arrayBuffer(), r.status),
      () => 0,
    );
    if (done()) break; // the load ended: this answer may have come after it
    if (status !== 0) seen.set(status, (seen.get(status) ?? 0) + 1);
    await Bun.sleep(20);
  }
  return seen;
}

describe("the admin answers while the primary loads", () => {
  test("during the start-up load: /ready and /healthz/ready answer 503, /healthz/live 200, before the configuration is loaded", async () => {
    gw = await startGateway({ configDirs: [dir], waitReady: false });
    const loaded = () => /configuration loaded/.test(gw.output());
    const [ready, probe, live] = await Promise.all([pollUntil("/ready", loaded), pollUntil("/healthz/ready", loaded), pollUntil("/healthz/live", loaded)]);
    expect(gw.proc.exitCode).toBeNull();
    expect(ready.get(200) ?? 0).toBe(0); // not ready before the first snapshot is applied
    expect(ready.get(503) ?? 0).toBeGreaterThanOrEqual(3);
    expect(probe.get(503) ?? 0).toBeGreaterThanOrEqual(3);
    expect(live.get(200) ?? 0).toBeGreaterThanOrEqual(3);
    // then ready, and serving
    await gw.waitForOutput(/\bready version=1/, 120_000);
    expect((await gw.admin("/ready")).status).toBe(200);
    const r = await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } });
    expect(r.status).toBe(200);
    // what the admin thread passes to the primary answers too
    const dump = await gw.admin("/config_dump");
    expect(dump.status).toBe(200);
    expect(((await dump.json()) as { version: number }).version).toBe(1);
  }, 180_000);

  test("during a reload: /ready answers 200 while the new files are decoded and compiled; the new configuration then applies", async () => {
    await gw.stop();
    gw = await startGateway({ configDirs: [dir], env: { GANGWAY_DEBUG: "1" } });
    const at = gw.output().length;
    writeFileSync(`${dir}.tmp`, manyDocuments("reload"));
    renameSync(`${dir}.tmp`, join(dir, "many.yaml")); // one rename: no reload of half a file
    await gw.waitForOutput(/reading the configuration why="files changed"/, 60_000, at);
    const compiled = () => /configuration read and compiled/.test(gw.output().slice(at));
    const ready = await pollUntil("/ready", compiled);
    expect(ready.get(200) ?? 0).toBeGreaterThanOrEqual(3);
    expect(ready.get(503) ?? 0).toBe(0);
    await gw.waitForOutput(/configuration read and compiled ok=true/, 120_000, at);
    const r = await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } });
    expect(r.status).toBe(200);
    // while the workers apply the new snapshot they serve the last one: /ready stays 200 (it
    // answered 503 for that moment before)
    const applied = () => /configuration reloaded|compiled configuration did not/.test(gw.output().slice(at));
    const applying = await pollUntil("/ready", applied);
    expect(applying.get(503) ?? 0).toBe(0);
    await gw.waitForOutput(/configuration reloaded/, 120_000, at);
    expect((await gw.admin("/ready")).status).toBe(200);
  }, 180_000);
});

describe("thousands of findings", () => {
  test("a configuration with 1,200 broken documents (2,400 Errors): 1,000 logged, the rest counted; exit 1", async () => {
    const docs: string[] = [];
    for (let i = 0; i < 1200; i++) docs.push(`apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v${i}}\nspec: {hosts: 5}\n`);
    const broken = writeTree({ "broken.yaml": docs.join("---\n") });
    const r = await runCli(["--config", broken, "--admin", "off", "--bind", "127.0.0.1", "--port-map", "80:1", "--workers", "1"]);
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    // two Errors per document (hosts not a list; no http, tcp or tls)
    expect(out.match(/broken\.yaml: document \d+: VirtualService/g)?.length).toBe(1000);
    expect(out.includes("1400 more findings not logged (bun run gateway analyze --config DIR lists them all)")).toBe(true);
    expect(out.includes("the configuration is unusable; not starting")).toBe(true);
  }, 60_000);
});

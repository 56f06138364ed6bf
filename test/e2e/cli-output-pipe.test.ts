// What a command prints reaches a pipe whole, also when the reader starts late (a
// `gateway analyze -o json | jq` whose jq is slow): Bun's process.exit() dropped what it
// still held for a piped stdout/stderr (analyze's JSON arrived cut at 200-450 KB of 1.1 MB);
// main.ts now sets the exit code and lets the event loop end, which flushes them.
import { expect, test } from "bun:test";
import { ROOT, writeTree } from "../helpers/gateway.ts";

function brokenDocs(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) docs.push(`apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v${i}}\nspec: {hosts: 5}\n`);
  return docs.join("---\n");
}

/** Runs the CLI with stdout and stderr piped, reading them only after `lateMs`. */
async function runLateReader(args: string[], lateMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, "src/main.ts", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  await Bun.sleep(lateMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

test("analyze -o json of 1,500 broken documents: the whole JSON (3,000 findings), exit 1", async () => {
  const dir = writeTree({ "b.yaml": brokenDocs(1500) });
  const r = await runLateReader(["analyze", "--config", dir, "-o", "json"], 1500);
  expect(r.code).toBe(1);
  expect(r.stdout.length).toBeGreaterThan(500_000); // far more than a pipe holds
  expect((JSON.parse(r.stdout) as unknown[]).length).toBe(3000);
}, 60_000);

test("serve with an unusable configuration: all 1,000 logged findings and the last line reach stderr, exit 1", async () => {
  const dir = writeTree({ "b.yaml": brokenDocs(1200) });
  const r = await runLateReader(["--config", dir, "--admin", "off", "--bind", "127.0.0.1", "--port-map", "80:1", "--workers", "1"], 1500);
  expect(r.code).toBe(1);
  expect(r.stderr.match(/b\.yaml: document \d+: VirtualService/g)?.length).toBe(1000);
  expect(r.stderr).toContain("the configuration is unusable; not starting");
}, 60_000);

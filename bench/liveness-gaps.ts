// The longest stalls of the primary's, the workers' and the admin thread's event loops
// (gangway_heartbeat_max_gap_seconds: the longest time between two heartbeats, each
// thread measuring its own, BEAT_MS = 1 s included) through the real gateway's start-up
// on HOSTS VirtualServices and CHANGES one-VirtualService reloads: what
// --liveness-timeout must stay well above (README "Health").
// Usage: bun bench/liveness-gaps.ts [hosts=10000] [changes=3] [workers=2]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const hosts = Number(process.argv[2] ?? 10_000);
const changes = Number(process.argv[3] ?? 3);
const workers = Number(process.argv[4] ?? 2);
const ROOT = join(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "gangway-liveness-gaps-"));
const config = (...args: string[]) => Bun.spawnSync([process.execPath, join(import.meta.dir, "reload-config.ts"), dir, ...args]);
config("18590", String(hosts));
const admin = 18593;

const proc = Bun.spawn(
  [process.execPath, "src/main.ts", "--config", dir, "--admin", `127.0.0.1:${admin}`, "--bind", "127.0.0.1", "--port-map", "80:18591", "--workers", String(workers), "--access-log", "off"],
  { cwd: ROOT, stdout: "ignore", stderr: "pipe" }, // the log is on stderr
);
let out = "";
void (async () => {
  const dec = new TextDecoder();
  for await (const c of proc.stderr as ReadableStream<Uint8Array>) out += dec.decode(c, { stream: true });
})();

async function waitFor(pattern: RegExp, after: number, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pattern.test(out.slice(after))) {
    if (Date.now() > end || proc.exitCode !== null) throw new Error(`no ${pattern} (exit ${proc.exitCode}):\n${out.slice(-2000)}`);
    await Bun.sleep(50);
  }
}

async function gaps(label: string): Promise<void> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/stats/prometheus`)).text();
  const pick = (t: string) => Number(new RegExp(`^gangway_heartbeat_max_gap_seconds\\{thread="${t}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN).toFixed(2);
  console.log(`${label.padEnd(28)} max gap between beats, s: primary ${pick("primary")}  workers ${pick("worker")}  admin ${pick("admin")}`);
}

try {
  const t = performance.now();
  await waitFor(/\bready\b/, 0);
  console.log(`${hosts} VirtualServices, ${workers} workers: ready after ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await Bun.sleep(1500); // a beat after the last stall
  await gaps("after start-up");
  for (let v = 1; v <= changes; v++) {
    const mark = out.length;
    config("--churn", String(v));
    await waitFor(/configuration reloaded/, mark);
  }
  await Bun.sleep(1500);
  await gaps(`after ${changes} reloads`);
} finally {
  proc.kill("SIGTERM");
  await proc.exited;
  rmSync(dir, { recursive: true, force: true });
}

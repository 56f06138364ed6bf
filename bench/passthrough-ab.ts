// TLS passthrough new connections, two gangway builds side by side in one run: this
// checkout ("new") and another (GW_BEFORE, "base"), each the real process with one
// worker, the same PASSTHROUGH config and Bun backend (bench/passthrough.ts's backend
// and conns client: connect, ClientHello + 1 byte, 1 byte back, close). Rounds
// alternate the order (base, new / new, base ...). Per round and build: connections/s
// and the proxy process's user and system CPU per connection (/proc, all threads);
// medians, the new/base ratio of each round's pair, load average. CEILING=1 adds
// bench/ceiling-passthrough.ts (one worker, PARSE=1: the least Bun passthrough proxy) as a third column.
// Usage: GW_BEFORE=/tmp/base node_modules/.bin/bun bench/passthrough-ab.ts [seconds=4] [loops=32] [rounds=6]
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { passthroughConfig } from "./lib/passthrough-config.ts";
import { freePort, waitPort } from "./lib/ports.ts";

const ROOT = join(import.meta.dir, "..");
const BUN = process.execPath;
const PT = join(import.meta.dir, "passthrough.ts");
const before = process.env.GW_BEFORE;
if (before === undefined) throw new Error("set GW_BEFORE to the checkout to compare with");
const [seconds = "4", loops = "32", rounds = "6"] = process.argv.slice(2);


/** utime, stime (seconds, all threads). */
function cpu(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const x = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return [Number(x[11]) / 100, Number(x[12]) / 100];
}

async function client(port: number, secs: string): Promise<number> {
  const p = Bun.spawn([BUN, PT, "client", "conns", String(port), loops, secs], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return Number(out.trim());
}

const SNI = "bulk.example.com";
function config(back: number): string {
  return passthroughConfig("*.example.com", SNI, back);
}

interface Build {
  name: string;
  port: number;
  pid: number;
  rate: number[];
  user: number[];
  sys: number[];
}

const dir = mkdtempSync(join(tmpdir(), "gangway-pt-ab-"));
// the configuration alone in a folder of its own (the gateway watches a config folder's parent too: /tmp would wake it at every file anyone writes there)
const configDir = join(dir, "config");
mkdirSync(configDir);
const back = await freePort();
writeFileSync(join(configDir, "config.yaml"), config(back));
const procs: ReturnType<typeof Bun.spawn>[] = [Bun.spawn([BUN, PT, "backend", String(back)], { stdout: "inherit", stderr: "inherit" })];
const builds: Build[] = [];
for (const [name, root] of [["base", before], ["new", ROOT]] as const) {
  const port = await freePort();
  const admin = await freePort();
  const p = Bun.spawn([BUN, "src/main.ts", "--config", configDir, "--bind", "127.0.0.1", "--port-map", `443:${port}`, "--admin", `127.0.0.1:${admin}`, "--workers", "1", "--access-log", "off"], {
    cwd: root,
    stdout: "ignore",
    stderr: "inherit",
  });
  procs.push(p);
  builds.push({ name, port, pid: p.pid, rate: [], user: [], sys: [] });
}
if (process.env.CEILING === "1") {
  const port = await freePort();
  const p = Bun.spawn([BUN, join(import.meta.dir, "ceiling-passthrough.ts"), String(port), String(back)], {
    env: { ...process.env, WORKERS: "1", PARSE: "1" },
    stdout: "ignore",
    stderr: "inherit",
  });
  procs.push(p);
  builds.push({ name: "ceiling", port, pid: p.pid, rate: [], user: [], sys: [] });
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
try {
  await waitPort(back);
  for (const b of builds) await waitPort(b.port);
  console.log(`passthrough A/B: base ${before}, new ${ROOT}; ${loops} loops × ${seconds} s, ${rounds} rounds; load ${readFileSync("/proc/loadavg", "utf8").trim()}`);
  for (const b of builds) await client(b.port, "1"); // warm-up
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < Number(rounds); r++) {
    const order = r % 2 === 0 ? builds : [...builds].reverse();
    const line: string[] = [];
    for (const b of order) {
      const [u0, s0] = cpu(b.pid);
      const rate = await client(b.port, seconds);
      const [u1, s1] = cpu(b.pid);
      const n = rate * Number(seconds);
      b.rate.push(rate);
      b.user.push(((u1 - u0) * 1e6) / n);
      b.sys.push(((s1 - s0) * 1e6) / n);
      line.push(`${b.name} ${rate.toFixed(0)}/s user ${b.user.at(-1)!.toFixed(1)} sys ${b.sys.at(-1)!.toFixed(1)} µs`);
    }
    const [a, n] = builds;
    ratios.push(n!.rate.at(-1)! / a!.rate.at(-1)!);
    cpuRatios.push((n!.user.at(-1)! + n!.sys.at(-1)!) / (a!.user.at(-1)! + a!.sys.at(-1)!));
    console.log(`round ${r + 1}: ${line.join("  ")}  (load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]})`);
  }
  for (const b of builds) {
    const tot = b.user.map((u, i) => u + b.sys[i]!);
    console.log(`${b.name}: ${median(b.rate).toFixed(0)} conn/s, CPU per connection ${median(tot).toFixed(1)} µs (user ${median(b.user).toFixed(1)}, sys ${median(b.sys).toFixed(1)})`);
  }
  console.log(`new/base per round, medians: conn/s ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(" ")}), CPU per connection ${median(cpuRatios).toFixed(3)} (${cpuRatios.map((x) => x.toFixed(2)).join(" ")}); load ${readFileSync("/proc/loadavg", "utf8").trim()}`);
} finally {
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
}

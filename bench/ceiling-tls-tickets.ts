// Usage: bun bench/ceiling-tls-tickets.ts [seconds=3]   (issue 15 target 3: the resumption ceiling, needs openssl)
// The Bun limit behind gangway's ~50 % resumed handshakes, without gangway: a minimal
// Bun.serve TLS "hello" with reusePort in 1 and then 2 worker threads, every worker
// given the SAME 48-byte `ticketKeys`, and `openssl s_time -reuse` (one full handshake,
// then reconnects offering its session, one GET each) counting how many resumed
// (s_time prints `r` per resumed connection). With shared keys this would be 100 %
// for any worker count; Bun ignores `ticketKeys` (each SSL_CTX keeps its own random
// keys) and `tls.Server#getTicketKeys/setTicketKeys` throw "Not implented in Bun yet"
// (oven-sh/bun#14604, open; fix in PR oven-sh/bun#28691), so with 2 workers only the
// reconnects the kernel hands to the worker that issued the ticket resume.
// Also prints what the node:tls ticket-key API does in this Bun. Loopback only.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import tls from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

interface ServerData {
  port: number;
  cert: string;
  key: string;
  ticketKeys: Uint8Array;
}

if (!isMainThread) {
  const d = workerData as ServerData;
  Bun.serve({
    hostname: "127.0.0.1",
    port: d.port,
    reusePort: true,
    // ticketKeys is node:tls's option; passed to show that it changes nothing
    tls: { cert: d.cert, key: d.key, ticketKeys: Buffer.from(d.ticketKeys) } as Bun.TLSOptions,
    fetch: () => new Response("hello\n"),
  });
  parentPort!.postMessage("up");
} else {
  const secs = process.argv[2] ?? "3";
  const dir = mkdtempSync(join(tmpdir(), "gangway-tickets-"));
  try {
    const gen = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
      "-subj", "/CN=localhost", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")], { stdio: "ignore" });
    if (gen.status !== 0) throw new Error("openssl req failed");
    const cert = readFileSync(join(dir, "c.pem"), "utf8");
    const key = readFileSync(join(dir, "k.pem"), "utf8");

    // what the node:tls API says in this Bun
    console.log(`Bun ${Bun.version}`);
    const srv = new tls.Server({ cert, key });
    for (const [name, call] of [["getTicketKeys()", () => srv.getTicketKeys()], ["setTicketKeys(48 bytes)", () => srv.setTicketKeys(randomBytes(48))]] as const) {
      try {
        call();
        console.log(`tls.Server#${name}: works`);
      } catch (e) {
        console.log(`tls.Server#${name}: throws "${(e as Error).message}"`);
      }
    }

    const ticketKeys = new Uint8Array(randomBytes(48));
    for (const workers of [1, 2]) {
      const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
      const port = probe.port;
      probe.stop(true);
      const ws: Worker[] = [];
      await Promise.all(
        Array.from({ length: workers }, () => {
          const w = new Worker(import.meta.path, { workerData: { port, cert, key, ticketKeys } satisfies ServerData });
          ws.push(w);
          return new Promise((r) => w.once("message", r));
        }),
      );
      const rows: string[] = [];
      for (const mode of ["new", "reuse"]) {
        const r = spawnSync("openssl", ["s_time", "-connect", `127.0.0.1:${port}`, `-${mode}`, "-time", secs, "-www", "/"], { encoding: "utf8" });
        const out = r.stdout ?? "";
        const total = Number(/(\d+) connections in [\d.]+ real seconds/.exec(out)?.[1] ?? 0);
        const resumed = (out.match(/^[r*]+$/gm) ?? []).join("").replace(/\*/g, "").length;
        rows.push(`-${mode} ${(total / Number(secs)).toFixed(0)}/s, ${total > 0 ? ((resumed * 100) / total).toFixed(0) : "-"} % resumed (${resumed} of ${total})`);
      }
      console.log(`${workers} worker(s), same ticketKeys given to each: ${rows.join("; ")}`);
      for (const w of ws) await w.terminate();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

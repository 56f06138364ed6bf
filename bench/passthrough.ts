// TLS passthrough, side by side on loopback, one run: the real gangway
// process (PASSTHROUGH server, tls route by SNI) vs HAProxy (Debian, mode tcp,
// req.ssl_sni) vs a direct connection, in front of one Bun backend.
// - bulk: one connection carries N MB client→backend (upload) or backend→client
//   (download); MB/s.
// - conns: new connections/s: connect, ClientHello + 1 byte, 1 byte back, close
//   (C loops at once). The ClientHello is a real-shaped record with SNI; the
//   bytes after it are not TLS (a proxy that splices never looks), so the figures
//   are the proxies' cost, not a handshake's.
// Client, backend and proxies are separate processes. SPLICE=1 adds a column
// for the least a Bun splice can do (30 lines, no SNI, no accounting): Bun's ceiling.
// ONLY=bun-splice (or haproxy) keeps just that column beside direct and gangway.
// Rounds interleave the paths (direct, gangway, haproxy, again ...) and the
// table shows medians, so that other load on the machine hits all alike.
// Usage: bun bench/passthrough.ts [bulkMB=1024] [seconds=5] [concurrency=32] [workers=1] [rounds=3]
// Needs: haproxy (apt-get install -y haproxy) for the HAProxy column (skipped without).
import type { Socket } from "bun";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientHello } from "../test/helpers/client-hello.ts";
import { passthroughConfig } from "./lib/passthrough-config.ts";
import { freePort, waitPort } from "./lib/ports.ts";

const ROOT = join(import.meta.dir, "..");
const BUN = process.execPath;
const MB = 1024 * 1024;
const SNI = "bulk.example.com";

const HELLO = clientHello(SNI);
const BLOCK = Buffer.alloc(256 * 1024, 0x5a);

// ---- backend: skips the hello, then a command: U<size> sink, D<size> source, E echo one byte ----

interface BackState {
  buf: Buffer;
  mode: number;
  left: number;
}

function backend(port: number): void {
  const pump = (s: Socket<BackState>) => {
    const d = s.data;
    while (d.left > 0) {
      const b = d.left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, d.left);
      const n = s.write(b);
      if (n > 0) d.left -= n;
      if (n < b.length) return;
    }
    s.end();
  };
  Bun.listen<BackState>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        s.data = { buf: Buffer.alloc(0), mode: 0, left: 0 };
      },
      data(s, chunk) {
        const d = s.data;
        if (d.mode === 0x55 /* U */) {
          d.left -= chunk.length;
          if (d.left <= 0) s.end("k");
          return;
        }
        d.buf = d.buf.length === 0 ? chunk : Buffer.concat([d.buf, chunk]);
        const need = HELLO.length + 1;
        if (d.buf.length < need) return;
        const cmd = d.buf[HELLO.length]!;
        if (cmd === 0x45 /* E */) {
          s.end("x");
          return;
        }
        if (d.buf.length < need + 8) return;
        const size = Number(d.buf.readBigUInt64BE(need));
        d.mode = cmd;
        d.left = size - (d.buf.length - need - 8);
        d.buf = Buffer.alloc(0);
        if (cmd === 0x44 /* D */) {
          d.left = size;
          pump(s);
        } else if (d.left <= 0) s.end("k");
      },
      drain(s) {
        if (s.data.mode === 0x44) pump(s);
      },
    },
  });
}

// ---- reference: the least a Bun splice can do (no SNI, no routing, no accounting) ----

interface SpliceEnd {
  peer: Socket<SpliceEnd> | null;
  queue: Uint8Array[];
  rest: Uint8Array | null;
}

function splice(port: number, to: number): void {
  const forward = (s: Socket<SpliceEnd>, b: Uint8Array) => {
    const p = s.data.peer;
    if (p === null) return void s.data.queue.push(b);
    const n = p.write(b);
    if (n < b.length) {
      s.data.rest = b.subarray(Math.max(n, 0));
      s.pause();
    }
  };
  const drain = (s: Socket<SpliceEnd>) => {
    const p = s.data.peer;
    const r = p?.data.rest;
    if (!p || !r) return;
    const n = s.write(r);
    if (n < r.length) return void (p.data.rest = r.subarray(Math.max(n, 0)));
    p.data.rest = null;
    p.resume();
  };
  const up = {
    open(s: Socket<SpliceEnd>) {
      const c = s.data.peer!;
      c.data.peer = s;
      for (const b of c.data.queue) s.write(b);
      c.data.queue = [];
    },
    data: forward,
    drain,
    close(s: Socket<SpliceEnd>) {
      s.data.peer?.end();
    },
  };
  Bun.listen<SpliceEnd>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        s.data = { peer: null, queue: [], rest: null };
        Bun.connect<SpliceEnd>({ hostname: "127.0.0.1", port: to, socket: up, data: { peer: s, queue: [], rest: null } }).catch(() => s.end());
      },
      data: forward,
      drain,
      close(s) {
        s.data.peer?.end();
      },
    },
  });
}

// ---- clients ----------------------------------------------------------------

function command(cmd: string, size: number): Buffer {
  const b = Buffer.alloc(9);
  b.write(cmd, 0, "latin1");
  b.writeBigUInt64BE(BigInt(size), 1);
  return Buffer.concat([HELLO, b]);
}

/** One connection moving `mb` MB one way; resolves MB/s. */
function bulk(port: number, dir: "U" | "D", mb: number): Promise<number> {
  const size = mb * MB;
  return new Promise((resolve, reject) => {
    let t0 = 0;
    let left = size;
    let got = 0;
    const pump = (s: Socket<undefined>) => {
      while (left > 0) {
        const b = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
        const n = s.write(b);
        if (n > 0) left -= n;
        if (n < b.length) return;
      }
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          t0 = performance.now();
          s.write(command(dir, size));
          if (dir === "U") pump(s);
        },
        drain(s) {
          if (dir === "U") pump(s);
        },
        data(_s, b) {
          got += b.length;
        },
        close() {
          const secs = (performance.now() - t0) / 1000;
          if (dir === "D" && got !== size) reject(new Error(`got ${got} of ${size}`));
          else resolve(mb / secs);
        },
        connectError(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });
}

/** `c` loops of connect → hello+E → 1 byte → close for `secs`; resolves connections/s. */
async function conns(port: number, c: number, secs: number): Promise<number> {
  const msg = Buffer.concat([HELLO, Buffer.from("E")]);
  let done = 0;
  let failed = 0;
  const end = performance.now() + secs * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            s.write(msg);
          },
          data(s) {
            done++;
            s.end();
          },
          close() {
            resolve();
          },
          connectError() {
            failed++;
            resolve();
          },
        },
      }).catch(() => {});
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  const rate = done / ((performance.now() - t0) / 1000);
  if (failed > 0) console.error(`  (${failed} connections failed)`);
  return rate;
}

// ---- orchestration --------------------------------------------------------------


async function runClient(args: string[]): Promise<number> {
  const p = Bun.spawn([BUN, import.meta.path, "client", ...args], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return Number(out.trim());
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

interface Target {
  name: string;
  port: number;
  /** The proxy process (its CPU is measured), or null for the direct path. */
  pid: number | null;
}

interface Samples {
  upload: number[];
  download: number[];
  conns: number[];
  /** Proxy CPU µs per connection / CPU ms per GB moved. */
  cpuConn: number[];
  cpuGB: number[];
}

function gatewayConfig(back: number): string {
  return passthroughConfig("*.example.com", SNI, back);
}

function haproxyConfig(port: number, back: number, threads: string): string {
  return `global
  nbthread ${threads}
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend passthrough
  bind 127.0.0.1:${port}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend bulk if { req.ssl_sni -i ${SNI} }
backend bulk
  server s1 127.0.0.1:${back}
`;
}

async function main(): Promise<void> {
  const [bulkMB = "1024", seconds = "5", concurrency = "32", workers = "1", rounds = "3"] = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), "gangway-passthrough-bench-"));
  // the configuration alone in a folder of its own (the gateway watches a config folder's parent too: /tmp would wake it at every file anyone writes there)
  const config = join(dir, "config");
  mkdirSync(config);
  const [back, gwPort, hapPort, admin] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  const targets: Target[] = [];
  const only = process.env.ONLY ? new Set(["direct", "gangway", ...process.env.ONLY.split(",")]) : null;
  const wanted = (name: string) => only === null || only.has(name);
  procs.push(Bun.spawn([BUN, import.meta.path, "backend", String(back)], { stdout: "inherit", stderr: "inherit" }));
  targets.push({ name: "direct", port: back, pid: null });
  writeFileSync(join(config, "config.yaml"), gatewayConfig(back));
  const gw = Bun.spawn(
    [BUN, "src/main.ts", "--config", config, "--bind", "127.0.0.1", "--port-map", `443:${gwPort}`, "--admin", `127.0.0.1:${admin}`, "--workers", workers, "--access-log", "off"],
    { cwd: ROOT, stdout: "ignore", stderr: "inherit" },
  );
  procs.push(gw);
  targets.push({ name: "gangway", port: gwPort, pid: gw.pid });
  const haproxy = Bun.which("haproxy") ?? (Bun.file("/usr/sbin/haproxy").size > 0 ? "/usr/sbin/haproxy" : null);
  if (haproxy !== null && wanted("haproxy")) {
    writeFileSync(join(dir, "haproxy.cfg"), haproxyConfig(hapPort, back, workers));
    const h = Bun.spawn([haproxy, "-f", join(dir, "haproxy.cfg"), "-db"], { stdout: "ignore", stderr: "inherit" });
    procs.push(h);
    targets.push({ name: "haproxy", port: hapPort, pid: h.pid });
  }
  if (process.env.SPLICE && wanted("bun-splice")) {
    const port = await freePort();
    const p = Bun.spawn([BUN, import.meta.path, "splice", String(port), String(back)], { stdout: "inherit", stderr: "inherit" });
    procs.push(p);
    targets.push({ name: "bun-splice", port, pid: p.pid });
  }
  try {
    for (const t of targets) await waitPort(t.port);
    console.log(
      `TLS passthrough: bulk ${bulkMB} MB per connection, conns ${concurrency} loops × ${seconds} s, ${workers} worker(s)/thread(s), median of ${rounds} interleaved rounds`,
    );
    const runs = new Map<Target, Samples>();
    for (const t of targets) runs.set(t, { upload: [], download: [], conns: [], cpuConn: [], cpuGB: [] });
    for (const t of targets) await runClient(["conns", String(t.port), concurrency, "1"]); // warm-up
    const measured = async (t: Target, args: string[]): Promise<[number, number]> => {
      const c0 = t.pid === null ? 0 : cpuSeconds(t.pid);
      const rate = await runClient(args);
      return [rate, t.pid === null ? NaN : cpuSeconds(t.pid) - c0];
    };
    for (let r = 0; r < Number(rounds); r++) {
      for (const t of targets) {
        const x = runs.get(t)!;
        if (bulkMB !== "0") {
          const [up, cpuUp] = await measured(t, ["bulk", String(t.port), "U", bulkMB]);
          const [down, cpuDown] = await measured(t, ["bulk", String(t.port), "D", bulkMB]);
          x.upload.push(up);
          x.download.push(down);
          x.cpuGB.push(((cpuUp + cpuDown) * 1000) / ((2 * Number(bulkMB)) / 1024));
        }
        const [rate, cpu] = await measured(t, ["conns", String(t.port), concurrency, seconds]);
        x.conns.push(rate);
        x.cpuConn.push((cpu * 1e6) / (rate * Number(seconds)));
      }
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? NaN;
    const spread = (v: number[]) => (v.length === 0 ? "" : ` (${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)})`);
    const fmt = (v: number[]) => (Number.isNaN(median(v)) ? "-" : `${median(v).toFixed(0)}${spread(v)}`);
    console.log("| path | upload MB/s | download MB/s | new connections/s | proxy CPU ms per GB | proxy CPU µs per connection |");
    console.log("|---|---|---|---|---|---|");
    for (const [t, x] of runs) {
      console.log(`| ${t.name} | ${fmt(x.upload)} | ${fmt(x.download)} | ${fmt(x.conns)} | ${t.pid === null ? "-" : fmt(x.cpuGB)} | ${t.pid === null ? "-" : fmt(x.cpuConn)} |`);
    }
    const by = new Map([...runs].map(([t, x]) => [t.name, x]));
    const g = by.get("gangway")!;
    const d = by.get("direct")!;
    if (bulkMB !== "0") {
      console.log(`gangway/direct bulk: upload ${(median(g.upload) / median(d.upload)).toFixed(2)}, download ${(median(g.download) / median(d.download)).toFixed(2)}`);
    }
    for (const other of ["haproxy", "bun-splice"]) {
      const h = by.get(other);
      if (h === undefined) continue;
      const parts = [`conns ${(median(g.conns) / median(h.conns)).toFixed(2)}`, `CPU per connection ${(median(g.cpuConn) / median(h.cpuConn)).toFixed(2)}`];
      if (bulkMB !== "0") parts.unshift(`upload ${(median(g.upload) / median(h.upload)).toFixed(2)}`, `download ${(median(g.download) / median(h.download)).toFixed(2)}`, `CPU per GB ${(median(g.cpuGB) / median(h.cpuGB)).toFixed(2)}`);
      console.log(`gangway/${other}: ${parts.join(", ")}`);
    }
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "backend") backend(Number(rest[0]));
else if (mode === "splice") splice(Number(rest[0]), Number(rest[1]));
else if (mode === "client") {
  const [kind, port, a, b] = rest;
  const r = kind === "bulk" ? await bulk(Number(port), a as "U" | "D", Number(b)) : await conns(Number(port), Number(a), Number(b));
  console.log(r);
  process.exit(0);
} else await main();

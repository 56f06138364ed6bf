// Starts the real gateway as a child process on free loopback ports, for
// end-to-end tests: `bun run src/main.ts --config ... --port-map P:L ...`.
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort as freeLoopbackPort } from "./free-port.ts";

export const ROOT = join(import.meta.dir, "..", "..");

/** A port that was free a moment ago on 127.0.0.1, never handed out before (./free-port.ts). */
export async function freePort(): Promise<number> {
  return freeLoopbackPort();
}

export interface GatewayProcess {
  proc: ReturnType<typeof Bun.spawn>;
  adminPort: number;
  /** Gateway server port → local port it listens on. */
  ports: Map<number, number>;
  /** `http://127.0.0.1:<local port of gateway port>` */
  url(gatewayPort: number, path?: string): string;
  admin(path: string): Promise<Response>;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  /** Wait until `pattern` shows in the output (written after character `after` of it, when given); 20 s by default: most lines waited for come from the primary thread, which runs at nice 10 and is slow on a loaded machine. */
  waitForOutput(pattern: RegExp, timeoutMs?: number, after?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface StartOptions {
  configDirs: string[];
  secretsDir?: string;
  /** Gateway ports the test will use (each mapped to a free local port). */
  gatewayPorts?: number[];
  workers?: number;
  args?: string[];
  /** Wait for /ready to answer 200 (default true). */
  waitReady?: boolean;
  /** Extra environment (e.g. GANGWAY_DEBUG=1 for debug log lines). */
  env?: Record<string, string>;
  /** Start under `ulimit -n` this many file descriptors (soft and hard; the process keeps its pid). */
  fdLimit?: number;
}

async function pump(stream: ReadableStream<Uint8Array>, sink: string[]): Promise<void> {
  const dec = new TextDecoder();
  for await (const chunk of stream) sink.push(dec.decode(chunk, { stream: true }));
}

export async function startGateway(opts: StartOptions): Promise<GatewayProcess> {
  const adminPort = await freePort();
  const ports = new Map<number, number>();
  for (const p of opts.gatewayPorts ?? [80]) ports.set(p, await freePort());
  const args = [
    "src/main.ts",
    ...opts.configDirs.flatMap((d) => ["--config", d]),
    "--admin", `127.0.0.1:${adminPort}`,
    "--bind", "127.0.0.1",
    "--workers", String(opts.workers ?? 2),
    "--port-map", [...ports].map(([p, l]) => `${p}:${l}`).join(","),
    ...(opts.secretsDir ? ["--secrets-dir", opts.secretsDir] : []),
    ...(opts.args ?? []),
  ];
  const cmd = opts.fdLimit === undefined ? [process.execPath, ...args] : ["/bin/sh", "-c", `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, process.execPath, ...args];
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...opts.env } });
  const out: string[] = [];
  void pump(proc.stdout as ReadableStream<Uint8Array>, out);
  void pump(proc.stderr as ReadableStream<Uint8Array>, out);
  const gw: GatewayProcess = {
    proc,
    adminPort,
    ports,
    url: (gatewayPort, path = "") => `http://127.0.0.1:${ports.get(gatewayPort)}${path}`,
    admin: (path) => fetch(`http://127.0.0.1:${adminPort}${path}`),
    output: () => out.join(""),
    async waitForOutput(pattern, timeoutMs = 20_000, after = 0) {
      const end = Date.now() + timeoutMs;
      while (!pattern.test(out.join("").slice(after))) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}; output:\n${out.join("")}`);
        await Bun.sleep(50);
      }
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
  if (opts.waitReady ?? true) {
    const end = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}:\n${gw.output()}`);
      try {
        const r = await gw.admin("/ready");
        if (r.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) {
        await gw.stop("SIGKILL");
        throw new Error(`gateway not ready in 20 s:\n${gw.output()}`);
      }
      await Bun.sleep(50);
    }
  }
  return gw;
}

/** A fresh temporary directory with the given files (relative path → text). */
export function writeTree(files: Record<string, string>, dir = mkdtempSync(join(tmpdir(), "gangway-"))): string {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}

/** Write `text` to `file` (a file of the gateway's configuration) and wait for the reload that applies it: logged once every worker applied it. */
export async function writeAndReload(gw: GatewayProcess, file: string, text: string): Promise<void> {
  const mark = gw.output().length;
  writeFileSync(file, text);
  await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
}

/** Run the gateway CLI to completion (analyze, proxy-config, bad usage ...); `env` over this process's (undefined: unset). */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v;
  const proc = Bun.spawn([process.execPath, "src/main.ts", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore", env: merged });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

// Out-of-descriptor tests (fd-exhaustion*, pipeline-fds, pool-fds): raw clients of a
// gateway port, filling a gateway process's descriptor table with idle ones (it was
// started with startGateway's `fdLimit`) and freeing it again, and a script run in a
// child under `ulimit -n`.
import type { Socket } from "bun";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The repository root (children started here resolve its modules). */
export const ROOT = join(import.meta.dir, "..", "..");

/** A client connection that collects what comes back as text. */
export interface RawClient {
  s: Socket<undefined>;
  text(): string;
  closed(): boolean;
}

export async function rawClient(port: number): Promise<RawClient> {
  let got = "";
  let closed = false;
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, b) => void (got += b.toString("latin1")),
      close: () => void (closed = true),
      error: () => {},
    },
  });
  return { s, text: () => got, closed: () => closed };
}

/** Polls `cond` until it holds (true) or `ms` pass (false). */
export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** Descriptors process `pid` holds open. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Connections waiting in the accept queue of the listeners on `port` (a LISTEN
 * socket's rx_queue in /proc/net/tcp and tcp6): connected by the kernel, not yet
 * accepted by the process.
 */
export function acceptQueue(port: number): number {
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "latin1");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || f[3] !== "0A" || parseInt(f[1]!.split(":")[1]!, 16) !== port) continue;
      n += parseInt(f[4]!.split(":")[1]!, 16);
    }
  }
  return n;
}

/**
 * Opens idle clients of `port` until process `pid` holds `limit` descriptors (its
 * `ulimit -n`), then 4 more that wait in the listen backlog: a descriptor the
 * process frees for a moment (the primary's poll reads the config folder) is
 * taken by one of them at once. Before that it waits until the clients already
 * connected to `port` and `alsoAccepted` are accepted (their accept queues are
 * empty): one left in the queue when the table fills would wait there for ever.
 * false when the queues did not empty or the table did not fill in 5 s.
 */
export async function fillDescriptors(pid: number, port: number, limit: number, fillers: Socket<undefined>[], alsoAccepted: number[] = []): Promise<boolean> {
  if (!(await until(() => [port, ...alsoAccepted].every((p) => acceptQueue(p) === 0), 5000))) return false;
  for (let i = 0; i < limit && openFds(pid) < limit; i++) fillers.push((await rawClient(port)).s);
  if (!(await until(() => openFds(pid) >= limit, 5000))) return false;
  for (let i = 0; i < 4; i++) fillers.push((await rawClient(port)).s);
  return true;
}

/** Closes the fillers; true once the process holds fewer than limit - 20 descriptors (5 s at most). */
export async function freeDescriptors(pid: number, limit: number, fillers: Socket<undefined>[]): Promise<boolean> {
  for (const f of fillers) f.end();
  fillers.length = 0;
  return until(() => openFds(pid) < limit - 20, 5000);
}

/** Runs the TypeScript `script` in a child Bun under `ulimit -n limit` (cwd: the repository); its exit code and output. */
export async function runUnderFdLimit(script: string, limit: number): Promise<{ code: number; out: string; err: string }> {
  const file = join(mkdtempSync(join(tmpdir(), "gangway-fds-")), "probe.ts");
  await Bun.write(file, script);
  const proc = Bun.spawn(["/bin/sh", "-c", `ulimit -n ${limit} && exec "$0" "$1"`, process.execPath, file], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, out, err };
}

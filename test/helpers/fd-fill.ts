// Out-of-descriptor tests (test/e2e/fd-exhaustion*.test.ts): raw clients of a
// gateway port, and filling a gateway process's descriptor table with idle ones
// (it was started with startGateway's `fdLimit`), then freeing it again.
import type { Socket } from "bun";
import { readdirSync } from "node:fs";

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
 * Opens idle clients of `port` until process `pid` holds `limit` descriptors (its
 * `ulimit -n`), then 4 more that wait in the listen backlog: a descriptor the
 * process frees for a moment (the primary's poll reads the config folder) is
 * taken by one of them at once. false when the table did not fill in 5 s.
 */
export async function fillDescriptors(pid: number, port: number, limit: number, fillers: Socket<undefined>[]): Promise<boolean> {
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

// Idle keep-alive client connections for the in-process memory benches
// (idle-inproc.ts, idle-floor-address.ts): bench/idle-conns.ts in a child
// process opens them, and the caller measures while they are all idle.

/**
 * Open `count` connections to 127.0.0.1:`port` (idle-conns.ts), wait until all
 * are idle, then `settleS` seconds; `measure()` then (null when `settleS` is 0:
 * a warm-up), then close them all.
 */
export async function withIdleClients<T>(port: number, count: number, settleS: number, measure: () => T): Promise<T | null> {
  const child = Bun.spawn([process.execPath, new URL("./idle-conns.ts", import.meta.url).pathname, String(port), String(count), "0", "120"], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 90_000;
  while (!text.includes("ready") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  if (!text.includes(`ready ${count} 0`)) console.error(`client: ${text.trim()}`);
  await Bun.sleep(settleS * 1000);
  const out = settleS > 0 ? measure() : null;
  child.kill();
  await child.exited;
  return out;
}

// Loopback ports for the benchmarks' processes: a free one, and waiting until one listens.

/** A port nothing listens on now (bound and released). */
export async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

/** Resolves once something accepts on `port`; throws after 15 s. */
export async function waitPort(port: number): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      Bun.connect({ hostname: "127.0.0.1", port, socket: { open: (s) => (s.end(), r(true)), connectError: () => r(false), data() {} } }).catch(() => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${port}`);
    await Bun.sleep(50);
  }
}

// One raw HTTP/1.1 exchange on a fresh connection, for the hostile-shape tests: what the
// gateway answered (statuses in order), and whether it closed the connection itself.

/** The status codes of the HTTP/1.1 responses begun in `text`, in order. */
export const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

/** Send `send` in one write to 127.0.0.1:`port`; read until `n` responses began, then 300 ms more for a close (3 s in all). */
export async function exchange(port: number, send: string, n: number): Promise<{ statuses: number[]; closed: boolean; text: string }> {
  let text = "";
  let closed = false;
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, d) => void (text += d.toString("latin1")),
      close: () => void (closed = true),
      error: () => void (closed = true),
    },
  });
  s.write(send);
  const end = Date.now() + 3000;
  while (!closed && statuses(text).length < n && Date.now() < end) await Bun.sleep(10);
  const grace = Math.min(end, Date.now() + 300);
  while (!closed && Date.now() < grace) await Bun.sleep(10);
  const byServer = closed;
  s.end();
  return { statuses: statuses(text), closed: byServer, text };
}

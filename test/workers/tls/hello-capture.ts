// Real ClientHellos for the parser tests: captured from node:tls on a raw socket, and re-cut
// into TLS records of a given size.
import { connect } from "node:tls";
import { parseClientHello } from "../../../workers/tls/client-hello.ts";

/** The first bytes a real TLS client (node:tls) sends, captured on a raw socket. */
export async function captureHello(opts: { servername?: string; ALPNProtocols?: string[] }): Promise<Uint8Array> {
  let resolve!: (b: Uint8Array) => void;
  const got = new Promise<Uint8Array>((r) => (resolve = r));
  let buf = new Uint8Array(0);
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(sock, chunk) {
        const next = new Uint8Array(buf.length + chunk.length);
        next.set(buf);
        next.set(chunk, buf.length);
        buf = next;
        const r = parseClientHello(buf);
        if (r.status !== "more") {
          resolve(buf);
          sock.end();
        }
      },
    },
  });
  const client = connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false, ...opts });
  client.on("error", () => {});
  const bytes = await got;
  client.destroy();
  server.stop(true);
  return bytes;
}

/** Re-cut a handshake into TLS records of at most `size` bytes. */
export function refragment(hello: Uint8Array, size: number): Uint8Array {
  const body = hello.subarray(5);
  const parts: number[] = [];
  for (let i = 0; i < body.length; i += size) {
    const frag = body.subarray(i, Math.min(i + size, body.length));
    parts.push(0x16, 0x03, 0x01, frag.length >> 8, frag.length & 0xff, ...frag);
  }
  return new Uint8Array(parts);
}

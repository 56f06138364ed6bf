// The client's IP as workers/peer-address.ts reads it: libc getpeername for an IPv4 peer (one
// shared string per address), Bun's remoteAddress for anything else. Real sockets on loopback.
import { afterAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { peerIp, peerNamesKept } from "../../../workers/peer-address.ts";

const servers: TCPSocketListener<undefined>[] = [];
const clients: Socket<undefined>[] = [];

/** A listener on `host`; resolves with [what peerIp read, what Bun's remoteAddress reads] of the first accepted socket. */
async function accepted(host: string, connectTo: string): Promise<[string, string, number, string]> {
  const { promise, resolve } = Promise.withResolvers<[string, string, number, string]>();
  const server = Bun.listen<undefined>({
    hostname: host,
    port: 0,
    socket: {
      open(s) {
        const fd = (s as unknown as { fd: number }).fd;
        // on Linux the fd is read, not remoteAddress: a socket object naming another address still gets the peer's
        const viaFd = peerIp({ remoteAddress: "198.51.100.1", fd });
        resolve([peerIp(s), s.remoteAddress, fd, viaFd]);
      },
      data() {},
    },
  });
  servers.push(server);
  clients.push(await Bun.connect({ hostname: connectTo, port: server.port, socket: { data() {} } }));
  return promise;
}

afterAll(() => {
  for (const c of clients) c.end();
  for (const s of servers) s.stop(true);
});

describe("peerIp", () => {
  test("an IPv4 peer: the dotted address, as Bun's remoteAddress gives it, and kept in the table", async () => {
    const [ip, bun, fd, viaFd] = await accepted("127.0.0.1", "127.0.0.1");
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(ip).toBe("127.0.0.1");
    expect(ip).toBe(bun);
    if (process.platform === "linux" && process.env.GANGWAY_PEER_FFI !== "off") {
      expect(viaFd).toBe("127.0.0.1");
      expect(peerNamesKept()).toBeGreaterThan(0);
    }
  });

  test("an IPv6 peer: Bun's remoteAddress", async () => {
    const [ip, bun] = await accepted("::1", "::1");
    expect(ip).toBe("::1");
    expect(ip).toBe(bun);
  });

  test("a socket without an fd (the TLS bridge) or with a closed one: its remoteAddress", () => {
    expect(peerIp({ remoteAddress: "192.0.2.7" })).toBe("192.0.2.7");
    expect(peerIp({ remoteAddress: "192.0.2.8", fd: -1 })).toBe("192.0.2.8");
    // an fd that is no socket (stdin): getpeername fails, the socket's own answer is taken
    expect(peerIp({ remoteAddress: "192.0.2.9", fd: 0 })).toBe("192.0.2.9");
    expect(peerIp({ remoteAddress: undefined as unknown as string })).toBe("");
  });
});

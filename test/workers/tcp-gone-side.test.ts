// A TCP session (tcp: routes, TLS passthrough) one of whose sides is gone for good while
// the other still sends: Envoy's tcp_proxy closes the other side once its writes are out.
// gangway closes it as soon as that side's kernel acknowledged everything sent to it, our
// FIN included (workers/tcp/fin-acked.ts), so nothing sent is lost and the session does not
// wait CLOSING_MS (10 s) for a peer that keeps sending. The sweep never runs here: without
// that rule these sessions would stay open. Half-close is untouched: a client that sent its
// FIN and still reads keeps getting the upstream's bytes. Both relays (native and JS).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { createHash } from "node:crypto";
import type { Cluster, Snapshot, TcpRouteTable } from "../../src/snapshot/types.ts";
import { applyClusters } from "../../workers/http/clusters.ts";
import type { PortState } from "../../workers/listeners.ts";
import { tcpHandlers } from "../../workers/tcp/handoff.ts";
import { relayOptions } from "../../workers/tcp/native-relay.ts";
import { sessions } from "../../workers/tcp/session.ts";

const CHUNK = Buffer.alloc(64 * 1024, 120);

/** One upstream connection: what it got (and its hash), whether it saw our FIN, whether it is closed. */
interface Up {
  got: number;
  hash: ReturnType<typeof createHash>;
  fin: boolean;
  closed: boolean;
  s: Socket<Up>;
}
const ups: Up[] = [];

/** Sends without end (as fast as the gateway takes it) until closed; keeps reading after our FIN. */
function firehose(): TCPSocketListener<Up> {
  const pump = (s: Socket<Up>) => {
    while (!s.data.closed && s.write(CHUNK) === CHUNK.length);
  };
  return Bun.listen<Up>({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.data = { got: 0, hash: createHash("sha256"), fin: false, closed: false, s };
        ups.push(s.data);
        pump(s);
      },
      data(s, b) {
        s.data.got += b.length;
        s.data.hash.update(b);
      },
      drain: pump,
      end(s) {
        s.data.fin = true;
      },
      close(s) {
        s.data.closed = true;
      },
      error() {},
    },
  });
}

/** Reads; when 40 KB came it sends "bye" and its FIN (and still reads); the test then closes it for good. */
function closer(): TCPSocketListener<Up> {
  return Bun.listen<Up>({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.data = { got: 0, hash: createHash("sha256"), fin: false, closed: false, s };
        ups.push(s.data);
      },
      data(s, b) {
        s.data.got += b.length;
        if (s.data.got >= 40 * 1024 && !s.data.fin) {
          s.data.fin = true;
          s.write("bye");
          s.shutdown(); // the test then closes it for good (terminate) once the client has the FIN
        }
      },
      close(s) {
        s.data.closed = true;
      },
      error() {},
    },
  });
}

interface Client {
  s: Socket<undefined>;
  got: number;
  ended: boolean;
  closed: boolean;
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c: Client = { s: null as never, got: 0, ended: false, closed: false };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        open: (s) => {
          c.s = s;
          resolve(c);
        },
        data: (_s, b) => void (c.got += b.length),
        end: () => void (c.ended = true),
        close: () => void (c.closed = true),
        error: () => void (c.closed = true),
        connectError: (_s, e) => reject(e),
      },
    }).catch(reject);
  });
}

/** Wait for `cond`, 5 s at most (well under CLOSING_MS: the sweep, which would end it at 10 s, does not run here). */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(5);
  }
}

function cluster(name: string, port: number): Cluster {
  return { name, serviceHost: `${name}.gone`, port: 7000, subset: "", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port, weight: 1, labels: {} }] };
}
function table(c: string): TcpRouteTable {
  const route = { name: `to-${c}`, source: "test", sniHosts: [], destinations: [{ cluster: c, weight: 100, host: `${c}.gone`, port: 7000, subset: "" }], totalWeight: 100 };
  return { name: "tcp.7000", routes: [route], exactHosts: new Map(), wildcardHosts: [], catchAll: 0 };
}

const backends: Record<string, TCPSocketListener<Up>> = {};
const fronts: Record<string, TCPSocketListener<any>> = {};
beforeAll(() => {
  backends.firehose = firehose();
  backends.closer = closer();
  const gen = applyClusters({ clusters: new Map(Object.entries(backends).map(([k, l]) => [k, cluster(k, l.port)])) } as unknown as Snapshot);
  for (const k of Object.keys(backends)) {
    const port = { listener: { tcpRoutes: table(k) }, gen, draining: false } as unknown as PortState;
    fronts[k] = Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket: tcpHandlers(port) });
  }
});
afterAll(() => {
  for (const l of [...Object.values(backends), ...Object.values(fronts)]) l.stop(true);
  relayOptions.native = true;
  relayOptions.handoff = 256 * 1024;
});

for (const mode of ["native", "js"] as const) {
  describe(`${mode} relay`, () => {
    beforeAll(() => {
      relayOptions.native = mode === "native";
      relayOptions.handoff = mode === "native" ? 128 * 1024 : Infinity;
    });

    test("the client sends its last bytes and FIN, then closes for good while the upstream keeps sending: the upstream gets every byte and our FIN, and is closed at once", async () => {
      ups.length = 0;
      const c = await connect(fronts.firehose!.port);
      const last = Buffer.from("the client's last words ".repeat(1000));
      c.s.write(last);
      c.s.shutdown();
      await until(() => c.got > 512 * 1024, "the upstream's bytes flow");
      await until(() => ups[0]!.fin, "our FIN reached the upstream");
      expect(ups[0]!.got).toBe(last.length);
      expect(ups[0]!.hash.digest("hex")).toBe(createHash("sha256").update(last).digest("hex"));
      c.s.terminate(); // gone for good, its receive queue full of the upstream's bytes: a reset
      await until(() => ups[0]!.closed, "the upstream is closed (it never closes by itself)");
      await until(() => sessions.size === 0, "the session ended");
    });

    test("half-close is kept: after its FIN the client still gets the upstream's bytes for as long as it reads; when it then closes, the upstream is closed", async () => {
      ups.length = 0;
      const c = await connect(fronts.firehose!.port);
      c.s.write("hello");
      c.s.shutdown();
      await until(() => ups[0]?.fin === true, "our FIN reached the upstream");
      const at = c.got;
      await until(() => c.got > at + 1024 * 1024, "a MiB more after the FIN");
      expect(ups[0]!.closed).toBe(false);
      expect(c.closed).toBe(false);
      c.s.terminate();
      await until(() => ups[0]!.closed, "the upstream is closed");
      await until(() => sessions.size === 0, "the session ended");
    });

    test("the upstream sends FIN, then closes for good while the client still sends: the client gets the bytes and the FIN, and is closed without waiting", async () => {
      ups.length = 0;
      const c = await connect(fronts.closer!.port);
      const w = setInterval(() => void (c.closed || c.s.write(CHUNK.subarray(0, 8192))), 5);
      try {
        await until(() => c.ended, "the upstream's FIN passed on");
        // gone for good, the client still sending (a reset: before the FIN is through, a relay that
        // finds the socket reset before it read the FIN rightly resets the client instead)
        ups[0]!.s.terminate();
        await until(() => c.closed, "the client is closed (it never closes by itself)");
      } finally {
        clearInterval(w);
      }
      expect(c.got).toBe(3);
      await until(() => sessions.size === 0, "the session ended");
    });
  });
}

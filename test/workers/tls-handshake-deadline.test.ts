// The two deadlines of a terminated TLS connection (workers/tls/listener.ts): the ClientHello's
// (from accept) and the handshake's (from the hello). A client that sent its hello in time and
// is slow to answer the server's flight (bench/tls-burst.sh: a starved Bun client holds it for
// seconds) is not cut by the hello's deadline; a handshake never finished is closed by the
// handshake's and counted as gangway_tls_refused_total{reason="handshake_timeout"}.
// The data plane runs in this process with shortened deadlines; between the TLS client and the
// gateway a relay holds the gateway's bytes back for a while (or for ever).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { connect } from "node:tls";
import { setNativeTls } from "../../workers/tls/native.ts";
import { HANDSHAKE_DEADLINE_MS, HELLO_DEADLINE_MS, setTlsDeadlines } from "../../workers/tls/listener.ts";
import { stats } from "../../workers/stats.ts";
import { startTlsApp, type TlsApp } from "./tls-app-fixture.ts";

let app: TlsApp;

beforeAll(async () => {
  app = await startTlsApp();
});

afterAll(() => {
  setTlsDeadlines(HELLO_DEADLINE_MS, HANDSHAKE_DEADLINE_MS);
  setNativeTls(null);
  app.stop();
});

interface Relay {
  port: number;
  /** The gateway closed its side. */
  gatewayClosed: Promise<void>;
  stop(): void;
}

/**
 * One connection's relay to the gateway: the client's bytes go on at once; the gateway's are
 * held until `release` resolves (never: held for good), then passed on as they come.
 */
async function relay(release: Promise<void>): Promise<Relay> {
  let closed!: () => void;
  const gatewayClosed = new Promise<void>((r) => (closed = r));
  let upstream: Socket<undefined> | null = null;
  let held: Buffer[] | null = [];
  let client: Socket<undefined> | null = null;
  const pending: Buffer[] = [];
  const server: TCPSocketListener<undefined> = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(c) {
        client = c;
        void Bun.connect<undefined>({
          hostname: "127.0.0.1",
          port: app.port,
          socket: {
            open(u) {
              upstream = u;
              for (const b of pending) u.write(b);
              pending.length = 0;
            },
            data(_u, b) {
              if (held !== null) held.push(Buffer.from(b));
              else client?.write(b);
            },
            close() {
              closed();
              client?.end();
            },
            connectError() {
              closed();
              client?.end();
            },
          },
        });
      },
      data(_c, b) {
        if (upstream !== null) upstream.write(b);
        else pending.push(Buffer.from(b));
      },
      close() {
        upstream?.end();
      },
    },
  });
  void release.then(() => {
    const h = held ?? [];
    held = null;
    for (const b of h) client?.write(b);
  });
  return { port: server.port, gatewayClosed, stop: () => server.stop(true) };
}

function refused(reason: string): number {
  let n = 0;
  for (const [k, v] of Object.entries(stats.sample())) if (k.startsWith("gangway_tls_refused_total{") && k.includes(`reason="${reason}"`)) n += v;
  return n;
}

for (const native of [true, false]) {
const path = native ? "Bun's TLS (upgraded socket)" : "the node:tls bridge";

test(`${path}: a client slow to answer the server's flight finishes its handshake after the hello's deadline has passed`, async () => {
  setNativeTls(native);
  setTlsDeadlines(1000, 60_000);
  let helloSeen!: () => void;
  const afterHello = new Promise<void>((r) => (helloSeen = r));
  // the gateway's flight reaches the client only once the hello deadline (1 s from accept) is long past
  const r = await relay(afterHello.then(() => Bun.sleep(2500)));
  const before = refused("hello_timeout") + refused("handshake_timeout");
  const body = await new Promise<string>((resolve, reject) => {
    const t = connect({ host: "127.0.0.1", port: r.port, servername: "httpbin.example.com", ca: app.pki.ca.cert });
    let got = "";
    t.on("secureConnect", () => t.write("GET /status/200 HTTP/1.1\r\nhost: httpbin.example.com\r\nconnection: close\r\n\r\n"));
    t.on("data", (b: Buffer) => (got += b.toString("latin1")));
    t.on("end", () => resolve(got));
    t.on("error", reject);
    helloSeen(); // node:tls writes the hello as it connects; the relay holds only the answer
  });
  r.stop();
  expect(body.startsWith("HTTP/1.1 200")).toBe(true);
  expect(refused("hello_timeout") + refused("handshake_timeout")).toBe(before);
}, 20_000);

test(`${path}: a handshake never finished is closed by the handshake's deadline and counted as handshake_timeout`, async () => {
  setNativeTls(native);
  setTlsDeadlines(60_000, 300);
  const r = await relay(new Promise<void>(() => {})); // the client never sees the server's flight
  const before = refused("handshake_timeout");
  const hello = refused("hello_timeout");
  const t = connect({ host: "127.0.0.1", port: r.port, servername: "httpbin.example.com", ca: app.pki.ca.cert });
  let secure = false;
  t.on("secureConnect", () => (secure = true));
  t.on("error", () => {});
  await r.gatewayClosed; // the gateway gave up (the hello deadline is a minute: not that one)
  t.destroy();
  r.stop();
  expect(secure).toBe(false);
  expect(refused("handshake_timeout")).toBe(before + 1);
  expect(refused("hello_timeout")).toBe(hello);
}, 20_000);
}

// Splicing under load through the real gateway process: 100 MB each way at
// once with checksums, a client that does not read (the gateway's memory stays
// bounded), half-close in both directions, TCP routes with weights, TLS
// terminated then spliced, and an upstream that refuses.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { secretYaml } from "../../src/cli/certs.ts";
import { issue } from "../../src/certs/generate.ts";
import { freePort, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { clientHello } from "../helpers/client-hello.ts";

const MB = 1024 * 1024;
const BULK = 100 * MB;

const base = Buffer.from(crypto.getRandomValues(new Uint8Array(MB)));
/** Chunk i of a stream: the random MB stamped with i and a per-stream tag (so a lost or reordered chunk changes the hash). */
function chunk(i: number, tag: number): Buffer {
  const c = Buffer.from(base);
  c.writeUInt32BE(i, 0);
  c.writeUInt32BE(tag, 4);
  return c;
}

/** Write chunks 0..n-1 with backpressure (write's count, then drain); `done` after the last. */
class Sender {
  private i = 0;
  private rest: Uint8Array | null = null;
  readonly hash = new Bun.CryptoHasher("sha256");
  constructor(
    private readonly n: number,
    private readonly tag: number,
    private readonly done: (s: Socket<any>) => void,
  ) {}
  pump(s: Socket<any>): void {
    for (;;) {
      if (this.rest === null) {
        if (this.i === this.n) {
          this.i++;
          this.done(s);
          return;
        }
        if (this.i > this.n) return;
        const c = chunk(this.i++, this.tag);
        this.hash.update(c);
        this.rest = c;
      }
      const w = s.write(this.rest);
      if (w < this.rest.length) {
        this.rest = w > 0 ? this.rest.subarray(w) : this.rest;
        return; // drain calls pump again
      }
      this.rest = null;
    }
  }
}

function expectedHash(n: number, tag: number, prefix?: Uint8Array): string {
  const h = new Bun.CryptoHasher("sha256");
  if (prefix) h.update(prefix);
  for (let i = 0; i < n; i++) h.update(chunk(i, tag));
  return h.digest("hex");
}

function rssKb(pid: number): number {
  let total = 0;
  // the gateway process (its workers are threads of it)
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  total += Number(m?.[1] ?? 0);
  return total;
}

// ---- backends (in this process, on loopback) ----------------------------------

interface BulkState {
  received: Bun.CryptoHasher;
  receivedBytes: number;
  sender: Sender;
  eof: boolean;
  sent: boolean;
}

/** Hashes what it receives while sending BULK bytes; after the client's FIN, sends the 64-hex hash of what it got, then closes. */
function bulkBackend() {
  const finish = (s: Socket<BulkState>) => {
    if (s.data.eof && s.data.sent) {
      s.write(s.data.received.digest("hex"));
      s.end();
    }
  };
  return Bun.listen<BulkState>({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.data = {
          received: new Bun.CryptoHasher("sha256"),
          receivedBytes: 0,
          eof: false,
          sent: false,
          sender: new Sender(BULK / MB, 2, (x) => {
            (x as Socket<BulkState>).data.sent = true;
            finish(x as Socket<BulkState>);
          }),
        };
        s.data.sender.pump(s);
      },
      data(s, b) {
        s.data.received.update(b);
        s.data.receivedBytes += b.length;
      },
      drain(s) {
        s.data.sender.pump(s);
      },
      end(s) {
        s.data.eof = true;
        finish(s);
      },
    },
  });
}

/** Sends as fast as the connection takes, counting; never stops on its own. */
const flood = { sent: 0 };
function floodBackend() {
  const pump = (s: Socket<any>) => {
    for (;;) {
      const n = s.write(base);
      if (n > 0) flood.sent += n;
      if (n < base.length) return;
    }
  };
  return Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: pump, drain: pump, data() {} } });
}

/** Says "server-done", sends FIN, and records what the client sends after that. */
const earlyFin = { got: "" };
function earlyFinBackend() {
  return Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.write("server-done");
        s.shutdown();
      },
      data(_s, b) {
        earlyFin.got += b.toString("latin1");
      },
    },
  });
}

/** Writes its name and closes. */
function whoBackend(name: string) {
  return Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void s.end(name), data() {} } });
}

/** Echoes; passes the client's FIN on. */
function echoBackend() {
  return Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: { data: (s, b) => void s.write(b), end: (s) => void s.end() },
  });
}

function serviceEntry(name: string, port: number): string {
  return `
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.test.internal]
  ports: [{number: 7000, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp: ${port}}}]
`;
}

/** Connect through the gateway; resolve with everything received when the connection closes. */
function exchange(port: number, opts: { first?: Uint8Array; send?: string; shutdown?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        open(s) {
          if (opts.first) s.write(opts.first);
          if (opts.send) s.write(opts.send);
          if (opts.shutdown) s.shutdown();
        },
        data(_s, b) {
          got += b.toString("latin1");
        },
        close() {
          resolve(got);
        },
        connectError(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });
}

/**
 * Through the earlyFin backend (SNI fin.example.com): the upstream's FIN reaches the
 * client alone, and what the client sends after it still reaches the upstream.
 */
async function expectUpstreamFinAlone(port: number): Promise<void> {
  earlyFin.got = "";
  const hello = clientHello("fin.example.com");
  const got = await new Promise<string>((resolve, reject) => {
    let text = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        open(s) {
          s.write(hello);
        },
        data(_s, b) {
          text += b.toString();
        },
        end(s) {
          s.write("client-after-fin"); // our side is still open
          s.shutdown();
        },
        close() {
          resolve(text);
        },
        connectError(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });
  expect(got).toBe("server-done");
  const end = Date.now() + 3000;
  while (!earlyFin.got.endsWith("client-after-fin") && Date.now() < end) await Bun.sleep(10);
  expect(earlyFin.got).toBe(Buffer.from(hello).toString("latin1") + "client-after-fin");
}

let pki: WalkthroughPki;
let gw: GatewayProcess;
const backends: { stop(b?: boolean): void }[] = [];
let whoCounts = "";
beforeAll(async () => {
  pki = await walkthroughPki();
  const db = await issue(pki.ca, { cn: "db.example.com", usage: "server", keyType: "ec" });
  const bulk = bulkBackend();
  const fl = floodBackend();
  const ef = earlyFinBackend();
  const [a, b, c] = [whoBackend("a"), whoBackend("b"), whoBackend("c")];
  const echo = echoBackend();
  backends.push(bulk, fl, ef, a, b, c, echo);
  const dead = await freePort();
  const gateway = `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ["*.example.com"]
    tls: {mode: PASSTHROUGH}
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
  - port: {number: 31401, name: tcp-dead, protocol: TCP}
    hosts: ["*"]
  - port: {number: 9443, name: tls-db, protocol: TLS}
    hosts: [db.example.com]
    tls: {mode: SIMPLE, credentialName: db-credential}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: streams}
spec:
  hosts: ["*.example.com"]
  gateways: [gw]
  tls:
  - match: [{sniHosts: [bulk.example.com]}]
    route: [{destination: {host: bulk.test.internal, port: {number: 7000}}}]
  - match: [{sniHosts: [flood.example.com]}]
    route: [{destination: {host: flood.test.internal, port: {number: 7000}}}]
  - match: [{sniHosts: [fin.example.com]}]
    route: [{destination: {host: fin.test.internal, port: {number: 7000}}}]
  - match: [{sniHosts: [echo.example.com]}]
    route: [{destination: {host: echo.test.internal, port: {number: 7000}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tcp}
spec:
  hosts: ["*"]
  gateways: [gw]
  tcp:
  - match: [{port: 31400}]
    route:
    - {destination: {host: a.test.internal, port: {number: 7000}}, weight: 75}
    - {destination: {host: b.test.internal, port: {number: 7000}}, weight: 25}
    - {destination: {host: c.test.internal, port: {number: 7000}}, weight: 0}
  - match: [{port: 31401}]
    route: [{destination: {host: dead.test.internal, port: {number: 7000}}}]
  - match: [{port: 9443}]
    route: [{destination: {host: echo.test.internal, port: {number: 7000}}}]
`;
  const dir = writeTree({
    "gateway.yaml": gateway,
    "services.yaml": [
      serviceEntry("bulk", bulk.port),
      serviceEntry("flood", fl.port),
      serviceEntry("fin", ef.port),
      serviceEntry("a", a.port),
      serviceEntry("b", b.port),
      serviceEntry("c", c.port),
      serviceEntry("dead", dead),
      serviceEntry("echo", echo.port),
    ].join(""),
    "secret.yaml": secretYaml("db-credential", "istio-system", "tls", db.cert, db.key),
  });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [443, 31400, 31401, 9443] });
});
afterAll(async () => {
  await gw?.stop();
  for (const b of backends) b.stop(true);
});

describe("passthrough splice", () => {
  test("100 MB each way at once, checksums intact; the client's FIN passes alone (the server answers after it)", async () => {
    const hello = clientHello("bulk.example.com");
    const t0 = performance.now();
    const result = await new Promise<{ got: string; peerHash: string; bytes: number }>((resolve, reject) => {
      const recv = new Bun.CryptoHasher("sha256");
      let bytes = 0;
      let tail = "";
      const sender = new Sender(BULK / MB, 1, (s) => s.shutdown());
      sender.hash.update(hello);
      Bun.connect({
        hostname: "127.0.0.1",
        port: gw.ports.get(443)!,
        allowHalfOpen: true,
        socket: {
          open(s) {
            s.write(hello);
            sender.pump(s);
          },
          drain(s) {
            sender.pump(s);
          },
          data(_s, b) {
            const take = Math.min(b.length, BULK - bytes);
            if (take > 0) recv.update(b.subarray(0, take));
            bytes += take;
            if (take < b.length) tail += b.subarray(take).toString("latin1");
          },
          close() {
            resolve({ got: recv.digest("hex"), peerHash: tail, bytes });
          },
          connectError(_s, e) {
            reject(e);
          },
        },
      }).catch(reject);
    });
    const secs = (performance.now() - t0) / 1000;
    expect(result.bytes).toBe(BULK);
    expect(result.got).toBe(expectedHash(BULK / MB, 2));
    expect(result.peerHash).toBe(expectedHash(BULK / MB, 1, hello));
    expect(secs).toBeLessThan(15);
    console.log(`  100 MB each way through passthrough: ${secs.toFixed(2)} s (${((2 * BULK) / MB / secs).toFixed(0)} MB/s total)`);
  }, 30_000);

  test("a client that does not read: the upstream is paused, the gateway's memory stays bounded", async () => {
    const pid = gw.proc.pid;
    const before = rssKb(pid);
    let s!: Socket<any>;
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port: gw.ports.get(443)!,
        socket: {
          open(sock) {
            s = sock;
            sock.write(clientHello("flood.example.com"));
            sock.pause();
            resolve();
          },
          data(_s, b) {
            received += b.length;
          },
          connectError(_s, e) {
            reject(e);
          },
        },
      }).catch(reject);
    });
    await Bun.sleep(1000);
    const sentAt1s = flood.sent;
    await Bun.sleep(1000);
    const after = rssKb(pid);
    const stalled = flood.sent - sentAt1s;
    expect(flood.sent).toBeGreaterThan(0);
    expect(stalled).toBeLessThan(4 * MB); // the flood has stopped: backpressure reached the upstream
    expect(flood.sent).toBeLessThan(200 * MB);
    expect(after - before).toBeLessThan(48 * 1024);
    const paused = received;
    s.resume();
    const end = Date.now() + 10_000;
    while (received === paused && Date.now() < end) await Bun.sleep(10);
    expect(received).toBeGreaterThan(paused); // still alive, flowing again
    s.terminate();
  }, 15_000);

  test("the upstream's FIN passes alone: the client still sends after it, and that reaches the upstream", async () => {
    await expectUpstreamFinAlone(gw.ports.get(443)!);
  });
});

describe("refusals", () => {
  test("an SNI the server's hosts cover but no route names: no chain takes it (istiod builds passthrough chains per route), closed at once, logged NR unknown_sni", async () => {
    expect(await exchange(gw.ports.get(443)!, { first: clientHello("nope.example.com") })).toBe("");
    await gw.waitForOutput(/"- - -" 0 NR unknown_sni no_server_for_this_SNI .* nope\.example\.com -/);
  });

  test("not TLS at all on a TLS port: closed, logged NR bad_hello with the parser's reason", async () => {
    expect(await exchange(gw.ports.get(443)!, { send: "GET / HTTP/1.1\r\nhost: x\r\n\r\n" })).toBe("");
    await gw.waitForOutput(/"- - -" 0 NR bad_hello not_a_TLS_handshake /);
  });

  test("the hello deadline: no ClientHello, or half of one, closed after it (NR hello_timeout); a spliced or terminated connection lives past it", async () => {
    const port = gw.ports.get(443)!;
    const hello = clientHello("echo.example.com");
    const t0 = Date.now();
    const silent = exchange(port);
    const half = exchange(port, { first: hello.subarray(0, 20) });
    // spliced: the hello went to the echo upstream; after the deadline it still echoes
    let spliced = "";
    let splicedClosed = false;
    const sp = await new Promise<Socket<undefined>>((resolve, reject) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        allowHalfOpen: true,
        socket: {
          open: (s) => void (s.write(hello), resolve(s)),
          data: (_s, b) => void (spliced += b.toString("latin1")),
          close: () => void (splicedClosed = true),
          connectError: (_s, e) => reject(e),
        },
      }).catch(reject);
    });
    // terminated (SIMPLE on 9443, then the tcp route to the echo upstream)
    const tls = connect({ host: "127.0.0.1", port: gw.ports.get(9443)!, servername: "db.example.com", ca: pki.ca.cert });
    let tlsGot = "";
    let tlsClosed = false;
    tls.on("data", (b: Buffer) => void (tlsGot += b.toString()));
    tls.on("close", () => void (tlsClosed = true));
    tls.on("error", () => {});
    await new Promise<void>((r) => tls.once("secureConnect", () => r()));
    expect(await silent).toBe("");
    expect(await half).toBe("");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4900); // closed by the deadline, not before
    await gw.waitForOutput(/"- - -" 0 NR hello_timeout hello_timeout "-" 0 0 /);
    await gw.waitForOutput(/"- - -" 0 NR hello_timeout hello_timeout "-" 20 0 /);
    await Bun.sleep(Math.max(0, 5600 - (Date.now() - t0)));
    expect(splicedClosed).toBe(false);
    expect(tlsClosed).toBe(false);
    sp.write("after-deadline");
    tls.write("after-deadline");
    const end = Date.now() + 3000;
    while ((!spliced.endsWith("after-deadline") || tlsGot !== "after-deadline") && Date.now() < end) await Bun.sleep(10);
    expect(spliced).toBe(Buffer.from(hello).toString("latin1") + "after-deadline");
    expect(tlsGot).toBe("after-deadline");
    sp.end();
    tls.end();
  }, 15_000);
});

describe("TCP routes", () => {
  test("weights 75/25/0: connections split in proportion, the 0-weight destination never chosen", async () => {
    const counts: Record<string, number> = {};
    for (let batch = 0; batch < 10; batch++) {
      const names = await Promise.all(Array.from({ length: 40 }, () => exchange(gw.ports.get(31400)!)));
      for (const n of names) counts[n] = (counts[n] ?? 0) + 1;
    }
    whoCounts = JSON.stringify(counts);
    expect(Object.keys(counts).sort()).toEqual(["a", "b"]);
    expect(counts.a!).toBeGreaterThan(255); // 300 expected of 400
    expect(counts.b!).toBeGreaterThan(55); // 100 expected
  });

  test("TLS terminated here, then the decrypted bytes follow the tcp route", async () => {
    const r = await new Promise<{ cn: string; echo: string }>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port: gw.ports.get(9443)!, servername: "db.example.com", ca: pki.ca.cert });
      let echo = "";
      // no half-close here: a TLS client's close_notify ends both directions (as node's and Bun's clients do)
      let cn = "";
      s.on("secureConnect", () => {
        cn = String(s.getPeerCertificate().subject.CN);
        s.write("select 1;");
      });
      s.on("data", (b: Buffer) => {
        echo += b.toString();
        if (echo.length >= 9) s.end();
      });
      s.on("close", () => resolve({ cn, echo }));
      s.on("error", reject);
    });
    expect(r).toEqual({ cn: "db.example.com", echo: "select 1;" });
  });

  test("an upstream that refuses: the client is closed, the access log says UF with the reason", async () => {
    expect(await exchange(gw.ports.get(31401)!)).toBe("");
    await gw.waitForOutput(/"- - -" 0 UF upstream_connect_failure upstream_connect_error:ECONNREFUSED .* outbound\|7000\|\|dead\.test\.internal /);
  });

  test("access log: one line per TCP connection, route and cluster named", async () => {
    await gw.waitForOutput(/"- - -" 0 - - \S+ "-" \d+ 1 \d+ - .* outbound\|7000\|\|a\.test\.internal .* - tcp\.tcp\.0\n/);
    expect(whoCounts).not.toBe("");
  });
});

describe("a termination-only port that gains a passthrough server", () => {
  // Only ports with a passthrough chain listen half-open (it costs every handshake on
  // the port); adding one on reload rebinds the port half-open, without a restart.
  test("after the reload the spliced connection passes each side's FIN alone, and termination still works", async () => {
    const db = await issue(pki.ca, { cn: "db.example.com", usage: "server", keyType: "ec" });
    const ef = earlyFinBackend();
    const echo = echoBackend();
    // answers only once the client's FIN came: lost if the gateway closed on that FIN
    let heard = 0;
    const answer = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      allowHalfOpen: true,
      socket: { data: (_s, b) => void (heard += b.length), end: (sock) => void sock.end(`answer-after-fin:${heard}`) },
    });
    const server = (extra: string) => `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: [db.example.com]
    tls: {mode: SIMPLE, credentialName: db-credential}${extra}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: routes}
spec:
  hosts: ["*.example.com"]
  gateways: [gw]
  tcp:
  - route: [{destination: {host: echo.test.internal, port: {number: 7000}}}]
  tls:
  - match: [{sniHosts: [fin.example.com]}]
    route: [{destination: {host: fin.test.internal, port: {number: 7000}}}]
  - match: [{sniHosts: [answer.example.com]}]
    route: [{destination: {host: answer.test.internal, port: {number: 7000}}}]
`;
    const dir = writeTree({
      "gateway.yaml": server(""),
      "services.yaml": serviceEntry("fin", ef.port) + serviceEntry("echo", echo.port) + serviceEntry("answer", answer.port),
      "secret.yaml": secretYaml("db-credential", "istio-system", "tls", db.cert, db.key),
    });
    const g = await startGateway({ configDirs: [dir], gatewayPorts: [443] });
    try {
      const port = g.ports.get(443)!;
      const terminated = () =>
        new Promise<string>((resolve, reject) => {
          const s = connect({ host: "127.0.0.1", port, servername: "db.example.com", ca: pki.ca.cert });
          let echoText = "";
          s.on("secureConnect", () => s.write("select 1;"));
          s.on("data", (b: Buffer) => {
            echoText += b.toString();
            if (echoText.length >= 9) s.end();
          });
          s.on("close", () => resolve(echoText));
          s.on("error", reject);
        });
      expect(await terminated()).toBe("select 1;");
      // an SNI no server takes yet: refused
      expect(await exchange(port, { first: clientHello("fin.example.com") })).toBe("");
      writeFileSync(join(dir, "gateway.yaml"), server(`
  - port: {number: 443, name: tls-pass, protocol: TLS}
    hosts: [fin.example.com, answer.example.com]
    tls: {mode: PASSTHROUGH}`));
      await g.waitForOutput(/configuration reloaded/, 20_000); // logged once every worker applied it
      await expectUpstreamFinAlone(port);
      const answerHello = clientHello("answer.example.com");
      const answered = await exchange(port, { first: answerHello, send: "abc", shutdown: true });
      expect(answered).toBe(`answer-after-fin:${answerHello.length + 3}`);
      expect(await terminated()).toBe("select 1;");
    } finally {
      await g.stop();
      ef.stop(true);
      echo.stop(true);
      answer.stop(true);
    }
  }, 20_000);
});

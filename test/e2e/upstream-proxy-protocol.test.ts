// DestinationRule trafficPolicy.proxyProtocol through the real gateway: each
// upstream connection starts with a PROXY header naming the downstream client
// and the gateway address it reached, for HTTP/1.1, HTTP/2 (h2UpgradePolicy
// UPGRADE; h2c and over TLS), upstream TLS (the header before the handshake),
// a TCP route and a TLS passthrough route. Each backend sits behind a "front" that takes the
// header off (the way a PROXY-aware server reads it) and tells the server
// behind it which header its connection came with; the answers echo it.
// Keep-alive: a pooled connection made for one client (127.0.0.1) is not
// reused for another (127.0.0.2), and is reused for the same one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import http2 from "node:http2";
import { connect as netConnect, type AddressInfo, type Socket as NetSocket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { createCA, issue } from "../../src/certs/generate.ts";
import { parseProxyHeader, PROXY_BAD, PROXY_MORE } from "../../workers/proxy-protocol.ts";
import { loopbackServiceEntry, secret } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

/** The header as text: v1 its line, v2 `v2 TCP4 src dst sport dport` (IPv4) or `v2 TCP6 ...` (hex groups). */
function describeHeader(b: Buffer, len: number): string {
  if (b[0] === 0x50) return b.subarray(0, len - 2).toString("latin1");
  const fam = b[13]!;
  if (b[12] !== 0x21) return `v2 cmd ${b[12]}`;
  if (fam === 0x11) {
    const ip = (at: number) => [...b.subarray(at, at + 4)].join(".");
    return `v2 TCP4 ${ip(16)} ${ip(20)} ${b.readUInt16BE(24)} ${b.readUInt16BE(26)}`;
  }
  const ip6 = (at: number) => [...Array(8).keys()].map((i) => b.readUInt16BE(at + 2 * i).toString(16)).join(":");
  return `v2 TCP6 ${ip6(16)} ${ip6(32)} ${b.readUInt16BE(48)} ${b.readUInt16BE(50)}`;
}

interface Front {
  listener: TCPSocketListener<FrontConn>;
  /** Local port of the front's connection to the server behind → the header it came with and the front connection's number. */
  byPort: Map<number, { header: string; conn: number }>;
  accepted: number;
}
interface FrontConn {
  buf: Buffer;
  header: string;
  conn: number;
  inner: Socket<FrontConn> | null;
  pending: Buffer[];
}

/** A PROXY-header-taking front for the server on `target`: the header is required (a connection without one is closed). */
function front(target: number): Front {
  const f: Front = { listener: null as never, byPort: new Map(), accepted: 0 };
  const innerHandlers = {
    data(s: Socket<FrontConn>, d: Buffer) {
      (s.data as unknown as { outer: Socket<FrontConn> }).outer.write(d);
    },
    close(s: Socket<FrontConn>) {
      (s.data as unknown as { outer: Socket<FrontConn> }).outer.end();
    },
  };
  f.listener = Bun.listen<FrontConn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: Buffer.alloc(0), header: "", conn: ++f.accepted, inner: null, pending: [] };
      },
      data(s, d) {
        const c = s.data;
        if (c.header === "") {
          c.buf = Buffer.concat([c.buf, d]);
          const len = parseProxyHeader(c.buf, { ip: "", port: 0 });
          if (len === PROXY_MORE) return;
          if (len === PROXY_BAD) return void s.end("no PROXY header\n");
          c.header = describeHeader(c.buf, len);
          const rest = c.buf.subarray(len);
          if (rest.length > 0) c.pending.push(Buffer.from(rest));
          void Bun.connect({
            hostname: "127.0.0.1",
            port: target,
            data: { outer: s } as unknown as FrontConn,
            socket: {
              ...innerHandlers,
              open(inner) {
                f.byPort.set(inner.localPort, { header: c.header, conn: c.conn });
                c.inner = inner;
                for (const p of c.pending.splice(0)) inner.write(p);
              },
            },
          });
          return;
        }
        if (c.inner === null) c.pending.push(Buffer.from(d));
        else c.inner.write(d);
      },
      close(s) {
        s.data.inner?.end();
      },
    },
  });
  return f;
}

const answer = (f: Front, port: number) => JSON.stringify(f.byPort.get(port) ?? { header: "none", conn: 0 });

let gw: GatewayProcess;
let configDir = "";
const servers: { stop(): void }[] = [];
let h1: Front, h1v2: Front, h2: Front, h2tls: Front, tlsUp: Front, tcp: Front, tcpTls: Front, pt: Front;
let caCert = "";

beforeAll(async () => {
  const ca = await createCA({ cn: "up-ca", keyType: "ec" });
  caCert = ca.cert;
  const cert = await issue(ca, { cn: "up.local", names: ["tls.local", "pt.local"], usage: "server", keyType: "ec" });
  // the servers behind the fronts: each answers with the header its connection came with
  let plainFront: Front[] = [];
  const plain = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req, srv) => new Response(answer(plainFront.find((f) => f.byPort.has(srv.requestIP(req)!.port))!, srv.requestIP(req)!.port)) });
  const tls = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert: cert.cert, key: cert.key }, fetch: (req, srv) => new Response(answer(tlsFronts.find((f) => f.byPort.has(srv.requestIP(req)!.port)) ?? tlsUp, srv.requestIP(req)!.port)) });
  const h2c = http2.createServer((q, s) => {
    const body = answer(h2, q.socket.remotePort!);
    s.writeHead(200, { "content-length": Buffer.byteLength(body) });
    s.end(body);
  });
  await new Promise<void>((r) => h2c.listen(0, "127.0.0.1", r));
  const h2s = http2.createSecureServer({ cert: cert.cert, key: cert.key }, (q, s) => {
    const body = answer(h2tls, q.socket.remotePort!);
    s.writeHead(200, { "content-length": Buffer.byteLength(body) });
    s.end(body);
  });
  await new Promise<void>((r) => h2s.listen(0, "127.0.0.1", r));
  const echo = Bun.listen<{ told: boolean }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: (s) => void (s.data = { told: false }),
      data(s, d) {
        if (!s.data.told) s.write(answer(tcp, s.remotePort) + "\n");
        s.data.told = true;
        s.write(d);
      },
    },
  });
  // TLS originated on a TCP route: the same echo, over TLS
  const tlsEcho = Bun.listen<{ told: boolean }>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: cert.cert, key: cert.key },
    socket: {
      open: (s) => void (s.data = { told: false }),
      data(s, d) {
        if (!s.data.told) s.write(answer(tcpTls, s.remotePort) + "\n");
        s.data.told = true;
        s.write(d);
      },
    },
  });
  tcpTls = front(tlsEcho.port);
  h1 = front(plain.port!);
  h1v2 = front(plain.port!);
  plainFront = [h1, h1v2];
  h2 = front((h2c.address() as AddressInfo).port);
  h2tls = front((h2s.address() as AddressInfo).port);
  tlsUp = front(tls.port!);
  pt = front(tls.port!);
  const tlsFronts = [tlsUp, pt];
  tcp = front(echo.port);
  servers.push(plain, tls, { stop: () => h2c.close() }, { stop: () => h2s.close() }, { stop: () => echo.stop(true) }, { stop: () => tlsEcho.stop(true) }, ...[h1, h1v2, h2, h2tls, tlsUp, pt, tcp, tcpTls].map((f) => ({ stop: () => f.listener.stop(true) })));

  const se = (name: string, protocol: string, f: Front) => loopbackServiceEntry({ name, host: `${name}.local`, port: 80, targetPort: f.listener.port, portName: "p", protocol });
  const dr = (name: string, policy: string) => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ${name}}\nspec:\n  host: ${name}.local\n  trafficPolicy: ${policy}\n---\n`;
  const route = (to: string) => `  - match: [{uri: {prefix: /${to}}}]\n    route: [{destination: {host: ${to}.local, port: {number: 80}}}]\n`;
  const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 443, name: tls, protocol: TLS}, hosts: [pt.local], tls: {mode: PASSTHROUGH}}
  - {port: {number: 31400, name: tcp, protocol: TCP}, hosts: ["*"]}
  - {port: {number: 31401, name: tcp-tls, protocol: TCP}, hosts: ["*"]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /mirror}}]
    route: [{destination: {host: h1.local, port: {number: 80}}}]
    mirror: {host: h1v2.local, port: {number: 80}}
${route("h1v2")}${route("h1")}${route("h2tls")}${route("h2")}${route("tls")}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: pt}
spec:
  hosts: [pt.local]
  gateways: [gw]
  tls: [{match: [{sniHosts: [pt.local]}], route: [{destination: {host: pt.local, port: {number: 80}}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp}
spec:
  hosts: ["*"]
  gateways: [gw]
  tcp:
  - {match: [{port: 31400}], route: [{destination: {host: tcp.local, port: {number: 80}}}]}
  - {match: [{port: 31401}], route: [{destination: {host: tcptls.local, port: {number: 80}}}]}
---
${se("h1", "HTTP", h1)}${se("h1v2", "HTTP", h1v2)}${se("h2", "HTTP", h2)}${se("h2tls", "HTTP", h2tls)}${se("tls", "HTTP", tlsUp)}${se("pt", "TLS", pt)}${se("tcp", "TCP", tcp)}${se("tcptls", "TCP", tcpTls)}${dr("tcptls", "{proxyProtocol: {}, tls: {mode: SIMPLE, credentialName: up-ca, sni: tls.local}}")}${dr("h1", "{proxyProtocol: {}}")}${dr("h1v2", "{proxyProtocol: {version: V2}}")}${dr("h2", "{proxyProtocol: {version: V2}, connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}")}${dr("h2tls", "{proxyProtocol: {version: V2}, tls: {mode: SIMPLE, credentialName: up-ca, sni: tls.local}, connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}")}${dr("tls", "{proxyProtocol: {version: V1}, tls: {mode: SIMPLE, credentialName: up-ca, sni: tls.local}}")}${dr("pt", "{proxyProtocol: {version: V1}}")}${dr("tcp", "{proxyProtocol: {version: V2}}")}${secret("up-ca", { "ca.crt": ca.cert })}`;
  configDir = writeTree({ "c.yaml": yaml });
  gw = await startGateway({ configDirs: [configDir], workers: 1, gatewayPorts: [80, 443, 31400, 31401] });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  for (const s of servers) s.stop();
}, 15_000);

/** A keep-alive HTTP/1.1 client connection from `localAddress`: GETs one at a time, bodies by content-length. */
class Client {
  private buf = Buffer.alloc(0);
  private wake: () => void = () => {};
  readonly ready: Promise<void>;
  localPort = 0;
  constructor(
    port: number,
    readonly localAddress: string,
    private readonly s: NetSocket = netConnect({ host: "127.0.0.1", port, localAddress }),
  ) {
    this.ready = new Promise((r) => s.once("connect", () => ((this.localPort = s.localPort!), r())));
    s.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d as Buffer]);
      this.wake();
    });
    s.on("error", () => {});
  }
  async get(path: string): Promise<{ status: number; header: string; conn: number }> {
    await this.ready;
    this.s.write(`GET ${path} HTTP/1.1\r\nhost: a.local\r\n\r\n`);
    const end = Date.now() + 5000;
    for (;;) {
      const t = this.buf.toString("latin1");
      const he = t.indexOf("\r\n\r\n");
      const m = /content-length: *(\d+)/i.exec(t);
      if (he >= 0 && m !== null && this.buf.length >= he + 4 + Number(m[1])) {
        const body = this.buf.subarray(he + 4, he + 4 + Number(m[1])).toString();
        this.buf = this.buf.subarray(he + 4 + Number(m[1]));
        const status = Number(t.slice(9, 12));
        return status === 200 ? { status, ...(JSON.parse(body) as { header: string; conn: number }) } : { status, header: body, conn: 0 };
      }
      if (Date.now() > end) throw new Error(`no whole response: ${JSON.stringify(t)}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
  }
  close(): void {
    this.s.destroy();
  }
}

describe("HTTP routes", () => {
  const gwPort = () => gw.ports.get(80)!;

  test.each([
    ["/h1", "PROXY TCP4 {src} 127.0.0.1 {sport} {dport}"],
    ["/h1v2", "v2 TCP4 {src} 127.0.0.1 {sport} {dport}"],
    ["/h2", "v2 TCP4 {src} 127.0.0.1 {sport} {dport}"],
    ["/h2tls", "v2 TCP4 {src} 127.0.0.1 {sport} {dport}"],
    ["/tls", "PROXY TCP4 {src} 127.0.0.1 {sport} {dport}"],
  ])("%s: the upstream connection starts with the client's and the gateway's addresses", async (path, want) => {
    const c = new Client(gwPort(), "127.0.0.2");
    try {
      const r = await c.get(path);
      expect(r.status).toBe(200);
      expect(r.header).toBe(want.replace("{src}", "127.0.0.2").replace("{sport}", String(c.localPort)).replace("{dport}", String(gwPort())));
    } finally {
      c.close();
    }
  }, 15_000);

  test.each(["/h1", "/h1v2", "/h2", "/h2tls", "/tls"])("%s keep-alive: a connection made for 127.0.0.1 is not reused for 127.0.0.2, and is reused for the same client", async (path) => {
    const a = new Client(gwPort(), "127.0.0.1");
    const b = new Client(gwPort(), "127.0.0.2");
    try {
      const a1 = await a.get(path);
      const b1 = await b.get(path); // a's upstream connection is idle now (HTTP/1.1) or has room (HTTP/2)
      const a2 = await a.get(path);
      const b2 = await b.get(path);
      expect([a1.status, b1.status, a2.status, b2.status]).toEqual([200, 200, 200, 200]);
      expect(a1.header).toContain(" 127.0.0.1 127.0.0.1 ");
      expect(b1.header).toContain(" 127.0.0.2 127.0.0.1 ");
      expect(a2.header).toBe(a1.header);
      expect(b2.header).toBe(b1.header);
      expect(b1.conn).not.toBe(a1.conn);
      expect([a2.conn, b2.conn]).toEqual([a1.conn, b1.conn]); // pooled per client
    } finally {
      a.close();
      b.close();
    }
  }, 20_000);
});

/** Bytes through a TCP connection from `localAddress`: what came back once `done` says so (or 5 s). */
async function tcpExchange(port: number, localAddress: string, send: string, done: (t: string) => boolean): Promise<{ text: string; localPort: number }> {
  const s = netConnect({ host: "127.0.0.1", port, localAddress });
  let text = "";
  await new Promise<void>((r) => s.once("connect", r));
  const localPort = s.localPort!;
  await new Promise<void>((r) => {
    const t = setTimeout(r, 5000);
    s.on("data", (d) => {
      text += d.toString();
      if (done(text)) {
        clearTimeout(t);
        r();
      }
    });
    s.write(send);
  });
  s.destroy();
  return { text, localPort };
}

test("a mirrored copy's connection starts with the client's header too (the mirror cluster's version)", async () => {
  const gwPort = gw.ports.get(80)!;
  const c = new Client(gwPort, "127.0.0.2");
  try {
    const r = await c.get("/mirror");
    expect(r.header).toBe(`PROXY TCP4 127.0.0.2 127.0.0.1 ${c.localPort} ${gwPort}`);
    const want = `v2 TCP4 127.0.0.2 127.0.0.1 ${c.localPort} ${gwPort}`;
    const end = Date.now() + 5000;
    while (![...h1v2.byPort.values()].some((v) => v.header === want) && Date.now() < end) await Bun.sleep(20);
    expect([...h1v2.byPort.values()].map((v) => v.header)).toContain(want);
  } finally {
    c.close();
  }
}, 15_000);

describe("TCP and passthrough routes", () => {
  test("TCP: v2 header naming the client before its bytes", async () => {
    const port = gw.ports.get(31400)!;
    const r = await tcpExchange(port, "127.0.0.2", "ping", (t) => t.endsWith("ping"));
    const first = JSON.parse(r.text.slice(0, r.text.indexOf("\n"))) as { header: string };
    expect(first.header).toBe(`v2 TCP4 127.0.0.2 127.0.0.1 ${r.localPort} ${port}`);
    expect(r.text.endsWith("ping")).toBe(true);
  }, 15_000);

  test("TCP with TLS originated: v1 header on the raw connection, then the handshake, then the client's bytes", async () => {
    const port = gw.ports.get(31401)!;
    const r = await tcpExchange(port, "127.0.0.2", "ping", (t) => t.endsWith("ping"));
    const first = JSON.parse(r.text.slice(0, r.text.indexOf("\n"))) as { header: string };
    expect(first.header).toBe(`PROXY TCP4 127.0.0.2 127.0.0.1 ${r.localPort} ${port}`);
    expect(r.text.endsWith("ping")).toBe(true);
  }, 15_000);

  test("passthrough: v1 header, then the client's own TLS reaches the server", async () => {
    const port = gw.ports.get(443)!;
    const raw = netConnect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" });
    await new Promise<void>((r) => raw.once("connect", r));
    const localPort = raw.localPort!;
    const t = tlsConnect({ socket: raw, servername: "pt.local", ca: caCert });
    await new Promise<void>((r, j) => {
      t.once("secureConnect", r);
      t.once("error", j);
    });
    t.write("GET / HTTP/1.1\r\nhost: pt.local\r\nconnection: close\r\n\r\n");
    let text = "";
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 5000);
      t.on("data", (d) => (text += d.toString()));
      t.on("end", () => (clearTimeout(timer), r()));
    });
    t.destroy();
    const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as { header: string };
    expect(body.header).toBe(`PROXY TCP4 127.0.0.2 127.0.0.1 ${localPort} ${port}`);
  }, 15_000);
});

describe("behind a load balancer (--proxy-protocol): the upstream header repeats the client and the destination the downstream header named", () => {
  let lb: GatewayProcess;
  beforeAll(async () => {
    lb = await startGateway({ configDirs: [configDir], workers: 1, gatewayPorts: [80, 31400], args: ["--proxy-protocol"] });
  }, 30_000);
  afterAll(async () => {
    await lb?.stop();
  }, 15_000);

  test("HTTP: v1 in, v2 out", async () => {
    const r = await tcpExchange(lb.ports.get(80)!, "127.0.0.1", "PROXY TCP4 203.0.113.7 198.51.100.1 4444 8080\r\nGET /h1v2 HTTP/1.1\r\nhost: a\r\n\r\n", (t) => t.endsWith("}"));
    expect(JSON.parse(r.text.slice(r.text.indexOf("\r\n\r\n") + 4)).header).toBe("v2 TCP4 203.0.113.7 198.51.100.1 4444 8080");
  }, 15_000);

  test("TCP: v1 in (IPv6), v2 out", async () => {
    const r = await tcpExchange(lb.ports.get(31400)!, "127.0.0.1", "PROXY TCP6 2001:db8::7 2001:db8::1 4321 443\r\nping", (t) => t.endsWith("ping"));
    const first = JSON.parse(r.text.slice(0, r.text.indexOf("\n"))) as { header: string };
    expect(first.header).toBe("v2 TCP6 2001:db8:0:0:0:0:0:7 2001:db8:0:0:0:0:0:1 4321 443");
  }, 15_000);
});

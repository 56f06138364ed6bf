// PROXY protocol (issue 13 C) through the real gateway process with
// --proxy-protocol: v1 and v2 headers on a plain HTTP port, before the
// ClientHello on a TLS-terminating and a passthrough port, and on a TCP port.
// The header's client reaches x-forwarded-for and the access log; a
// connection without a valid header is closed without an answer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { secretYaml } from "../../src/cli/certs.ts";
import { issue } from "../../src/certs/generate.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
/** v2 PROXY TCP6 from [2001:db8::7]:4321 to [2001:db8::1]:443. */
const V2_TCP6 = Buffer.from([
  ...SIG, 0x21, 0x21, 0, 36,
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  0x10, 0xe1, 0x01, 0xbb,
]);
/** v2 PROXY TCP4 from 198.51.100.9:2222 to 10.0.0.1:443. */
const V2_TCP4 = Buffer.from([...SIG, 0x21, 0x11, 0, 12, 198, 51, 100, 9, 10, 0, 0, 1, 0x08, 0xae, 0x01, 0xbb]);
/** A minimal TLS 1.2 ClientHello with SNI (the gateway routes on it; what follows need not be TLS). */
function clientHello(sni: string): Uint8Array {
  const name = Buffer.from(sni);
  const list = Buffer.concat([Buffer.from([0, name.length >> 8, name.length & 0xff]), name]);
  const sniData = Buffer.concat([Buffer.from([list.length >> 8, list.length & 0xff]), list]);
  const ext = Buffer.concat([Buffer.from([0, 0, sniData.length >> 8, sniData.length & 0xff]), sniData]);
  const hello = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0, 0, 2, 0x13, 0x01, 1, 0, ext.length >> 8, ext.length & 0xff]), ext]);
  const hs = Buffer.concat([Buffer.from([1, hello.length >> 16, (hello.length >> 8) & 0xff, hello.length & 0xff]), hello]);
  return Buffer.concat([Buffer.from([0x16, 3, 1, hs.length >> 8, hs.length & 0xff]), hs]);
}

const v1 = (ip: string, port: number) => `PROXY TCP4 ${ip} 10.0.0.1 ${port} 80\r\n`;

const headersBackend = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (req) => Response.json(Object.fromEntries(req.headers)),
});
const echo = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s, b) => void s.write(b) } });

function serviceEntry(name: string, port: number, protocol: string): string {
  return `---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.test.internal]
  ports: [{number: 7000, name: p, protocol: ${protocol}}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {p: ${port}}}]
`;
}

let pki: WalkthroughPki;
let gw: GatewayProcess;
let logFile = "";

beforeAll(async () => {
  pki = await walkthroughPki();
  const web = await issue(pki.ca, { cn: "web.example.com", usage: "server", keyType: "ec" });
  const dir = writeTree({
    "gateway.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [web.example.com]
    tls: {mode: SIMPLE, credentialName: web-credential}
  - port: {number: 8443, name: tls, protocol: TLS}
    hosts: [pt.example.com]
    tls: {mode: PASSTHROUGH}
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - route: [{destination: {host: headers.test.internal, port: {number: 7000}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: pt}
spec:
  hosts: [pt.example.com]
  gateways: [gw]
  tls:
  - match: [{sniHosts: [pt.example.com]}]
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
    route: [{destination: {host: echo.test.internal, port: {number: 7000}}}]
`,
    // remoteIpBlocks see the PROXY header's client; ipBlocks the packet's source (the balancer: 127.0.0.1)
    "policy.yaml": `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-by-address, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules:
  - from: [{source: {remoteIpBlocks: [192.0.2.200/32]}}]
  - from: [{source: {notIpBlocks: [127.0.0.1/32]}}]
`,
    "services.yaml": serviceEntry("headers", headersBackend.port!, "HTTP") + serviceEntry("echo", echo.port, "TCP"),
    "secret.yaml": secretYaml("web-credential", "istio-system", "tls", web.cert, web.key),
  });
  logFile = join(dir, "access.log");
  gw = await startGateway({ configDirs: [join(dir, "gateway.yaml"), join(dir, "services.yaml"), join(dir, "secret.yaml"), join(dir, "policy.yaml")], gatewayPorts: [80, 443, 8443, 31400], workers: 1, args: ["--proxy-protocol", "--access-log", logFile] });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  headersBackend.stop(true);
  echo.stop(true);
});

/** Send the pieces over plain TCP; everything received until the server closes, `done` says so, or 5 s. */
async function tcp(port: number, pieces: (string | Uint8Array)[], done: (got: Buffer) => boolean = () => false): Promise<{ got: Buffer; closed: boolean }> {
  const chunks: Buffer[] = [];
  let closed = false;
  let finish: () => void = () => {};
  const over = new Promise<void>((r) => (finish = r));
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, d) => {
        chunks.push(Buffer.from(d));
        if (done(Buffer.concat(chunks))) finish();
      },
      close: () => {
        closed = true;
        finish();
      },
    },
  });
  for (const p of pieces) {
    s.write(p);
    await Bun.sleep(20);
  }
  await Promise.race([over, Bun.sleep(5000)]);
  s.end();
  return { got: Buffer.concat(chunks), closed };
}

const jsonDone = (b: Buffer) => b.toString().trimEnd().endsWith("}");
const body = (b: Buffer) => JSON.parse(b.toString().slice(b.toString().indexOf("\r\n\r\n") + 4)) as Record<string, string>;

async function logHas(text: string): Promise<boolean> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    try {
      if (readFileSync(logFile, "utf8").includes(text)) return true;
    } catch {
      // not written yet
    }
    await Bun.sleep(50);
  }
  return false;
}

describe("PROXY protocol on a plain HTTP port", () => {
  test("v1: x-forwarded-for and the access log name the client the header carries, and the address it reached", async () => {
    const r = await tcp(gw.ports.get(80)!, [v1("203.0.113.7", 12345) + "GET /v1 HTTP/1.1\r\nHost: a\r\n\r\n"], jsonDone);
    expect(r.got.toString().startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(body(r.got)["x-forwarded-for"]).toBe("203.0.113.7");
    expect(await logHas(" 10.0.0.1:80 203.0.113.7:12345 ")).toBe(true); // the address the header says it reached, then the client
  });

  test("v2 (IPv6), split over writes", async () => {
    const req = Buffer.concat([V2_TCP6, Buffer.from("GET /v2 HTTP/1.1\r\nHost: a\r\n\r\n")]);
    const r = await tcp(gw.ports.get(80)!, [req.subarray(0, 7), req.subarray(7, 30), req.subarray(30)], jsonDone);
    expect(body(r.got)["x-forwarded-for"]).toBe("2001:db8::7");
    expect(await logHas(" [2001:db8::1]:443 [2001:db8::7]:4321 ")).toBe(true);
  });

  test("AuthorizationPolicy: remoteIpBlocks match the header's client, ipBlocks the balancer", async () => {
    const denied = await tcp(gw.ports.get(80)!, [v1("192.0.2.200", 1) + "GET /denied HTTP/1.1\r\nHost: a\r\n\r\n"], (b) => b.toString().endsWith("RBAC: access denied"));
    expect(denied.got.toString().startsWith("HTTP/1.1 403 ")).toBe(true);
    expect(denied.got.toString().endsWith("RBAC: access denied")).toBe(true);
    const allowed = await tcp(gw.ports.get(80)!, [v1("192.0.2.201", 1) + "GET /allowed HTTP/1.1\r\nHost: a\r\n\r\n"], jsonDone);
    expect(allowed.got.toString().startsWith("HTTP/1.1 200 ")).toBe(true);
  });

  test("a request without the header is closed unanswered", async () => {
    const r = await tcp(gw.ports.get(80)!, ["GET / HTTP/1.1\r\nHost: a\r\n\r\n"]);
    expect(r.closed).toBe(true);
    expect(r.got.length).toBe(0);
  });
});

describe("PROXY protocol before TLS", () => {
  test("terminated here: the header, then the handshake; the request sees the header's client", async () => {
    const port = gw.ports.get(443)!;
    const raw = netConnect({ host: "127.0.0.1", port });
    await new Promise<void>((r) => raw.once("connect", () => r()));
    raw.write(V2_TCP4);
    const t = tlsConnect({ socket: raw, servername: "web.example.com", ca: pki.ca.cert });
    const text = await new Promise<string>((resolve, reject) => {
      let got = "";
      const timer = setTimeout(() => resolve(got), 5000);
      t.on("secureConnect", () => t.write("GET /tls HTTP/1.1\r\nHost: web.example.com\r\n\r\n"));
      t.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.trimEnd().endsWith("}")) {
          clearTimeout(timer);
          resolve(got);
        }
      });
      t.on("error", reject);
    });
    t.destroy();
    expect(text.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))["x-forwarded-for"]).toBe("198.51.100.9");
    expect(await logHas(" 198.51.100.9:2222 ")).toBe(true);
  });

  test("passthrough: the header is taken off, the ClientHello and what follows reach the upstream untouched", async () => {
    const hello = clientHello("pt.example.com");
    const sent = Buffer.concat([hello, Buffer.from("after")]);
    const r = await tcp(gw.ports.get(8443)!, [v1("192.0.2.44", 5555), sent], (b) => b.length >= sent.length);
    expect(r.got.equals(sent)).toBe(true);
    expect(await logHas(" 192.0.2.44:5555 ")).toBe(true);
  });

  test("a ClientHello without the header is refused", async () => {
    const r = await tcp(gw.ports.get(8443)!, [clientHello("pt.example.com")]);
    expect(r.closed).toBe(true);
    expect(r.got.length).toBe(0);
  });
});

describe("PROXY protocol on a TCP port", () => {
  test("the bytes after the header are spliced, the log names the header's client", async () => {
    const r = await tcp(gw.ports.get(31400)!, [v1("192.0.2.55", 6666) + "hello"], (b) => b.toString() === "hello");
    expect(r.got.toString()).toBe("hello");
    expect(await logHas(" 10.0.0.1:80 192.0.2.55:6666 ")).toBe(true);
  });

  test("garbage instead of the header closes the connection, nothing is spliced", async () => {
    const r = await tcp(gw.ports.get(31400)!, ["hello"]);
    expect(r.closed).toBe(true);
    expect(r.got.length).toBe(0);
  });
});

describe("PROXY protocol from the mesh config (gatewayTopology.proxyProtocol)", () => {
  let gw2: GatewayProcess;
  beforeAll(async () => {
    const dir = writeTree({
      "gateway.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - route: [{destination: {host: headers.test.internal, port: {number: 7000}}}]
`,
      "services.yaml": serviceEntry("headers", headersBackend.port!, "HTTP"),
    });
    const mesh = writeTree({ "mesh.yaml": "defaultConfig:\n  gatewayTopology:\n    proxyProtocol: {}\n" });
    gw2 = await startGateway({ configDirs: [dir], gatewayPorts: [80], workers: 1, args: ["--mesh-config", join(mesh, "mesh.yaml"), "--access-log", "off"] });
  }, 30_000);
  afterAll(async () => {
    await gw2?.stop();
  });

  test("without --proxy-protocol, the mesh option alone turns it on", async () => {
    const ok = await tcp(gw2.ports.get(80)!, [v1("203.0.113.99", 1000) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"], jsonDone);
    expect(body(ok.got)["x-forwarded-for"]).toBe("203.0.113.99");
    const refused = await tcp(gw2.ports.get(80)!, ["GET / HTTP/1.1\r\nHost: a\r\n\r\n"]);
    expect(refused.closed).toBe(true);
    expect(refused.got.length).toBe(0);
  });
});

// A real TLS client (node:tls) whose ClientHello reaches the gateway cut into
// 1-byte TLS records (hundreds of them), through a relay that re-frames the
// client's first record and passes every later byte as it is. Envoy's
// tls_inspector and BoringSSL take such a hello (only its size is bounded, at
// 64 KiB read), as nginx does; so does gangway: on a terminated port (Bun's
// native TLS and the JS bridge alike) the SNI still picks the server and its
// certificate; on a PASSTHROUGH port the destination gets the hello as sent
// and finishes the handshake itself.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as net from "node:net";
import * as tls from "node:tls";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { inRecords } from "../helpers/client-hello.ts";
import { loopbackServiceEntry } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { rawUpstream } from "../workers/edge/helpers.ts";

const A = "httpbin.example.com";
const B = "helloworld.example.com";
const PT = "nginx.example.com";
const up = rawUpstream((s) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
let ca: Issued;
let ptServer: tls.Server;
let tap: net.Server;
/** The first bytes each passthrough connection brought to the destination. */
const ptFirst: Buffer[] = [];
let gw: GatewayProcess;
/** The same configuration terminated by the JS bridge instead of Bun's native TLS upgrade. */
let gwBridge: GatewayProcess;

beforeAll(async () => {
  ca = await createCA({ cn: "example.com", keyType: "ec" });
  const [a, b, pt] = await Promise.all([A, B, PT].map((cn) => issue(ca, { cn, usage: "server", keyType: "ec" })));
  ptServer = tls.createServer({ cert: pt!.cert, key: pt!.key }, (s) => {
    s.on("data", () => s.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\npt"));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => ptServer.listen(0, "127.0.0.1", r));
  // in front of the destination: records the raw bytes each connection brings, then passes them on
  tap = net.createServer((c) => {
    const i = ptFirst.push(Buffer.alloc(0)) - 1;
    const u = net.connect({ host: "127.0.0.1", port: (ptServer.address() as net.AddressInfo).port });
    c.on("data", (d: Buffer) => {
      if (ptFirst[i]!.length < 65536) ptFirst[i] = Buffer.concat([ptFirst[i]!, d]);
      u.write(d);
    });
    u.on("data", (d: Buffer) => c.write(d));
    c.on("end", () => u.end());
    u.on("end", () => c.end());
    c.on("error", () => u.destroy());
    u.on("error", () => c.destroy());
  });
  await new Promise<void>((r) => tap.listen(0, "127.0.0.1", r));
  const dir = writeTree({
    "s.yaml": secretYaml("a-cred", "istio-system", "tls", a!.cert, a!.key) + "---\n" + secretYaml("b-cred", "istio-system", "tls", b!.cert, b!.key),
    "se.yaml": loopbackServiceEntry({ name: "be", host: "be.local", port: 80, targetPort: up.port }) + loopbackServiceEntry({ name: "pt", host: PT, port: 443, targetPort: (tap.address() as net.AddressInfo).port, portName: "p", protocol: "TLS" }),
    "gw.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [${A}]
    tls: {mode: SIMPLE, credentialName: a-cred}
  - port: {number: 443, name: https2, protocol: HTTPS}
    hosts: [${B}]
    tls: {mode: SIMPLE, credentialName: b-cred}
  - port: {number: 9443, name: pt, protocol: TLS}
    hosts: [${PT}]
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [${A}, ${B}]
  gateways: [gw]
  http:
  - route: [{destination: {host: be.local, port: {number: 80}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: vspt}
spec:
  hosts: [${PT}]
  gateways: [gw]
  tls:
  - match: [{port: 9443, sniHosts: [${PT}]}]
    route: [{destination: {host: ${PT}, port: {number: 443}}}]
`,
  });
  [gw, gwBridge] = await Promise.all([
    startGateway({ configDirs: [dir], gatewayPorts: [443, 9443], workers: 1, args: ["--access-log", "stdout"] }),
    startGateway({ configDirs: [dir], gatewayPorts: [443, 9443], workers: 1, env: { GANGWAY_TLS_BRIDGE: "1" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([gw.stop(), gwBridge.stop()]);
  up.stop(true);
  ptServer.close();
  tap.close();
});

/**
 * A relay to `port` that re-frames the client's first TLS record (its whole
 * ClientHello: node:tls sends it in one) into records of `size` bytes, written
 * `chunk` bytes at a time; every later byte, both ways, as it comes.
 */
async function reframingRelay(port: number, size: number, chunk: number): Promise<{ port: number; sent: Buffer[]; close(): void }> {
  const sent: Buffer[] = [];
  const server = net.createServer((c) => {
    const u = net.connect({ host: "127.0.0.1", port, noDelay: true });
    let pending: Buffer | null = Buffer.alloc(0);
    c.on("data", (d: Buffer) => {
      if (pending === null) return void u.write(d);
      pending = Buffer.concat([pending, d]);
      if (pending.length < 5 || pending.length < 5 + pending.readUInt16BE(3)) return;
      const len = pending.readUInt16BE(3);
      const framed = inRecords(pending.subarray(5, 5 + len), size);
      sent.push(framed);
      for (let i = 0; i < framed.length; i += chunk) u.write(framed.subarray(i, i + chunk));
      if (pending.length > 5 + len) u.write(pending.subarray(5 + len));
      pending = null;
    });
    u.on("data", (d: Buffer) => c.write(d));
    c.on("end", () => u.end());
    u.on("end", () => c.end());
    c.on("error", () => u.destroy());
    u.on("error", () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, sent, close: () => server.close() };
}

/** One request over TLS through `port`: the server certificate's CN and the first response line, or the error. */
function tlsGet(port: number, servername: string): Promise<{ cn: string; line: string }> {
  return new Promise((resolve) => {
    let text = "";
    let cn = "";
    const t = tls.connect({ host: "127.0.0.1", port, ca: ca.cert, servername, ALPNProtocols: ["http/1.1"] }, () => {
      cn = String(t.getPeerCertificate().subject?.CN ?? "");
      t.write(`GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
    });
    const timer = setTimeout(() => (t.destroy(), resolve({ cn, line: `hung: ${text}` })), 8000);
    t.on("data", (d: Buffer) => (text += d.toString("latin1")));
    t.on("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve({ cn, line: `error ${e.code ?? e.message}` })));
    t.on("close", () => (clearTimeout(timer), resolve({ cn, line: text.split("\r\n")[0] || "closed" })));
  });
}

/** A record's count in a run of records. */
function recordCount(b: Buffer): number {
  let n = 0;
  for (let off = 0; off + 5 <= b.length; off += 5 + b.readUInt16BE(off + 3)) n++;
  return n;
}

describe("a real client's ClientHello in 1-byte records", () => {
  test("terminated (Bun's native TLS, and the JS bridge): the SNI picks each host's server and certificate, and the request is served", async () => {
    for (const [g, chunk] of [[gw, 65536], [gw, 7], [gwBridge, 65536], [gwBridge, 7]] as const) {
      const relay = await reframingRelay(g.ports.get(443)!, 1, chunk);
      try {
        for (const host of [A, B]) expect(await tlsGet(relay.port, host)).toEqual({ cn: host, line: "HTTP/1.1 200 OK" });
        expect(relay.sent.length).toBe(2);
        for (const s of relay.sent) expect(recordCount(s)).toBeGreaterThan(200);
      } finally {
        relay.close();
      }
    }
  });

  test("PASSTHROUGH: the destination gets the hello's records as sent and finishes the handshake with its own certificate", async () => {
    const relay = await reframingRelay(gw.ports.get(9443)!, 1, 65536);
    try {
      const before = ptFirst.length;
      expect(await tlsGet(relay.port, PT)).toEqual({ cn: PT, line: "HTTP/1.1 200 OK" });
      expect(ptFirst.length).toBe(before + 1);
      const sent = relay.sent[0]!;
      expect(ptFirst[before]!.subarray(0, sent.length).equals(sent)).toBe(true);
    } finally {
      relay.close();
    }
  });

  test("an unknown SNI in 1-byte records is still refused (the name is read, not skipped)", async () => {
    const relay = await reframingRelay(gw.ports.get(443)!, 1, 65536);
    try {
      const r = await tlsGet(relay.port, "nobody.example.com");
      expect(r.line).not.toContain("HTTP/1.1");
      expect(r.line).not.toContain("hung");
      await gw.waitForOutput(/NR unknown_sni .*nobody\.example\.com/);
    } finally {
      relay.close();
    }
  });
});

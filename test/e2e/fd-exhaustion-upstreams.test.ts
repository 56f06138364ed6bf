// Out of file descriptors, for the upstream kinds test/e2e/fd-exhaustion.test.ts
// does not reach: an HTTP/2 upstream (h2c by h2UpgradePolicy UPGRADE, and h2
// over TLS, workers/http/upstream-h2-pool.ts), TLS originated to an HTTP/1.1
// upstream (DestinationRule tls SIMPLE), and a TLS passthrough session
// (workers/tcp). Bun reports the failed socket() synchronously inside
// Bun.connect (workers/connect.ts connectFailed); each request must still end
// as a connect failure (503 UF) and the passthrough connection be closed, not
// wait for ever, and each is served again once descriptors are free.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Socket } from "bun";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createCA, issue } from "../../src/certs/generate.ts";
import { clientHello } from "../helpers/client-hello.ts";
import { loopbackServiceEntry, secret } from "../helpers/config.ts";
import { fillDescriptors, freeDescriptors, rawClient as conn, until, type RawClient as Client } from "../helpers/fd-fill.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

const LIMIT = 180;
let tlsBackend: ReturnType<typeof Bun.serve>;
let h2cServer: http2.Http2Server;
let h2tlsServer: http2.Http2SecureServer;
let echo: Bun.TCPSocketListener<undefined>;
let gw: GatewayProcess;

const se = (name: string, protocol: string, targetPort: number): string =>
  loopbackServiceEntry({ name, host: `${name}.local`, port: 80, targetPort, portName: "p", protocol });
const dr = (name: string, policy: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${name}.local
  trafficPolicy: ${policy}
---
`;
const route = (to: string) => `  - match: [{headers: {x-to: {exact: ${to}}}}]\n    route: [{destination: {host: ${to}.local, port: {number: 80}}}]\n`;

beforeAll(async () => {
  const ca = await createCA({ cn: "up-ca", keyType: "ec" });
  const cert = await issue(ca, { cn: "up.local", names: ["h1tls.local", "h2tls.local"], usage: "server", keyType: "ec" });
  tlsBackend = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert: cert.cert, key: cert.key }, fetch: () => new Response("ok") });
  h2cServer = http2.createServer((_q, s) => s.end("ok"));
  await new Promise<void>((r) => h2cServer.listen(0, "127.0.0.1", r));
  h2tlsServer = http2.createSecureServer({ cert: cert.cert, key: cert.key }, (_q, s) => s.end("ok"));
  await new Promise<void>((r) => h2tlsServer.listen(0, "127.0.0.1", r));
  echo = Bun.listen<undefined>({ hostname: "127.0.0.1", port: 0, socket: { data: (s, d) => void s.write(d) } });
  const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 443, name: tls, protocol: TLS}, hosts: [pt.local], tls: {mode: PASSTHROUGH}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
${route("h2c")}${route("h2tls")}${route("h1tls")}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: pt}
spec:
  hosts: [pt.local]
  gateways: [gw]
  tls: [{match: [{sniHosts: [pt.local]}], route: [{destination: {host: pt.local, port: {number: 80}}}]}]
---
${se("h2c", "HTTP", (h2cServer.address() as AddressInfo).port)}${se("h2tls", "HTTP", (h2tlsServer.address() as AddressInfo).port)}${se("h1tls", "HTTP", tlsBackend.port!)}${se("pt", "TLS", echo.port)}${dr("h2c", "{connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}")}${dr("h2tls", "{tls: {mode: SIMPLE, credentialName: up-ca, sni: h2tls.local}, connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}")}${dr("h1tls", "{tls: {mode: SIMPLE, credentialName: up-ca, sni: h1tls.local}}")}${secret("up-ca", { "ca.crt": ca.cert })}`;
  gw = await startGateway({ configDirs: [writeTree({ "c.yaml": yaml })], workers: 1, fdLimit: LIMIT, gatewayPorts: [80, 443] });
});

afterAll(async () => {
  await gw?.stop();
  tlsBackend?.stop(true);
  h2cServer?.close();
  h2tlsServer?.close();
  echo?.stop(true);
});

const get = (to: string): string => `GET / HTTP/1.1\r\nhost: app.local\r\nx-to: ${to}\r\n\r\n`;
const KINDS = ["h1tls", "h2c", "h2tls"];

test("no descriptor for an HTTP/2, TLS or passthrough upstream socket: 503 UF / closed, not a hang; served again when descriptors are free", async () => {
  const port = gw.ports.get(80)!;
  // the clients connect first (each holds a descriptor of the gateway), then the table is filled
  const clients = new Map<string, Client>();
  for (const k of KINDS) clients.set(k, await conn(port));
  const pt = await conn(gw.ports.get(443)!);
  const fillers: Socket<undefined>[] = [];
  expect(await fillDescriptors(gw.proc.pid, port, LIMIT, fillers, [gw.ports.get(443)!])).toBe(true);

  for (const k of KINDS) clients.get(k)!.s.write(get(k)); // each a new cluster: a new upstream connection
  for (const k of KINDS) {
    const c = clients.get(k)!;
    expect([k, await until(() => c.text().includes("\r\n\r\n"), 8000)]).toEqual([k, true]);
    expect([k, c.text()]).toEqual([k, expect.stringMatching(/^HTTP\/1\.1 503 [^]*upstream connect error/)]);
  }
  // after the requests: the session closing frees the client's descriptor
  pt.s.write(clientHello("pt.local"));
  expect(await until(() => pt.closed(), 8000)).toBe(true);
  expect(pt.text()).toBe("");

  expect(await freeDescriptors(gw.proc.pid, LIMIT, fillers)).toBe(true);
  for (const k of KINDS) {
    const c = await conn(port);
    c.s.write(get(k));
    expect([k, await until(() => /\r\n\r\n(ok|2\r\nok\r\n0\r\n\r\n)$/.test(c.text()), 5000)]).toEqual([k, true]);
    expect(c.text()).toStartWith("HTTP/1.1 200");
    c.s.end();
  }
  const again = await conn(gw.ports.get(443)!);
  const hello = clientHello("pt.local");
  again.s.write(hello);
  expect(await until(() => again.text().length >= hello.length, 5000)).toBe(true); // the echo upstream sent it back
  again.s.end();
  for (const c of clients.values()) c.s.end();
}, 60_000);

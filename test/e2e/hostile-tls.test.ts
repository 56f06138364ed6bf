// Hostile traffic on a TLS port of the real process (SIMPLE termination),
// HTTP/1.1 and HTTP/2 by ALPN: the same answers as on a plain port
// (test/workers/edge/hostile-h1.test.ts, h2-hostile.test.ts run there), since
// TLS only changes the socket under the same parser and streams. Each case
// ends with its status, a reset or a close, within a bound.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as tls from "node:tls";
import { secretYaml } from "../../src/cli/certs.ts";
import { serviceEntry } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { DATA, converse, frame, headers, streamsOver, type H2Tls } from "../workers/edge/h2-raw.ts";
import { rawUpstream } from "../workers/edge/helpers.ts";

const HOST = "httpbin.example.com";
const up = rawUpstream((s, req) => {
  if (req.startsWith("GET /garbage")) s.write("NOT HTTP\r\n\r\n");
  else s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
});
let pki: WalkthroughPki;
let gw: GatewayProcess;
let port = 0;
let h2: H2Tls;

beforeAll(async () => {
  pki = await walkthroughPki();
  h2 = { ca: pki.ca.cert, servername: HOST };
  const dir = writeTree({
    "se.yaml": serviceEntry("up", "up.default.svc.cluster.local", 8000, up.port),
    "secret.yaml": secretYaml("cred", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key),
    "gw.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [${HOST}]
    tls: {mode: SIMPLE, credentialName: cred}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [${HOST}]
  gateways: [gw]
  http:
  - route: [{destination: {host: up, port: {number: 8000}}}]
`,
  });
  gw = await startGateway({
    configDirs: [dir],
    gatewayPorts: [443],
    workers: 1,
    args: ["--access-log", "off", "--request-headers-timeout", "1s"],
  });
  port = gw.ports.get(443)!;
});
afterAll(async () => {
  await gw.stop();
  up.stop(true);
});

/** HTTP/1.1 over TLS: send `parts` (20 ms apart), read until closed or `ms`; statuses and whether the gateway closed. */
async function h1(parts: string[], ms = 3000): Promise<{ statuses: number[]; closed: boolean }> {
  const t = tls.connect({ host: "127.0.0.1", port, ca: pki.ca.cert, servername: HOST, ALPNProtocols: ["http/1.1"] });
  await new Promise<void>((resolve, reject) => {
    t.once("secureConnect", resolve);
    t.once("error", reject);
  });
  let text = "";
  let closed = false;
  const over = new Promise<void>((r) => {
    t.on("data", (d: Buffer) => (text += d.toString("latin1")));
    t.on("close", () => ((closed = true), r()));
    t.on("error", () => ((closed = true), r()));
  });
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) await Bun.sleep(20);
    t.write(parts[i]!);
  }
  await Promise.race([over, Bun.sleep(ms)]);
  const byServer = closed;
  t.destroy();
  return { statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])), closed: byServer };
}

const G = (path = "/") => `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

describe("HTTP/1.1 over TLS", () => {
  test.each([
    ["a malformed request line", ["G(T / HTTP/1.1\r\nHost: x\r\n\r\n"], [400]],
    ["CL and TE together", ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"], [400]],
    ["an oversize head", [`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX: ${"a".repeat(70_000)}\r\n\r\n`], [431]],
    ["a bad chunk size", [`POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`], [400]],
    ["good, then bad in one write", [G() + "BAD\r\n\r\n"], [200, 400]],
    ["a head that never ends (slowloris): 408", [`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`], [408]],
  ])("%s → %p, closed", async (_name, parts, want) => {
    const r = await h1(parts, 5000);
    expect(r.statuses).toEqual(want);
    expect(r.closed).toBe(true);
  });

  test("upstream garbage → 502, and the connection serves the next request", async () => {
    const r = await h1([G("/garbage"), G()], 1500);
    expect(r.statuses).toEqual([502, 200]);
    expect(r.closed).toBe(false);
  });
});

describe("HTTP/2 over TLS (ALPN h2)", () => {
  test("an upper-case field name resets its stream only (PROTOCOL_ERROR); the next stream is served", async () => {
    const auth: [string, string][] = [[":method", "GET"], [":scheme", "https"], [":path", "/"], [":authority", HOST]];
    const c = await converse(port, [headers(1, [...auth, ["X-Up", "1"]]), headers(3, auth)], streamsOver(1, 3), 4000, h2);
    expect(c.streams.get(1)).toMatchObject({ status: 0, rst: 1 });
    expect(c.streams.get(3)).toMatchObject({ status: 200, ended: true });
  });

  test("a host no server serves, body still coming: 404 ends the stream at once", async () => {
    const c = await converse(
      port,
      [headers(1, [[":method", "POST"], [":scheme", "https"], [":path", "/"], [":authority", "other.example.com"]], false), frame(DATA, 0, 1, Buffer.from("abc"))],
      streamsOver(1),
      4000,
      h2,
    );
    expect(c.streams.get(1)).toMatchObject({ status: 404, ended: true, rst: 0 });
  });

  test("a request on h2: answered", async () => {
    const c = await converse(port, [headers(1, [[":method", "GET"], [":scheme", "https"], [":path", "/"], [":authority", HOST]])], streamsOver(1), 4000, h2);
    expect(c.streams.get(1)).toMatchObject({ status: 200, ended: true, data: 2 });
  });
});

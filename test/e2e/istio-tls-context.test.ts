// istiod's TestBuildGatewayListenerTlsContext cases that only a handshake shows:
// "tcp server, tls SIMPLE" and "tcp server with terminating (non-istio)mutual tls"
// expect AlpnProtocols h2, http/1.1 on a TLS (protocol TLS) server terminated here
// whose bytes follow a tcp route, as on an HTTPS server. A gRPC client (which needs
// h2 by ALPN) can then reach an h2c backend through a TLS-terminating TCP server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { connect } from "node:tls";
import { secretYaml } from "../../src/cli/certs.ts";
import { loopbackServiceEntry } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";

let pki: WalkthroughPki;
let backend: TCPSocketListener<undefined>;
let gw: GatewayProcess;

beforeAll(async () => {
  pki = await walkthroughPki();
  // a plain TCP backend: one line per connection
  backend = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void s.end("backend\n"), data() {} } });
  const dir = writeTree({
    "gateway.yaml": `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {name: tls, number: 443, protocol: TLS}
    hosts: [httpbin.example.com]
    tls: {mode: SIMPLE, credentialName: ingress-sds-resource-name}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp}
spec:
  hosts: [httpbin.example.com]
  gateways: [gw]
  tcp: [{route: [{destination: {host: backend.local, port: {number: 9000}}}]}]
---
${secretYaml("ingress-sds-resource-name", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key)}---
${loopbackServiceEntry({ name: "backend", host: "backend.local", port: 9000, targetPort: backend.port, portName: "tcp", protocol: "TCP" })}`,
  });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [443], workers: 1 });
});
afterAll(async () => {
  await gw?.stop();
  backend?.stop(true);
});

/** Handshake offering `alpn`; the protocol agreed and the first bytes the backend sent. */
function call(alpn: string[] | undefined): Promise<{ alpn: string | false; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: gw.ports.get(443)!, servername: "httpbin.example.com", ca: pki.ca.cert, ALPNProtocols: alpn });
    let body = "";
    s.setTimeout(10_000, () => s.destroy(new Error("timeout")));
    s.on("data", (b) => (body += b.toString()));
    s.on("end", () => resolve({ alpn: s.alpnProtocol ?? false, body }));
    s.on("error", reject);
  });
}

describe("TestBuildGatewayListenerTlsContext (real TLS)", () => {
  test("tcp server, tls SIMPLE: ALPN h2 agreed when offered, then the bytes follow the tcp route", async () => {
    expect(await call(["h2", "http/1.1"])).toEqual({ alpn: "h2", body: "backend\n" });
  });

  test("tcp server, tls SIMPLE: http/1.1 only → http/1.1; no ALPN offered → none", async () => {
    expect(await call(["http/1.1"])).toEqual({ alpn: "http/1.1", body: "backend\n" });
    expect(await call(undefined)).toEqual({ alpn: false, body: "backend\n" });
  });
});

// istiod's TestGatewayFilterChainSNIOverlap "sni overlap in two gateways" through the
// real gateway process: Gateway gw1 has a PASSTHROUGH server for example.com with no
// route, gw2 a PASSTHROUGH server for `*` whose VirtualService routes SNI example.com.
// istiod builds passthrough chains per tls route match (none for gw1's server), so a
// client sending SNI example.com reaches the backend through gw2's route and sees the
// backend's own certificate; an SNI no route names fails.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import type { TCPSocketListener } from "bun";
import { issue, type Issued } from "../../src/certs/generate.ts";
import { loopbackServiceEntry } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake } from "../helpers/https.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";

let pki: WalkthroughPki;
let backendCert: Issued;
let backend: TCPSocketListener<undefined>;
let gw: GatewayProcess;

const gateway = (name: string, host: string, portName: string, protocol: string) => `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: testns}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {name: ${portName}, number: 443, protocol: ${protocol}}
    hosts: ["${host}"]
    tls: {mode: PASSTHROUGH}
`;

beforeAll(async () => {
  pki = await walkthroughPki();
  backendCert = await issue(pki.ca, { cn: "example.com", usage: "server", keyType: "ec" });
  // a TLS backend that answers each connection with one line and closes
  backend = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: backendCert.cert, key: backendCert.key },
    socket: { open: (s) => void s.end("backend\n"), data() {} },
  });
  const dir = writeTree({
    "gateways.yaml": gateway("gw1", "example.com", "example", "TLS") + gateway("gw2", "*", "wildcard-tls", "HTTPS"),
    "vs.yaml": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: example, namespace: testns}
spec:
  gateways: [testns/gw2]
  hosts: [example.com]
  tls: [{match: [{sniHosts: [example.com]}], route: [{destination: {host: example.com, port: {number: 443}}}]}]
`,
    "backend.yaml": loopbackServiceEntry({ name: "example", host: "example.com", port: 443, targetPort: backend.port, portName: "tls", protocol: "TLS" }),
  });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [443], workers: 1 });
});
afterAll(async () => {
  await gw?.stop();
  backend?.stop(true);
});

describe("TestGatewayFilterChainSNIOverlap (real TLS)", () => {
  test("sni overlap in two gateways: SNI example.com reaches gw2's route, the client sees the backend's certificate", async () => {
    const r = await handshake({ port: gw.ports.get(443)!, servername: "example.com", ca: pki.ca.cert });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.peer.fingerprint256).toBe(new X509Certificate(backendCert.cert).fingerprint256);
  });

  test("an SNI no route names fails", async () => {
    expect((await handshake({ port: gw.ports.get(443)!, servername: "other.com", ca: pki.ca.cert })).ok).toBe(false);
  });
});

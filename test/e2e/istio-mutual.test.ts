// ISTIO_MUTUAL: the gateway presents the mesh certificate from --mesh-certs (Istio's
// layout: root-cert.pem, cert-chain.pem, key.pem) and accepts only clients with a
// SPIFFE identity of the trust domain, signed by the mesh root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { serviceEntry } from "../helpers/config.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";

let root: Issued;
let client: Issued;
let foreign: Issued;
let httpbin: Backend;
let gw: GatewayProcess;
let config: string;
let mesh: string;

const GATEWAY = `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: mesh-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*.mesh.example.com"]
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: ["*.mesh.example.com"]
  gateways: [mesh-gw]
  http: [{route: [{destination: {host: httpbin.default.svc.cluster.local, port: {number: 8000}}}]}]
`;

beforeAll(async () => {
  root = await createCA({ cn: "cluster.local root", keyType: "ec" });
  const gwCert = await issue(root, { cn: "istio-ingressgateway", usage: "both", keyType: "ec", names: ["app.mesh.example.com"], uris: ["spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway"] });
  client = await issue(root, { cn: "sleep", usage: "client", keyType: "ec", uris: ["spiffe://cluster.local/ns/default/sa/sleep"] });
  foreign = await issue(root, { cn: "other", usage: "client", keyType: "ec", uris: ["spiffe://other.local/ns/default/sa/sleep"] });
  mesh = writeTree({ "root-cert.pem": root.cert, "cert-chain.pem": gwCert.cert, "key.pem": gwCert.key });
  httpbin = startHttpbin({ name: "httpbin" });
  config = writeTree({ "gw.yaml": GATEWAY + "---" + serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbin.port) });
  gw = await startGateway({ configDirs: [config], gatewayPorts: [443], args: ["--mesh-certs", mesh] });
});
afterAll(async () => {
  await gw.stop();
  await httpbin.stop();
});

describe("ISTIO_MUTUAL", () => {
  test("a mesh client of the trust domain is served, its SPIFFE identity forwarded in XFCC", async () => {
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: "app.mesh.example.com", path: "/headers", ca: root.cert, cert: client.cert, key: client.key });
    expect(r.status).toBe(200);
    expect(r.peer.subject.CN).toBe("istio-ingressgateway");
    const xfcc = (JSON.parse(r.body) as { headers: Record<string, string> }).headers["X-Forwarded-Client-Cert"]!;
    expect(xfcc).toContain(";URI=spiffe://cluster.local/ns/default/sa/sleep");
  });

  test("no client certificate, or an identity of another trust domain, is refused", async () => {
    const port = gw.ports.get(443)!;
    expect((await handshake({ port, servername: "app.mesh.example.com", ca: root.cert })).ok).toBe(false);
    expect((await handshake({ port, servername: "app.mesh.example.com", ca: root.cert, cert: foreign.cert, key: foreign.key })).ok).toBe(false);
  });

  test("without --mesh-certs the server is disabled with an Error", async () => {
    const r = await runCli(["analyze", "--config", config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("ISTIO_MUTUAL needs the mesh certificates: start with --mesh-certs DIR");
    expect((await runCli(["analyze", "--config", config, "--mesh-certs", mesh])).code).toBe(0);
  });
});

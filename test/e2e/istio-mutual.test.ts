// ISTIO_MUTUAL: the gateway presents the mesh certificate from --mesh-certs (Istio's
// layout: root-cert.pem, cert-chain.pem, key.pem) and accepts only clients with a
// SPIFFE identity of the trust domain, signed by the mesh root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { issue, type Issued } from "../../src/certs/generate.ts";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { serviceEntry } from "../helpers/config.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";
import { MESH_GATEWAY, meshCerts } from "../helpers/mesh.ts";

let root: Issued;
let client: Issued;
let foreign: Issued;
let httpbin: Backend;
let gw: GatewayProcess;
let config: string;
let mesh: string;

beforeAll(async () => {
  ({ root, dir: mesh } = await meshCerts());
  client = await issue(root, { cn: "sleep", usage: "client", keyType: "ec", uris: ["spiffe://cluster.local/ns/default/sa/sleep"] });
  foreign = await issue(root, { cn: "other", usage: "client", keyType: "ec", uris: ["spiffe://other.local/ns/default/sa/sleep"] });
  httpbin = startHttpbin({ name: "httpbin" });
  config = writeTree({ "gw.yaml": MESH_GATEWAY + "---" + serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbin.port) });
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

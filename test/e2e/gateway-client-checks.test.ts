// What an Istio Gateway's MUTUAL server checks of a client certificate besides its
// credential's CA, as Envoy's validation context does: a revocation list (the
// Secret's ca.crl, or a caCrl file), verifyCertificateHash / verifyCertificateSpki,
// a separate CA (caCertCredentialName), insecureSkipVerify (ACCEPT_UNTRUSTED), and
// server certificates from tlsCertificates files. Real process, real TLS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, X509Certificate } from "node:crypto";
import { join } from "node:path";
import { createCA, issue, revocationList, type Issued } from "../../src/certs/generate.ts";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { serviceEntry } from "../helpers/config.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";

const HOSTS = ["crl", "hash", "spki", "caname", "untrusted", "files"].map((h) => `${h}.example.com`);
const REVOKED = "0a0b0c0d0e0f1011";

let ca: Issued;
let otherCa: Issued;
let server: Issued;
const clients: Record<string, Issued> = {};
let httpbin: Backend;
let gw: GatewayProcess;
let config: string;

const b64 = (s: string) => Buffer.from(s).toString("base64");

function secret(name: string, data: Record<string, string>): string {
  const lines = Object.entries(data).map(([k, v]) => `  ${k}: ${b64(v)}`);
  return `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: istio-system}\ndata:\n${lines.join("\n")}\n`;
}

function mutual(host: string, tls: string): string {
  return `  - port: {number: 443, name: https-${host.split(".")[0]}, protocol: HTTPS}
    hosts: [${host}]
    tls:
      mode: MUTUAL
${tls
  .trim()
  .split("\n")
  .map((l) => `      ${l}`)
  .join("\n")}
`;
}

function spkiOf(pem: string): string {
  return createHash("sha256").update(new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" })).digest("base64");
}

beforeAll(async () => {
  ca = await createCA({ cn: "client-ca", keyType: "ec" });
  otherCa = await createCA({ cn: "other-ca", keyType: "ec" });
  server = await issue(ca, { cn: "example.com", usage: "server", keyType: "ec", names: HOSTS });
  clients.good = await issue(ca, { cn: "good", usage: "client", keyType: "ec" });
  clients.revoked = await issue(ca, { cn: "revoked", usage: "client", keyType: "ec", serial: REVOKED });
  clients.other = await issue(otherCa, { cn: "other", usage: "client", keyType: "ec" });
  const crl = await revocationList(ca, [REVOKED]);
  const files = writeTree({ "server.crt": server.cert, "server.key": server.key, "ca.crt": ca.cert, "ca.crl": crl });
  const goodHash = new X509Certificate(clients.good.cert).fingerprint256; // upper case, colon separated
  httpbin = startHttpbin({ name: "httpbin" });
  const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
${mutual("crl.example.com", "credentialName: with-crl")}${mutual("hash.example.com", `credentialName: plain\nverifyCertificateHash: ["${goodHash}"]`)}${mutual(
    "spki.example.com",
    `credentialName: plain\nverifyCertificateSpki: ["${spkiOf(clients.revoked.cert)}"]`,
  )}${mutual("caname.example.com", "credentialName: plain\ncaCertCredentialName: other-ca")}${mutual("untrusted.example.com", "credentialName: plain\ninsecureSkipVerify: true")}${mutual(
    "files.example.com",
    `tlsCertificates: [{serverCertificate: ${join(files, "server.crt")}, privateKey: ${join(files, "server.key")}}]\ncaCertificates: ${join(files, "ca.crt")}\ncaCrl: ${join(files, "ca.crl")}`,
  )}`;
  const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: all}
spec:
  hosts: [${HOSTS.join(", ")}]
  gateways: [istio-system/gw]
  http: [{route: [{destination: {host: httpbin.default.svc.cluster.local, port: {number: 8000}}}]}]
`;
  config = writeTree({
    "gw.yaml": [
      gateway,
      vs,
      secret("with-crl", { "tls.crt": server.cert, "tls.key": server.key, "ca.crt": ca.cert, "ca.crl": crl }),
      secret("plain", { "tls.crt": server.cert, "tls.key": server.key, "ca.crt": ca.cert }),
      secret("other-ca", { "ca.crt": otherCa.cert }),
      serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbin.port),
    ].join("---\n"),
  });
  gw = await startGateway({ configDirs: [config], gatewayPorts: [443] });
});
afterAll(async () => {
  await gw.stop();
  await httpbin.stop();
});

async function served(host: string, client: string | null): Promise<boolean> {
  const c = client === null ? undefined : clients[client]!;
  const r = await handshake({ port: gw.ports.get(443)!, servername: host, ca: ca.cert, cert: c?.cert, key: c?.key });
  return r.ok;
}

describe("MUTUAL client checks of an Istio Gateway server", () => {
  test("the credential's ca.crl: a revoked client fails, the others of the CA are served", async () => {
    expect(await served("crl.example.com", "good")).toBe(true);
    expect(await served("crl.example.com", "revoked")).toBe(false);
  });

  test("verifyCertificateHash (colon separated, upper case) accepts only that certificate", async () => {
    expect(await served("hash.example.com", "good")).toBe(true);
    expect(await served("hash.example.com", "revoked")).toBe(false);
  });

  test("verifyCertificateSpki accepts only that key", async () => {
    expect(await served("spki.example.com", "revoked")).toBe(true);
    expect(await served("spki.example.com", "good")).toBe(false);
  });

  test("caCertCredentialName: clients are verified with that Secret's CA, not the credential's", async () => {
    expect(await served("caname.example.com", "other")).toBe(true);
    expect(await served("caname.example.com", "good")).toBe(false);
  });

  test("insecureSkipVerify: a certificate of an unknown CA is served (without XFCC); none is still refused", async () => {
    const c = clients.other!;
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: "untrusted.example.com", path: "/headers", ca: ca.cert, cert: c.cert, key: c.key });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers["X-Forwarded-Client-Cert"]).toBeUndefined();
    expect(await served("untrusted.example.com", null)).toBe(false);
    expect(await served("untrusted.example.com", "good")).toBe(true);
  });

  test("tlsCertificates files serve the server certificate; the caCrl file revokes", async () => {
    const c = clients.good!;
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: "files.example.com", path: "/status/200", ca: ca.cert, cert: c.cert, key: c.key });
    expect(r.status).toBe(200);
    expect(r.peer.subject.CN).toBe("example.com");
    expect(await served("files.example.com", "revoked")).toBe(false);
  });
});

describe("refused as Istio's validation refuses them", () => {
  const base = (tls: string) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bad, namespace: istio-system}
spec:
  servers:
${mutual("a.example.com", tls)}`;

  test("a hash that is not hex SHA-256, an SPKI that is not base64 SHA-256", async () => {
    const dir = writeTree({ "gw.yaml": base(`credentialName: plain\nverifyCertificateHash: ["abc"]\nverifyCertificateSpki: ["nope"]`) });
    const r = await runCli(["analyze", "--config", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("spec.servers[0].tls.verifyCertificateHash[0]");
    expect(r.stdout + r.stderr).toContain("spec.servers[0].tls.verifyCertificateSpki[0]");
  });

  test("caCrl with credentialName (accepted and ignored, as istiod: the CRL belongs in the credential), a CRL that does not parse", async () => {
    const withName = writeTree({ "gw.yaml": base(`credentialName: plain\ncaCrl: /etc/x.crl`) });
    const r = await runCli(["analyze", "--config", withName]);
    expect(r.stdout + r.stderr).toContain("caCrl is ignored with credentialName");
    expect(r.stdout + r.stderr).toContain("spec.servers[0].tls.caCrl");
    const files = writeTree({ "server.crt": server.cert, "server.key": server.key, "ca.crt": ca.cert, "bad.crl": "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n" });
    const badCrl = writeTree({
      "gw.yaml": base(`serverCertificate: ${join(files, "server.crt")}\nprivateKey: ${join(files, "server.key")}\ncaCertificates: ${join(files, "ca.crt")}\ncaCrl: ${join(files, "bad.crl")}`),
    });
    const r2 = await runCli(["analyze", "--config", badCrl]);
    expect(r2.code).toBe(1);
    expect(r2.stdout + r2.stderr).toContain("does not parse");
  });
});

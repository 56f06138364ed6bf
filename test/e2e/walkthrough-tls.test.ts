// The walkthrough's "安全网关" section through the real gateway process: SIMPLE
// TLS for httpbin.example.com, rotation to a new CA, two hosts on 443, MUTUAL
// with each of Istio's credential formats, --secrets-dir, unknown SNI, broken
// credential isolation, 421, httpsRedirect.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue } from "../../src/certs/generate.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { walkthroughGateway } from "../helpers/walkthrough.ts";
import { serviceEntry } from "../helpers/config.ts";

let pki: WalkthroughPki;
let httpbin: Backend;
let helloworld: Backend;
let helloCert: Awaited<ReturnType<typeof issue>>;
beforeAll(async () => {
  pki = await walkthroughPki();
  helloCert = await issue(pki.ca, { cn: "helloworld-v1.example.com", org: "helloworld organization", usage: "server", keyType: "ec" });
  httpbin = startHttpbin({ name: "httpbin" });
  helloworld = startHttpbin({ name: "helloworld-v1" });
});
afterAll(async () => {
  await httpbin.stop();
  await helloworld.stop();
});

function services(): string {
  return (
    serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbin.port) +
    "---" +
    serviceEntry("helloworld-v1", "helloworld-v1.default.svc.cluster.local", 5000, helloworld.port)
  );
}

const SIMPLE_GATEWAY = walkthroughGateway("SIMPLE", "httpbin.example.com");

function httpbinVS(gateway: string): string {
  return `
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - "httpbin.example.com"
  gateways:
  - ${gateway}
  http:
  - match:
    - uri:
        prefix: /status
    - uri:
        prefix: /delay
    - uri:
        prefix: /headers
    route:
    - destination:
        port:
          number: 8000
        host: httpbin
`;
}

const HELLO_VS = `
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: helloworld-v1
spec:
  hosts:
  - helloworld-v1.example.com
  gateways:
  - mygateway
  http:
  - match:
    - uri:
        exact: /hello
    route:
    - destination:
        host: helloworld-v1
        port:
          number: 5000
`;

function gatewayOn(port: number, gw: GatewayProcess): number {
  return gw.ports.get(port)!;
}

describe("SIMPLE TLS for httpbin.example.com, then rotation to a new CA", () => {
  let dir: string;
  let gw: GatewayProcess;
  beforeAll(async () => {
    dir = writeTree({
      "services.yaml": services(),
      "gateway.yaml": SIMPLE_GATEWAY + "---" + httpbinVS("mygateway"),
      // kubectl create -n istio-system secret tls httpbin-credential --key=... --cert=...
      "secret.yaml": secretYaml("httpbin-credential", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key),
    });
    gw = await startGateway({ configDirs: [dir], gatewayPorts: [443] });
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("curl --cacert example.com.crt https://httpbin.example.com/status/418 → the teapot, with httpbin's certificate", async () => {
    const r = await httpsGet({ port: gatewayOn(443, gw), servername: "httpbin.example.com", path: "/status/418", ca: pki.ca.cert });
    expect(r.status).toBe(418);
    expect(r.body).toContain("teapot");
    expect(r.headers["server"]).toBe("istio-envoy");
    expect(r.peer.subject.CN).toBe("httpbin.example.com");
    expect(r.peer.issuer.CN).toBe("example.com");
  });

  test("the upstream is told the request came over https", async () => {
    const r = await httpsGet({ port: gatewayOn(443, gw), servername: "httpbin.example.com", path: "/headers", ca: pki.ca.cert });
    const h = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    expect(h["X-Forwarded-Proto"]).toBe("https");
    expect(h["X-Forwarded-Client-Cert"]).toBeUndefined();
  });

  test("an SNI no server serves fails the handshake", async () => {
    expect((await handshake({ port: gatewayOn(443, gw), servername: "other.example.com" })).ok).toBe(false);
    expect((await handshake({ port: gatewayOn(443, gw) })).ok).toBe(false); // no SNI at all
  });

  test("a Host no server of the port serves gets 404", async () => {
    const none = await httpsGet({ port: gatewayOn(443, gw), servername: "httpbin.example.com", hostHeader: "nope.example.com", path: "/status/200", ca: pki.ca.cert });
    expect(none.status).toBe(404);
  });

  test("rotation: the Secret replaced by one from a new CA takes effect for new handshakes; the old CA then fails", async () => {
    const newCa = await createCA({ cn: "example.com", org: "example Inc.", keyType: "ec" });
    const newCert = await issue(newCa, { cn: "httpbin.example.com", org: "httpbin organization", usage: "server", keyType: "ec" });
    const mark = gw.output().length;
    writeFileSync(join(dir, "secret.yaml"), secretYaml("httpbin-credential", "istio-system", "tls", newCert.cert, newCert.key));
    // logged once every worker applied it (within about a second on an idle machine)
    await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
    expect((await handshake({ port: gatewayOn(443, gw), servername: "httpbin.example.com", ca: newCa.cert })).ok).toBe(true);
    const r = await httpsGet({ port: gatewayOn(443, gw), servername: "httpbin.example.com", path: "/status/418", ca: newCa.cert });
    expect(r.status).toBe(418);
    const old = await handshake({ port: gatewayOn(443, gw), servername: "httpbin.example.com", ca: pki.ca.cert });
    expect(old.ok).toBe(false);
    if (!old.ok) expect(old.error).toMatch(/signature|certificate|verify/i);
  });
});

describe("two hosts on port 443, each with its own credential", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    const gateway = `
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: mygateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 443, name: https-httpbin, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: httpbin-credential}
    hosts: [httpbin.example.com]
  - port: {number: 443, name: https-helloworld, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: helloworld-credential}
    hosts: [helloworld-v1.example.com]
  - port: {number: 443, name: https-broken, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: broken-credential}
    hosts: [broken.example.com]
  - port: {number: 80, name: http, protocol: HTTP}
    tls: {httpsRedirect: true}
    hosts: [httpbin.example.com]
`;
    const dir = writeTree({
      "services.yaml": services(),
      "gateway.yaml": gateway + "---" + httpbinVS("mygateway") + "---" + HELLO_VS,
      "secrets.yaml":
        secretYaml("httpbin-credential", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key) +
        "---\n" +
        secretYaml("helloworld-credential", "istio-system", "tls", helloCert.cert, helloCert.key) +
        "---\n" +
        // the key of another certificate: broken, so only broken.example.com fails
        secretYaml("broken-credential", "istio-system", "tls", helloCert.cert, pki.httpbin.key),
    });
    gw = await startGateway({ configDirs: [dir], gatewayPorts: [443, 80] });
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("helloworld-v1.example.com/hello and httpbin.example.com/status/418, each with its own certificate", async () => {
    const hello = await httpsGet({ port: gatewayOn(443, gw), servername: "helloworld-v1.example.com", path: "/hello", ca: pki.ca.cert });
    expect(hello.status).toBe(200);
    expect(hello.body).toContain("Hello version: helloworld-v1");
    expect(hello.peer.subject.CN).toBe("helloworld-v1.example.com");
    const bin = await httpsGet({ port: gatewayOn(443, gw), servername: "httpbin.example.com", path: "/status/418", ca: pki.ca.cert });
    expect(bin.status).toBe(418);
    expect(bin.peer.subject.CN).toBe("httpbin.example.com");
  });

  test("a broken credential fails only its own host's handshake, and is reported", async () => {
    expect((await handshake({ port: gatewayOn(443, gw), servername: "broken.example.com" })).ok).toBe(false);
    expect((await handshake({ port: gatewayOn(443, gw), servername: "httpbin.example.com", ca: pki.ca.cert })).ok).toBe(true);
    expect(gw.output()).toContain("private key does not match the certificate");
    expect(gw.output()).toContain("broken-credential");
  });

  test("a Host the port's other TLS server serves gets 421 (the HTTP/2 connection-reuse trap)", async () => {
    const r = await httpsGet({ port: gatewayOn(443, gw), servername: "httpbin.example.com", hostHeader: "helloworld-v1.example.com", path: "/hello", ca: pki.ca.cert });
    expect(r.status).toBe(421);
  });

  test("httpsRedirect on port 80 answers 301 to the https URL", async () => {
    const r = await fetch(gw.url(80, "/status/200"), { headers: { host: "httpbin.example.com" }, redirect: "manual" });
    expect(r.status).toBe(301);
    expect(r.headers.get("location")).toBe("https://httpbin.example.com/status/200");
  });

  test("admin /certs lists the credentials in use without private keys", async () => {
    const body = await (await gw.admin("/certs")).text(); // the broken credential is not in use
    expect(body).toContain("httpbin.example.com");
    expect(body).toContain("helloworld-v1.example.com");
    expect(body).not.toContain("PRIVATE KEY");
  });
});

const MUTUAL_GATEWAY = walkthroughGateway("MUTUAL", "httpbin.example.com");

describe.each([
  ["tls.crt/tls.key/ca.crt (kubectl create secret generic --from-file)", "tls" as const, false],
  ["cert/key/cacert", "generic" as const, false],
  ["cert/key with the CA in httpbin-credential-cacert", "split" as const, false],
  ["--secrets-dir (a mounted Secret volume)", "tls" as const, true],
])("MUTUAL TLS, credential as %s", (_name, format, mounted) => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    const files: Record<string, string> = { "services.yaml": services(), "gateway.yaml": MUTUAL_GATEWAY + "---" + httpbinVS("mygateway") };
    let secretsDir: string | undefined;
    if (mounted) {
      secretsDir = writeTree({});
      mkdirSync(join(secretsDir, "httpbin-credential"));
      writeFileSync(join(secretsDir, "httpbin-credential", "tls.crt"), pki.httpbin.cert);
      writeFileSync(join(secretsDir, "httpbin-credential", "tls.key"), pki.httpbin.key);
      writeFileSync(join(secretsDir, "httpbin-credential", "ca.crt"), pki.ca.cert);
    } else {
      files["secret.yaml"] = secretYaml("httpbin-credential", "istio-system", format, pki.httpbin.cert, pki.httpbin.key, pki.ca.cert);
    }
    gw = await startGateway({ configDirs: [writeTree(files)], secretsDir, gatewayPorts: [443] });
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("without a client certificate the handshake fails", async () => {
    expect((await handshake({ port: gatewayOn(443, gw), servername: "httpbin.example.com", ca: pki.ca.cert })).ok).toBe(false);
  });

  test("with a certificate from another CA the handshake fails", async () => {
    const h = await handshake({ port: gatewayOn(443, gw), servername: "httpbin.example.com", ca: pki.ca.cert, cert: pki.otherClient.cert, key: pki.otherClient.key });
    expect(h.ok).toBe(false);
  });

  test("with client.example.com's certificate: the teapot, and the identity reaches httpbin in x-forwarded-client-cert", async () => {
    const opts = { port: gatewayOn(443, gw), servername: "httpbin.example.com", ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key };
    expect((await httpsGet({ ...opts, path: "/status/418" })).status).toBe(418);
    const r = await httpsGet({ ...opts, path: "/headers", headers: { "x-forwarded-client-cert": "By=forged" } });
    const xfcc = (JSON.parse(r.body) as { headers: Record<string, string> }).headers["X-Forwarded-Client-Cert"]!;
    expect(xfcc).toMatch(/^Hash=[0-9a-f]{64};Subject="CN=client.example.com,O=client organization"$/);
  });
});

describe("certificate reporting", () => {
  test("/certs and the expiry gauge name each credential, its subject and days left", async () => {
    const dir = writeTree({
      "services.yaml": services(),
      "gateway.yaml": SIMPLE_GATEWAY + "---" + httpbinVS("mygateway"),
      "secret.yaml": secretYaml("httpbin-credential", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key),
    });
    const gw = await startGateway({ configDirs: [dir], gatewayPorts: [443] });
    try {
      const { certs } = (await (await gw.admin("/certs")).json()) as { certs: { credential: string; usedBy: string[]; certificates: { subject: string; daysLeft: number; sans: string[] }[] }[] };
      expect(certs.length).toBe(1);
      expect(certs[0]!.credential).toBe("istio-system/httpbin-credential");
      expect(certs[0]!.usedBy[0]).toContain("https.443.https.mygateway.default");
      expect(certs[0]!.certificates[0]!.subject).toContain("CN=httpbin.example.com");
      expect(certs[0]!.certificates[0]!.sans).toEqual(["DNS:httpbin.example.com"]);
      expect(certs[0]!.certificates[0]!.daysLeft).toBeGreaterThan(360);
      const dump = await (await gw.admin("/config_dump")).text();
      expect(dump).not.toContain("PRIVATE KEY");
      expect((JSON.parse(dump) as { secrets: { credential: string }[] }).secrets[0]!.credential).toBe("istio-system/httpbin-credential");
      const metrics = await (await gw.admin("/stats/prometheus")).text();
      expect(metrics).toMatch(/gangway_certificate_expiry_seconds\{credential="istio-system\/httpbin-credential",role="server",subject="[^"]*httpbin.example.com"\} \d+/);
    } finally {
      await gw.stop();
    }
  });
});

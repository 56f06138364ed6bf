// TLS server options through the real process: OPTIONAL_MUTUAL, subjectAltNames,
// minProtocolVersion, and certificate rotation under a bounded load with no
// failed request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { Agent, request } from "node:https";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue } from "../../src/certs/generate.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { serviceEntry } from "../helpers/config.ts";

let pki: WalkthroughPki;
let httpbin: Backend;
beforeAll(async () => {
  pki = await walkthroughPki();
  httpbin = startHttpbin({ name: "httpbin" });
});
afterAll(async () => {
  await httpbin.stop();
});

function config(tls: string, secret: string): Record<string, string> {
  return {
    "services.yaml": serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbin.port),
    "gateway.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [httpbin.example.com]
    tls: ${tls}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: httpbin}
spec:
  hosts: [httpbin.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: httpbin, port: {number: 8000}}}]
`,
    "secret.yaml": secret,
  };
}

async function start(tls: string, secret?: string): Promise<{ gw: GatewayProcess; port: number; dir: string }> {
  const dir = writeTree(config(tls, secret ?? secretYaml("cred", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key, pki.ca.cert)));
  const gw = await startGateway({ configDirs: [dir], gatewayPorts: [443] });
  return { gw, port: gw.ports.get(443)!, dir };
}

describe("OPTIONAL_MUTUAL", () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start("{mode: OPTIONAL_MUTUAL, credentialName: kubernetes://cred}");
  });
  afterAll(async () => {
    await s.gw.stop();
  });

  test("a client without a certificate is served, and no client identity is forwarded", async () => {
    const r = await httpsGet({ port: s.port, servername: "httpbin.example.com", path: "/headers", ca: pki.ca.cert });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers["X-Forwarded-Client-Cert"]).toBeUndefined();
  });

  test("a client with a trusted certificate is served with its identity forwarded", async () => {
    const r = await httpsGet({ port: s.port, servername: "httpbin.example.com", path: "/headers", ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key });
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers["X-Forwarded-Client-Cert"]).toContain("CN=client.example.com");
  });

  test("a client with an untrusted certificate is refused", async () => {
    const h = await handshake({ port: s.port, servername: "httpbin.example.com", ca: pki.ca.cert, cert: pki.otherClient.cert, key: pki.otherClient.key });
    expect(h.ok).toBe(false);
  });
});

describe("MUTUAL with subjectAltNames", () => {
  test("only client certificates carrying an accepted SAN get through", async () => {
    const allowed = await issue(pki.ca, { cn: "allowed", usage: "client", keyType: "ec", uris: ["spiffe://cluster.local/ns/default/sa/allowed"] });
    const s = await start('{mode: MUTUAL, credentialName: cred, subjectAltNames: ["spiffe://cluster.local/ns/default/sa/allowed"]}');
    try {
      const ok = await httpsGet({ port: s.port, servername: "httpbin.example.com", path: "/headers", ca: pki.ca.cert, cert: allowed.cert, key: allowed.key });
      expect(ok.status).toBe(200);
      expect((JSON.parse(ok.body) as { headers: Record<string, string> }).headers["X-Forwarded-Client-Cert"]).toContain(";URI=spiffe://cluster.local/ns/default/sa/allowed");
      const denied = await handshake({ port: s.port, servername: "httpbin.example.com", ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key });
      expect(denied.ok).toBe(false);
    } finally {
      await s.gw.stop();
    }
  });
});

describe("session resumption", () => {
  /** One request over a new TLS connection, offering `session`; the response text and the session to reuse. */
  function get(port: number, session: Buffer | undefined, maxVersion: "TLSv1.2" | "TLSv1.3") {
    return new Promise<{ text: string; reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
      let text = "";
      let next: Buffer | undefined;
      let reused = false; // read at secureConnect: after close the socket no longer knows
      const c = connect({ host: "127.0.0.1", port, servername: "httpbin.example.com", ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, session, maxVersion });
      c.on("session", (s) => (next = s));
      c.on("secureConnect", () => {
        reused = c.isSessionReused();
        c.write("GET /headers HTTP/1.1\r\nHost: httpbin.example.com\r\nConnection: close\r\n\r\n");
      });
      c.on("data", (d) => (text += d));
      c.on("error", reject);
      c.on("close", () => resolve({ text, reused, session: next }));
    });
  }

  test("a resumed MUTUAL session keeps its client identity, and handshakes are counted by resumption", async () => {
    const s = await start("{mode: MUTUAL, credentialName: cred}");
    try {
      for (const v of ["TLSv1.2", "TLSv1.3"] as const) {
        const first = await get(s.port, undefined, v);
        expect(first.reused).toBe(false);
        expect(first.session).toBeDefined();
        // two workers each hold their own ticket keys: retry until a connection lands on the first one's
        let again = await get(s.port, first.session, v);
        for (let i = 0; i < 10 && !again.reused; i++) again = await get(s.port, first.session, v);
        expect(again.reused).toBe(true);
        expect(again.text).toStartWith("HTTP/1.1 200");
        expect(again.text).toContain("CN=client.example.com"); // X-Forwarded-Client-Cert of the resumed session
      }
      const metrics = await (await s.gw.admin("/stats/prometheus")).text();
      const count = (resumed: string) => Number(new RegExp(`^gangway_tls_handshakes_total\\{listener="[^"]+",resumed="${resumed}"\\} (\\d+)`, "m").exec(metrics)?.[1] ?? 0);
      expect(count("true")).toBeGreaterThanOrEqual(2);
      expect(count("false")).toBeGreaterThanOrEqual(2);
    } finally {
      await s.gw.stop();
    }
  });
});

describe("protocol versions", () => {
  test("minProtocolVersion TLSV1_3 refuses a TLS 1.2 client and serves a TLS 1.3 one", async () => {
    const s = await start("{mode: SIMPLE, credentialName: cred, minProtocolVersion: TLSV1_3}");
    try {
      const tryVersion = (v: "TLSv1.2" | "TLSv1.3") =>
        new Promise<string>((resolve) => {
          const c = connect({ host: "127.0.0.1", port: s.port, servername: "httpbin.example.com", ca: pki.ca.cert, minVersion: v, maxVersion: v });
          c.on("secureConnect", () => {
            resolve(c.getProtocol() ?? "?");
            c.destroy();
          });
          c.on("error", () => resolve("failed"));
        });
      expect(await tryVersion("TLSv1.2")).toBe("failed");
      expect(await tryVersion("TLSv1.3")).toBe("TLSv1.3");
    } finally {
      await s.gw.stop();
    }
  });

  test("by default TLS 1.2 and 1.3 are both served", async () => {
    const s = await start("{mode: SIMPLE, credentialName: cred}");
    try {
      for (const v of ["TLSv1.2", "TLSv1.3"] as const) {
        const h = await new Promise<string>((resolve) => {
          const c = connect({ host: "127.0.0.1", port: s.port, servername: "httpbin.example.com", ca: pki.ca.cert, minVersion: v, maxVersion: v });
          c.on("secureConnect", () => {
            resolve(c.getProtocol() ?? "?");
            c.destroy();
          });
          c.on("error", (e) => resolve(e.message));
        });
        expect(h).toBe(v);
      }
    } finally {
      await s.gw.stop();
    }
  });
});

describe("a broken credential update", () => {
  test("is refused: the last good certificate keeps serving until a good one comes", async () => {
    const s = await start("{mode: SIMPLE, credentialName: cred}");
    try {
      const ok = (ca: string) => handshake({ port: s.port, servername: "httpbin.example.com", ca }).then((h) => h.ok);
      expect(await ok(pki.ca.cert)).toBe(true);
      // the client certificate with the server's key: they do not match
      writeFileSync(join(s.dir, "secret.yaml"), secretYaml("cred", "istio-system", "tls", pki.client.cert, pki.httpbin.key));
      await s.gw.waitForOutput(/does not match[^\n]*the credential loaded before keeps serving/);
      await s.gw.waitForOutput(/configuration reloaded/);
      expect(await ok(pki.ca.cert)).toBe(true);
      const r = await httpsGet({ port: s.port, servername: "httpbin.example.com", path: "/status/200", ca: pki.ca.cert });
      expect(r.status).toBe(200);
      // a good one from a new CA then applies
      const newCa = await createCA({ cn: "example.com", org: "example Inc.", keyType: "ec" });
      const next = await issue(newCa, { cn: "httpbin.example.com", usage: "server", keyType: "ec" });
      writeFileSync(join(s.dir, "secret.yaml"), secretYaml("cred", "istio-system", "tls", next.cert, next.key));
      // a reload: the primary (nice 10) reads, compiles and publishes it; 20 s as writeAndReload gives one
      const t0 = Date.now();
      while (Date.now() - t0 < 20_000 && !(await ok(newCa.cert))) await Bun.sleep(100);
      expect(await ok(newCa.cert)).toBe(true);
      expect(await ok(pki.ca.cert)).toBe(false);
    } finally {
      await s.gw.stop();
    }
  });
});

describe("rotation under load", () => {
  test("rotating the credential three times during a bounded load fails no request and drops no keep-alive connection", async () => {
    const s = await start("{mode: SIMPLE, credentialName: cred}", secretYaml("cred", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key));
    // clients trust both CAs, as during a planned CA roll-over
    const cas = [pki.ca];
    for (let i = 0; i < 3; i++) cas.push(await createCA({ cn: `roll-${i}`, keyType: "ec" }));
    const ca = cas.map((c) => c.cert).join("");
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ca, servername: "httpbin.example.com" });
    const counts = { ok: 0, failed: 0, errors: [] as string[] };
    let stop = false;
    const deadline = Date.now() + 15_000;
    const one = () =>
      new Promise<void>((resolve) => {
        const req = request({ host: "127.0.0.1", port: s.port, path: "/get", agent, headers: { host: "httpbin.example.com" } }, (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) counts.ok++;
            else counts.failed++;
            resolve();
          });
        });
        req.on("error", (e) => {
          counts.failed++;
          counts.errors.push(e.message);
          resolve();
        });
        req.end();
      });
    const loop = async () => {
      for (let i = 0; i < 3000 && !stop && Date.now() < deadline; i++) await one();
    };
    const clients = Array.from({ length: 4 }, loop);
    try {
      /** Let the load run for `n` more answers (bounded by the clients' deadline). */
      const answers = async (n: number) => {
        const target = counts.ok + counts.failed + n;
        while (counts.ok + counts.failed < target && Date.now() < deadline) await Bun.sleep(10);
      };
      for (let i = 1; i <= 3; i++) {
        await answers(30);
        const leaf = await issue(cas[i]!, { cn: "httpbin.example.com", usage: "server", keyType: "ec" });
        writeFileSync(join(s.dir, "secret.yaml"), secretYaml("cred", "istio-system", "tls", leaf.cert, leaf.key));
        await s.gw.waitForOutput(new RegExp(`version=${i + 1}\\b`));
        // a new handshake now sees the new certificate
        const h = await handshake({ port: s.port, servername: "httpbin.example.com", ca: cas[i]!.cert });
        expect(h.ok).toBe(true);
      }
      await answers(30);
    } finally {
      stop = true;
      await Promise.all(clients);
      agent.destroy();
      await s.gw.stop();
    }
    expect(counts.errors).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(counts.ok).toBeGreaterThan(50);
  });
});

describe("certificates from files (serverCertificate / privateKey / caCertificates)", () => {
  test("served from the files, and rotated when the files change", async () => {
    const certDir = writeTree({ "tls.crt": pki.httpbin.cert, "tls.key": pki.httpbin.key, "ca.crt": pki.ca.cert });
    const tls = `{mode: MUTUAL, serverCertificate: ${join(certDir, "tls.crt")}, privateKey: ${join(certDir, "tls.key")}, caCertificates: ${join(certDir, "ca.crt")}}`;
    const s = await start(tls, "");
    try {
      const client = { port: s.port, servername: "httpbin.example.com", ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key };
      expect((await httpsGet({ ...client, path: "/status/418" })).status).toBe(418);
      expect((await handshake({ port: s.port, servername: "httpbin.example.com", ca: pki.ca.cert })).ok).toBe(false); // MUTUAL from the CA file
      // rotate: new CA and server certificate written over the files
      const newCa = await createCA({ cn: "new.example.com", keyType: "ec" });
      const leaf = await issue(newCa, { cn: "httpbin.example.com", usage: "server", keyType: "ec" });
      writeFileSync(join(certDir, "tls.crt"), leaf.cert);
      writeFileSync(join(certDir, "tls.key"), leaf.key);
      const end = Date.now() + 20_000; // a reload (see above)
      let rotated = false;
      while (!rotated && Date.now() < end) {
        rotated = (await handshake({ ...client, ca: newCa.cert })).ok;
        if (!rotated) await Bun.sleep(100);
      }
      expect(rotated).toBe(true);
    } finally {
      await s.gw.stop();
    }
  });
});

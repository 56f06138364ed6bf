// Upstream TLS options and the certificate check, on real sockets: Bun.connect
// with the options upstreamTlsRuntime builds, to a loopback TLS backend with
// its own CA (and one that requires a client certificate), the verdict taken
// in the handshake as the pool takes it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import type { Credential } from "../../src/snapshot/types.ts";
import type { UpstreamTls } from "../../src/snapshot/upstream.ts";
import { connectOptions, upstreamSni, upstreamTlsRuntime, verifyUpstream, type UpstreamTlsRuntime } from "../../workers/http/upstream-tls.ts";

let ca: Issued;
let otherCa: Issued;
let client: Issued;
let otherClient: Issued;
const servers: tls.Server[] = [];

function cred(name: string, certChain: string, privateKey: string, caCert: string): Credential {
  return { name, sources: [], certChain, privateKey, caCert, chain: [], ca: [], warnings: [] };
}

async function backend(cert: Issued, requireClient: boolean, alpn = ["h2", "http/1.1"]): Promise<number> {
  const s = tls.createServer({ cert: cert.cert, key: cert.key, ca: ca.cert, requestCert: requireClient, rejectUnauthorized: requireClient, ALPNProtocols: alpn }, (c) => {
    c.on("error", () => {});
    c.on("data", () => c.end(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-alpn: ${c.alpnProtocol}\r\n\r\nok`));
  });
  s.on("tlsClientError", () => {});
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
}

/** Connect, handshake, send a request: "ok <response>" or the refusal reason, or "closed" (the server hung up). */
function exchange(rt: UpstreamTlsRuntime, port: number, sni: string): Promise<string> {
  return new Promise((resolve) => {
    let done = false;
    let got = "";
    const fin = (m: string) => {
      if (!done) {
        done = true;
        resolve(m);
      }
    };
    const timer = setTimeout(() => fin("timeout"), 5000);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      tls: connectOptions(rt, sni),
      socket: {
        handshake(s, _ok, err) {
          const why = verifyUpstream(rt.policy, err as { code?: string } | null, s.getPeerCertificate()?.subjectaltname);
          if (why !== "") {
            s.end();
            clearTimeout(timer);
            fin(why);
            return;
          }
          s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
        },
        data(_s, d) {
          got += d.toString();
          if (got.endsWith("ok")) {
            clearTimeout(timer);
            fin("ok " + (/x-alpn: (\S+)/.exec(got)?.[1] ?? ""));
          }
        },
        close() {
          clearTimeout(timer);
          fin("closed");
        },
        connectError(_s, e) {
          fin("connect " + e.message);
        },
      },
    }).catch(() => {});
  });
}

const policy = (p: Partial<UpstreamTls>): UpstreamTls => ({
  mode: "SIMPLE",
  credential: "",
  systemRoots: false,
  sni: "",
  subjectAltNames: [],
  spiffeTrustDomain: "",
  insecureSkipVerify: false,
  alpn: [],
  problem: "",
  ...p,
});

let simplePort = 0;
let mutualPort = 0;
let meshPort = 0;
const creds = new Map<string, Credential>();

beforeAll(async () => {
  ca = await createCA({ cn: "upstream-ca", keyType: "ec" });
  otherCa = await createCA({ cn: "other-ca", keyType: "ec" });
  const server = await issue(ca, { cn: "be.internal", names: ["be.internal", "*.svc.internal"], usage: "server", keyType: "ec" });
  const mesh = await issue(ca, { cn: "be", uris: ["spiffe://cluster.local/ns/default/sa/be"], names: [], usage: "both", keyType: "ec" });
  client = await issue(ca, { cn: "gateway", uris: ["spiffe://cluster.local/ns/istio-system/sa/gw"], usage: "client", keyType: "ec" });
  otherClient = await issue(otherCa, { cn: "stranger", usage: "client", keyType: "ec" });
  simplePort = await backend(server, false);
  mutualPort = await backend(server, true);
  meshPort = await backend(mesh, true, ["istio-peer-exchange", "istio", "h2", "http/1.1"]); // a sidecar's inbound listener
  creds.set("ca-only", cred("ca-only", "", "", ca.cert));
  creds.set("other-ca", cred("other-ca", "", "", otherCa.cert));
  creds.set("client", cred("client", client.cert, client.key, ca.cert));
  creds.set("stranger", cred("stranger", otherClient.cert, otherClient.key, ca.cert));
});

afterAll(() => {
  for (const s of servers) s.close();
});

describe("SIMPLE", () => {
  test("the backend's CA and its name: accepted", async () => {
    const rt = upstreamTlsRuntime(policy({ credential: "ca-only" }), creds);
    expect(await exchange(rt, simplePort, upstreamSni(rt, "be.internal:8443"))).toBe("ok false");
  });
  test("another CA: refused with the verify error", async () => {
    const rt = upstreamTlsRuntime(policy({ credential: "other-ca" }), creds);
    expect(await exchange(rt, simplePort, "be.internal")).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
  });
  test("auto SNI: a host the certificate does not name is refused", async () => {
    const rt = upstreamTlsRuntime(policy({ credential: "ca-only" }), creds);
    expect(await exchange(rt, simplePort, upstreamSni(rt, "evil.example"))).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });
  test("a wildcard SAN covers one label", async () => {
    const rt = upstreamTlsRuntime(policy({ credential: "ca-only" }), creds);
    expect(await exchange(rt, simplePort, "api.svc.internal")).toBe("ok false");
  });
  test("subjectAltNames replace the host-name check: listed name accepted whatever the SNI, other names refused", async () => {
    const ok = upstreamTlsRuntime(policy({ credential: "ca-only", sni: "anything.example", subjectAltNames: ["be.internal"] }), creds);
    expect(await exchange(ok, simplePort, upstreamSni(ok, "x"))).toBe("ok false");
    const bad = upstreamTlsRuntime(policy({ credential: "ca-only", sni: "be.internal", subjectAltNames: ["db.internal"] }), creds);
    expect(await exchange(bad, simplePort, "be.internal")).toBe("SAN_MISMATCH");
  });
  test("insecureSkipVerify accepts an unknown CA", async () => {
    const rt = upstreamTlsRuntime(policy({ credential: "other-ca", insecureSkipVerify: true }), creds);
    expect(await exchange(rt, simplePort, "be.internal")).toBe("ok false");
  });
  test("ALPN h2 offered for an HTTP/2 cluster", async () => {
    const rt = upstreamTlsRuntime(policy({ credential: "ca-only", alpn: ["h2"] }), creds);
    expect(await exchange(rt, simplePort, "be.internal")).toBe("ok h2");
  });
});

describe("MUTUAL", () => {
  test("the client certificate the backend's CA signed: served", async () => {
    const rt = upstreamTlsRuntime(policy({ mode: "MUTUAL", credential: "client" }), creds);
    expect(await exchange(rt, mutualPort, "be.internal")).toBe("ok false");
  });
  test("SIMPLE (no client certificate) to a backend that requires one: the backend hangs up", async () => {
    const rt = upstreamTlsRuntime(policy({ credential: "ca-only" }), creds);
    expect(await exchange(rt, mutualPort, "be.internal")).toBe("closed");
  });
  test("a client certificate from another CA: the backend hangs up", async () => {
    const rt = upstreamTlsRuntime(policy({ mode: "MUTUAL", credential: "stranger" }), creds);
    expect(await exchange(rt, mutualPort, "be.internal")).toBe("closed");
  });
});

describe("ISTIO_MUTUAL", () => {
  const mesh = (td: string) => policy({ mode: "ISTIO_MUTUAL", credential: "client", sni: "outbound_.8000_._.be.default.svc.cluster.local", spiffeTrustDomain: td, alpn: ["istio-peer-exchange", "istio"] });
  test("a spiffe identity of the trust domain: served (the Istio SNI is not a name of the certificate)", async () => {
    const rt = upstreamTlsRuntime(mesh("cluster.local"), creds);
    expect(await exchange(rt, meshPort, upstreamSni(rt, "be"))).toBe("ok istio-peer-exchange");
  });
  test("another trust domain: refused", async () => {
    const rt = upstreamTlsRuntime(mesh("example.org"), creds);
    expect(await exchange(rt, meshPort, upstreamSni(rt, "be"))).toBe("SPIFFE_SAN_MISMATCH");
  });
});

describe("handshake failures carry their reason", () => {
  test("ALPN with no protocol in common: EPROTO", async () => {
    const rt = upstreamTlsRuntime(policy({ credential: "ca-only", alpn: ["istio"] }), creds);
    expect(await exchange(rt, simplePort, "be.internal")).toBe("EPROTO");
  });
});

describe("runtime", () => {
  test("a compiled problem, or a credential not in the snapshot, is a problem (no connection)", () => {
    expect(upstreamTlsRuntime(policy({ problem: "Secret x not found" }), creds).problem).toBe("Secret x not found");
    expect(upstreamTlsRuntime(policy({ credential: "gone" }), creds).problem).toBe("credential gone is not loaded");
  });
  test.each([
    ["be.internal:8443", "be.internal"],
    ["Be.Internal", "be.internal"],
    ["10.0.0.1:80", ""],
    ["[::1]:80", ""],
  ])("auto SNI from %p is %p", (host, sni) => {
    expect(upstreamSni(upstreamTlsRuntime(policy({}), creds), host)).toBe(sni);
  });
});

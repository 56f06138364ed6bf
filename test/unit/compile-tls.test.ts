// TLS servers → filter chains: SNI precedence, credential lookup forms and
// namespaces, checks that disable a chain, cipher and version settings.
import { beforeAll, describe, expect, test } from "bun:test";
import { secretYaml } from "../../src/cli/certs.ts";
import { parseCredentialName } from "../../src/compile/tls.ts";
import { selectVirtualHost } from "../../src/route/lookup.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { issue } from "../../src/certs/generate.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { compileYaml, findingLines, get } from "./pipeline-helpers.ts";

let pki: WalkthroughPki;
let expired: Awaited<ReturnType<typeof issue>>;
beforeAll(async () => {
  pki = await walkthroughPki();
  expired = await issue(pki.ca, { cn: "old.example.com", usage: "server", keyType: "ec", notBefore: new Date("2020-01-01"), notAfter: new Date("2021-01-01") });
});

function gateway(servers: string, ns = "default"): string {
  return `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw, namespace: ${ns}}
spec:
  selector: {istio: ingressgateway}
  servers:
${servers}
`;
}

function server(hosts: string[], tls: string, name = "https"): string {
  return `  - port: {number: 443, name: ${name}, protocol: HTTPS}
    hosts: [${hosts.map((h) => JSON.stringify(h)).join(", ")}]
    tls: ${tls}
`;
}

const secret = (name: string, ns = "istio-system", format: "tls" | "generic" | "split" = "tls", ca = false) =>
  "---\n" + secretYaml(name, ns, format, pki.httpbin.cert, pki.httpbin.key, ca ? pki.ca.cert : undefined);

function chains(s: Snapshot) {
  return s.listeners.find((l) => l.port === 443)!.tls!;
}

describe("SNI → filter chain", () => {
  test("exact name, then the longest wildcard, then *", () => {
    const s = compileYaml(
      gateway(
        server(["a.example.com"], "{mode: SIMPLE, credentialName: c}", "a") +
          server(["*.example.com"], "{mode: SIMPLE, credentialName: c}", "wild") +
          server(["*.b.example.com"], "{mode: SIMPLE, credentialName: c}", "wildb") +
          server(["*"], "{mode: SIMPLE, credentialName: c}", "all"),
      ) + secret("c"),
    );
    const t = chains(s);
    const pick = (sni: string) => {
      const i = selectVirtualHost(t, sni);
      return i < 0 ? null : t.chains[i]!.name;
    };
    expect(pick("a.example.com")).toBe("https.443.a.gw.default");
    expect(pick("x.example.com")).toBe("https.443.wild.gw.default");
    expect(pick("x.b.example.com")).toBe("https.443.wildb.gw.default");
    expect(pick("example.com")).toBe("https.443.all.gw.default");
    expect(pick("")).toBe("https.443.all.gw.default"); // no SNI reaches only a * server
  });

  test("without a * server, an unknown or missing SNI has no chain", () => {
    const t = chains(compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c}")) + secret("c")));
    expect(selectVirtualHost(t, "b.example.com")).toBe(-1);
    expect(selectVirtualHost(t, "")).toBe(-1);
  });
});

describe("credentials", () => {
  test.each([
    ["c", ["", "c"]],
    ["kubernetes://c", ["", "c"]],
    ["kubernetes://other/c", ["other", "c"]],
  ])("credentialName %s names namespace/secret %p", (ref, want) => {
    expect(parseCredentialName(ref)).toEqual(want as [string, string]);
  });

  test("credentialName is looked up in the gateway namespace (--namespace), not the Gateway's", () => {
    const yaml = gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c}"), "apps") + secret("c", "apps");
    const t = chains(compileYaml(yaml));
    expect(t.chains[0]!.disabled).toContain("istio-system/c not found");
    expect(chains(compileYaml(yaml, { namespace: "apps" })).chains[0]!.disabled).toBe("");
  });

  test("file fields beside credentialName are not used, as istiod ignores them: each is a Warning naming it", () => {
    const cases: [string, string[]][] = [
      ["{mode: SIMPLE, credentialName: c}", []],
      ["{mode: SIMPLE, credentialName: c, caCertificates: /etc/ca.pem}", ["spec.servers[0].tls.caCertificates"]],
      ["{mode: MUTUAL, credentialName: c, caCertificates: /etc/ca.pem}", ["spec.servers[0].tls.caCertificates"]],
      ["{mode: SIMPLE, credentialNames: [c], serverCertificate: /etc/cert.pem}", ["spec.servers[0].tls.serverCertificate"]],
    ];
    for (const [tls, fields] of cases) {
      const s = compileYaml(gateway(server(["a.example.com"], tls)) + secret("c", "istio-system", "tls", true));
      expect(s.findings.filter((f) => f.code === "GW0603" && f.message.includes("not used with credentialName")).map((f) => f.field)).toEqual(fields);
      expect(chains(s).chains[0]!.credential).toBe("istio-system/c");
    }
  });

  test("kubernetes://ns/name is read only in the gateway namespace (istiod's SDS refuses another namespace)", () => {
    const t = chains(compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: kubernetes://certs/c}")) + secret("c", "certs")));
    expect(t.chains[0]!.credential).toBe("");
    expect(t.chains[0]!.disabled).toContain("not in the gateway namespace istio-system");
    const same = chains(compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: kubernetes://istio-system/c}")) + secret("c")));
    expect(same.chains[0]!.credential).toBe("istio-system/c");
    expect(same.chains[0]!.disabled).toBe("");
  });

  test("MUTUAL without a CA is disabled with an Error; the companion -cacert Secret supplies one", () => {
    const without = compileYaml(gateway(server(["a.example.com"], "{mode: MUTUAL, credentialName: c}")) + secret("c"));
    expect(chains(without).chains[0]!.disabled).toContain("needs a CA certificate");
    expect(findingLines(without).some((l) => l.startsWith("Error GW0602"))).toBe(true);
    const split = compileYaml(gateway(server(["a.example.com"], "{mode: MUTUAL, credentialName: c}")) + secret("c", "istio-system", "split", true));
    expect(chains(split).chains[0]!.disabled).toBe("");
    expect(split.credentials.get("istio-system/c")!.sources).toEqual(["Secret/istio-system/c", "Secret/istio-system/c-cacert"]);
  });

  test("one broken credential disables only its own server", () => {
    const broken = "---\n" + secretYaml("bad", "istio-system", "tls", pki.client.cert, pki.httpbin.key);
    const s = compileYaml(
      gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c}", "a") + server(["b.example.com"], "{mode: SIMPLE, credentialName: bad}", "b")) + secret("c") + broken,
    );
    const t = chains(s);
    expect(t.chains.map((c) => [c.serverNames[0], c.disabled === ""])).toEqual([["a.example.com", true], ["b.example.com", false]]);
    expect(findingLines(s).some((l) => l.includes("Secret/istio-system/bad") && l.includes("does not match"))).toBe(true);
    expect(get(s, "b.example.com", "/", { port: 443 }).outcome).toBe("handshake_failed");
  });

  test("a credential that turns broken keeps its last good version (reported); one broken from the start disables its server", () => {
    const good = compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c}")) + secret("c"));
    const goodCred = good.credentials.get("istio-system/c")!;
    const brokenYaml = gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c}")) + "---\n" + secretYaml("c", "istio-system", "tls", pki.client.cert, pki.httpbin.key);
    const kept = compileYaml(brokenYaml, { lastGood: good.credentials });
    expect(chains(kept).chains[0]!.disabled).toBe("");
    expect(kept.credentials.get("istio-system/c")).toBe(goodCred);
    expect(findingLines(kept).some((l) => l.startsWith("Error GW0602") && l.includes("does not match") && l.includes("the credential loaded before keeps serving"))).toBe(true);
    expect(get(kept, "a.example.com", "/", { port: 443 }).outcome).not.toBe("handshake_failed");
    const fresh = compileYaml(brokenYaml);
    expect(chains(fresh).chains[0]!.disabled).not.toBe("");
    // a Secret that is gone is not kept
    const gone = compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c}")), { lastGood: good.credentials });
    expect(chains(gone).chains[0]!.disabled).not.toBe("");
  });

  test("an expired certificate is served with a Warning", () => {
    const s = compileYaml(gateway(server(["old.example.com"], "{mode: SIMPLE, credentialName: old}")) + "---\n" + secretYaml("old", "istio-system", "tls", expired.cert, expired.key));
    expect(chains(s).chains[0]!.disabled).toBe("");
    expect(findingLines(s).some((l) => l.startsWith("Warning GW0603") && l.includes("expired"))).toBe(true);
  });

  test("private keys never reach the findings", () => {
    const s = compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c}")) + secret("c"));
    expect(JSON.stringify(s.findings)).not.toContain("PRIVATE KEY");
  });
});

describe("TLS settings", () => {
  test("versions map to OpenSSL names; TLS 1.2 is the default minimum", () => {
    const s = compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c, minProtocolVersion: TLSV1_3}", "a") + server(["b.example.com"], "{mode: SIMPLE, credentialName: c}", "b")) + secret("c"));
    expect(chains(s).chains.map((c) => [c.minVersion, c.maxVersion])).toEqual([["TLSv1.3", "TLSv1.3"], ["TLSv1.2", "TLSv1.3"]]);
  });

  test("unknown cipher suites are dropped with a finding, known ones kept", () => {
    const s = compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c, cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256, NOT-A-CIPHER]}")) + secret("c"));
    expect(chains(s).chains[0]!.ciphers).toBe("ECDHE-ECDSA-AES128-GCM-SHA256");
    expect(findingLines(s).some((l) => l.startsWith("Warning GW0604") && l.includes("NOT-A-CIPHER"))).toBe(true);
  });

  test("a Host the port's other server serves is 421 in trace; one no server serves is 404", () => {
    const s = compileYaml(
      gateway(server(["a.example.com"], "{mode: SIMPLE, credentialName: c}", "a") + server(["b.example.com"], "{mode: SIMPLE, credentialName: c}", "b")) + secret("c"),
    );
    const t = get(s, "b.example.com", "/", { port: 443, sni: "a.example.com" });
    expect([t.outcome, t.status]).toEqual(["misdirected", 421]);
    // a host no server of the port serves is no virtual host (404), as in Istio
    const none = get(s, "c.example.com", "/", { port: 443, sni: "a.example.com" });
    expect(none.status).toBe(404);
  });

  test("Istio Gateway servers: a Host the connection's own `*` server covers is routed there, though a more specific server owns it (no 421)", () => {
    const vs = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: default}
spec:
  hosts: [b.example.com]
  gateways: [gw]
  http:
  - route:
    - destination: {host: b.default.svc.cluster.local, port: {number: 80}}
`;
    const s = compileYaml(gateway(server(["*"], "{mode: SIMPLE, credentialName: c}", "any") + server(["b.example.com"], "{mode: SIMPLE, credentialName: c}", "b")) + secret("c") + vs);
    expect(chains(s).chains.map((c) => c.ownHostsOnly)).toEqual([undefined, undefined]);
    const t = get(s, "b.example.com", "/", { port: 443, sni: "a.example.com" });
    expect([t.outcome, t.chain]).toEqual(["no_endpoints", "https.443.any.gw.default"]);
    // the more specific server's connection still answers 421 for a Host only `*` serves
    expect(get(s, "a.example.com", "/", { port: 443, sni: "b.example.com" }).status).toBe(421);
  });
});

describe("certificates from files", () => {
  const tls = "{mode: SIMPLE, serverCertificate: /certs/tls.crt, privateKey: /certs/tls.key}";
  test("the loader's file contents make the credential", () => {
    const certFiles = new Map([["/certs/tls.crt", pki.httpbin.cert], ["/certs/tls.key", pki.httpbin.key]]);
    const t = chains(compileYaml(gateway(server(["a.example.com"], tls)), { certFiles }));
    expect(t.chains[0]!.disabled).toBe("");
    expect(t.chains[0]!.credential).toBe("file:/certs/tls.crt");
  });
  test("an unreadable file disables the server with an Error naming the field", () => {
    const certFiles = new Map<string, string | null>([["/certs/tls.crt", pki.httpbin.cert], ["/certs/tls.key", null]]);
    const s = compileYaml(gateway(server(["a.example.com"], tls)), { certFiles });
    expect(chains(s).chains[0]!.disabled).toContain("cannot read privateKey file /certs/tls.key");
    expect(s.findings.some((f) => f.code === "GW0601" && f.field === "spec.servers[0].tls.privateKey")).toBe(true);
  });
});

describe("credentialNames", () => {
  test("the first names the server's credential (and its CA); the others are reported, not silently ignored", () => {
    const s = compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialNames: [rsa-cred, ecdsa-cred]}")) + secret("rsa-cred") + secret("ecdsa-cred"));
    const chain = chains(s).chains[0]!;
    expect([chain.credential, chain.disabled]).toEqual(["istio-system/rsa-cred", ""]);
    expect(findingLines(s).some((l) => l.startsWith('Warning GW0603 Gateway/default/gw: credentialNames[1] "ecdsa-cred" is not presented'))).toBe(true);
  });

  test("a missing first credential disables the server as credentialName does", () => {
    const s = compileYaml(gateway(server(["a.example.com"], "{mode: SIMPLE, credentialNames: [nope]}")));
    expect(chains(s).chains[0]!.disabled).not.toBe("");
  });
});

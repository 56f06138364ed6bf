import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { keyCostWarning, parseCredential } from "../../src/credentials/parse.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";

let pki: WalkthroughPki;
let intermediate: Issued;
let leafOfIntermediate: Issued;
let expired: Issued;
beforeAll(async () => {
  pki = await walkthroughPki();
  intermediate = await issue(pki.ca, { cn: "intermediate", usage: "both", keyType: "ec", isCA: true });
  leafOfIntermediate = await issue(intermediate, { cn: "deep.example.com", usage: "server", keyType: "ec" });
  expired = await issue(pki.ca, { cn: "old.example.com", usage: "server", keyType: "ec", notBefore: new Date("2020-01-01"), notAfter: new Date("2021-01-01") });
});

const ref = (name: string) => `Secret/istio-system/${name}`;

describe("credentials from Secrets", () => {
  test("kubernetes.io/tls format, with ca.crt", () => {
    const r = parseCredential("c", { ref: ref("c"), data: { "tls.crt": pki.httpbin.cert, "tls.key": pki.httpbin.key, "ca.crt": pki.ca.cert } }, null);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.credential.chain[0]!.subject).toContain("CN=httpbin.example.com");
    expect(r.credential.chain[0]!.sans).toEqual(["DNS:httpbin.example.com"]);
    expect(r.credential.ca[0]!.subject).toContain("CN=example.com");
    expect(r.credential.warnings).toEqual([]);
  });

  test("generic cert/key/cacert format", () => {
    const r = parseCredential("c", { ref: ref("c"), data: { cert: pki.httpbin.cert, key: pki.httpbin.key, cacert: pki.ca.cert } }, null);
    expect(r.ok && r.credential.caCert.includes("BEGIN CERTIFICATE")).toBe(true);
  });

  test("the companion <name>-cacert Secret supplies (and wins for) the CA", () => {
    const r = parseCredential(
      "c",
      { ref: ref("c"), data: { cert: pki.httpbin.cert, key: pki.httpbin.key, cacert: pki.otherCa.cert } },
      { ref: ref("c-cacert"), data: { cacert: pki.ca.cert } },
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.credential.ca[0]!.subject).toContain("CN=example.com");
      expect(r.credential.sources).toEqual([ref("c"), ref("c-cacert")]);
    }
  });

  test("a chain in order is kept whole; out of order is refused", () => {
    const good = parseCredential("c", { ref: ref("c"), data: { cert: leafOfIntermediate.cert + intermediate.cert, key: leafOfIntermediate.key } }, null);
    expect(good.ok && good.credential.chain.length).toBe(2);
    const bad = parseCredential("c", { ref: ref("c"), data: { cert: intermediate.cert + leafOfIntermediate.cert, key: intermediate.key } }, null);
    expect(bad).toMatchObject({ ok: false, field: "data.cert" });
    if (!bad.ok) expect(bad.problem).toContain("out of order");
  });

  test("an expired certificate is served with a warning", () => {
    const r = parseCredential("c", { ref: ref("c"), data: { cert: expired.cert, key: expired.key } }, null);
    expect(r.ok && r.credential.warnings[0]).toContain("expired");
  });

  test.each([
    ["missing", null, "not found", "credentialName"],
    ["key of another certificate", { cert: "HTTPBIN", key: "CLIENT" }, "does not match", "data.key"],
    ["not PEM", { "tls.crt": "hello", "tls.key": "KEY" }, "not a PEM certificate", "data.tls.crt"],
    ["garbage key", { "tls.crt": "HTTPBIN", "tls.key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }, "private key does not parse", "data.tls.key"],
    ["no key", { "tls.crt": "HTTPBIN" }, "no key", "data"],
    ["no certificate", { key: "CLIENT" }, "no certificate", "data"],
    ["empty", {}, "neither", "data"],
    ["broken CA", { cert: "HTTPBIN", key: "HTTPBINKEY", cacert: "nope" }, "not a PEM certificate", "data.cacert"],
  ])("refuses %s", (_n, data, problem, field) => {
    const fill = (v: string) =>
      v === "HTTPBIN" ? pki.httpbin.cert : v === "HTTPBINKEY" ? pki.httpbin.key : v === "CLIENT" ? pki.client.key : v;
    const d = data === null ? null : { ref: ref("c"), data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, fill(v)])) };
    const r = parseCredential("c", d, null);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem).toContain(problem);
      expect(r.field).toBe(field);
    }
  });

  test("a CA-only Secret is a credential with no server certificate", () => {
    const r = parseCredential("c", null, { ref: ref("c-cacert"), data: { cacert: pki.ca.cert } });
    expect(r.ok && r.credential.certChain).toBe("");
  });

  test("RSA keys from the walkthrough's openssl-style generation work too", async () => {
    const ca = await createCA({ cn: "example.com", org: "example Inc." });
    const srv = await issue(ca, { cn: "httpbin.example.com", usage: "server" });
    expect(parseCredential("c", { ref: ref("c"), data: { "tls.crt": srv.cert, "tls.key": srv.key } }, null).ok).toBe(true);
  });
});

describe("key size (a large RSA key costs every full handshake on the event loop)", () => {
  const fixture = (f: string) => readFileSync(join(import.meta.dir, "fixtures", f), "utf8");

  test.each([
    ["rsa", 2048, false],
    ["rsa", 4096, false],
    ["rsa", 4097, true],
    ["rsa", 16384, true],
    ["rsa-pss", 8192, true],
    ["ec", 521, false],
    ["ed25519", undefined, false],
  ] as const)("%s %p bits: warned %p", (keyType, keyBits, warned) => {
    expect(keyCostWarning({ keyType, keyBits }) !== null).toBe(warned);
  });

  test("a 4160-bit RSA Secret is served, with a GW0605 Warning naming the Secret (what analyze and the start-up log show)", () => {
    const cert = fixture("rsa-4160.crt");
    const key = fixture("rsa-4160.key");
    const r = parseCredential("big", { ref: ref("big"), data: { "tls.crt": cert, "tls.key": key } }, null);
    expect(r.ok && [r.credential.keyType, r.credential.keyBits]).toEqual(["rsa", 4160]);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const snap = compileYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [big.example.com]
    tls: {mode: SIMPLE, credentialName: big}
---
apiVersion: v1
kind: Secret
metadata: {name: big, namespace: istio-system}
type: kubernetes.io/tls
data: {tls.crt: ${b64(cert)}, tls.key: ${b64(key)}}
`);
    const lines = findingLines(snap).filter((l) => l.includes("GW0605"));
    expect(lines).toEqual([expect.stringMatching(/^Warning GW0605 Secret\/istio-system\/big: the RSA private key has 4160 bits, above 4096/)]);
    expect(snap.listeners[0]!.tls!.chains[0]!.disabled).toBe("");
  });

  test("the walkthrough's 2048-bit RSA keys get no such warning", async () => {
    const ca = await createCA({ cn: "example.com" });
    const srv = await issue(ca, { cn: "httpbin.example.com", usage: "server" });
    const r = parseCredential("c", { ref: ref("c"), data: { "tls.crt": srv.cert, "tls.key": srv.key } }, null);
    expect(r.ok && [r.credential.keyBits, keyCostWarning(r.credential)]).toEqual([2048, null]);
  });
});

import { beforeAll, describe, expect, test } from "bun:test";
import { parseCredential } from "../../src/credentials/parse.ts";
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

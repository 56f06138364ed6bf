// `gateway certs`: the walkthrough's openssl steps without openssl, checked with openssl.
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { runCli, writeTree } from "../helpers/gateway.ts";
import { parseCredential } from "../../src/credentials/parse.ts";

const hasOpenssl = Bun.which("openssl") !== null;
if (!hasOpenssl) console.warn("openssl not found: the openssl checks of the generated certificates are skipped (apt-get install openssl, as .ci/run does)");

describe("gateway certs", () => {
  test("root CA, server certificate with SANs and a Secret, client certificate", async () => {
    const out = writeTree({});
    expect((await runCli(["certs", "ca", "--name", "example.com", "--org", "example Inc.", "--out", out])).code).toBe(0);
    const server = await runCli([
      "certs", "server", "--ca", join(out, "example.com"), "--name", "httpbin.example.com", "--names", "httpbin.example.com,www.httpbin.example.com",
      "--org", "httpbin organization", "--out", out, "--secret-name", "httpbin-credential", "--secret-format", "generic", "--with-ca",
    ]);
    expect(server.code).toBe(0);
    expect((await runCli(["certs", "client", "--ca", join(out, "example.com"), "--name", "client.example.com", "--out", out])).code).toBe(0);
    for (const f of ["example.com.crt", "example.com.key", "httpbin.example.com.crt", "httpbin.example.com.key", "client.example.com.crt", "client.example.com.key", "httpbin-credential.yaml"]) {
      expect(existsSync(join(out, f))).toBe(true);
    }
    const [doc] = parseAllDocuments(readFileSync(join(out, "httpbin-credential.yaml"), "utf8")).map((d) => d.toJS());
    expect(doc.kind).toBe("Secret");
    expect(doc.metadata).toEqual({ name: "httpbin-credential", namespace: "istio-system" });
    const data = Object.fromEntries(Object.entries(doc.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
    expect(Object.keys(data).sort()).toEqual(["cacert", "cert", "key"]);
    const cred = parseCredential("httpbin-credential", { ref: "Secret/istio-system/httpbin-credential", data }, null);
    expect(cred.ok).toBe(true);
    if (cred.ok) expect(cred.credential.chain[0]!.sans).toEqual(["DNS:httpbin.example.com", "DNS:www.httpbin.example.com"]);
    if (hasOpenssl) {
      const v = Bun.spawnSync(["openssl", "verify", "-CAfile", join(out, "example.com.crt"), join(out, "httpbin.example.com.crt"), join(out, "client.example.com.crt")]);
      expect(v.stdout.toString()).toContain("httpbin.example.com.crt: OK");
      expect(v.stdout.toString()).toContain("client.example.com.crt: OK");
      const subj = Bun.spawnSync(["openssl", "x509", "-in", join(out, "httpbin.example.com.crt"), "-noout", "-subject", "-issuer"]).stdout.toString();
      expect(subj).toContain("CN = httpbin.example.com");
      expect(subj).toContain("O = example Inc.");
    }
  });

  test("--key-type ec gives ECDSA keys to the CA and to server and client certificates", async () => {
    const out = writeTree({});
    const ca = join(out, "example.com");
    expect((await runCli(["certs", "ca", "--name", "example.com", "--out", out, "--key-type", "ec"])).code).toBe(0);
    expect((await runCli(["certs", "server", "--ca", ca, "--name", "a.example.com", "--out", out, "--key-type", "ec"])).code).toBe(0);
    expect((await runCli(["certs", "client", "--ca", ca, "--name", "c.example.com", "--out", out, "--key-type", "ec"])).code).toBe(0);
    expect((await runCli(["certs", "server", "--ca", ca, "--name", "r.example.com", "--out", out])).code).toBe(0);
    const keyType = (f: string) => new X509Certificate(readFileSync(join(out, f))).publicKey.asymmetricKeyType;
    expect(keyType("example.com.crt")).toBe("ec");
    expect(keyType("a.example.com.crt")).toBe("ec");
    expect(keyType("c.example.com.crt")).toBe("ec");
    expect(keyType("r.example.com.crt")).toBe("rsa"); // the default, signed by the EC CA
  });

  test("--secrets-dir DIR --secret-name N writes the kubelet layout, which the gateway reads as Secret N", async () => {
    const out = writeTree({});
    const secrets = join(out, "secrets");
    expect((await runCli(["certs", "ca", "--name", "example.com", "--key-type", "ec", "--out", out])).code).toBe(0);
    const r = await runCli(["certs", "server", "--ca", join(out, "example.com"), "--name", "httpbin.example.com", "--key-type", "ec", "--out", out, "--secret-name", "httpbin-credential", "--with-ca", "--secrets-dir", secrets]);
    expect(r.code).toBe(0);
    expect(readdirSync(secrets)).toEqual(["httpbin-credential"]);
    expect(readdirSync(join(secrets, "httpbin-credential")).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    expect(existsSync(join(out, "httpbin-credential.yaml"))).toBe(false);
    const split = await runCli(["certs", "server", "--ca", join(out, "example.com"), "--name", "a.example.com", "--key-type", "ec", "--out", out, "--secret-name", "a", "--secret-format", "split", "--secrets-dir", secrets]);
    expect(split.code).toBe(0);
    expect([readdirSync(join(secrets, "a")).sort(), readdirSync(join(secrets, "a-cacert"))]).toEqual([["cert", "key"], ["cacert"]]);
    // the gateway takes it as Secret httpbin-credential of its namespace
    const dump = await runCli(["proxy-config", "secrets", "--config", join(import.meta.dir, "../../config/walkthrough/05-tls-simple/mygateway.yaml"), "--secrets-dir", secrets]);
    expect(dump.code).toBe(0);
    expect(dump.stdout).toMatch(/kubernetes:\/\/httpbin-credential\s+Cert Chain\s+ACTIVE\s+true/);
  });

  test("certificate files dropped flat in --secrets-dir are not a Secret: analyze warns, naming the layout", async () => {
    const out = writeTree({});
    expect((await runCli(["certs", "ca", "--name", "example.com", "--key-type", "ec", "--out", out])).code).toBe(0);
    const flat = join(out, "flat");
    expect((await runCli(["certs", "server", "--ca", join(out, "example.com"), "--name", "tls", "--key-type", "ec", "--out", flat])).code).toBe(0);
    const r = await runCli(["analyze", "--config", join(import.meta.dir, "../../config/walkthrough/05-tls-simple/mygateway.yaml"), "--secrets-dir", flat]);
    expect(r.stdout).toContain(`${join(flat, "tls.crt")} is a file directly in --secrets-dir: ignored; a Secret's keys are read from DIR/<secret-name>/<key>`);
    expect(r.stdout).toContain("GW0003");
  });

  test("bad usage exits 2", async () => {
    expect((await runCli(["certs"])).code).toBe(2);
    expect((await runCli(["certs", "server", "--name", "x"])).code).toBe(2);
  });

  test("a CA that cannot be read is one line naming the file, exit 2; certs --help lists the options", async () => {
    const r = await runCli(["certs", "server", "--name", "x", "--ca", "/nonexistent/ca", "--out", writeTree({})]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot read the CA file /nonexistent/ca.crt: ENOENT");
    expect(r.stderr).not.toContain("    at ");
    const help = await runCli(["certs", "--help"]);
    expect(help.code).toBe(0);
    for (const o of ["--ca", "--names", "--secret-name", "--secret-format", "--key-type", "--out"]) expect(help.stdout).toContain(o);
  });
});

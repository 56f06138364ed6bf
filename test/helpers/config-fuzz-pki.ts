// PEM values the configuration fuzzer puts into Secrets that the shipped demo PKI
// (config/certs) lacks: an expired server certificate and its key, an EC pair.
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { createCA, issue, loadCA, revocationList } from "../../src/certs/generate.ts";
import { EXTRA_CRLS } from "./config-mutate-kinds.ts";
import { EXTRA_PEMS } from "./config-mutate.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** base64 of: an expired httpbin.example.com certificate, its key, the two together, a CA certificate that expired. */
export async function expiredCertificatePem(): Promise<string[]> {
  const past = { notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2020-02-01T00:00:00Z") };
  const ca = await createCA({ cn: "expired.example.com", keyType: "ec", ...past });
  const leaf = await issue(ca, { cn: "httpbin.example.com", usage: "server", keyType: "ec", ...past });
  return [b64(leaf.cert), b64(leaf.key), b64(leaf.cert + leaf.key), b64(ca.cert)];
}

/**
 * Revocation lists (PEM) for the fuzzer's `ca.crl` values: the demo CA's
 * (config/certs) revoking client.example.com, the demo CA's revoking nothing,
 * and one of a CA nobody trusts.
 */
export async function revocationListsPem(): Promise<string[]> {
  const dir = join(import.meta.dir, "..", "..", "config", "certs");
  const demo = await loadCA(readFileSync(join(dir, "example.com.crt"), "utf8"), readFileSync(join(dir, "example.com.key"), "utf8"));
  const client = new X509Certificate(readFileSync(join(dir, "client.example.com.crt"), "utf8"));
  const other = await createCA({ cn: "other-crl.example.com", keyType: "ec" });
  return [await revocationList(demo, [client.serialNumber]), await revocationList(demo, []), await revocationList(other, ["01"])];
}

/** Fills EXTRA_PEMS and EXTRA_CRLS (once per process). */
export async function loadFuzzPki(): Promise<void> {
  if (EXTRA_PEMS.length > 0) return;
  EXTRA_PEMS.push(...(await expiredCertificatePem()));
  EXTRA_CRLS.push(...(await revocationListsPem()));
}

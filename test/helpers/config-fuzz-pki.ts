// PEM values the configuration fuzzer puts into Secrets that the shipped demo PKI
// (config/certs) lacks: an expired server certificate and its key, an EC pair.
import { createCA, issue } from "../../src/certs/generate.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** base64 of: an expired httpbin.example.com certificate, its key, the two together, a CA certificate that expired. */
export async function expiredCertificatePem(): Promise<string[]> {
  const past = { notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2020-02-01T00:00:00Z") };
  const ca = await createCA({ cn: "expired.example.com", keyType: "ec", ...past });
  const leaf = await issue(ca, { cn: "httpbin.example.com", usage: "server", keyType: "ec", ...past });
  return [b64(leaf.cert), b64(leaf.key), b64(leaf.cert + leaf.key), b64(ca.cert)];
}

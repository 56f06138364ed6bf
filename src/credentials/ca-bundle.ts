// A CA bundle read from a ConfigMap's or a Secret's data (a Gateway API
// caCertificateRef), as istiod's ExtractRoot reads it: key `cacert` first, then
// `ca.crt`. The result is a CA-only credential (no certificate, no key) that a
// filter chain names as the CA its clients' certificates are verified with.
import { X509Certificate } from "node:crypto";
import { crlProblem } from "./crl.ts";
import { certInfo, splitPemCerts, type Credential } from "./parse.ts";

/** `field`: the data key the bundle was read from (`data.cacert`), which its warnings are about. */
export type CaBundleResult = { ok: true; credential: Credential; field: string } | { ok: false; problem: string };

const KEYS = ["cacert", "ca.crt"] as const;

/** `name`: the credential's name (the CA's resource name, `configmap://ns/name-cacert`); `source` (`ConfigMap/ns/name`) for dumps; `now` is injectable for expiry tests. */
export function parseCaBundle(name: string, source: string, data: Record<string, string>, now = new Date()): CaBundleResult {
  const key = KEYS.find((k) => (data[k] ?? "") !== "");
  if (key === undefined) {
    const empty = KEYS.find((k) => data[k] !== undefined);
    if (empty !== undefined) return { ok: false, problem: `found key "${empty}", but it was empty` };
    // istiod's words (ExtractRoot), which its status messages carry
    return { ok: false, problem: `found secret, but didn't have expected keys cacert or ca.crt; found: ${Object.keys(data).sort().join(", ")}` };
  }
  const blocks = splitPemCerts(data[key]!);
  if (blocks.length === 0) return { ok: false, problem: `${key}: the bundle is malformed (no PEM certificate)` };
  const certs: X509Certificate[] = [];
  for (let i = 0; i < blocks.length; i++) {
    try {
      certs.push(new X509Certificate(blocks[i]!));
    } catch (err) {
      return { ok: false, problem: `${key}: the bundle is malformed (certificate ${i + 1}: ${(err as Error).message})` };
    }
  }
  const ca = certs.map(certInfo);
  const warnings = ca.filter((c) => new Date(c.notAfter) < now).map((c) => `CA certificate ${c.subject} expired on ${c.notAfter}`);
  const caCert = certs.map((c) => c.toString().trim()).join("\n") + "\n";
  const credential: Credential = { name, sources: [source], certChain: "", privateKey: "", caCert, chain: [], ca, warnings };
  if (data["ca.crl"] !== undefined) {
    const bad = crlProblem(data["ca.crl"]);
    if (bad !== null) return { ok: false, problem: `ca.crl does not parse: ${bad}` };
    credential.crl = data["ca.crl"];
  }
  return { ok: true, credential, field: `data.${key}` };
}

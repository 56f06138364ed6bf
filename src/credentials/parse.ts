// Turns Secret data into a checked TLS credential, in any of Istio's formats:
//   tls.crt / tls.key (+ ca.crt)            kubernetes.io/tls
//   cert / key (+ cacert)                   generic
//   cert / key, CA in Secret `<name>-cacert` under `cacert` (the companion wins)
// Checks: PEM parses, the key matches the leaf certificate, the chain is in
// order (each certificate issued by the next), expiry. Pure and synchronous.
import { crlProblem } from "./crl.ts";
import { X509Certificate, createPrivateKey } from "node:crypto";

export interface CertInfo {
  subject: string;
  issuer: string;
  sans: string[];
  serial: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
}

export interface Credential {
  /** Secret name as referenced (`httpbin-credential`). */
  name: string;
  /** `Secret/ns/name` of the data used (+ companion). */
  sources: string[];
  /** Server certificate chain, PEM (leaf first); "" for a CA-only credential. */
  certChain: string;
  /** Private key, PEM; "" for a CA-only credential. */
  privateKey: string;
  /** Trusted CA certificates for client verification, PEM, or "". */
  caCert: string;
  /** Revocation list(s) client certificates are checked against (key `ca.crl`), PEM; absent without one. */
  crl?: string;
  chain: CertInfo[];
  ca: CertInfo[];
  /** Non-fatal notes (expired, not yet valid, ...). */
  warnings: string[];
  /** The private key's type (`rsa`, `ec`, `ed25519`, ...) and size in bits (RSA modulus, EC curve), when there is a key. */
  keyType?: string;
  keyBits?: number;
}

/** RSA keys above this many bits get a warning: a 16,384-bit key cost 0.23 s of the event loop per full handshake. */
export const RSA_WARN_BITS = 4096;

/** A warning for a private key too costly to sign with, or null. */
export function keyCostWarning(c: Pick<Credential, "keyType" | "keyBits">): string | null {
  if (c.keyType !== "rsa" && c.keyType !== "rsa-pss") return null;
  if (c.keyBits === undefined || c.keyBits <= RSA_WARN_BITS) return null;
  return `the RSA private key has ${c.keyBits} bits, above ${RSA_WARN_BITS}: each full handshake signs with it on a worker's event loop (a 16,384-bit key costs ~0.23 s); use RSA 2048-4096 or ECDSA P-256`;
}

/** `warningFields[i]`: the field (`data.tls.crt`) credential.warnings[i] is about. */
export type CredentialResult = { ok: true; credential: Credential; warningFields: string[] } | { ok: false; problem: string; field: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPemCerts(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

export function certInfo(c: X509Certificate): CertInfo {
  return {
    subject: c.subject.replace(/\n/g, ", "),
    issuer: c.issuer.replace(/\n/g, ", "),
    sans: (c.subjectAltName ?? "").split(/,\s*/).filter(Boolean),
    serial: c.serialNumber,
    notBefore: c.validFromDate?.toISOString() ?? new Date(c.validFrom).toISOString(),
    notAfter: c.validToDate?.toISOString() ?? new Date(c.validTo).toISOString(),
    fingerprint256: c.fingerprint256,
  };
}

function parseCerts(pem: string, field: string): { ok: true; certs: X509Certificate[] } | { ok: false; problem: string; field: string } {
  const blocks = splitPemCerts(pem);
  if (blocks.length === 0) return { ok: false, problem: "not a PEM certificate", field };
  const certs: X509Certificate[] = [];
  for (let i = 0; i < blocks.length; i++) {
    try {
      certs.push(new X509Certificate(blocks[i]!));
    } catch (err) {
      return { ok: false, problem: `certificate ${i + 1} does not parse: ${(err as Error).message}`, field };
    }
  }
  return { ok: true, certs };
}

function curveBits(curve: string): number | undefined {
  const m = /(\d{3})/.exec(curve);
  return m === null ? undefined : Number(m[1]);
}

export interface SecretData {
  /** `Secret/ns/name` */
  ref: string;
  data: Record<string, string>;
}

/**
 * Build the credential named `name` from its Secret and, when present, the
 * companion `<name>-cacert` Secret. `now` is injectable for expiry tests.
 */
export function parseCredential(name: string, secret: SecretData | null, companion: SecretData | null, now = new Date()): CredentialResult {
  if (secret === null && companion === null) return { ok: false, problem: `Secret "${name}" not found`, field: "credentialName" };
  const d = secret?.data ?? {};
  const certKey = d["tls.crt"] !== undefined ? "tls.crt" : d["cert"] !== undefined ? "cert" : null;
  const keyKey = d["tls.key"] !== undefined ? "tls.key" : d["key"] !== undefined ? "key" : null;
  const warnings: string[] = [];
  const warningFields: string[] = [];
  const warn = (message: string, field: string) => (warnings.push(message), warningFields.push(field));
  let certChain = "";
  let privateKey = "";
  let chain: CertInfo[] = [];
  let keyType: string | undefined;
  let keyBits: number | undefined;
  if (certKey !== null || keyKey !== null) {
    if (certKey === null) return { ok: false, problem: "has a key but no certificate (tls.crt or cert)", field: "data" };
    if (keyKey === null) return { ok: false, problem: "has a certificate but no key (tls.key or key)", field: "data" };
    const parsed = parseCerts(d[certKey]!, `data.${certKey}`);
    if (!parsed.ok) return parsed;
    let key;
    try {
      key = createPrivateKey(d[keyKey]!);
    } catch (err) {
      return { ok: false, problem: `private key does not parse: ${(err as Error).message}`, field: `data.${keyKey}` };
    }
    keyType = key.asymmetricKeyType;
    const details = key.asymmetricKeyDetails;
    keyBits = details?.modulusLength ?? (details?.namedCurve !== undefined ? curveBits(details.namedCurve) : undefined);
    const leaf = parsed.certs[0]!;
    if (!leaf.checkPrivateKey(key)) return { ok: false, problem: "private key does not match the certificate", field: `data.${keyKey}` };
    for (let i = 0; i + 1 < parsed.certs.length; i++) {
      if (!parsed.certs[i]!.checkIssued(parsed.certs[i + 1]!)) {
        return { ok: false, problem: `certificate chain out of order: certificate ${i + 1} is not issued by certificate ${i + 2}`, field: `data.${certKey}` };
      }
    }
    chain = parsed.certs.map(certInfo);
    const nb = new Date(chain[0]!.notBefore);
    const na = new Date(chain[0]!.notAfter);
    if (na < now) warn(`certificate expired on ${chain[0]!.notAfter}`, `data.${certKey}`);
    if (nb > now) warn(`certificate not valid before ${chain[0]!.notBefore}`, `data.${certKey}`);
    certChain = parsed.certs.map((c) => c.toString().trim()).join("\n") + "\n";
    privateKey = d[keyKey]!;
  }
  // CA: the companion Secret wins, then ca.crt, then cacert.
  let caPem: string | undefined;
  let caField = "";
  if (companion !== null && companion.data["cacert"] !== undefined) {
    caPem = companion.data["cacert"];
    caField = `${companion.ref}: data.cacert`;
  } else if (d["ca.crt"] !== undefined) {
    caPem = d["ca.crt"];
    caField = "data.ca.crt";
  } else if (d["cacert"] !== undefined) {
    caPem = d["cacert"];
    caField = "data.cacert";
  }
  let caCert = "";
  let ca: CertInfo[] = [];
  if (caPem !== undefined && caPem.trim() !== "") {
    const parsed = parseCerts(caPem, caField);
    if (!parsed.ok) return parsed;
    ca = parsed.certs.map(certInfo);
    caCert = parsed.certs.map((c) => c.toString().trim()).join("\n") + "\n";
    for (const c of ca) if (new Date(c.notAfter) < now) warn(`CA certificate ${c.subject} expired on ${c.notAfter}`, caField);
  }
  if (certChain === "" && caCert === "") {
    return { ok: false, problem: "has neither a certificate/key pair (tls.crt/tls.key, cert/key) nor a CA (ca.crt, cacert)", field: "data" };
  }
  const sources = [secret?.ref, companion?.ref].filter((s): s is string => s !== undefined);
  const credential: Credential = { name, sources, certChain, privateKey, caCert, chain, ca, warnings, keyType, keyBits };
  // Istio reads `ca.crl` beside ca.crt (the companion Secret's first)
  const crlField = companion?.data["ca.crl"] !== undefined ? `${companion.ref}: data.ca.crl` : d["ca.crl"] !== undefined ? "data.ca.crl" : "";
  if (crlField !== "") {
    const pem = companion?.data["ca.crl"] ?? d["ca.crl"]!;
    const bad = crlProblem(pem);
    if (bad !== null) return { ok: false, problem: `ca.crl does not parse: ${bad}`, field: crlField };
    credential.crl = pem;
  }
  return { ok: true, credential, warningFields };
}

// Creates what the walkthrough's openssl steps create: a root CA, server
// certificates (with SANs) and client certificates, as PEM, with WebCrypto and
// @peculiar/x509 — so TLS and mutual TLS can be tried without openssl.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export type KeyType = "rsa" | "ec";

export interface Issued {
  /** Certificate, PEM. */
  cert: string;
  /** Private key, PKCS#8 PEM. */
  key: string;
  /** Kept to sign further certificates with. */
  keys: CryptoKeyPair;
  certificate: x509.X509Certificate;
}

export interface SubjectOptions {
  /** Common name. */
  cn: string;
  /** Organisation (O=). */
  org?: string;
  days?: number;
  keyType?: KeyType;
  /** Hexadecimal serial; random when absent. */
  serial?: string;
  /** Backdate/shift validity (tests of expired certificates). */
  notBefore?: Date;
  notAfter?: Date;
}

type GenParams = Parameters<typeof crypto.subtle.generateKey>[0];
type SignParams = { name: string; hash?: string };

const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const EC = { name: "ECDSA", namedCurve: "P-256" };

function algorithm(t: KeyType): GenParams {
  return t === "ec" ? EC : RSA;
}

function signing(t: KeyType): SignParams {
  return t === "ec" ? { name: "ECDSA", hash: "SHA-256" } : RSA;
}

function escapeDn(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, "\\$1");
}

function dn(o: SubjectOptions): string {
  const parts = [];
  if (o.org !== undefined) parts.push(`O=${escapeDn(o.org)}`);
  parts.push(`CN=${escapeDn(o.cn)}`);
  return parts.join(", ");
}

function validity(o: SubjectOptions): { notBefore: Date; notAfter: Date } {
  const notBefore = o.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + (o.days ?? 365) * 86_400_000);
  return { notBefore, notAfter };
}

function randomSerial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f; // positive
  return Buffer.from(b).toString("hex");
}

async function pemKey(keys: CryptoKeyPair): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return x509.PemConverter.encode(der, "PRIVATE KEY") + "\n";
}

async function generateKeys(t: KeyType): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(algorithm(t), true, ["sign", "verify"])) as CryptoKeyPair;
}

/** A self-signed root CA (`openssl req -x509 ... -subj '/O=example Inc./CN=example.com'`). */
export async function createCA(o: SubjectOptions): Promise<Issued> {
  const t = o.keyType ?? "rsa";
  const keys = await generateKeys(t);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: o.serial ?? randomSerial(),
    name: dn(o),
    ...validity(o),
    keys,
    signingAlgorithm: signing(t),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: certificate.toString("pem") + "\n", key: await pemKey(keys), keys, certificate };
}

export interface LeafOptions extends SubjectOptions {
  /** DNS names (and IP addresses) for the SAN extension; defaults to [cn] for servers. */
  names?: string[];
  /** Also URIs (e.g. spiffe://cluster.local/ns/default/sa/client). */
  uris?: string[];
  usage: "server" | "client" | "both";
  /** An intermediate CA (may sign further certificates). */
  isCA?: boolean;
}

/** A certificate signed by `ca` (`openssl x509 -req -CA ... -CAkey ...`). */
export async function issue(ca: Issued, o: LeafOptions): Promise<Issued> {
  const t = o.keyType ?? "rsa";
  const keys = await generateKeys(t);
  const names = o.names ?? (o.usage === "client" ? [] : [o.cn]);
  const san: x509.JsonGeneralName[] = [];
  for (const n of names) san.push(/^[\d.]+$|:/.test(n) ? { type: "ip", value: n } : { type: "dns", value: n });
  for (const u of o.uris ?? []) san.push({ type: "url", value: u });
  const eku: string[] = [];
  if (o.usage !== "client") eku.push(x509.ExtendedKeyUsage.serverAuth);
  if (o.usage !== "server") eku.push(x509.ExtendedKeyUsage.clientAuth);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(o.isCA === true, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | (o.isCA === true ? x509.KeyUsageFlags.keyCertSign : 0),
      true,
    ),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (san.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(san, false));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: o.serial ?? randomSerial(),
    subject: dn(o),
    issuer: ca.certificate.subject,
    ...validity(o),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signing(ca.keys.privateKey.algorithm.name === "ECDSA" ? "ec" : "rsa"),
    extensions,
  });
  return { cert: certificate.toString("pem") + "\n", key: await pemKey(keys), keys, certificate };
}

/** Load a CA written earlier (PEM cert + PKCS#8 key) so it can sign more certificates. */
export async function loadCA(certPem: string, keyPem: string): Promise<Issued> {
  const certificate = new x509.X509Certificate(certPem);
  const der = x509.PemConverter.decodeFirst(keyPem);
  const isEc = certificate.publicKey.algorithm.name === "ECDSA";
  const alg = isEc ? EC : RSA;
  const privateKey = await crypto.subtle.importKey("pkcs8", der, alg, true, ["sign"]);
  const publicKey = await certificate.publicKey.export(alg, ["verify"]);
  return { cert: certPem, key: keyPem, keys: { privateKey, publicKey }, certificate };
}

/** A revocation list signed by `ca` naming `serials` (hexadecimal), PEM (`openssl ca -gencrl`). */
export async function revocationList(ca: Issued, serials: string[], days = 30): Promise<string> {
  const now = new Date();
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subject,
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: new Date(now.getTime() + days * 86_400_000),
    // with a reason: without one the entry gets an empty extensions list, which OpenSSL refuses
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(now.getTime() - 60_000), reason: x509.X509CrlReason.keyCompromise })),
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signing(ca.keys.privateKey.algorithm.name === "ECDSA" ? "ec" : "rsa"),
  });
  // OpenSSL reads `X509 CRL` PEM blocks (the library writes `CRL`)
  return x509.PemConverter.encode(crl.rawData, "X509 CRL") + "\n";
}

// The client certificate of a terminated connection: accept or reject it per
// the chain's mode and subjectAltNames, and describe it for upstreams in
// Envoy's x-forwarded-client-cert format (Hash, Subject, URI, DNS).
import { createHash, X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { FilterChain } from "../../src/snapshot/types.ts";

export interface ClientIdentity {
  /** Non-empty: why the connection is refused. */
  reject: string;
  /** `Hash=…;Subject="…";URI=…;DNS=…`, or "" without a verified client certificate. */
  xfcc: string;
  /** The verified client certificate, read here once (the access log's TLS operators reuse it). */
  cert?: X509Certificate;
}

const NONE: ClientIdentity = { reject: "", xfcc: "" };

/** Does the chain ask clients for a certificate (MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL)? */
export function asksClientCert(chain: FilterChain): boolean {
  return chain.mode === "MUTUAL" || chain.mode === "OPTIONAL_MUTUAL" || chain.mode === "ISTIO_MUTUAL";
}

/** Must the client present one (MUTUAL, ISTIO_MUTUAL)? */
export function requiresClientCert(chain: FilterChain): boolean {
  return chain.mode === "MUTUAL" || chain.mode === "ISTIO_MUTUAL";
}

/** Does the handshake itself refuse a client certificate the CA did not sign? Not with `acceptUntrusted` (clientIdentity decides then). */
export function handshakeRejectsUntrusted(chain: FilterChain): boolean {
  return requiresClientCert(chain) && chain.acceptUntrusted !== true;
}

function sans(c: X509Certificate): { dns: string[]; uri: string[]; all: string[] } {
  const dns: string[] = [];
  const uri: string[] = [];
  const all: string[] = [];
  for (const part of (c.subjectAltName ?? "").split(/,\s*/)) {
    const i = part.indexOf(":");
    if (i < 0) continue;
    const kind = part.slice(0, i);
    const v = part.slice(i + 1);
    if (kind === "DNS") dns.push(v);
    else if (kind === "URI") uri.push(v);
    all.push(v);
  }
  return { dns, uri, all };
}

/** Envoy writes the subject in RFC 2253 order (most specific first), comma separated. */
function subjectOf(c: X509Certificate): string {
  return c.subject.split("\n").filter(Boolean).reverse().join(",");
}

export function xfccOf(c: X509Certificate): string {
  const hash = c.fingerprint256.replace(/:/g, "").toLowerCase();
  const s = sans(c);
  let out = `Hash=${hash};Subject="${subjectOf(c).replace(/"/g, '\\"')}"`;
  for (const u of s.uri) out += `;URI=${u}`;
  for (const d of s.dns) out += `;DNS=${d}`;
  return out;
}

/** verifyCertificateHash / verifyCertificateSpki: either list matching is enough, as Envoy's. */
function hashAccepted(c: X509Certificate, chain: FilterChain): boolean {
  if (chain.verifyHashes !== undefined && chain.verifyHashes.includes(c.fingerprint256.replace(/:/g, "").toLowerCase())) return true;
  if (chain.verifySpki !== undefined) {
    const spki = createHash("sha256").update(c.publicKey.export({ type: "spki", format: "der" })).digest("base64");
    if (chain.verifySpki.includes(spki)) return true;
  }
  return false;
}

export function clientIdentity(t: TLSSocket, chain: FilterChain): ClientIdentity {
  if (!asksClientCert(chain)) return NONE;
  const raw = t.getPeerX509Certificate?.();
  if (raw === undefined || raw === null) {
    return requiresClientCert(chain) ? { reject: "no client certificate", xfcc: "" } : NONE;
  }
  if (!t.authorized) {
    // AllowInsecureFallback: served, as a client without a verified certificate (no XFCC)
    if (chain.acceptUntrusted === true) return NONE;
    return { reject: `client certificate not trusted: ${String(t.authorizationError ?? "unknown")}`, xfcc: "" };
  }
  const c = raw as X509Certificate;
  if (chain.mode === "ISTIO_MUTUAL") {
    const prefix = `spiffe://${chain.trustDomain ?? "cluster.local"}/`;
    if (!sans(c).uri.some((u) => u.startsWith(prefix))) return { reject: `client identity is not in trust domain ${chain.trustDomain}`, xfcc: "" };
  }
  if (chain.subjectAltNames.length > 0) {
    const have = sans(c).all;
    if (!chain.subjectAltNames.some((n) => have.includes(n))) return { reject: "client certificate SAN not accepted", xfcc: "" };
  }
  if ((chain.verifyHashes !== undefined || chain.verifySpki !== undefined) && !hashAccepted(c, chain)) {
    return { reject: "client certificate hash not accepted", xfcc: "" };
  }
  return { reject: "", xfcc: xfccOf(c), cert: c };
}

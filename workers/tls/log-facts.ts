// What the access log reads of a terminated TLS connection (Envoy's
// DOWNSTREAM_TLS_* and DOWNSTREAM_PEER_* / DOWNSTREAM_LOCAL_* operators, CEL's
// connection.* attributes), in Envoy's formats. Read once per connection and
// kept on its DownstreamTls (Envoy's ConnectionInfo caches the same way): at the
// handshake when some sink names one (AccessLog.tls: readTlsFacts), since a
// line written after the socket closed (a TCP session's, a request's whose
// client left) finds nothing to read; nothing at all otherwise. Costs measured on bun 1.4.4
// (bench/README.md, access log): getPeerX509Certificate ~42 µs, getSession
// 2–4 µs, getCipher/getProtocol < 1 µs; the cached read after that is a
// property load.
import type { X509Certificate } from "node:crypto";

/** The socket methods read (node:tls TLSSocket over the bridge; Bun's own TLS socket). */
export interface TlsSocketFacts {
  getProtocol?(): string | null;
  getTLSVersion?(): string | null;
  getCipher?(): { name?: string } | null | undefined;
  getSession?(): Buffer | undefined | null;
  getPeerX509Certificate?(): X509Certificate | undefined | null;
  getX509Certificate?(): X509Certificate | undefined | null;
}

/** A certificate as the access log writes it. */
export interface CertFacts {
  /** RFC 2253 (most specific first, `,` between), as X509_NAME_print_ex(XN_FLAG_RFC2253). */
  subject: string;
  issuer: string;
  uriSan: string;
  dnsSan: string;
  ipSan: string;
  emailSan: string;
  /** Lower-case hex, no colons. */
  sha256: string;
  sha1: string;
  /** Lower-case hex, leading zero bytes dropped (BoringSSL's BN_bn2hex). */
  serial: string;
  notBeforeMs: number;
  notAfterMs: number;
}

/** The per-connection cache; a field is undefined until read. */
export interface TlsFactsCache {
  version?: string;
  cipher?: string;
  sessionId?: string;
  peer?: CertFacts | null;
  local?: CertFacts | null;
}

/** What a connection carries for this (workers/http/conn.ts DownstreamTls has these). */
export interface TlsFactsSource {
  socket: TlsSocketFacts | null;
  facts: TlsFactsCache | null;
}

function cache(t: TlsFactsSource): TlsFactsCache {
  return t.facts ?? (t.facts = {});
}

/** `TLSv1.3`, as SSL_get_version: "" when unknown. */
export function tlsVersion(t: TlsFactsSource): string {
  const c = cache(t);
  if (c.version === undefined) {
    const s = t.socket;
    let v: string | null | undefined = null;
    try {
      v = s?.getProtocol?.() ?? s?.getTLSVersion?.();
    } catch {}
    c.version = typeof v === "string" && v !== "unknown" ? v : "";
  }
  return c.version;
}

/** The OpenSSL name of the cipher suite (`ECDHE-RSA-AES128-GCM-SHA256`, `TLS_AES_128_GCM_SHA256`), as SSL_CIPHER_get_name. */
export function tlsCipher(t: TlsFactsSource): string {
  const c = cache(t);
  if (c.cipher === undefined) {
    let v: string | undefined;
    try {
      v = t.socket?.getCipher?.()?.name;
    } catch {}
    c.cipher = typeof v === "string" ? v : "";
  }
  return c.cipher;
}

/** The session ID in lower-case hex (empty for a session without one, as a ticket-only TLS 1.3 session). */
export function tlsSessionId(t: TlsFactsSource): string {
  const c = cache(t);
  if (c.sessionId === undefined) {
    let der: Buffer | null | undefined = null;
    try {
      der = t.socket?.getSession?.();
    } catch {}
    c.sessionId = der ? sessionIdOf(der) : "";
  }
  return c.sessionId;
}

/** Everything the log may read, read now (at the handshake, while the socket is there); `peer`: the client certificate, when already read. */
export function readTlsFacts(t: TlsFactsSource, peer?: X509Certificate): void {
  if (peer !== undefined) cache(t).peer ??= certFacts(peer);
  tlsVersion(t);
  tlsCipher(t);
  tlsSessionId(t);
  peerCert(t);
  localCert(t);
}

/** DER: tag, length → [content start, content end], or null. */
function tlv(b: Buffer, at: number): [number, number, number] | null {
  if (at + 2 > b.length) return null;
  const tag = b[at]!;
  let len = b[at + 1]!;
  let off = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || off + n > b.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[off + i]!;
    off += n;
  }
  return off + len > b.length ? null : [tag, off, off + len];
}

/**
 * The session ID of an SSL_SESSION in its ASN.1 form (what getSession returns):
 * SEQUENCE { version INTEGER, sslVersion INTEGER, cipher OCTET STRING, sessionID OCTET STRING, ... }.
 */
export function sessionIdOf(der: Buffer): string {
  const seq = tlv(der, 0);
  if (seq === null || seq[0] !== 0x30) return "";
  let at = seq[1];
  const want = [0x02, 0x02, 0x04, 0x04];
  for (let i = 0; i < want.length; i++) {
    const f = tlv(der, at);
    if (f === null || f[0] !== want[i]) return "";
    if (i === 3) return der.subarray(f[1], f[2]).toString("hex");
    at = f[2];
  }
  return "";
}

/** The client's certificate (null: none presented). */
export function peerCert(t: TlsFactsSource): CertFacts | null {
  const c = cache(t);
  if (c.peer === undefined) {
    let x: X509Certificate | null | undefined = null;
    try {
      x = t.socket?.getPeerX509Certificate?.();
    } catch {}
    c.peer = x ? certFacts(x) : null;
  }
  return c.peer;
}

/** The gateway's own certificate on this connection. */
export function localCert(t: TlsFactsSource): CertFacts | null {
  const c = cache(t);
  if (c.local === undefined) {
    let x: X509Certificate | null | undefined = null;
    try {
      x = t.socket?.getX509Certificate?.();
    } catch {}
    c.local = x ? certFacts(x) : null;
  }
  return c.local;
}

/**
 * A name as node prints it (one `KEY=value` per line, least specific first,
 * values escaped as RFC 2253 asks, ` + ` inside a multi-valued RDN) → RFC 2253:
 * most specific first, `,` between, `+` inside an RDN.
 */
export function rfc2253(multiline: string): string {
  return multiline
    .split("\n")
    .filter((l) => l !== "")
    .reverse()
    .map((l) => l.replace(/ \+ /g, "+"))
    .join(",");
}

/** `DNS:a, URI:b, IP Address:1.2.3.4, email:x@y` → the values of one kind, `,` between (Envoy joins them so). */
function sans(all: string | undefined): { uri: string[]; dns: string[]; ip: string[]; email: string[] } {
  const out = { uri: [] as string[], dns: [] as string[], ip: [] as string[], email: [] as string[] };
  if (all === undefined || all === "") return out;
  for (const part of all.split(/, (?=(?:DNS|URI|IP Address|email|othername|DirName|Registered ID):)/)) {
    const i = part.indexOf(":");
    if (i < 0) continue;
    const kind = part.slice(0, i);
    const v = part.slice(i + 1);
    if (kind === "URI") out.uri.push(v);
    else if (kind === "DNS") out.dns.push(v);
    else if (kind === "IP Address") out.ip.push(v);
    else if (kind === "email") out.email.push(v);
  }
  return out;
}

function hex(fp: string): string {
  return fp.replace(/:/g, "").toLowerCase();
}

export function certFacts(x: X509Certificate): CertFacts {
  const s = sans(x.subjectAltName);
  let serial = x.serialNumber.toLowerCase();
  while (serial.length > 2 && serial.startsWith("00")) serial = serial.slice(2);
  const from = (x as unknown as { validFromDate?: Date }).validFromDate;
  const to = (x as unknown as { validToDate?: Date }).validToDate;
  return {
    subject: rfc2253(x.subject),
    issuer: rfc2253(x.issuer),
    uriSan: s.uri.join(","),
    dnsSan: s.dns.join(","),
    ipSan: s.ip.join(","),
    emailSan: s.email.join(","),
    sha256: hex(x.fingerprint256),
    sha1: hex(x.fingerprint),
    serial,
    notBeforeMs: from instanceof Date ? from.getTime() : Date.parse(x.validFrom),
    notAfterMs: to instanceof Date ? to.getTime() : Date.parse(x.validTo),
  };
}

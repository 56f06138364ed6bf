// TLS to an upstream (DestinationRule tls, compiled into cluster.upstream.tls):
// the options Bun.connect gets, built once per snapshot from its credentials,
// and the check of the upstream's certificate made when the handshake ends.
//
// Bun verifies the chain and the host name against `serverName`, but applies
// no `checkServerIdentity` (measured: ignored), so the connection is opened
// with rejectUnauthorized false and the verdict is taken here, from the
// handshake's verify error and the peer certificate, as Envoy's validation
// context decides:
// - insecureSkipVerify: anything is accepted;
// - a chain error (unknown CA, expired ...): refused with its code;
// - subjectAltNames given: one of them must be a SAN of the certificate (DNS,
//   URI or IP; a DNS `*.x` SAN covers one label), the SNI is not checked;
// - ISTIO_MUTUAL without subjectAltNames: a `spiffe://<trust domain>/` URI SAN;
// - otherwise the SNI is checked as a host name (Istio's auto SAN validation).
import type { Credential } from "../../src/snapshot/types.ts";
import type { UpstreamTls } from "../../src/snapshot/upstream.ts";

/** What Bun.connect's `tls` takes (the parts used here). */
export interface ConnectTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  rejectUnauthorized: false;
  ALPNProtocols?: Buffer;
}

export interface UpstreamTlsRuntime {
  readonly policy: UpstreamTls;
  /** Options without serverName (set per connection). */
  readonly base: ConnectTlsOptions;
  /** Non-empty: no TLS connection can be made (credential missing): the request gets 503 UF with this reason. */
  readonly problem: string;
}

/** ALPN names in wire format (length-prefixed), as Bun.connect wants them. */
export function alpnWire(names: string[]): Buffer {
  const parts: number[] = [];
  for (const n of names) parts.push(n.length, ...Buffer.from(n, "latin1"));
  return Buffer.from(parts);
}

export function upstreamTlsRuntime(policy: UpstreamTls, credentials: ReadonlyMap<string, Credential>): UpstreamTlsRuntime {
  const base: ConnectTlsOptions = { rejectUnauthorized: false };
  if (policy.alpn.length > 0) base.ALPNProtocols = alpnWire(policy.alpn);
  if (policy.problem !== "") return { policy, base, problem: policy.problem };
  if (policy.credential !== "") {
    const c = credentials.get(policy.credential);
    if (c === undefined) return { policy, base, problem: `credential ${policy.credential} is not loaded` };
    if (c.caCert !== "") base.ca = c.caCert;
    if (c.certChain !== "" && policy.mode !== "SIMPLE") {
      base.cert = c.certChain;
      base.key = c.privateKey;
    }
  }
  return { policy, base, problem: "" };
}

/** The SNI for a connection: the policy's, else the request's host without port (auto SNI); "" for an IP literal. */
export function upstreamSni(rt: UpstreamTlsRuntime, requestHost: string): string {
  if (rt.policy.sni !== "") return rt.policy.sni;
  let h = requestHost;
  if (h.startsWith("[")) return ""; // IPv6 literal
  const colon = h.lastIndexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  if (/^[0-9.]+$/.test(h)) return "";
  return h.toLowerCase();
}

/** Bun.connect tls options for one connection. */
export function connectOptions(rt: UpstreamTlsRuntime, sni: string): ConnectTlsOptions {
  return sni === "" ? rt.base : { ...rt.base, serverName: sni };
}

function dnsMatches(san: string, want: string): boolean {
  const s = san.toLowerCase();
  const w = want.toLowerCase();
  if (s === w) return true;
  if (!s.startsWith("*.")) return false;
  const dot = w.indexOf(".");
  return dot > 0 && w.slice(dot) === s.slice(1);
}

/** SANs of a certificate's `subjectaltname` string (`DNS:a, URI:spiffe://..., IP Address:1.2.3.4`) as [type, value]. */
export function parseSans(subjectaltname: string | undefined): [string, string][] {
  if (subjectaltname === undefined || subjectaltname === "") return [];
  return subjectaltname.split(/,\s*/).map((p) => {
    const i = p.indexOf(":");
    return [p.slice(0, i), p.slice(i + 1)] as [string, string];
  });
}

/**
 * "" when the upstream's certificate is accepted, else the reason (a verify
 * error code such as `SELF_SIGNED_CERT_IN_CHAIN`, or `SAN_MISMATCH` ...),
 * which goes to the access log's details.
 */
export function verifyUpstream(policy: UpstreamTls, verifyError: { code?: string; message?: string } | null, subjectaltname: string | undefined): string {
  if (policy.insecureSkipVerify) return "";
  const code = verifyError === null ? "" : (verifyError.code ?? verifyError.message ?? "TLS_VERIFY_FAILED");
  const altnameOnly = code === "ERR_TLS_CERT_ALTNAME_INVALID";
  if (code !== "" && !altnameOnly) return code;
  const sans = parseSans(subjectaltname);
  if (policy.subjectAltNames.length > 0) {
    for (const want of policy.subjectAltNames) {
      for (const [t, v] of sans) {
        if (t === "DNS" ? dnsMatches(v, want) : v === want) return "";
      }
    }
    return "SAN_MISMATCH";
  }
  if (policy.mode === "ISTIO_MUTUAL") {
    const prefix = `spiffe://${policy.spiffeTrustDomain}/`;
    return sans.some(([t, v]) => t === "URI" && v.startsWith(prefix)) ? "" : "SPIFFE_SAN_MISMATCH";
  }
  return altnameOnly ? code : "";
}

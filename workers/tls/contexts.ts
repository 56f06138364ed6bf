// SecureContexts of every terminating filter chain, built when a snapshot is
// applied (never during a handshake) and reused across snapshots while the
// credential and TLS settings are unchanged. A rotated Secret gives a new
// key, so the next handshake uses the new certificate.
import { createSecureContext, type SecureContext } from "node:tls";
import type { Credential } from "../../src/credentials/parse.ts";
import type { FilterChain, Snapshot } from "../../src/snapshot/types.ts";
import { asksClientCert } from "./identity.ts";

let cache = new Map<string, SecureContext>();

/** The CA clients are verified with: the chain's own CA credential (caCertCredentialName), else the credential's; null when the chain asks for no certificate. */
function clientCaOf(chain: FilterChain, snap: Snapshot, c: Credential): Credential | null {
  if (!asksClientCert(chain)) return null;
  if (chain.clientCa !== undefined) return snap.credentials.get(chain.clientCa) ?? null;
  return c;
}

/** [CA PEM, CRL PEM] for the chain's secure context ("" when none): the chain's caCrl file, else its CA credential's ca.crl. */
function verification(chain: FilterChain, snap: Snapshot, c: Credential): [string, string] {
  const ca = clientCaOf(chain, snap, c);
  if (ca === null) return ["", ""];
  return [ca.caCert, chain.crl ?? ca.crl ?? ""];
}

function cacheKey(chain: FilterChain, snap: Snapshot): string {
  const c = snap.credentials.get(chain.credential);
  if (c === undefined) return "";
  return [c.certChain, c.privateKey, ...verification(chain, snap, c), chain.minVersion, chain.maxVersion, chain.ciphers].join("\0");
}

/** Chain → context for `snap`; chains that fail to build are reported in `errors` and get none. */
export function buildContexts(snap: Snapshot, errors: string[]): Map<FilterChain, SecureContext> {
  const out = new Map<FilterChain, SecureContext>();
  const next = new Map<string, SecureContext>();
  for (const l of snap.listeners) {
    if (l.tls === null) continue;
    for (const chain of l.tls.chains) {
      if (chain.disabled !== "" || chain.credential === "") continue;
      const key = cacheKey(chain, snap);
      if (key === "") continue;
      let ctx = next.get(key) ?? cache.get(key);
      if (ctx === undefined) {
        const c = snap.credentials.get(chain.credential)!;
        const [ca, crl] = verification(chain, snap, c);
        try {
          ctx = createSecureContext({
            cert: c.certChain,
            key: c.privateKey,
            ca: ca === "" ? undefined : ca,
            crl: crl === "" ? undefined : crl,
            minVersion: chain.minVersion as "TLSv1.2",
            maxVersion: chain.maxVersion as "TLSv1.3",
            ciphers: chain.ciphers === "" ? undefined : chain.ciphers,
          });
        } catch (err) {
          errors.push(`${chain.name}: ${(err as Error).message}`);
          continue;
        }
      }
      next.set(key, ctx);
      out.set(chain, ctx);
    }
  }
  cache = next; // contexts of credentials no longer used are dropped
  return out;
}

// `/certs` and the certificate expiry gauge: every credential in use, its
// certificates (subject, SANs, serial, validity, days left) and the TLS servers
// that use it. Never a private key.
import type { Snapshot } from "../snapshot/types.ts";
import { labelValue } from "./prometheus.ts";

export interface CertReport {
  credential: string;
  sources: string[];
  usedBy: string[];
  certificates: {
    role: "server" | "chain" | "ca";
    subject: string;
    issuer: string;
    sans: string[];
    serial: string;
    notBefore: string;
    notAfter: string;
    daysLeft: number;
  }[];
  warnings: string[];
}

const DAY = 86_400_000;

export function certsReport(s: Snapshot, now = Date.now()): CertReport[] {
  const users = new Map<string, string[]>();
  for (const l of s.listeners) {
    for (const c of l.tls?.chains ?? []) {
      if (c.credential === "") continue;
      const list = users.get(c.credential) ?? [];
      list.push(`${c.name} (${c.source})`);
      users.set(c.credential, list);
    }
  }
  const out: CertReport[] = [];
  for (const [key, c] of s.credentials) {
    const certs: CertReport["certificates"] = [];
    c.chain.forEach((x, i) => certs.push({ role: i === 0 ? "server" : "chain", ...x, daysLeft: Math.floor((Date.parse(x.notAfter) - now) / DAY) }));
    for (const x of c.ca) certs.push({ role: "ca", ...x, daysLeft: Math.floor((Date.parse(x.notAfter) - now) / DAY) });
    for (const x of certs) delete (x as { fingerprint256?: string }).fingerprint256;
    out.push({ credential: key, sources: c.sources, usedBy: users.get(key) ?? [], certificates: certs, warnings: c.warnings });
  }
  return out;
}

/** `gangway_certificate_expiry_seconds{credential,role,subject}`: seconds until notAfter. */
export function certGauges(s: Snapshot, now = Date.now()): Record<string, number> {
  const g: Record<string, number> = {};
  for (const r of certsReport(s, now)) {
    for (const c of r.certificates) {
      const series = `gangway_certificate_expiry_seconds{credential="${labelValue(r.credential)}",role="${c.role}",subject="${labelValue(c.subject)}"}`;
      g[series] = Math.floor((Date.parse(c.notAfter) - now) / 1000);
    }
  }
  return g;
}

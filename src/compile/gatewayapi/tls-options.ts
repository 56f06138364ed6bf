// A Gateway API listener's `tls.options`, as istiod reads them (conversion.go
// buildTLS): `gateway.istio.io/tls-terminate-mode` turns a Terminate listener into
// MUTUAL or OPTIONAL_MUTUAL (the CA is the certificateRef Secret's ca.crt, or the
// frontend validation's CA), or into a server of the mesh certificate
// (ISTIO_SIMPLE, ISTIO_MUTUAL: no certificateRefs needed);
// `gateway.istio.io/tls-cipher-suites` is a comma-separated cipher list. istiod
// ignores other keys; gangway reports them as a Warning so that none is lost silently.
import type { GatewayListener } from "../../model/gatewayapi.ts";

export const TERMINATE_MODE = "gateway.istio.io/tls-terminate-mode";
export const CIPHER_SUITES = "gateway.istio.io/tls-cipher-suites";

export type TerminateMode = "MUTUAL" | "OPTIONAL_MUTUAL" | "ISTIO_SIMPLE" | "ISTIO_MUTUAL";
const MODES: readonly string[] = ["MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_SIMPLE", "ISTIO_MUTUAL"];

/** The terminate mode a Terminate listener's options ask for, or null (a value istiod does not know is ignored by it too). */
export function terminateMode(l: GatewayListener): TerminateMode | null {
  if (l.tls === null || l.tls.mode !== "Terminate") return null;
  const m = l.tls.options[TERMINATE_MODE];
  return m !== undefined && MODES.includes(m) ? (m as TerminateMode) : null;
}

/** Does the listener serve the mesh certificate instead of its certificateRefs? */
export function meshCertificate(l: GatewayListener): boolean {
  const m = terminateMode(l);
  return m === "ISTIO_SIMPLE" || m === "ISTIO_MUTUAL";
}

/** `gateway.istio.io/tls-cipher-suites`, split and trimmed; [] when absent. */
export function cipherSuites(l: GatewayListener): string[] {
  const v = l.tls?.options[CIPHER_SUITES] ?? "";
  return v
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "");
}

/** What in the options neither istiod nor gangway reads: one line per key or value, for a Warning. */
export function ignoredOptions(l: GatewayListener): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(l.tls?.options ?? {})) {
    if (k === CIPHER_SUITES) continue;
    if (k !== TERMINATE_MODE) out.push(`option ${k} is not read (istiod reads ${TERMINATE_MODE} and ${CIPHER_SUITES})`);
    else if (!MODES.includes(v)) out.push(`${TERMINATE_MODE} ${JSON.stringify(v)} is not one of ${MODES.join(", ")}: ignored, as istiod ignores it`);
    else if (l.tls?.mode !== "Terminate") out.push(`${TERMINATE_MODE} applies to Terminate listeners only: ignored`);
  }
  return out;
}

// A certificate revocation list (PEM), checked the way the workers will use it:
// node:tls parses it when a secure context is built, so a list it cannot read
// is refused here, with its source, instead of disabling the chain in a worker.
import { createSecureContext } from "node:tls";

/** null when `pem` is one or more CRLs node:tls reads; else why not. */
export function crlProblem(pem: string): string | null {
  if (!pem.includes("-----BEGIN X509 CRL-----")) return "no PEM block BEGIN X509 CRL";
  try {
    createSecureContext({ crl: pem });
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

// The client address behind trusted proxies, as Envoy computes it for an edge
// listener (use_remote_address with xff_num_trusted_hops = N, Istio's
// numTrustedProxies): N = 0 → the peer's address; N > 0 → the Nth address
// from the right of the x-forwarded-for the request arrived with, or the
// peer's address when the header has fewer than N entries or that entry is
// not an IP. Pure.
import { isIP } from "node:net";

/** The client address; `xff` is every x-forwarded-for value joined with ", " ("" when none). */
export function trustedClientAddress(peer: string, xff: string, trustedHops: number): string {
  if (trustedHops <= 0 || xff === "") return peer;
  const parts = xff.split(",");
  if (parts.length < trustedHops) return peer;
  const candidate = parts[parts.length - trustedHops]!.trim();
  return isIP(candidate) !== 0 ? candidate : peer;
}

/**
 * The request's scheme behind trusted proxies: the client's x-forwarded-proto
 * when it says http or https (any case), else the connection's. Envoy keeps a
 * trusted hop's x-forwarded-proto and takes `:scheme` from it when valid.
 */
export function forwardedProto(xfp: string | undefined, connectionScheme: string): string {
  if (xfp === undefined) return connectionScheme;
  const v = xfp.trim().toLowerCase();
  return v === "http" || v === "https" ? v : connectionScheme;
}

// The consistent-hash input of one request (DestinationRule consistentHash):
// its hash, and the Set-Cookie to send when a cookie policy with a ttl made
// one up for a request without the cookie (Envoy does the same).
import type { Cluster } from "../../src/snapshot/types.ts";
import { cookieValue, generatedCookie, requestHash } from "../../src/upstream/hash-key.ts";

export interface HashInput {
  header(name: string): string | undefined;
  query: string;
}

export interface PickHash {
  hash: bigint | null;
  /** Set-Cookie value to add to the response, or "". */
  setCookie: string;
}

const NONE: PickHash = { hash: null, setCookie: "" };

export function pickHash(c: Cluster, h: HashInput, remoteIp: string, remoteAddress: () => string, localAddress: () => string): PickHash {
  const p = c.upstream?.hash ?? null;
  if (p === null) return NONE;
  const src = { header: (n: string) => h.header(n) ?? null, sourceIp: remoteIp, query: h.query };
  const hash = requestHash(p.key, src);
  if (hash !== null || p.key.kind !== "cookie" || p.key.ttlMs <= 0) return { hash, setCookie: "" };
  if (cookieValue(src.header("cookie"), p.key.name) !== null) return { hash, setCookie: "" };
  const g = generatedCookie(p.key, remoteAddress(), localAddress());
  return { hash: g.hash, setCookie: g.setCookie };
}

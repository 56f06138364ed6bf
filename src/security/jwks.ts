// A provider's JWKS text → the keys verification may use (RSA, EC P-256/384/521,
// OKP Ed25519, oct for HS256/384/512 as Envoy), parsed once per text. Keys of other types (X25519)
// are left out; `keyProblems` lists why, for analyze. A provider whose JWKS
// could not be fetched gets one RSA key that verifies nothing: Istio inlines a
// public key whose private half was discarded, so its tokens fail the same way.
import type { JwtProvider } from "./types.ts";

export interface JwkKey {
  /** Identity of the key for the import cache (the JWK's JSON). */
  id: string;
  kid: string;
  alg: string;
  kty: string;
  crv: string;
  jwk: Record<string, unknown>;
  /** The stand-in for keys that could not be fetched. */
  never?: boolean;
}

const UNAVAILABLE: JwkKey[] = [{ id: "", kid: "", alg: "", kty: "RSA", crv: "", jwk: {}, never: true }];

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** Usable keys and the problems with the others. */
export function readJwks(text: string): { keys: JwkKey[]; problems: string[] } {
  const keys: JwkKey[] = [];
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { keys, problems: ["Jwks is an invalid JSON"] };
  }
  const list = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(list)) return { keys, problems: ["Jwks does not have [keys] field"] };
  list.forEach((k, i) => {
    if (typeof k !== "object" || k === null) return problems.push(`key ${i}: not an object`);
    const o = k as Record<string, unknown>;
    const kty = str(o.kty);
    const crv = str(o.crv);
    const ok =
      (kty === "RSA" && typeof o.n === "string" && typeof o.e === "string") ||
      (kty === "EC" && ["P-256", "P-384", "P-521"].includes(crv) && typeof o.x === "string" && typeof o.y === "string") ||
      (kty === "OKP" && crv === "Ed25519" && typeof o.x === "string") ||
      (kty === "oct" && typeof o.k === "string" && o.k !== "");
    if (!ok) return problems.push(`key ${i}${o.kid ? ` (kid ${String(o.kid)})` : ""}: kty ${kty || "(none)"}${crv ? ` crv ${crv}` : ""} is not supported or incomplete`);
    // only the public members: WebCrypto refuses a public import with `key_ops`/`use` that disagree
    const jwk: Record<string, unknown> = { kty };
    for (const f of ["n", "e", "crv", "x", "y", "k"]) if (o[f] !== undefined) jwk[f] = o[f];
    keys.push({ id: JSON.stringify(jwk), kid: str(o.kid), alg: str(o.alg), kty, crv, jwk });
  });
  return { keys, problems };
}

const parsed = new Map<string, JwkKey[]>();

export function parseJwks(p: JwtProvider): JwkKey[] {
  if (p.jwksError !== "" || p.jwks === "") return UNAVAILABLE;
  let keys = parsed.get(p.jwks);
  if (keys === undefined) {
    if (parsed.size > 256) parsed.clear();
    keys = readJwks(p.jwks).keys;
    parsed.set(p.jwks, keys);
  }
  return keys;
}

// JWT verification as Envoy's jwt_authn (jwt_verify_lib) does it, on WebCrypto:
// parse, pick the JWKS keys that fit the token's kid/alg, verify the
// signature, then issuer, audiences, exp/nbf with 60 s clock skew. Errors are
// Envoy's status strings (they are the 401 body). Async (crypto.subtle); no sockets.
import { parseJwks, type JwkKey } from "./jwks.ts";
import type { JwtProvider } from "./types.ts";

/** Envoy's default `clock_skew_seconds`. */
export const CLOCK_SKEW_S = 60;

export const JwtStatus = {
  Missing: "Jwt is missing",
  NotYetValid: "Jwt not yet valid",
  Expired: "Jwt is expired",
  BadFormat: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
  HeaderBadBase64: "Jwt header is an invalid Base64url encoded",
  HeaderBadJson: "Jwt header is an invalid JSON",
  HeaderBadAlg: "Jwt header [alg] field is required and must be a string",
  HeaderNotImplementedAlg: "Jwt header [alg] is not supported",
  HeaderBadKid: "Jwt header [kid] field is not a string",
  PayloadBadBase64: "Jwt payload is an invalid Base64url encoded",
  PayloadBadJson: "Jwt payload is an invalid JSON",
  IssNotString: "Jwt payload [iss] field is not a string",
  SubNotString: "Jwt payload [sub] field is not a string",
  NbfNotInteger: "Jwt payload [nbf] field is not an integer",
  ExpNotInteger: "Jwt payload [exp] field is not an integer",
  AudNotString: "Jwt payload [aud] field is not a string or string list",
  SignatureBadBase64: "Jwt signature is an invalid Base64url encoded",
  UnknownIssuer: "Jwt issuer is not configured",
  AudienceNotAllowed: "Audiences in Jwt are not allowed",
  VerificationFail: "Jwt verification fails",
  KidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
} as const;

export const ALGS = new Set(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]);

export interface ParsedJwt {
  alg: string;
  kid: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The payload segment as sent (base64url). */
  payloadB64: string;
  signed: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export function b64urlDecode(s: string): Uint8Array<ArrayBuffer> | null {
  if (!B64URL.test(s)) return null;
  return new Uint8Array(Buffer.from(s.replace(/=+$/, ""), "base64url"));
}

function jsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** Parse a compact JWS; a string is an Envoy status when it does not parse. */
export function parseJwt(token: string): ParsedJwt | string {
  const parts = token.split(".");
  if (parts.length !== 3) return JwtStatus.BadFormat;
  const hb = b64urlDecode(parts[0]!);
  if (hb === null) return JwtStatus.HeaderBadBase64;
  const header = jsonObject(hb);
  if (header === null) return JwtStatus.HeaderBadJson;
  if (typeof header.alg !== "string") return JwtStatus.HeaderBadAlg;
  if (!ALGS.has(header.alg)) return JwtStatus.HeaderNotImplementedAlg;
  if (header.kid !== undefined && typeof header.kid !== "string") return JwtStatus.HeaderBadKid;
  const pb = b64urlDecode(parts[1]!);
  if (pb === null) return JwtStatus.PayloadBadBase64;
  const payload = jsonObject(pb);
  if (payload === null) return JwtStatus.PayloadBadJson;
  if (payload.iss !== undefined && typeof payload.iss !== "string") return JwtStatus.IssNotString;
  if (payload.sub !== undefined && typeof payload.sub !== "string") return JwtStatus.SubNotString;
  if (payload.nbf !== undefined && !Number.isInteger(payload.nbf)) return JwtStatus.NbfNotInteger;
  if (payload.exp !== undefined && !Number.isInteger(payload.exp)) return JwtStatus.ExpNotInteger;
  const aud = payload.aud;
  if (aud !== undefined && typeof aud !== "string" && !(Array.isArray(aud) && aud.every((a) => typeof a === "string"))) return JwtStatus.AudNotString;
  const signature = b64urlDecode(parts[2]!);
  if (signature === null) return JwtStatus.SignatureBadBase64;
  return {
    alg: header.alg,
    kid: typeof header.kid === "string" ? header.kid : "",
    header,
    payload,
    payloadB64: parts[1]!.replace(/=+$/, ""),
    signed: new TextEncoder().encode(parts[0] + "." + parts[1]),
    signature,
  };
}

/** jwt_verify_lib compares audiences without `http(s)://` and a trailing `/`. */
function sanitizeAudience(a: string): string {
  let s = a;
  if (s.startsWith("https://")) s = s.slice(8);
  else if (s.startsWith("http://")) s = s.slice(7);
  if (s.endsWith("/")) s = s.slice(0, -1);
  return s;
}

export function audienceAllowed(allowed: string[], aud: unknown): boolean {
  if (allowed.length === 0) return true;
  const have = typeof aud === "string" ? [aud] : Array.isArray(aud) ? (aud as string[]) : [];
  const want = new Set(allowed.map(sanitizeAudience));
  return have.some((a) => want.has(sanitizeAudience(a)));
}

/** exp/nbf against `nowS` with Envoy's skew; "" when within. */
export function timeStatus(payload: Record<string, unknown>, nowS: number): string {
  const nbf = payload.nbf as number | undefined;
  const exp = payload.exp as number | undefined;
  if (nbf !== undefined && nowS + CLOCK_SKEW_S < nbf) return JwtStatus.NotYetValid;
  if (exp !== undefined && exp !== 0 && nowS > exp + CLOCK_SKEW_S) return JwtStatus.Expired;
  return "";
}

function fits(k: JwkKey, jwt: ParsedJwt): boolean {
  if (jwt.kid !== "" && k.kid !== "" && k.kid !== jwt.kid) return false;
  if (k.alg !== "" && k.alg !== jwt.alg) return false;
  const a = jwt.alg;
  if (k.kty === "RSA") return a.startsWith("RS") || a.startsWith("PS");
  if (k.kty === "EC") return (a === "ES256" && k.crv === "P-256") || (a === "ES384" && k.crv === "P-384") || (a === "ES512" && k.crv === "P-521");
  if (k.kty === "OKP") return a === "EdDSA" && k.crv === "Ed25519";
  return false;
}

type Params = Parameters<typeof crypto.subtle.verify>[0];
type ImportParams = Parameters<typeof crypto.subtle.importKey>[2];

function verifyParams(alg: string): Params {
  const bits = alg.slice(2);
  const hash = bits === "384" ? "SHA-384" : bits === "512" ? "SHA-512" : "SHA-256";
  if (alg.startsWith("RS")) return { name: "RSASSA-PKCS1-v1_5", hash } as Params;
  if (alg.startsWith("PS")) return { name: "RSA-PSS", saltLength: Number(bits) / 8 };
  if (alg.startsWith("ES")) return { name: "ECDSA", hash };
  return { name: "Ed25519" };
}

function importParams(k: JwkKey, alg: string): ImportParams {
  const bits = alg.slice(2);
  const hash = bits === "384" ? "SHA-384" : bits === "512" ? "SHA-512" : "SHA-256";
  if (alg.startsWith("RS")) return { name: "RSASSA-PKCS1-v1_5", hash };
  if (alg.startsWith("PS")) return { name: "RSA-PSS", hash };
  if (alg.startsWith("ES")) return { name: "ECDSA", namedCurve: k.crv };
  return { name: "Ed25519" };
}

/**
 * Imported keys per JWKS text and alg. A snapshot's providers are new objects
 * after every publish, so keying by the text keeps keys across snapshots while
 * the JWKS is unchanged; the map is bounded by the JWKS texts in use.
 */
const imported = new Map<string, Promise<CryptoKey | null>>();
const IMPORT_CACHE_MAX = 4096;

function importKey(k: JwkKey, alg: string): Promise<CryptoKey | null> {
  const id = `${alg}\u0000${k.id}`;
  let p = imported.get(id);
  if (p === undefined) {
    if (imported.size >= IMPORT_CACHE_MAX) imported.clear();
    p = crypto.subtle.importKey("jwk", k.jwk as { kty: string }, importParams(k, alg), false, ["verify"]).catch(() => null);
    imported.set(id, p);
  }
  return p;
}

async function signatureOk(keys: JwkKey[], jwt: ParsedJwt): Promise<string> {
  let tried = false;
  for (const k of keys) {
    if (!fits(k, jwt)) continue;
    tried = true;
    if (k.never) continue; // Istio's stand-in for a JWKS it could not fetch: fits RSA tokens, verifies none
    const key = await importKey(k, jwt.alg);
    if (key === null) continue;
    try {
      if (await crypto.subtle.verify(verifyParams(jwt.alg), key, jwt.signature, jwt.signed)) return "";
    } catch {
      // a malformed signature for this key type: try the next key
    }
  }
  return tried ? JwtStatus.VerificationFail : JwtStatus.KidAlgMismatch;
}

/**
 * Verify a parsed token against one provider (its issuer already matched);
 * "" when valid, else Envoy's status string. Envoy's order: time, audiences,
 * then the signature (an expired token is "expired" whatever its signature).
 */
export async function verifyJwt(p: JwtProvider, jwt: ParsedJwt, nowS: number): Promise<string> {
  const t = timeStatus(jwt.payload, nowS);
  if (t !== "") return t;
  if (!audienceAllowed(p.audiences, jwt.payload.aud)) return JwtStatus.AudienceNotAllowed;
  return signatureOk(parseJwks(p), jwt);
}

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
  IatNotInteger: "Jwt payload [iat] field is not an integer",
  IatOutOfRange: "Jwt payload [iat] field is not a positive 64 bit integer",
  NbfNotInteger: "Jwt payload [nbf] field is not an integer",
  NbfOutOfRange: "Jwt payload [nbf] field is not a positive 64 bit integer",
  ExpNotInteger: "Jwt payload [exp] field is not an integer",
  ExpOutOfRange: "Jwt payload [exp] field is not a positive 64 bit integer",
  JtiNotString: "Jwt payload [jti] field is not a string",
  AudNotString: "Jwt payload [aud] field is not a string or string list",
  SignatureBadBase64: "Jwt signature is an invalid Base64url encoded",
  UnknownIssuer: "Jwt issuer is not configured",
  AudienceNotAllowed: "Audiences in Jwt are not allowed",
  VerificationFail: "Jwt verification fails",
  Ed25519WrongLength: "Jwt ED25519 signature is wrong length",
  KidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
} as const;

/** The algorithms Envoy implements (alg `none` and others: "not supported"); HS* verify only with `oct` keys. */
export const ALGS = new Set(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA"]);

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

const TWO_64 = 2 ** 64;

/**
 * A time claim (iat, nbf, exp) as Envoy reads it: absent, a number in
 * [0, 2^64) (a fraction is truncated), or the status for a wrong one.
 */
function timeClaim(v: unknown, notInteger: string, outOfRange: string): string | null {
  if (v === undefined) return null;
  if (typeof v !== "number") return notInteger;
  if (v < 0 || v >= TWO_64) return outOfRange;
  return null;
}

/**
 * Parse a compact JWS; a string is an Envoy status when it does not parse.
 * As Envoy, the token is split at dots with empty sections skipped
 * (`h.p..s` is `h`, `p`, `s`); three sections must remain.
 */
export function parseJwt(token: string): ParsedJwt | string {
  const parts = token.split(".").filter((x) => x !== "");
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
  const t =
    timeClaim(payload.iat, JwtStatus.IatNotInteger, JwtStatus.IatOutOfRange) ??
    timeClaim(payload.nbf, JwtStatus.NbfNotInteger, JwtStatus.NbfOutOfRange) ??
    timeClaim(payload.exp, JwtStatus.ExpNotInteger, JwtStatus.ExpOutOfRange);
  if (t !== null) return t;
  if (payload.jti !== undefined && typeof payload.jti !== "string") return JwtStatus.JtiNotString;
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
  const nbf = payload.nbf === undefined ? 0 : Math.trunc(payload.nbf as number);
  const exp = payload.exp === undefined ? 0 : Math.trunc(payload.exp as number);
  if (nowS + CLOCK_SKEW_S < nbf) return JwtStatus.NotYetValid;
  if (exp !== 0 && nowS > exp + CLOCK_SKEW_S) return JwtStatus.Expired;
  return "";
}

/** jwt_verify_lib's key selection: a key with another kid (both set) or another alg (set) is skipped. */
function kidAlgMatch(k: JwkKey, jwt: ParsedJwt): boolean {
  if (jwt.kid !== "" && k.kid !== "" && k.kid !== jwt.kid) return false;
  return k.alg === "" || k.alg === jwt.alg;
}

type Params = Parameters<typeof crypto.subtle.verify>[0];
type ImportParams = Parameters<typeof crypto.subtle.importKey>[2];

function shaOf(alg: string): string {
  return alg.endsWith("384") ? "SHA-384" : alg.endsWith("512") ? "SHA-512" : "SHA-256";
}

/**
 * How a key of this type checks a token of this alg, as jwt_verify_lib does:
 * an RSA key only RS and PS tokens, an EC key with the alg's hash (SHA-256 for
 * any alg but ES384/ES512), an oct key as HMAC (likewise SHA-256 but for
 * HS384/HS512), an Ed25519 key as Ed25519. null: the key cannot check it
 * (the key still counts as one that matched kid and alg). A public RSA key is
 * never an HMAC secret: HS tokens verify only against `oct` keys.
 */
function scheme(k: JwkKey, alg: string): { imp: ImportParams; ver: Params } | null {
  const two = alg.slice(0, 2);
  switch (k.kty) {
    case "RSA":
      if (two === "RS") return { imp: { name: "RSASSA-PKCS1-v1_5", hash: shaOf(alg) }, ver: { name: "RSASSA-PKCS1-v1_5" } };
      if (two === "PS") return { imp: { name: "RSA-PSS", hash: shaOf(alg) }, ver: { name: "RSA-PSS", saltLength: Number(alg.slice(2)) / 8 } };
      return null;
    case "EC": {
      const hash = alg === "ES384" ? "SHA-384" : alg === "ES512" ? "SHA-512" : "SHA-256";
      return { imp: { name: "ECDSA", namedCurve: k.crv }, ver: { name: "ECDSA", hash } };
    }
    case "oct": {
      const hash = alg === "HS384" ? "SHA-384" : alg === "HS512" ? "SHA-512" : "SHA-256";
      return { imp: { name: "HMAC", hash }, ver: { name: "HMAC" } };
    }
    case "OKP":
      return { imp: { name: "Ed25519" }, ver: { name: "Ed25519" } };
  }
  return null;
}

/**
 * Imported keys per JWKS text and alg. A snapshot's providers are new objects
 * after every publish, so keying by the text keeps keys across snapshots while
 * the JWKS is unchanged; the map is bounded by the JWKS texts in use.
 */
const imported = new Map<string, Promise<CryptoKey | null>>();
const IMPORT_CACHE_MAX = 4096;

function importKey(k: JwkKey, alg: string, params: ImportParams): Promise<CryptoKey | null> {
  const id = `${alg}\u0000${k.id}`;
  let p = imported.get(id);
  if (p === undefined) {
    if (imported.size >= IMPORT_CACHE_MAX) imported.clear();
    p = crypto.subtle.importKey("jwk", k.jwk as { kty: string }, params, false, ["verify"]).catch(() => null);
    imported.set(id, p);
  }
  return p;
}

/** Ed25519 signatures are 64 bytes: another length ends the check at once (jwt_verify_lib). */
const ED25519_SIGNATURE_LEN = 64;

async function signatureOk(keys: JwkKey[], jwt: ParsedJwt): Promise<string> {
  let matched = false;
  for (const k of keys) {
    if (!kidAlgMatch(k, jwt)) continue;
    matched = true;
    if (k.never) continue; // Istio's stand-in for a JWKS it could not fetch (no kid, no alg): matches every token, verifies none
    if (k.kty === "OKP" && jwt.signature.length !== ED25519_SIGNATURE_LEN) return JwtStatus.Ed25519WrongLength;
    const sc = scheme(k, jwt.alg);
    if (sc === null) continue;
    const key = await importKey(k, jwt.alg, sc.imp);
    if (key === null) continue;
    try {
      if (await crypto.subtle.verify(sc.ver, key, jwt.signature, jwt.signed)) return "";
    } catch {
      // a malformed signature for this key type: try the next key
    }
  }
  return matched ? JwtStatus.VerificationFail : JwtStatus.KidAlgMismatch;
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

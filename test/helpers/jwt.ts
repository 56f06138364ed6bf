// Test keys and tokens: WebCrypto key pairs, their public JWKs, and signed JWTs.

export type Alg = "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "EdDSA";

export interface TestKey {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
  /** Public JWK with kid and alg. */
  jwk: Record<string, unknown>;
}

function genParams(alg: Alg): Parameters<typeof crypto.subtle.generateKey>[0] {
  const hash = alg.endsWith("384") ? "SHA-384" : alg.endsWith("512") ? "SHA-512" : "SHA-256";
  if (alg.startsWith("RS")) return { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash } as never;
  if (alg.startsWith("PS")) return { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash } as never;
  if (alg.startsWith("ES")) return { name: "ECDSA", namedCurve: alg === "ES384" ? "P-384" : alg === "ES512" ? "P-521" : "P-256" } as never;
  return { name: "Ed25519" } as never;
}

function signParams(alg: Alg): Parameters<typeof crypto.subtle.sign>[0] {
  const hash = alg.endsWith("384") ? "SHA-384" : alg.endsWith("512") ? "SHA-512" : "SHA-256";
  if (alg.startsWith("RS")) return { name: "RSASSA-PKCS1-v1_5" } as never;
  if (alg.startsWith("PS")) return { name: "RSA-PSS", saltLength: Number(alg.slice(2)) / 8 } as never;
  if (alg.startsWith("ES")) return { name: "ECDSA", hash } as never;
  return { name: "Ed25519" } as never;
}

export async function makeKey(alg: Alg, kid = `${alg.toLowerCase()}-key`): Promise<TestKey> {
  const pair = (await crypto.subtle.generateKey(genParams(alg), true, ["sign", "verify"])) as CryptoKeyPair;
  const pub = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as Record<string, unknown>;
  const jwk: Record<string, unknown> = { kty: pub.kty, kid, alg };
  for (const f of ["n", "e", "crv", "x", "y"]) if (pub[f] !== undefined) jwk[f] = pub[f];
  return { alg, kid, privateKey: pair.privateKey, jwk };
}

export function jwks(...keys: TestKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.jwk) });
}

const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString("base64url");

export async function sign(key: TestKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const h = b64(JSON.stringify({ alg: key.alg, typ: "JWT", kid: key.kid, ...header }));
  const p = b64(JSON.stringify(claims));
  const sig = new Uint8Array(await crypto.subtle.sign(signParams(key.alg), key.privateKey, new TextEncoder().encode(`${h}.${p}`)));
  return `${h}.${p}.${b64(sig)}`;
}

export const now = (): number => Math.floor(Date.now() / 1000);

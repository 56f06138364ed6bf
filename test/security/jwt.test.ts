// JWT extraction and verification as Envoy's jwt_authn: every algorithm via
// WebCrypto, Envoy's status strings, clock skew, audiences, key selection.
import { describe, expect, test } from "bun:test";
import { authenticate, authnHeaderOps, authnParamsToRemove, claimNumberText, wwwAuthenticate } from "../../src/security/authn.ts";
import { extractTokens, tokenFromHeader, withoutParams } from "../../src/security/jwt-extract.ts";
import { JwtStatus, parseJwt, verifyJwt } from "../../src/security/jwt-verify.ts";
import type { JwtProvider } from "../../src/security/types.ts";
import { jwks, makeKey, now, sign, type Alg } from "../helpers/jwt.ts";

function provider(over: Partial<JwtProvider> = {}): JwtProvider {
  return {
    source: "RequestAuthentication/istio-system/jwt",
    rule: 0,
    issuer: "https://issuer.example.com",
    audiences: [],
    fromHeaders: [],
    fromParams: [],
    fromCookies: [],
    forwardOriginalToken: false,
    outputPayloadToHeader: "",
    outputClaimToHeaders: [],
    jwksUri: "",
    timeoutMs: 0,
    jwks: "",
    jwksError: "",
    ...over,
  };
}

const b64 = (s: string): string => Buffer.from(s).toString("base64url");

function req(headers: Record<string, string>, query = "") {
  return { header: (n: string) => headers[n], query };
}

const ISS = "https://issuer.example.com";

describe("verification per algorithm", () => {
  const algs: Alg[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
  for (const alg of algs) {
    test(`${alg}: a valid token verifies; a tampered one fails`, async () => {
      const k = await makeKey(alg);
      const p = provider({ jwks: jwks(k) });
      const t = await sign(k, { iss: ISS, sub: "alice", exp: now() + 600 });
      const parsed = parseJwt(t);
      if (typeof parsed === "string") throw new Error(parsed);
      expect(await verifyJwt(p, parsed, now())).toBe("");
      const other = await sign(k, { iss: ISS, sub: "mallory", exp: now() + 600 });
      const forged = parseJwt(t.split(".").slice(0, 2).join(".") + "." + other.split(".")[2]);
      if (typeof forged === "string") throw new Error(forged);
      expect(await verifyJwt(p, forged, now())).toBe(JwtStatus.VerificationFail);
    });
  }
});

describe("Envoy's status for each failure", () => {
  test("table", async () => {
    const k = await makeKey("RS256", "k1");
    const ec = await makeKey("ES256", "k2");
    const p = provider({ jwks: jwks(k), audiences: ["api.example.com"] });
    const t = now();
    const cases: [string, string, number, string][] = [
      ["valid", await sign(k, { iss: ISS, sub: "a", aud: "api.example.com", exp: t + 60 }), 200, ""],
      ["audience with scheme and slash is the same audience", await sign(k, { iss: ISS, sub: "a", aud: ["https://api.example.com/"], exp: t + 60 }), 200, ""],
      ["expired beyond the 60 s skew", await sign(k, { iss: ISS, aud: "api.example.com", exp: t - 61 }), 401, JwtStatus.Expired],
      ["expired within the skew", await sign(k, { iss: ISS, aud: "api.example.com", exp: t - 30 }), 200, ""],
      ["not yet valid", await sign(k, { iss: ISS, aud: "api.example.com", nbf: t + 120 }), 401, JwtStatus.NotYetValid],
      ["wrong audience", await sign(k, { iss: ISS, aud: "other", exp: t + 60 }), 403, JwtStatus.AudienceNotAllowed],
      ["wrong issuer", await sign(k, { iss: "https://evil.example.com", aud: "api.example.com" }), 401, JwtStatus.UnknownIssuer],
      ["kid the JWKS lacks", await sign(k, { iss: ISS, aud: "api.example.com" }, { kid: "nope" }), 401, JwtStatus.KidAlgMismatch],
      ["EC token, RSA-only JWKS", await sign(ec, { iss: ISS, aud: "api.example.com" }, { kid: "" }), 401, JwtStatus.KidAlgMismatch],
      ["two parts", "abc.def", 401, JwtStatus.BadFormat],
      ["header not JSON", `${Buffer.from("nope").toString("base64url")}.e30.sig`, 401, JwtStatus.HeaderBadJson],
      // alg none's empty signature leaves two sections (Envoy skips empty ones)
      ["alg none", `${b64('{"alg":"none"}')}.e30.`, 401, JwtStatus.BadFormat],
      ["alg none with a signature", `${b64('{"alg":"none"}')}.e30.c2ln`, 401, JwtStatus.HeaderNotImplementedAlg],
      // alg confusion: the RSA key has alg RS256, so no key matches an HS256 token
      ["HS256 against an RSA JWKS", `${b64('{"alg":"HS256","kid":"k1"}')}.${b64(`{"iss":"${ISS}","aud":"api.example.com"}`)}.c2ln`, 401, JwtStatus.KidAlgMismatch],
      ["empty payload section", `${b64('{"alg":"RS256"}')}..c2ln`, 401, JwtStatus.BadFormat],
      ["iat not a number", await sign(k, { iss: ISS, aud: "api.example.com", iat: "1" }), 401, JwtStatus.IatNotInteger],
      ["jti not a string", await sign(k, { iss: ISS, aud: "api.example.com", jti: 7 }), 401, JwtStatus.JtiNotString],
      ["exp negative", await sign(k, { iss: ISS, aud: "api.example.com", exp: -1 }), 401, JwtStatus.ExpOutOfRange],
      ["nbf past 2^64", await sign(k, { iss: ISS, aud: "api.example.com", nbf: 2 ** 64 }), 401, JwtStatus.NbfOutOfRange],
      ["exp with a fraction is truncated", await sign(k, { iss: ISS, aud: "api.example.com", exp: t + 60.5 }), 200, ""],
    ];
    for (const [name, token, status, body] of cases) {
      const r = await authenticate([p], req({ authorization: `Bearer ${token}` }), t);
      const got = r.kind === "ok" ? [200, ""] : r.kind === "fail" ? [r.status, r.body] : [0, "none"];
      expect([name, ...got]).toEqual([name, status, body]);
    }
  });

  test("a JWKS that could not be fetched: every token fails verification (Istio's stand-in key has no kid and no alg)", async () => {
    const k = await makeKey("RS256");
    const ec = await makeKey("ES256");
    const p = provider({ jwksUri: "http://127.0.0.1:1/jwks", jwksError: "connection refused" });
    const a = await authenticate([p], req({ authorization: `Bearer ${await sign(k, { iss: ISS })}` }), now());
    expect(a).toMatchObject({ kind: "fail", status: 401, body: JwtStatus.VerificationFail });
    const b = await authenticate([p], req({ authorization: `Bearer ${await sign(ec, { iss: ISS })}` }), now());
    expect(b).toMatchObject({ kind: "fail", status: 401, body: JwtStatus.VerificationFail });
  });

  test("no token passes RequestAuthentication (AuthorizationPolicy decides)", async () => {
    const k = await makeKey("RS256");
    expect(await authenticate([provider({ jwks: jwks(k) })], req({}), now())).toEqual({ kind: "none" });
  });
});

describe("extraction", () => {
  test("default locations: Authorization Bearer and access_token", () => {
    const p = [provider()];
    expect(extractTokens(p, req({ authorization: "Bearer a.b.c" })).map((t) => t.token)).toEqual(["a.b.c"]);
    expect(extractTokens(p, req({}, "x=1&access_token=d.e.f")).map((t) => t.token)).toEqual(["d.e.f"]);
    expect(extractTokens(p, req({ authorization: "Basic dXNlcg==" })).length).toBe(0);
  });

  test("fromHeaders with prefix, fromParams, fromCookies replace the defaults", () => {
    const p = [provider({ fromHeaders: [{ name: "x-jwt", prefix: "Token " }], fromParams: ["jwt"], fromCookies: ["session"] })];
    expect(extractTokens(p, req({ "x-jwt": "Token a.b.c" })).map((t) => [t.token, t.header])).toEqual([["a.b.c", "x-jwt"]]);
    expect(extractTokens(p, req({}, "jwt=q.r.s")).map((t) => t.token)).toEqual(["q.r.s"]);
    expect(extractTokens(p, req({ cookie: "a=1; session=c.d.e; b=2" })).map((t) => t.token)).toEqual(["c.d.e"]);
    expect(extractTokens(p, req({ authorization: "Bearer a.b.c" })).length).toBe(0);
    expect(tokenFromHeader("Token a.b.c, more", "Token ")).toBe("a.b.c");
  });

  test("header outputs: token removed, payload and claims set, spoofed claim headers removed", async () => {
    const k = await makeKey("ES256");
    const p = provider({ jwks: jwks(k), outputPayloadToHeader: "x-jwt-payload", outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }, { header: "x-team", claim: "org.team" }] });
    const token = await sign(k, { iss: ISS, sub: "alice", org: { team: "blue" } });
    const r = await authenticate([p], req({ authorization: `Bearer ${token}` }), now());
    expect(r.kind).toBe("ok");
    const ops = authnHeaderOps([p], r);
    expect(ops.remove).toEqual(["x-jwt-payload", "x-sub", "x-team", "authorization"]);
    expect(ops.set).toEqual([["x-jwt-payload", token.split(".")[1]!], ["x-sub", "alice"], ["x-team", "blue"]]);
    const keep = { ...p, forwardOriginalToken: true };
    const r2 = await authenticate([keep], req({ authorization: `Bearer ${token}` }), now());
    expect(authnHeaderOps([keep], r2).remove).not.toContain("authorization");
  });

  test("a claim that is not a valid header value is not sent (no header injection)", async () => {
    const k = await makeKey("ES256");
    const p = provider({ jwks: jwks(k), outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }] });
    const token = await sign(k, { iss: ISS, sub: "alice\r\nx-admin: true" });
    const r = await authenticate([p], req({ authorization: `Bearer ${token}` }), now());
    expect(r.kind).toBe("ok");
    expect(authnHeaderOps([p], r)).toEqual({ set: [], remove: ["x-sub", "authorization"] });
  });

  test("www-authenticate as Envoy sends it", () => {
    expect(wwwAuthenticate("http", "a.example.com", "/x", false)).toBe('Bearer realm="http://a.example.com/x", error="invalid_token"');
    expect(wwwAuthenticate("https", "a.example.com", "/", true)).toBe('Bearer realm="https://a.example.com/"');
  });
});

/** A request from field lines (names lower case): header() joins repeats with ",", headerValues() keeps each. */
function lines(fields: [string, string][], query = "") {
  const values = (n: string): string[] => fields.filter(([k]) => k === n).map(([, v]) => v);
  return { header: (n: string) => (values(n).length === 0 ? undefined : values(n).join(",")), headerValues: values, query };
}

describe("extraction as Envoy's extractor does it", () => {
  test("the token after the prefix: leading non-token characters skipped, up to the first non-token character; none: the whole value", () => {
    const cases: [string, string, string | undefined][] = [
      ["Bearer a.b.c", "Bearer ", "a.b.c"],
      ["Bearer  a.b.c", "Bearer ", "a.b.c"],
      ['Bearer "a.b.c"', "Bearer ", "a.b.c"],
      ["Bearer a.b.c=", "Bearer ", "a.b.c"],
      ["Bearer a.b.c, more", "Bearer ", "a.b.c"],
      ["Bearer !!!", "Bearer ", "Bearer !!!"],
      ["x Bearer a.b.c", "Bearer ", "a.b.c"],
      ["bearer a.b.c", "Bearer ", undefined],
      ["Basic dXNlcg==", "Bearer ", undefined],
      [" raw value ", "", " raw value "],
    ];
    for (const [value, prefix, want] of cases) expect([value, tokenFromHeader(value, prefix)]).toEqual([value, want]);
  });

  test("every value of a repeated header; an empty parameter or cookie is a token (that fails); cookies from every Cookie line", () => {
    const p = [provider({ fromHeaders: [{ name: "x-jwt", prefix: "" }], fromParams: ["t"], fromCookies: ["s"] })];
    const got = extractTokens(p, lines([["x-jwt", "a.b.c"], ["x-jwt", "d.e.f"], ["cookie", "x=1"], ["cookie", "s=g.h.i"]], "t="));
    expect(got.map((t) => [t.token, t.header])).toEqual([["a.b.c", "x-jwt"], ["d.e.f", "x-jwt"], ["", ""], ["g.h.i", ""]]);
  });
});

describe("several tokens: every one must be valid (Envoy's authenticator)", () => {
  test("one rule: a bad token beside a good one is refused, wherever each is", async () => {
    const k = await makeKey("RS256", "k1");
    const p = provider({ jwks: jwks(k) });
    const good = await sign(k, { iss: ISS, sub: "a", exp: now() + 60 });
    const expired = await sign(k, { iss: ISS, sub: "a", exp: now() - 120 });
    const cases: [string, [string, string][], string, number, string][] = [
      ["good header, expired parameter", [["authorization", `Bearer ${good}`]], `access_token=${expired}`, 401, JwtStatus.Expired],
      ["expired header, good parameter", [["authorization", `Bearer ${expired}`]], `access_token=${good}`, 401, JwtStatus.Expired],
      ["two Authorization lines, good then expired", [["authorization", `Bearer ${good}`], ["authorization", `Bearer ${expired}`]], "", 401, JwtStatus.Expired],
      ["two Authorization lines, expired then good", [["authorization", `Bearer ${expired}`], ["authorization", `Bearer ${good}`]], "", 401, JwtStatus.Expired],
      ["good in one, garbage in the other", [["authorization", `Bearer ${good}`], ["authorization", "Bearer !!"]], "", 401, JwtStatus.BadFormat],
      ["good twice", [["authorization", `Bearer ${good}`]], `access_token=${good}`, 200, ""],
      ["a token after two spaces is still verified", [["authorization", `Bearer  ${expired}`]], "", 401, JwtStatus.Expired],
    ];
    for (const [name, fields, query, status, body] of cases) {
      const r = await authenticate([p], lines(fields, query), now());
      const got = r.kind === "ok" ? [200, ""] : r.kind === "fail" ? [r.status, r.body] : [0, "none"];
      expect([name, ...got]).toEqual([name, status, body]);
    }
  });

  test("several rules: one rule whose tokens are all valid passes; else the request is refused if any token was found", async () => {
    const ka = await makeKey("RS256", "ka");
    const kb = await makeKey("ES256", "kb");
    const a = provider({ issuer: "iss-a", jwks: jwks(ka) });
    const b = provider({ issuer: "iss-b", jwks: jwks(kb), fromHeaders: [{ name: "x-b", prefix: "" }], fromCookies: ["s"] });
    const goodA = await sign(ka, { iss: "iss-a", sub: "a" });
    const goodB = await sign(kb, { iss: "iss-b", sub: "b" });
    const expiredB = await sign(kb, { iss: "iss-b", sub: "b", exp: now() - 120 });
    const cases: [string, [string, string][], number, string][] = [
      ["A good, B's location empty", [["authorization", `Bearer ${goodA}`]], 200, "iss-a"],
      ["A good, B expired", [["authorization", `Bearer ${goodA}`], ["x-b", expiredB]], 200, "iss-a"],
      ["B's token in A's location: A does not know the issuer", [["authorization", `Bearer ${goodB}`]], 401, JwtStatus.UnknownIssuer],
      ["B's token in A's location and B's own", [["authorization", `Bearer ${goodB}`], ["x-b", goodB]], 200, "iss-b"],
      ["only B, expired", [["x-b", expiredB]], 401, JwtStatus.Expired],
      ["B good in the header, expired in the cookie", [["x-b", goodB], ["cookie", `s=${expiredB}`]], 401, JwtStatus.Expired],
    ];
    for (const [name, fields, status, what] of cases) {
      const r = await authenticate([a, b], lines(fields), now());
      const got = r.kind === "ok" ? [200, r.provider.issuer] : r.kind === "fail" ? [r.status, r.body] : [0, "none"];
      expect([name, ...got]).toEqual([name, status, what]);
    }
  });

  test("a verified rule's token headers are all removed (unless forwardOriginalToken)", async () => {
    const k = await makeKey("ES256");
    const p = provider({ jwks: jwks(k), fromHeaders: [{ name: "x-a", prefix: "" }, { name: "x-b", prefix: "" }] });
    const t = await sign(k, { iss: ISS, sub: "a" });
    const r = await authenticate([p], lines([["x-a", t], ["x-b", t]]), now());
    expect(authnHeaderOps([p], r).remove).toEqual(["x-a", "x-b"]);
  });
});

describe("HMAC keys (kty oct), as Envoy verifies HS256/384/512", () => {
  async function hs(alg: string, secret: Uint8Array<ArrayBuffer>, claims: Record<string, unknown>, kid?: string): Promise<string> {
    const h = b64(JSON.stringify({ alg, ...(kid ? { kid } : {}) }));
    const pl = b64(JSON.stringify(claims));
    const hash = alg === "HS384" ? "SHA-384" : alg === "HS512" ? "SHA-512" : "SHA-256";
    const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash }, false, ["sign"]);
    const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${h}.${pl}`)));
    return `${h}.${pl}.${Buffer.from(sig).toString("base64url")}`;
  }

  test("an oct key verifies its HS tokens; the RSA public key used as the HMAC secret (alg confusion) never does", async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const rsa = await makeKey("RS256", "r");
    const rsaNoAlg = { ...rsa.jwk, alg: undefined };
    const p = provider({ jwks: JSON.stringify({ keys: [rsaNoAlg, { kty: "oct", kid: "h", k: Buffer.from(secret).toString("base64url") }] }) });
    for (const alg of ["HS256", "HS384", "HS512"]) {
      const t = await hs(alg, secret, { iss: ISS, sub: "a" });
      expect([alg, await authenticate([p], lines([["authorization", `Bearer ${t}`]]), now())]).toMatchObject([alg, { kind: "ok" }]);
    }
    // the attacker signs with the RSA key's public JWK text (and its modulus) as the HMAC secret
    for (const secretText of [JSON.stringify(rsa.jwk), String(rsa.jwk.n)]) {
      const forged = await hs("HS256", new TextEncoder().encode(secretText), { iss: ISS, sub: "admin" }, "r");
      const r = await authenticate([p], lines([["authorization", `Bearer ${forged}`]]), now());
      expect(r).toMatchObject({ kind: "fail", status: 401, body: JwtStatus.VerificationFail });
    }
  });
});

describe("a verified token's query parameter is not forwarded (Envoy's removeJwt), unless forwardOriginalToken", () => {
  test("withoutParams drops every occurrence and keeps the rest as sent", () => {
    const cases: [string, string[], string][] = [
      ["/p?access_token=a.b.c", ["access_token"], "/p"],
      ["/p?x=1&access_token=a.b.c&y=%2F", ["access_token"], "/p?x=1&y=%2F"],
      ["/p?access_token=1&access_token=2&x", ["access_token"], "/p?x"],
      ["/p?access_tokenx=1", ["access_token"], "/p?access_tokenx=1"],
      ["/p", ["access_token"], "/p"],
    ];
    for (const [t, names, want] of cases) expect([t, withoutParams(t, names)]).toEqual([t, want]);
  });

  test("the parameters come from the verified rule's tokens", async () => {
    const k = await makeKey("ES256");
    const p = provider({ jwks: jwks(k) });
    const t = await sign(k, { iss: ISS, sub: "a" });
    expect(authnParamsToRemove(await authenticate([p], lines([], `access_token=${t}`), now()))).toEqual(["access_token"]);
    const keep = provider({ jwks: jwks(k), forwardOriginalToken: true });
    expect(authnParamsToRemove(await authenticate([keep], lines([], `access_token=${t}`), now()))).toEqual([]);
  });
});

describe("outputClaimToHeaders values as Envoy writes them", () => {
  test("numbers: integers in digits, others with six decimals; booleans; an empty string writes no header", async () => {
    const cases: [number, string][] = [
      [42, "42"],
      [1e21, (1e21).toFixed(6)],
      [2 ** 60, "1152921504606846976"],
      [1.5, "1.500000"],
      [-5, "-5.000000"],
    ];
    for (const [v, want] of cases) expect([v, claimNumberText(v)]).toEqual([v, want]);
    const k = await makeKey("ES256");
    const p = provider({ jwks: jwks(k), outputClaimToHeaders: [{ header: "x-n", claim: "n" }, { header: "x-b", claim: "b" }, { header: "x-e", claim: "e" }] });
    const token = await sign(k, { iss: ISS, n: 7, b: false, e: "" });
    const r = await authenticate([p], lines([["authorization", `Bearer ${token}`]]), now());
    expect(authnHeaderOps([p], r).set).toEqual([["x-n", "7"], ["x-b", "false"]]);
  });
});

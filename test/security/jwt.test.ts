// JWT extraction and verification as Envoy's jwt_authn: every algorithm via
// WebCrypto, Envoy's status strings, clock skew, audiences, key selection.
import { describe, expect, test } from "bun:test";
import { authenticate, authnHeaderOps, wwwAuthenticate } from "../../src/security/authn.ts";
import { extractTokens, tokenFromHeader } from "../../src/security/jwt-extract.ts";
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
      ["alg none", `${Buffer.from('{"alg":"none"}').toString("base64url")}.e30.`, 401, JwtStatus.HeaderNotImplementedAlg],
      ["HS256 is not accepted", `${Buffer.from('{"alg":"HS256"}').toString("base64url")}.e30.c2ln`, 401, JwtStatus.HeaderNotImplementedAlg],
    ];
    for (const [name, token, status, body] of cases) {
      const r = await authenticate([p], req({ authorization: `Bearer ${token}` }), t);
      const got = r.kind === "ok" ? [200, ""] : r.kind === "fail" ? [r.status, r.body] : [0, "none"];
      expect([name, ...got]).toEqual([name, status, body]);
    }
  });

  test("a JWKS that could not be fetched: RSA tokens fail verification, others find no key (Istio's stand-in key)", async () => {
    const k = await makeKey("RS256");
    const ec = await makeKey("ES256");
    const p = provider({ jwksUri: "http://127.0.0.1:1/jwks", jwksError: "connection refused" });
    const a = await authenticate([p], req({ authorization: `Bearer ${await sign(k, { iss: ISS })}` }), now());
    expect(a).toMatchObject({ kind: "fail", status: 401, body: JwtStatus.VerificationFail });
    const b = await authenticate([p], req({ authorization: `Bearer ${await sign(ec, { iss: ISS })}` }), now());
    expect(b).toMatchObject({ kind: "fail", status: 401, body: JwtStatus.KidAlgMismatch });
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

// The whole check in Istio's filter order (ext_authz → jwt_authn → RBAC), pure:
// the provider is a function, the token is verified against an inline JWKS.
import { describe, expect, test } from "bun:test";
import { checkSecurity, type SecurityRequest } from "../../src/security/check.ts";
import type { ExtAuthzProvider, JwtProvider, SecurityConfig } from "../../src/security/types.ts";
import { jwks, makeKey, now, sign } from "../helpers/jwt.ts";

const ISS = "https://issuer.example.com";

function request(headers: Record<string, string>, method = "GET"): SecurityRequest {
  return {
    method,
    authority: "app.example.com",
    path: "/x",
    query: "",
    target: "/x",
    scheme: "http",
    port: 80,
    header: (n) => headers[n],
    headerList: () => Object.entries(headers),
    sourceIp: "10.0.0.1",
    remoteIp: "10.0.0.1",
    destinationIp: "127.0.0.1",
    principal: "",
    sni: "",
  };
}

async function config(): Promise<{ sec: SecurityConfig; token: string; expired: string }> {
  const k = await makeKey("ES256");
  const provider: JwtProvider = {
    source: "RequestAuthentication/istio-system/ra", rule: 0, issuer: ISS, audiences: [], fromHeaders: [], fromParams: [], fromCookies: [],
    forwardOriginalToken: false, outputPayloadToHeader: "", outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }], jwksUri: "", timeoutMs: 0, jwks: jwks(k), jwksError: "",
  };
  const ext = { name: "ext", broken: "" } as ExtAuthzProvider;
  const sec: SecurityConfig = {
    active: true, trustedProxies: 0, providers: [provider], failClosed: [], extAuthz: new Map([["ext", ext]]),
    policies: [{ name: "AuthorizationPolicy/istio-system/ext", action: "CUSTOM", provider: "ext", dryRun: false, rules: [{ from: [], to: [], when: [], field: "spec.rules[0]" }] }],
  };
  return { sec, token: await sign(k, { iss: ISS, sub: "alice" }), expired: await sign(k, { iss: ISS, sub: "alice", exp: now() - 3600 }) };
}

describe("ext_authz before jwt_authn", () => {
  test("the provider is asked first: its denial is the answer even for a bad token; its allowal leaves the token to be checked", async () => {
    const { sec, expired } = await config();
    let asked = 0;
    const deny = async () => (asked++, { allow: false as const, status: 302, body: "", headers: [["location", "/login"]] as [string, string][], upstream: [], error: "" });
    const out = await checkSecurity(sec, request({ authorization: `Bearer ${expired}` }), deny as never, now());
    expect([out.allow, out.allow ? 0 : out.status, asked]).toEqual([false, 302, 1]);
    const allow = async () => (asked++, { allow: true as const, upstream: [], error: "" });
    const out2 = await checkSecurity(sec, request({ authorization: `Bearer ${expired}` }), allow as never, now());
    expect([out2.allow, out2.allow ? 0 : out2.status, out2.allow ? "" : out2.body, asked]).toEqual([false, 401, "Jwt is expired", 2]);
  });

  test("a header the provider adds under a claim header's name is replaced by jwt_authn's (it removes the names it owns)", async () => {
    const { sec, token } = await config();
    const allow = async () => ({ allow: true as const, upstream: [["x-sub", "from-provider"], ["x-user", "u1"]] as [string, string][], error: "" });
    const out = await checkSecurity(sec, request({ authorization: `Bearer ${token}` }), allow as never, now());
    if (!out.allow) throw new Error(out.reason);
    expect(out.set).toEqual([["x-user", "u1"], ["x-sub", "alice"]]);
    // without a token jwt_authn still removes the claim header names: the provider's x-sub does not pass
    const out2 = await checkSecurity(sec, request({}), allow as never, now());
    if (!out2.allow) throw new Error(out2.reason);
    expect(out2.set).toEqual([["x-user", "u1"]]);
  });
});

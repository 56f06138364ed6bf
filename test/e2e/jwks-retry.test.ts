// A jwksUri that cannot be fetched when the gateway starts (the identity provider
// is not up yet): its issuer's tokens are refused (401) meanwhile, and the keys are
// fetched again 1 s apart (istiod's background retries), so tokens are accepted
// seconds after the provider comes up, not at the next refresh (20 min by default).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { HTTPBIN_FRONT, serviceEntry } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { jwks, makeKey, now, sign, type TestKey } from "../helpers/jwt.ts";

const ISS = "https://late.issuer.test";
let up = false;
const hits = { n: 0, atFlip: 0 };
let key: TestKey;
let idp: ReturnType<typeof Bun.serve>;
let app: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;

beforeAll(async () => {
  key = await makeKey("ES256", "late");
  idp = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits.n++, up ? new Response(jwks(key)) : new Response("starting", { status: 503 })) });
  app = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
  const yaml = `${HTTPBIN_FRONT}---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-system}
spec:
  jwtRules: [{issuer: "${ISS}", jwksUri: "http://127.0.0.1:${idp.port}/jwks.json"}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: need-jwt, namespace: istio-system}
spec:
  action: ALLOW
  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]
---
${serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, app.port!)}`;
  gw = await startGateway({ configDirs: [writeTree({ "gw.yaml": yaml })] }); // the default --jwks-refresh, 20 min
});

afterAll(async () => {
  await gw?.stop();
  idp?.stop(true);
  app?.stop(true);
});

test("keys the start-up could not fetch are fetched again within seconds: the token refused before is accepted once the provider is up", async () => {
  const token = await sign(key, { iss: ISS, sub: "alice", exp: now() + 300 });
  const status = async (): Promise<number> => (await fetch(gw.url(80, "/"), { headers: { host: "app.example.com", authorization: `Bearer ${token}` } })).status;
  expect(await status()).toBe(401);
  hits.atFlip = hits.n; // fetches so far: the start-up one and the retries already used (7 at most)
  up = true;
  let got = 0;
  for (const end = Date.now() + 10_000; Date.now() < end && (got = await status()) !== 200; ) await Bun.sleep(200);
  expect(got, `JWKS fetches before the provider came up: ${hits.atFlip} (8 use up the retries)`).toBe(200);
  expect(gw.output()).toMatch(/JWKS changed; configuration republished/);
}, 20_000);

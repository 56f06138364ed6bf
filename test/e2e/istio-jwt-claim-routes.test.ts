// Istio's jwtClaimRoute cases (istio/istio tests/integration/pilot/common/
// routing.go), run through the ingress gateway there and the gateway process
// here: VirtualService matches on `@request.auth.claims.a.b` and
// `@request.auth.claims[a][b]` (headers and withoutHeaders), and on headers
// RequestAuthentication's outputClaimToHeaders writes. At a gateway Istio's
// jwt_authn clears the route cache, so the route is chosen after the token is
// verified, with its claims and header changes. Tokens carry the claims of
// Istio's test tokens (tests/common/jwt), signed with a key of this test.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { jwks, makeKey, now, sign } from "../helpers/jwt.ts";
import { startTrafficBackend, staticService, type TrafficBackend } from "../helpers/traffic-backends.ts";

const ISS = "test-issuer-1@istio.io";
let app: TrafficBackend;
let gw: GatewayProcess;
let plain: GatewayProcess;
const tokens: Record<string, string> = {};

type M = [name: string, kind: string, value: string];

/** [case name, headers, withoutHeaders, token, extra request headers, status] */
type Case = [string, M[], M[], string | null, Record<string, string>, number];

const NESTED1 = "nested1"; // nested.key1 = [valueA, valueB], sub-1
const NESTED2 = "nested2"; // nested.key2 = valueC, sub-1
const COLLISION = "collision"; // test-issuer-1@istio.io/simple = valueC, test-issuer-1@istio.io/nested.key1 = valueC
const EXPIRED = "expired";

function usage(sep: (path: string[]) => string, prefix: string): Case[] {
  const k1 = sep(["nested", "key1"]);
  const sub = sep(["sub"]);
  return [
    [`${prefix}matched with nested claims:200`, [[k1, "exact", "valueA"]], [], NESTED1, {}, 200],
    [`${prefix}matched with single claim:200`, [[sub, "prefix", "sub"]], [], NESTED1, {}, 200],
    [`${prefix}matched multiple claims with regex:200`, [[sub, "regex", "(\\W|^)(sub-1|sub-2)(\\W|$)"], [k1, "regex", "(\\W|^)value[AB](\\W|$)"]], [], NESTED1, {}, 200],
    [`${prefix}matched multiple claims:200`, [[k1, "exact", "valueA"], [sub, "prefix", "sub"]], [], NESTED1, {}, 200],
    [`${prefix}matched without claim:200`, [], [[k1, "exact", "value-not-matched"]], NESTED1, {}, 200],
    [`${prefix}unmatched without claim:404`, [], [[k1, "exact", "valueA"]], NESTED1, {}, 404],
    // Istio's template writes two withoutHeaders entries under one name; the map keeps the last
    [`${prefix}matched both with and without claims with regex:200`, [[sub, "prefix", "sub"]], [[k1, "regex", "(\\W|^)value\\s{0,3}not{0,1}\\s{0,3}matched(\\W|$)"]], NESTED1, {}, 200],
    [`${prefix}unmatched multiple claims:404`, [[k1, "exact", "valueA"], [sub, "prefix", "value-not-matched"]], [], NESTED1, {}, 404],
    [`${prefix}unmatched token:404`, [[sub, "exact", "value-not-matched"]], [], NESTED1, {}, 404],
    [`${prefix}unmatched with invalid token:401`, [[k1, "exact", "valueA"]], [], EXPIRED, {}, 401],
    [`${prefix}unmatched with no token:404`, [[k1, "exact", "valueA"]], [], null, {}, 404],
    [`${prefix}unmatched with no token but same header:404`, [[k1, "exact", "valueA"]], [], null, { "request.auth.claims.nested.key1": "valueA" }, 404],
  ];
}

const CASES: Case[] = [
  ["matched with nested claim using claim to header:200", [["X-Jwt-Nested-Key", "exact", "valueC"]], [], NESTED2, { "x-jwt-nested-key": "value_to_be_replaced" }, 200],
  ["matched with nested claim and single claim using claim to header:200", [["X-Jwt-Nested-Key", "exact", "valueC"], ["X-Jwt-Iss", "exact", ISS]], [], NESTED2, { "x-jwt-nested-key": "value_to_be_replaced" }, 200],
  ["unmatched with wrong claim and added header:404", [["x-jwt-wrong-header", "exact", "header_to_be_deleted"]], [], NESTED2, { "x-jwt-wrong-header": "header_to_be_deleted" }, 404],
  ...usage((p) => `@request.auth.claims.${p.join(".")}`, ""),
  ...usage((p) => `@request.auth.claims[${p.join("][")}]`, "usage2: "),
  ["usage2: matched with simple collision-resistant claim name:200", [["@request.auth.claims[test-issuer-1@istio.io/simple]", "exact", "valueC"]], [], COLLISION, {}, 200],
  ["usage2: unmatched with simple collision-resistant claim name:404", [["@request.auth.claims[test-issuer-1@istio.io/simple]", "exact", "value-not-matched"]], [], COLLISION, {}, 404],
  ["usage2: matched with nested collision-resistant claim name:200", [["@request.auth.claims[test-issuer-1@istio.io/nested][key1]", "exact", "valueC"]], [], COLLISION, {}, 200],
  ["usage2: unmatched with nested collision-resistant claim name:404", [["@request.auth.claims[test-issuer-1@istio.io/nested][key1]", "exact", "value-not-matched"]], [], COLLISION, {}, 404],
];

const hostOf = (i: number) => `case-${i}.foo.bar`;

function matches(ms: M[]): string {
  return `{${ms.map(([n, k, v]) => `${JSON.stringify(n)}: {${k}: ${JSON.stringify(v)}}`).join(", ")}}`;
}

function routes(): string {
  return CASES.map(([, hs, ws], i) => {
    const m: string[] = ["uri: {prefix: /}"];
    if (hs.length > 0) m.push(`headers: ${matches(hs)}`);
    if (ws.length > 0) m.push(`withoutHeaders: ${matches(ws)}`);
    return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: case-${i}}
spec:
  hosts: [${hostOf(i)}]
  gateways: [gateway]
  http: [{match: [{${m.join(", ")}}], route: [{destination: {host: app.test}}]}]
---
`;
  }).join("");
}

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
`;

let configDir = "";

beforeAll(async () => {
  const key = await makeKey("RS256", "k");
  const exp = now() + 3600;
  tokens[NESTED1] = await sign(key, { iss: ISS, sub: "sub-1", exp, nested: { key1: ["valueA", "valueB"] } });
  tokens[NESTED2] = await sign(key, { iss: ISS, sub: "sub-1", exp, nested: { "nested-2": { key2: "valueC" } } });
  tokens[COLLISION] = await sign(key, { iss: ISS, sub: "sub-1", exp, "test-issuer-1@istio.io/simple": "valueC", "test-issuer-1@istio.io/nested": { key1: "valueC" } });
  tokens[EXPIRED] = await sign(key, { iss: ISS, sub: "sub-1", exp: now() - 3600, groups: ["group-1"] });
  app = startTrafficBackend("app");
  const requestAuthentication = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  jwtRules:
  - issuer: "${ISS}"
    jwks: '${jwks(key)}'
    outputClaimToHeaders:
    - {header: x-jwt-nested-key, claim: nested.nested-2.key2}
    - {header: x-jwt-iss, claim: iss}
    - {header: x-jwt-wrong-header, claim: wrong_claim}
---
`;
  const common = staticService("app", [app.port]) + "\n" + GATEWAY + routes();
  [gw, plain] = await Promise.all([
    startGateway({ configDirs: [(configDir = writeTree({ "config.yaml": common + requestAuthentication }))] }),
    // "unmatched with no request authentication"
    startGateway({ configDirs: [writeTree({ "config.yaml": common })] }),
  ]);
});

afterAll(async () => {
  expect(await gw.stop()).toBe(0);
  expect(await plain.stop()).toBe(0);
  app.stop();
});

async function status(g: GatewayProcess, i: number, token: string | null, extra: Record<string, string>): Promise<number> {
  const headers: Record<string, string> = { host: hostOf(i), ...extra };
  if (token !== null) headers.authorization = `Bearer ${tokens[token]}`;
  const r = await fetch(g.url(80, "/"), { headers });
  await r.arrayBuffer();
  return r.status;
}

describe("jwtClaimRoute", () => {
  CASES.forEach(([name, , , token, extra, want], i) => {
    test(name, async () => {
      expect(await status(gw, i, token, extra)).toBe(want);
    });
  });

  for (const [name, i] of [
    ["unmatched with no request authentication:404", CASES.findIndex((c) => c[0] === "matched with nested claims:200")],
    ["usage2: unmatched with no request authentication:404", CASES.findIndex((c) => c[0] === "usage2: matched with nested claims:200")],
  ] as const) {
    test(name, async () => {
      expect(await status(plain, i, NESTED1, {})).toBe(404);
    });
  }

  test("the upstream gets the claim headers RequestAuthentication wrote, not the client's", async () => {
    const r = await fetch(gw.url(80, "/"), { headers: { host: hostOf(0), authorization: `Bearer ${tokens[NESTED2]}`, "x-jwt-nested-key": "value_to_be_replaced" } });
    const seen = ((await r.json()) as { headers: Record<string, string> }).headers;
    expect([seen["x-jwt-nested-key"], seen["x-jwt-iss"], seen.authorization ?? "(none)"]).toEqual(["valueC", ISS, "(none)"]);
  });
});

describe("explain", () => {
  const explain = async (i: number, token: string, extra: string[] = []) => {
    const r = await runCli(["explain", "--config", configDir, "--host", hostOf(i), "--path", "/", "--header", `authorization=Bearer ${tokens[token]}`, ...extra]);
    expect(r.code).toBe(0);
    return r.stdout.split("after authentication");
  };

  test("shows the route chosen again after authentication: a claim copied to a header", async () => {
    const [before, after] = await explain(0, NESTED2, ["--header", "x-jwt-nested-key=value_to_be_replaced"]);
    expect(before).toContain("result:        404");
    expect(after).toMatch(/result: +200 forward/);
  });

  test("shows the route chosen again after authentication: a claim matched", async () => {
    const i = CASES.findIndex(([name]) => name === "matched with nested claims:200");
    const [before, after] = await explain(i, NESTED1);
    expect(before).toContain("(no verified JWT)");
    expect(after).toMatch(/result: +200 forward/);
  });
});

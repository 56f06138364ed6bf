// The primary's JWKS cache (fetch, keep the last good keys, refresh, inline
// into a new snapshot) and the mesh config file (extensionProviders, gatewayTopology).
import { describe, expect, test } from "bun:test";
import { decodeMeshConfig } from "../../src/decode/meshconfig.ts";
import { JwksCache, type Fetcher } from "../../src/security/jwks-cache.ts";
import { readJwks } from "../../src/security/jwks.ts";
import type { SecurityConfig } from "../../src/security/types.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";

function security(uri: string): SecurityConfig {
  return {
    active: true,
    trustedProxies: 0,
    providers: [{ source: "RequestAuthentication/istio-system/r", rule: 0, issuer: "i", audiences: [], fromHeaders: [], fromParams: [], fromCookies: [], forwardOriginalToken: false, outputPayloadToHeader: "", outputClaimToHeaders: [], jwksUri: uri, timeoutMs: 0, jwks: "", jwksError: "" }],
    policies: [],
    failClosed: [],
    extAuthz: new Map(),
  };
}

const GOOD = '{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}';

describe("JwksCache", () => {
  test("inlines fetched keys; a failed first fetch marks the provider unavailable", async () => {
    let answer: string | Error = GOOD;
    const fetcher: Fetcher = async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    };
    const c = new JwksCache(fetcher);
    const ok = security("http://127.0.0.1/ok");
    await c.fill(ok);
    expect([ok.providers[0]!.jwks, ok.providers[0]!.jwksError]).toEqual([GOOD, ""]);
    answer = new Error("connection refused");
    const bad = security("http://127.0.0.1/bad");
    await c.fill(bad);
    expect([bad.providers[0]!.jwks, bad.providers[0]!.jwksError]).toEqual(["", "connection refused"]);
  });

  test("missing and failing; a refresh of the missing URIs fetches only those", async () => {
    const answers = new Map<string, string | Error>([
      ["http://127.0.0.1/a", GOOD],
      ["http://127.0.0.1/b", new Error("connection refused")],
    ]);
    const asked: string[] = [];
    const c = new JwksCache(async (uri) => {
      asked.push(uri);
      const a = answers.get(uri)!;
      if (a instanceof Error) throw a;
      return a;
    });
    const sec = security("http://127.0.0.1/a");
    sec.providers.push({ ...sec.providers[0]!, jwksUri: "http://127.0.0.1/b" });
    await c.fill(sec);
    expect([c.missing(sec), c.failing(sec)]).toEqual([true, true]);
    asked.length = 0;
    expect(await c.refresh(sec, true)).toBe(false); // b still refused: nothing new
    expect(asked).toEqual(["http://127.0.0.1/b"]);
    answers.set("http://127.0.0.1/b", GOOD);
    expect(await c.refresh(sec, true)).toBe(true);
    expect([c.missing(sec), c.failing(sec)]).toEqual([false, false]);
    answers.set("http://127.0.0.1/a", new Error("timeout"));
    asked.length = 0;
    expect(await c.refresh(sec)).toBe(false);
    expect(asked.sort()).toEqual(["http://127.0.0.1/a", "http://127.0.0.1/b"]);
    expect([c.missing(sec), c.failing(sec)]).toEqual([false, true]); // a keeps its last good keys
  });

  test("a refresh that fails keeps the last good keys; a changed JWKS is reported and inlined into a new version", async () => {
    let answer: string | Error = GOOD;
    const c = new JwksCache(async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    });
    const sec = security("http://127.0.0.1/k");
    await c.fill(sec);
    answer = new Error("timeout");
    expect(await c.refresh(sec)).toBe(false);
    answer = "not json";
    expect(await c.refresh(sec)).toBe(false);
    const NEXT = '{"keys":[]}';
    answer = NEXT;
    expect(await c.refresh(sec)).toBe(true);
    expect(await c.refresh(sec)).toBe(false);
    const snap = { version: 3, security: sec } as unknown as Snapshot;
    const next = c.withKeys(snap, 4);
    expect(next.version).toBe(4);
    expect(next.security!.providers[0]!.jwks).toBe(NEXT);
    expect(sec.providers[0]!.jwks).toBe(GOOD); // the published snapshot is not changed
  });

  test("an inline JWKS key gangway cannot use is a Warning naming the rule", () => {
    const s = compileYaml(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ra, namespace: istio-system}
spec:
  jwtRules: [{issuer: i, jwks: '{"keys":[{"kty":"OKP","crv":"X25519","x":"a"}]}'}]
`);
    expect(s.findings.map((f) => [f.level, f.code, f.field])).toContainEqual(["Warning", "GW0905", "spec.jwtRules[0].jwks"]);
  });

  test("keys gangway cannot use are named", () => {
    const r = readJwks('{"keys":[{"kty":"oct","k":"","kid":"h"},{"kty":"RSA","n":"x","e":"AQAB"},{"kty":"OKP","crv":"X25519","x":"a"},{"kty":"oct","k":"c2VjcmV0"}]}');
    expect(r.keys.map((k) => k.kty)).toEqual(["RSA", "oct"]);
    expect(r.problems).toEqual(["key 0 (kid h): kty oct is not supported or incomplete", "key 2: kty OKP crv X25519 is not supported or incomplete"]);
  });
});

describe("mesh config", () => {
  test("extensionProviders envoyExtAuthzHttp and gatewayTopology; the istio ConfigMap form too", () => {
    const text = `extensionProviders:
- name: ext
  envoyExtAuthzHttp: {service: ext.foo.svc.cluster.local, port: 8000, timeout: 2s, statusOnError: "503", failOpen: true, includeRequestHeadersInCheck: [X-Auth]}
- name: grpc
  envoyExtAuthzGrpc: {service: g, port: 9000}
defaultConfig:
  gatewayTopology: {numTrustedProxies: 2}
`;
    const { mesh, errors } = decodeMeshConfig("mesh.yaml", text);
    expect(errors).toEqual([]);
    expect(mesh.numTrustedProxies).toBe(2);
    expect(mesh.extensionProviders[0]).toMatchObject({ name: "ext", service: "ext.foo.svc.cluster.local", port: 8000, timeoutMs: 2000, statusOnError: 503, failOpen: true, includeRequestHeadersInCheck: ["x-auth"], unsupported: "" });
    expect(mesh.extensionProviders[1]!.unsupported).toContain("envoyExtAuthzGrpc is not supported");
    const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\ndata:\n  mesh: |-\n${text.split("\n").map((l) => "    " + l).join("\n")}\n`;
    expect(decodeMeshConfig("cm.yaml", cm).mesh.numTrustedProxies).toBe(2);
  });

  test("the istio ConfigMap form: data.mesh missing, written as a mapping, or not a mapping is an Error naming data.mesh, not an empty mesh", () => {
    const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\n${data}`;
    const lines = (text: string) => decodeMeshConfig("cm.yaml", text).errors.map((e) => `${e.level} ${e.code} ${e.file} ${e.field}: ${e.message}`);
    // `mesh:` a mapping instead of `mesh: |`: its extensionProviders used to vanish without a word
    expect(lines(cm("data:\n  mesh:\n    extensionProviders: [{name: ext, envoyExtAuthzHttp: {service: s, port: 80}}]\n"))).toEqual([
      "Error GW0106 cm.yaml data.mesh: must be a string holding the MeshConfig YAML (`mesh: |` and the YAML indented below it), got an object",
    ]);
    expect(lines(cm("data:\n  meshConfig: |\n    defaultConfig: {}\n"))).toEqual([
      "Error GW0106 cm.yaml data.mesh: must be a string holding the MeshConfig YAML (`mesh: |` and the YAML indented below it), it is missing",
    ]);
    expect(lines(cm("data:\n  mesh: \"- a\\n- b\"\n"))).toEqual(["Error GW0102 cm.yaml data.mesh: a MeshConfig must be a mapping, got a list"]);
    // an empty mesh is Istio's defaults
    expect(lines(cm("data:\n  mesh: \"\"\n"))).toEqual([]);
  });

  test("problems name the file and field", () => {
    const { errors } = decodeMeshConfig("mesh.yaml", "extensionProviders:\n- name: ext\n  envoyExtAuthzHttp: {service: s, port: 99999}\n");
    expect(errors.map((e) => [e.file, e.field])).toEqual([["mesh.yaml", "extensionProviders[0].envoyExtAuthzHttp.port"]]);
  });
});

// RequestAuthentication and AuthorizationPolicy on real sockets: the gateway
// process, a loopback JWKS server (jwksUri, refreshed), a loopback ext_authz
// server (CUSTOM), httpbin behind; --trusted-proxies for remoteIpBlocks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { HTTPBIN_FRONT, httpbinAndExtAuthz } from "../helpers/config.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { jwks, makeKey, now, sign, type TestKey } from "../helpers/jwt.ts";
import { raw } from "../workers/harness.ts";

const ISS = "https://issuer.test";
let httpbin: Backend;
let gw: GatewayProcess;
let keyA: TestKey;
let keyB: TestKey;
let served = "";
let jwksServer: ReturnType<typeof Bun.serve>;
let extServer: ReturnType<typeof Bun.serve>;
const extSeen: Record<string, string>[] = [];
let config: string;
let meshFile: string;

function yaml(jwksPort: number, extPort: number): string {
  return `${HTTPBIN_FRONT}---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules:
  - issuer: ${ISS}
    jwksUri: http://127.0.0.1:${jwksPort}/jwks.json
    outputClaimToHeaders: [{header: x-jwt-sub, claim: sub}]
    spaceDelimitedClaims: [roles]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: secure-needs-jwt, namespace: istio-system}
spec:
  action: ALLOW
  rules:
  - from: [{source: {requestPrincipals: ["${ISS}/*"]}}]
    to: [{operation: {paths: [/anything/secure*]}}]
  - to: [{operation: {notPaths: [/anything/secure*]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: istio-system}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: [/admin*]}}]
  - to: [{operation: {methods: [DELETE]}}]
  - when: [{key: "request.headers[x-block]", values: ["yes"]}]
  - from: [{source: {remoteIpBlocks: [203.0.113.0/24]}}]
  - to: [{operation: {hosts: [app.example.com, "app.example.com:*"], paths: [/anything/hostdeny*]}}]
  - when: [{key: "request.auth.claims[scope]", values: ["banned"]}]
  - when: [{key: "request.auth.claims[roles]", values: ["intruder"]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: istio-system}
spec:
  action: CUSTOM
  provider: {name: ext}
  rules: [{to: [{operation: {paths: [/anything/ext*]}}]}]
---
${httpbinAndExtAuthz(httpbin.port, extPort)}`;
}

beforeAll(async () => {
  keyA = await makeKey("RS256", "a");
  keyB = await makeKey("ES256", "b");
  served = jwks(keyA);
  jwksServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(served, { headers: { "content-type": "application/json" } }) });
  extServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const seen: Record<string, string> = { ":method": req.method, ":path": new URL(req.url).pathname };
      req.headers.forEach((v, k) => (seen[k] = v));
      extSeen.push(seen);
      if (req.headers.get("x-ext") === "allow") return new Response("", { status: 200, headers: { "x-ext-authz-ok": "yes", "x-other": "dropped" } });
      return new Response("denied by ext", { status: 403, headers: { "x-ext-reason": "nope", "x-hidden": "1" } });
    },
  });
  httpbin = startHttpbin({ name: "httpbin" });
  config = writeTree({ "gw.yaml": yaml(jwksServer.port!, extServer.port!) });
  meshFile = writeTree({
    "mesh.yaml": `extensionProviders:
- name: ext
  envoyExtAuthzHttp:
    service: ext-authz.istio-system.svc.cluster.local
    port: 9000
    pathPrefix: /check
    includeRequestHeadersInCheck: [x-ext]
    headersToUpstreamOnAllow: [x-ext-authz-ok]
    headersToDownstreamOnDeny: [x-ext-reason]
`,
  }) + "/mesh.yaml";
  gw = await startGateway({ configDirs: [config], args: ["--mesh-config", meshFile, "--trusted-proxies", "1", "--jwks-refresh", "300ms"] });
});

afterAll(async () => {
  await gw.stop();
  await httpbin.stop();
  jwksServer.stop(true);
  extServer.stop(true);
});

async function get(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(gw.url(80, path), { method, headers: { host: "app.example.com", ...headers } });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

describe("RequestAuthentication (jwksUri from a loopback server)", () => {
  test("a valid token reaches the upstream, its claim as a header and without the Authorization header", async () => {
    const t = await sign(keyA, { iss: ISS, sub: "alice", exp: now() + 300 });
    const r = await get("/anything/secure", { authorization: `Bearer ${t}`, "x-jwt-sub": "spoofed" });
    expect(r.status).toBe(200);
    const h = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    expect(h["X-Jwt-Sub"]).toBe("alice");
    expect(h["Authorization"]).toBeUndefined();
  });

  test("expired, bad signature, wrong issuer: 401 with Envoy's body and www-authenticate", async () => {
    const expired = await sign(keyA, { iss: ISS, sub: "alice", exp: now() - 3600 });
    const other = await makeKey("RS256", "a");
    const badSig = await sign(other, { iss: ISS, sub: "alice" });
    const wrongIss = await sign(keyA, { iss: "https://evil.test", sub: "alice" });
    for (const [t, body] of [
      [expired, "Jwt is expired"],
      [badSig, "Jwt verification fails"],
      [wrongIss, "Jwt issuer is not configured"],
    ] as const) {
      const r = await get("/status/200?x=1", { authorization: `Bearer ${t}` });
      expect([r.status, r.body]).toEqual([401, body]);
      // Envoy's realm is the URI with its query (buildOriginalUri), the path cut at 256 characters
      expect(r.headers.get("www-authenticate")).toBe('Bearer realm="http://app.example.com/status/200?x=1", error="invalid_token"');
    }
  });

  test("without a token: allowed where no principal is required, 403 RBAC where requestPrincipals is", async () => {
    expect((await get("/status/200")).status).toBe(200);
    const r = await get("/anything/secure/x");
    expect([r.status, r.body]).toEqual([403, "RBAC: access denied"]);
  });

  test("the JWKS is fetched again: a key added upstream is accepted after the refresh", async () => {
    const t = await sign(keyB, { iss: ISS, sub: "bob" });
    expect((await get("/anything/secure", { authorization: `Bearer ${t}` })).body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    served = jwks(keyA, keyB);
    // fetched every 300 ms by the primary thread (nice 10: slow on a loaded machine), then published to the workers
    let status = 0;
    for (const end = Date.now() + 20_000; status !== 200 && Date.now() < end; ) {
      await Bun.sleep(100);
      status = (await get("/anything/secure", { authorization: `Bearer ${t}` })).status;
    }
    expect(status).toBe(200);
  }, 30_000);
});

describe("AuthorizationPolicy DENY", () => {
  test("claims split at spaces as Envoy's jwt_authn puts them in metadata: scope and permission always, the rule's spaceDelimitedClaims too", async () => {
    const bearer = async (claims: Record<string, unknown>) => ({ authorization: `Bearer ${await sign(keyA, { iss: ISS, sub: "alice", ...claims })}` });
    expect((await get("/status/200", await bearer({ scope: "read banned" }))).status).toBe(403);
    expect((await get("/status/200", await bearer({ roles: "dev intruder" }))).status).toBe(403);
    expect((await get("/status/200", await bearer({ scope: "read write", roles: "dev", other: "banned intruder" }))).status).toBe(200);
  });

  test("by path, method and header: 403 RBAC: access denied; others pass", async () => {
    for (const [path, headers, method] of [
      ["/admin/x", {}, "GET"],
      // policies see the normalized path, as routing does: no bypass through percent-encoding or dot segments
      ["/%61dmin/x", {}, "GET"],
      ["/x/../admin", {}, "GET"],
      ["/status/200", {}, "DELETE"],
      ["/status/200", { "x-block": "yes" }, "GET"],
    ] as const) {
      const r = await get(path, headers, method);
      expect([path, method, r.status, r.body]).toEqual([path, method, 403, "RBAC: access denied"]);
    }
    await gw.waitForOutput(/"GET \/admin\/x HTTP\/1\.1" 403 - rbac_access_denied_matched_policy\[AuthorizationPolicy\/istio-system\/deny\]/);
    expect((await get("/status/200", { "x-block": "no" })).status).toBe(200);
  });

  test("by hosts: a trailing dot in the Host (routed to that same host) is no way around it, with or without a port", async () => {
    for (const host of ["app.example.com", "app.example.com.", "APP.Example.COM.", "app.example.com:80", "app.example.com.:80"]) {
      const r = await get("/anything/hostdeny", { host });
      expect([host, r.status, r.body]).toEqual([host, 403, "RBAC: access denied"]);
      expect([host, (await get("/status/200", { host })).status]).toEqual([host, 200]); // routed to app.example.com's routes
    }
  });

  test("by method: a lower-case `delete` is refused (400) as Envoy and nginx refuse it, never forwarded past the DELETE rule", async () => {
    // fetch() would send DELETE (it upper-cases the standard methods): a raw socket
    let text = "";
    const { promise: closed, resolve } = Promise.withResolvers<void>();
    const s = await Bun.connect({ hostname: "127.0.0.1", port: gw.ports.get(80)!, socket: { data: (_s, d) => void (text += d.toString("latin1")), close: () => resolve(), error: () => resolve() } });
    s.write("delete /status/200 HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n");
    await Promise.race([closed, Bun.sleep(3000)]);
    s.end();
    expect(text.slice(0, 12)).toBe("HTTP/1.1 400");
  });

  test("remoteIpBlocks with --trusted-proxies 1: the client from x-forwarded-for; x-envoy-external-address set upstream", async () => {
    expect((await get("/status/200", { "x-forwarded-for": "203.0.113.5" })).status).toBe(403);
    // the proxy in front appended its client last: 203.0.113.5 is only a claim of that client
    expect((await get("/status/200", { "x-forwarded-for": "203.0.113.5, 198.51.100.1" })).status).toBe(200);
    const r = await get("/headers", { "x-forwarded-for": "198.51.100.1", "x-envoy-external-address": "1.2.3.4" });
    const h = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    expect(h["X-Envoy-External-Address"]).toBe("198.51.100.1");
    expect(h["X-Forwarded-For"]).toBe("198.51.100.1, 127.0.0.1");
    // the access log names the client found through x-forwarded-for, as Envoy's downstream remote address
    await gw.waitForOutput(/"GET \/headers HTTP\/1\.1" 200 [^\n]* 198\.51\.100\.1:0 /);
  });

  test("a request held for the check keeps its body", async () => {
    const t = await sign(keyA, { iss: ISS, sub: "alice" });
    const body = "x".repeat(300_000);
    const r = await fetch(gw.url(80, "/anything/secure/post"), { method: "POST", body, headers: { host: "app.example.com", authorization: `Bearer ${t}` } });
    expect(r.status).toBe(200);
    expect((JSON.parse(await r.text()) as { data: string }).data.length).toBe(body.length);
  });
});

/** One raw HTTP/1.1 request (header lines as given, repeats kept): status line, body and head. */
async function rawGet(target: string, lines: string[], method = "GET"): Promise<{ status: number; body: string; head: string }> {
  const r = await raw(gw.ports.get(80)!, `${method} ${target} HTTP/1.1\r\nhost: app.example.com\r\n${lines.map((l) => l + "\r\n").join("")}connection: close\r\n\r\n`);
  const at = r.text.indexOf("\r\n\r\n");
  return { status: Number(r.text.slice(9, 12)), head: r.text.slice(0, at), body: r.text.slice(at + 4) };
}

describe("several tokens, odd token spellings, CORS preflight (raw sockets)", () => {
  test("a bad token beside a good one is refused wherever it is: another Authorization line, the access_token parameter", async () => {
    const good = await sign(keyA, { iss: ISS, sub: "alice", exp: now() + 300 });
    const expired = await sign(keyA, { iss: ISS, sub: "alice", exp: now() - 3600 });
    const cases: [string, string, string[], number, string][] = [
      ["good line, then an expired one", "/anything/secure", [`authorization: Bearer ${good}`, `authorization: Bearer ${expired}`], 401, "Jwt is expired"],
      ["expired line, then a good one", "/anything/secure", [`authorization: Bearer ${expired}`, `authorization: Bearer ${good}`], 401, "Jwt is expired"],
      ["good header, expired parameter", `/anything/secure?access_token=${expired}`, [`authorization: Bearer ${good}`], 401, "Jwt is expired"],
      ["expired header, good parameter", `/anything/secure?access_token=${good}`, [`authorization: Bearer ${expired}`], 401, "Jwt is expired"],
      ["good in both", `/anything/secure?access_token=${good}`, [`authorization: Bearer ${good}`], 200, ""],
    ];
    for (const [name, target, lines, status, body] of cases) {
      const r = await rawGet(target, lines);
      expect([name, r.status, status === 200 ? "" : r.body]).toEqual([name, status, body]);
    }
  });

  test("a verified token's access_token parameter is not forwarded upstream; the other parameters are", async () => {
    const good = await sign(keyA, { iss: ISS, sub: "alice", exp: now() + 300 });
    const r = await rawGet(`/anything/secure?a=1&access_token=${good}&b=2`, []);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { url: string; args: Record<string, string> };
    expect(seen.args).toEqual({ a: "1", b: "2" });
  });

  test("the token after 'Bearer ' as Envoy finds it: two spaces or quotes still verified; nothing token-like is a malformed token", async () => {
    const expired = await sign(keyA, { iss: ISS, sub: "alice", exp: now() - 3600 });
    const good = await sign(keyA, { iss: ISS, sub: "alice", exp: now() + 300 });
    expect((await rawGet("/status/200", [`authorization: Bearer  ${expired}`])).body).toBe("Jwt is expired");
    expect((await rawGet("/anything/secure", [`authorization: Bearer "${good}"`])).status).toBe(200);
    const junk = await rawGet("/status/200", ["authorization: Bearer !!!"]);
    expect([junk.status, junk.body]).toEqual([401, "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"]);
  });

  test("a CORS preflight passes jwt_authn whatever its token (Istio's bypass_cors_preflight); RBAC still decides it", async () => {
    const expired = await sign(keyA, { iss: ISS, sub: "alice", exp: now() - 3600 });
    const pre = ["origin: http://o.example", "access-control-request-method: GET", `authorization: Bearer ${expired}`];
    expect((await rawGet("/status/200", pre, "OPTIONS")).status).toBe(200);
    // no principal on a preflight: the path needing one is 403, not 401
    expect((await rawGet("/anything/secure", pre, "OPTIONS")).status).toBe(403);
    // without Access-Control-Request-Method it is an ordinary OPTIONS: the token is checked
    expect((await rawGet("/status/200", pre.slice(0, 1).concat(pre.slice(2)), "OPTIONS")).status).toBe(401);
  });

  test("www-authenticate's realm carries at most 256 characters of the path and query", async () => {
    const expired = await sign(keyA, { iss: ISS, sub: "alice", exp: now() - 3600 });
    const target = "/status/200?q=" + "a".repeat(400);
    const r = await rawGet(target, [`authorization: Bearer ${expired}`]);
    expect(r.head).toContain(`www-authenticate: Bearer realm="http://app.example.com${target.slice(0, 256)}", error="invalid_token"`);
  });
});

describe("CUSTOM (ext_authz over HTTP, provider from --mesh-config)", () => {
  test("allowed: the provider saw the prefixed path and the included header; its header reaches the upstream", async () => {
    extSeen.length = 0;
    const r = await get("/anything/ext?q=1", { "x-ext": "allow", "x-not-included": "1" });
    expect(r.status).toBe(200);
    const h = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    expect(h["X-Ext-Authz-Ok"]).toBe("yes");
    expect(h["X-Other"]).toBeUndefined();
    expect(extSeen[0]![":path"]).toBe("/check/anything/ext");
    expect(extSeen[0]!["x-ext"]).toBe("allow");
    expect(extSeen[0]!["x-not-included"]).toBeUndefined();
    expect(extSeen[0]!["host"]).toBe("app.example.com");
  });

  test("denied: the provider's status and body, with only the allowed headers", async () => {
    const r = await get("/anything/ext/x", { "x-ext": "deny" });
    expect([r.status, r.body]).toEqual([403, "denied by ext"]);
    expect(r.headers.get("x-ext-reason")).toBe("nope");
    expect(r.headers.get("x-hidden")).toBeNull();
  });

  test("the provider is asked before the token is checked (Istio's filter order): its denial wins over a 401", async () => {
    extSeen.length = 0;
    const expired = await sign(keyA, { iss: ISS, sub: "alice", exp: now() - 3600 });
    const denied = await get("/anything/ext/x", { "x-ext": "deny", authorization: `Bearer ${expired}` });
    expect([denied.status, denied.body, extSeen.length]).toEqual([403, "denied by ext", 1]);
    const allowed = await get("/anything/ext/x", { "x-ext": "allow", authorization: `Bearer ${expired}` });
    expect([allowed.status, allowed.body, extSeen.length]).toEqual([401, "Jwt is expired", 2]);
  });

  test("paths the CUSTOM policy does not match never reach the provider", async () => {
    extSeen.length = 0;
    expect((await get("/status/200")).status).toBe(200);
    expect(extSeen.length).toBe(0);
  });
});

describe("HTTP/2 (h2c)", () => {
  test("a valid token passes, an expired one gets 401 with Envoy's body, a DENY path 403", async () => {
    const http2 = await import("node:http2");
    const session = http2.connect(gw.url(80));
    const call = (path: string, headers: Record<string, string> = {}): Promise<[number, string]> =>
      new Promise((resolve, reject) => {
        const s = session.request({ ":method": "GET", ":path": path, ":authority": "app.example.com", ...headers });
        let status = 0;
        const chunks: Buffer[] = [];
        s.on("response", (h) => (status = Number(h[":status"])));
        s.on("data", (c: Buffer) => chunks.push(c));
        s.on("end", () => resolve([status, Buffer.concat(chunks).toString()]));
        s.on("error", reject);
        s.end();
      });
    try {
      const good = await sign(keyA, { iss: ISS, sub: "alice" });
      const expired = await sign(keyA, { iss: ISS, sub: "alice", exp: now() - 3600 });
      expect((await call("/anything/secure", { authorization: `Bearer ${good}` }))[0]).toBe(200);
      expect(await call("/anything/secure", { authorization: `Bearer ${expired}` })).toEqual([401, "Jwt is expired"]);
      expect(await call("/admin")).toEqual([403, "RBAC: access denied"]);
    } finally {
      session.close();
    }
  });
});

describe("hot reload", () => {
  test("a policy written while serving takes effect, and is lifted when removed", async () => {
    const file = `${config}/reload.yaml`;
    await Bun.write(file, "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: reloaded, namespace: istio-system}\nspec:\n  action: DENY\n  rules: [{to: [{operation: {paths: [/status/418]}}]}]\n");
    let status = 0;
    for (let i = 0; i < 100 && status !== 403; i++) {
      await Bun.sleep(100);
      status = (await get("/status/418")).status;
    }
    expect(status).toBe(403);
    (await import("node:fs")).unlinkSync(file);
    for (let i = 0; i < 100 && status === 403; i++) {
      await Bun.sleep(100);
      status = (await get("/status/418")).status;
    }
    expect(status).toBe(418);
  }, 30_000);
});

describe("explain", () => {
  test("names the policy that denies and the condition each other policy failed", async () => {
    const r = await runCli(["explain", "--config", config, "--mesh-config", meshFile, "--host", "app.example.com", "--path", "/admin/x"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('security:      denied 403 "RBAC: access denied": AuthorizationPolicy/istio-system/deny rule 0 (DENY)');
    expect(r.stdout).toContain("policy AuthorizationPolicy/istio-system/ext CUSTOM: no — rule 0: spec.rules[0].to[0].operation.paths [prefix \"/anything/ext\"] does not match");
  });

  test("verifies a token against the fetched JWKS", async () => {
    const t = await sign(keyA, { iss: ISS, sub: "alice", exp: now() - 3600 });
    const r = await runCli(["explain", "--config", config, "--mesh-config", meshFile, "--host", "app.example.com", "--path", "/x", "--header", `authorization=Bearer ${t}`]);
    expect(r.stdout).toContain('security:      denied 401 "Jwt is expired"');
  });

  test("matches a space-delimited claim as the check does: the policy that denies is the one it names", async () => {
    const t = await sign(keyA, { iss: ISS, sub: "alice", scope: "read banned" });
    const r = await runCli(["explain", "--config", config, "--mesh-config", meshFile, "--host", "app.example.com", "--path", "/status/200", "--header", `authorization=Bearer ${t}`]);
    expect(r.stdout).toContain('security:      denied 403 "RBAC: access denied": AuthorizationPolicy/istio-system/deny rule 5 (DENY)');
    expect(r.stdout).toContain("policy AuthorizationPolicy/istio-system/deny DENY: MATCH — rule 5 matches");
  });
});

describe("analyze", () => {
  test("a CUSTOM policy without the mesh config is an Error naming the provider", async () => {
    const r = await runCli(["analyze", "--config", config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('extension provider "ext" is not defined in the mesh config');
    expect((await runCli(["analyze", "--config", config, "--mesh-config", meshFile])).code).toBe(0);
  });
});

// The ext_authz HTTP call against a loopback provider: allow, deny, and the
// error paths (refused, 5xx, timeout) with statusOnError and failOpen.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { checkExtAuthz, checkRequestHeaders } from "../../src/security/ext-authz.ts";
import { stringMatcher } from "../../src/security/matchers.ts";
import type { ExtAuthzProvider } from "../../src/security/types.ts";
import { freePort } from "../helpers/gateway.ts";

let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path.endsWith("/slow")) await Bun.sleep(2000);
      if (path.endsWith("/boom")) return new Response("oops", { status: 503 });
      if (path.endsWith("/ok")) return new Response("", { headers: { "x-user": "alice", "x-secret": "s" } });
      return new Response("go away", { status: 401, headers: { "www-authenticate": "Basic", "x-trace": "t" } });
    },
  });
});
afterAll(() => server.stop(true));

function provider(over: Partial<ExtAuthzProvider> = {}): ExtAuthzProvider {
  return {
    name: "ext",
    service: "ext.default.svc.cluster.local",
    port: 9000,
    cluster: "",
    pathPrefix: "",
    timeoutMs: 1000,
    failOpen: false,
    statusOnError: 403,
    includeRequestHeadersInCheck: [],
    includeAdditionalHeadersInCheck: [],
    headersToUpstreamOnAllow: [],
    headersToDownstreamOnDeny: [],
    broken: "",
    ...over,
  };
}

const req = (target: string) => ({ method: "GET", authority: "a.example.com", target, headers: [["x-user-token", "t"], ["cookie", "c"]] as [string, string][] });

describe("ext_authz over HTTP", () => {
  test("200 allows and copies only headersToUpstreamOnAllow", async () => {
    const r = await checkExtAuthz(provider({ headersToUpstreamOnAllow: [stringMatcher("x-user")] }), `127.0.0.1:${server.port}`, req("/ok"));
    expect(r).toEqual({ allow: true, upstream: [["x-user", "alice"]], error: "" });
  });

  test("another status denies with its status and body; every header but framing when none is listed", async () => {
    const r = await checkExtAuthz(provider(), `127.0.0.1:${server.port}`, req("/no"));
    expect(r.allow).toBe(false);
    if (r.allow) return;
    expect([r.status, r.body]).toEqual([401, "go away"]);
    expect(r.headers.filter(([n]) => n === "www-authenticate" || n === "x-trace")).toEqual([["www-authenticate", "Basic"], ["x-trace", "t"]]);
    expect(r.headers.some(([n]) => n === "content-length" || n === "date")).toBe(false);
  });

  test("refused, 5xx and timeout are errors: statusOnError, or allowed with failOpen", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const live = `127.0.0.1:${server.port}`;
    for (const [endpoint, target] of [[dead, "/x"], [live, "/boom"], [live, "/slow"]] as const) {
      const p = provider({ timeoutMs: 200, statusOnError: 503 });
      const r = await checkExtAuthz(p, endpoint, req(target));
      expect([target, r.allow, r.allow ? 0 : r.status]).toEqual([target, false, 503]);
      expect((await checkExtAuthz({ ...p, failOpen: true }, endpoint, req(target))).allow).toBe(true);
    }
  });

  test("the check request: Host, included headers (with * rules), additional headers, Content-Length 0", () => {
    const p = provider({ includeRequestHeadersInCheck: [stringMatcher("x-user-*")], includeAdditionalHeadersInCheck: [["x-from", "gw"]] });
    expect(checkRequestHeaders(p, req("/"))).toEqual([["host", "a.example.com"], ["x-user-token", "t"], ["x-from", "gw"], ["content-length", "0"]]);
  });
});

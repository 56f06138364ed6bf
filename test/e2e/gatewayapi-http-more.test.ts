// More Gateway API HTTPRoute behaviour end to end (a second instance, since
// these conformance cases reuse the paths of gatewayapi-http.test.ts):
// ResponseHeaderModifier, redirects on a listener on port 8080 (the Location
// keeps the listener's port, never the local one), weighted backendRefs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { configFiles, INFRA, send, startBackends, values, type Backend } from "./gatewayapi-helpers.ts";

let backends: Backend[];
let gw: GatewayProcess;

beforeAll(async () => {
  backends = startBackends();
  const dir = writeTree(configFiles(backends, ["httproute-response-header-modifier", "httproute-redirect-port-and-scheme", "httproute-weight"]));
  gw = await startGateway({
    configDirs: [dir],
    gatewayPorts: [80, 8080],
    workers: 1,
    args: ["--gateway", `${INFRA}/same-namespace`, "--gateway", `${INFRA}/same-namespace-with-http-listener-on-8080`, "--access-log", "off"],
  });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends ?? []) b.server.stop(true);
});

describe("Gateway API HTTPRoute through the gateway (2)", () => {
  test("ResponseHeaderModifier sets, adds and removes response headers", async () => {
    let a = await send(gw, "/set", { headers: { "x-echo-set-header": "X-Header-Set:some-other-value,Some-Other-Header:val" } });
    expect(a.headers.get("x-header-set")).toBe("set-overwrites-values");
    expect(a.headers.get("some-other-header")).toBe("val");
    a = await send(gw, "/add", { headers: { "x-echo-set-header": "X-Header-Add:some-other-value" } });
    expect(values(a.headers.get("x-header-add") ?? undefined)).toEqual(["some-other-value", "add-appends-values"]);
    a = await send(gw, "/remove", { headers: { "x-echo-set-header": "X-Header-Remove:val" } });
    expect(a.headers.get("x-header-remove")).toBeNull();
    a = await send(gw, "/multiple", { headers: { "x-echo-set-header": "X-Header-Set-2:set-val-2,X-Header-Add-2:add-val-2,X-Header-Remove-2:remove-val-2,Another-Header:another-header-val,X-Header-Remove-1:val" } });
    const got = (n: string) => a.headers.get(n) ?? "(absent)";
    expect(["x-header-set-1", "x-header-set-2", "x-header-add-1", "x-header-add-3", "another-header", "x-header-remove-1", "x-header-remove-2"].map(got)).toEqual([
      "header-set-1", "header-set-2", "header-add-1", "header-add-3", "another-header-val", "(absent)", "(absent)",
    ]);
    expect(values(a.headers.get("x-header-add-2") ?? undefined)).toEqual(["add-val-2", "header-add-2"]);
    a = await send(gw, "/case-insensitivity", { headers: { "x-echo-set-header": "x-header-set:original-val-set,x-header-add:original-val-add,x-header-remove:original-val-remove,Another-Header:another-header-val" } });
    expect(["x-header-set", "x-lowercase-add", "x-mixedcase-add-1", "x-mixedcase-add-2", "x-uppercase-add", "another-header", "x-header-remove"].map(got)).toEqual([
      "header-set", "lowercase-add", "mixedcase-add-1", "mixedcase-add-2", "uppercase-add", "another-header-val", "(absent)",
    ]);
    expect(values(a.headers.get("x-header-add") ?? undefined)).toEqual(["original-val-add", "header-add"]);
    a = await send(gw, "/response-and-request-header-modifiers", {
      headers: { "x-header-remove": "remove-val", "x-header-add-append": "append-val-1", "x-header-echo": "echo", "x-echo-set-header": "X-Header-Set-2:set-val-2,X-Header-Add-2:add-val-2,X-Header-Remove-2:remove-val-2,Another-Header:another-header-val,X-Header-Remove-1:remove-val-1,X-Header-Echo:echo" },
    });
    const e = a.echo!.headers;
    expect([e["x-header-add"], e["x-header-set"], values(e["x-header-add-append"]), e["x-header-echo"], e["x-header-remove"] ?? "(absent)"]).toEqual([
      "header-val-1", "set-overwrites-values", ["append-val-1", "header-val-2"], "echo", "(absent)",
    ]);
    expect(["x-header-set-1", "x-header-set-2", "x-header-add-1", "another-header", "x-header-echo", "x-header-remove-1", "x-header-remove-2"].map(got)).toEqual([
      "header-set-1", "header-set-2", "header-add-1", "another-header-val", "echo", "(absent)", "(absent)",
    ]);
    expect(values(a.headers.get("x-header-add-2") ?? undefined)).toEqual(["add-val-2", "header-add-2"]);
  });

  test("redirects keep the listener's port (8080), drop 80, and take the default port of a new scheme", async () => {
    const cases: [number, string, string][] = [
      [80, "/scheme-nil-and-port-nil", "http://example.org/scheme-nil-and-port-nil"],
      [80, "/scheme-nil-and-port-80", "http://example.org/scheme-nil-and-port-80"],
      [80, "/scheme-nil-and-port-8080", "http://example.org:8080/scheme-nil-and-port-8080"],
      [80, "/scheme-https-and-port-nil", "https://example.org/scheme-https-and-port-nil"],
      [80, "/scheme-https-and-port-443", "https://example.org/scheme-https-and-port-443"],
      [80, "/scheme-https-and-port-8443", "https://example.org:8443/scheme-https-and-port-8443"],
      [8080, "/scheme-nil-and-port-nil", "http://example.org:8080/scheme-nil-and-port-nil"],
      [8080, "/scheme-nil-and-port-80", "http://example.org/scheme-nil-and-port-80"],
      [8080, "/scheme-https-and-port-nil", "https://example.org/scheme-https-and-port-nil"],
    ];
    for (const [port, path, location] of cases) {
      const a = await send(gw, path, { port, host: `example.com:${gw.ports.get(port)}` });
      expect({ port, path, status: a.status, location: a.location }).toEqual({ port, path, status: 302, location });
    }
  });

  test("weighted backendRefs share the requests; weight 0 gets none", async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const a = await send(gw, "/weighted");
      seen.set(a.pod ?? String(a.status), (seen.get(a.pod ?? String(a.status)) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(["infra-backend-v1-0", "infra-backend-v2-0"]);
    // 70:30 — far from both 50:50 and 100:0 at 200 requests (probability of failing ~1e-6)
    expect(seen.get("infra-backend-v1-0")!).toBeGreaterThan(110);
    expect(seen.get("infra-backend-v1-0")!).toBeLessThan(180);
  });
});

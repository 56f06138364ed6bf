// Gateway API HTTPRoute filters end to end, as the conformance suite checks
// them (httproute-request-header-modifier, -redirect-*, -rewrite-*, 30x
// redirects): the real gateway process, echo backends on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { configFiles, INFRA, send, startBackends, values, type Backend } from "./gatewayapi-helpers.ts";

const CASES = [
  "httproute-simple-same-namespace",
  "httproute-request-header-modifier",
  "httproute-redirect-host-and-status",
  "httproute-redirect-path",
  "httproute-redirect-port",
  "httproute-redirect-scheme",
  "httproute-303-redirect",
  "httproute-307-redirect",
  "httproute-308-redirect",
  "httproute-rewrite-host",
  "httproute-rewrite-path",
];

let backends: Backend[];
let gw: GatewayProcess;

beforeAll(async () => {
  backends = startBackends();
  const dir = writeTree(configFiles(backends, CASES));
  gw = await startGateway({ configDirs: [dir], args: ["--gateway", `${INFRA}/same-namespace`, "--access-log", "off"], workers: 1 });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends ?? []) b.server.stop(true);
});

describe("Gateway API HTTPRoute through the gateway", () => {
  test("a route without matches reaches its backend (simple-same-namespace)", async () => {
    const a = await send(gw, "/");
    expect(a.status).toBe(200);
    expect(a.pod).toBe("infra-backend-v1-0");
    expect(a.echo!.namespace).toBe(INFRA);
  });

  test("RequestHeaderModifier sets, adds and removes request headers", async () => {
    let a = await send(gw, "/set", { headers: { "some-other-header": "val", "x-header-set": "some-other-value" } });
    expect(a.echo!.headers["x-header-set"]).toBe("set-overwrites-values");
    expect(a.echo!.headers["some-other-header"]).toBe("val");
    a = await send(gw, "/add", { headers: { "x-header-add": "some-other-value" } });
    expect(values(a.echo!.headers["x-header-add"])).toEqual(["some-other-value", "add-appends-values"]);
    a = await send(gw, "/remove", { headers: { "x-header-remove": "val" } });
    expect(a.echo!.headers["x-header-remove"]).toBeUndefined();
    a = await send(gw, "/multiple", { headers: { "x-header-set-2": "set-val-2", "x-header-add-2": "add-val-2", "x-header-remove-2": "remove-val-2", "another-header": "another-header-val" } });
    const e = a.echo!.headers;
    expect([e["x-header-set-1"], e["x-header-set-2"], e["x-header-add-1"], values(e["x-header-add-2"]), e["x-header-add-3"], e["another-header"]]).toEqual([
      "header-set-1", "header-set-2", "header-add-1", ["add-val-2", "header-add-2"], "header-add-3", "another-header-val",
    ]);
    expect([e["x-header-remove-1"] ?? "(absent)", e["x-header-remove-2"] ?? "(absent)"]).toEqual(["(absent)", "(absent)"]);
    a = await send(gw, "/case-insensitivity", { headers: { "x-header-set": "original-val-set", "x-header-add": "original-val-add", "x-header-remove": "x" } });
    expect(a.echo!.headers["x-header-set"]).toBe("header-set");
    expect(values(a.echo!.headers["x-header-add"])).toEqual(["original-val-add", "header-add"]);
    expect(a.echo!.headers["x-header-remove"]).toBeUndefined();
  });

  test("RequestRedirect: hostname, status, path, port, scheme; the Location never carries the local port", async () => {
    const cases: [string, number, string][] = [
      ["/hostname-redirect", 302, "http://example.org/hostname-redirect"],
      ["/host-and-status", 301, "http://example.org/host-and-status"],
      ["/original-prefix/lemon", 302, "http://example.com/replacement-prefix/lemon"],
      ["/full/path/original", 302, "http://example.com/full-path-replacement"],
      ["/path-and-host", 302, "http://example.org/replacement-prefix"],
      ["/path-and-status", 301, "http://example.com/replacement-prefix"],
      ["/full-path-and-host", 302, "http://example.org/replacement-full"],
      ["/full-path-and-status", 301, "http://example.com/replacement-full"],
      ["/port", 302, "http://example.com:8083/port"],
      ["/port-and-host", 302, "http://example.org:8083/port-and-host"],
      ["/port-and-status", 301, "http://example.com:8083/port-and-status"],
      ["/port-and-host-and-status", 302, "http://example.org:8083/port-and-host-and-status"],
      ["/scheme", 302, "https://example.com/scheme"],
      ["/scheme-and-host", 302, "https://example.org/scheme-and-host"],
      ["/scheme-and-status", 301, "https://example.com/scheme-and-status"],
      ["/scheme-and-host-and-status", 302, "https://example.org/scheme-and-host-and-status"],
      ["/see-other", 303, "http://example.com/see-other"],
      ["/temporary", 307, "http://example.com/temporary"],
      ["/permanent", 308, "http://example.com/permanent"],
    ];
    const local = gw.ports.get(80)!;
    for (const [path, status, location] of cases) {
      // the Host a client of the mapped port sends carries the local port: it must not leak
      const a = await send(gw, path, { host: `example.com:${local}` });
      expect({ path, status: a.status, location: a.location }).toEqual({ path, status, location });
    }
  });

  test("URLRewrite: path prefix and full path, hostname", async () => {
    const cases: [string, string][] = [
      ["/prefix/one/two", "/one/two"],
      ["/strip-prefix/three", "/three"],
      ["/strip-prefix", "/"],
      ["/full/one/two", "/one"],
    ];
    for (const [from, to] of cases) {
      const a = await send(gw, from);
      expect({ from, path: a.echo?.path }).toEqual({ from, path: to });
    }
    // the longer /full/rewrite-path-and-modify-headers prefix wins over /full: full path /test, and its header filter
    let a = await send(gw, "/full/rewrite-path-and-modify-headers/test", { headers: { "x-header-remove": "remove-val", "x-header-add-append": "append-val-1", "x-header-set": "set-val" } });
    expect([a.echo!.path, a.echo!.headers["x-header-set"], a.echo!.headers["x-header-add"], a.echo!.headers["x-header-remove"] ?? "(absent)"]).toEqual(["/test", "set-overwrites-values", "header-val-1", "(absent)"]);
    expect(values(a.echo!.headers["x-header-add-append"])).toEqual(["append-val-1", "header-val-2"]);
    a = await send(gw, "/prefix/rewrite-path-and-modify-headers/one", { headers: { "x-header-remove": "remove-val", "x-header-add-append": "append-val-1", "x-header-set": "set-val" } });
    expect(a.echo!.path).toBe("/prefix/one");
    expect(a.echo!.headers["x-header-set"]).toBe("set-overwrites-values");
    expect(values(a.echo!.headers["x-header-add-append"])).toEqual(["append-val-1", "header-val-2"]);
    expect(a.echo!.headers["x-header-remove"]).toBeUndefined();
    a = await send(gw, "/one", { host: "rewrite.example" });
    expect(a.echo!.host).toBe("one.example.org");
    a = await send(gw, "/two", { host: "rewrite.example" });
    expect(a.echo!.host).toBe("example.org");
    a = await send(gw, "/rewrite-host-and-modify-headers", { host: "rewrite.example", headers: { "x-header-remove": "remove-val", "x-header-add-append": "append-val-1" } });
    expect([a.pod, a.echo!.host, a.echo!.headers["x-header-add"], a.echo!.headers["x-header-set"], a.echo!.headers["x-header-remove"] ?? "(absent)"]).toEqual([
      "infra-backend-v2-0", "test.example.org", "header-val-1", "set-overwrites-values", "(absent)",
    ]);
    expect(values(a.echo!.headers["x-header-add-append"])).toEqual(["append-val-1", "header-val-2"]);
  });

  test("admin /status serves the Gateway and its routes", async () => {
    const r = await gw.admin("/status");
    expect(r.status).toBe(200);
    const doc = (await r.json()) as { items: { kind: string; metadata: { name: string }; status: { listeners?: { attachedRoutes: number }[]; parents?: { conditions: { type: string; status: string }[] }[] } }[] };
    const gateway = doc.items.find((i) => i.kind === "Gateway" && i.metadata.name === "same-namespace")!;
    expect(gateway.status.listeners![0]!.attachedRoutes).toBe(CASES.length);
    const routes = doc.items.filter((i) => i.kind === "HTTPRoute");
    expect(routes.length).toBe(CASES.length);
    for (const rt of routes) for (const c of rt.status.parents![0]!.conditions) expect(c.status).toBe("True");
  });
});

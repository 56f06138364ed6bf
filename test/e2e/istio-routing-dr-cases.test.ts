// Istio's DestinationRule-driven traffic cases (istio/istio tests/integration/
// pilot/common/routing.go: consistentHashCases, destinationRuleCases,
// serverFirstTestCases, tlsOriginationCases), replayed against the real gateway
// process as the ingress gateway. Istio runs them from a sidecar; here the
// request comes in through a Gateway server and the DestinationRule applies to
// the gateway's cluster as it does to a sidecar's. Each case keeps its Istio
// name, its DestinationRule as Istio writes it (host renamed to a ServiceEntry
// host `<case>.test` whose endpoints are four local backends) and the check
// Istio makes (ConsistentHostChecker: every call lands on one backend; "no
// consistent": they do not).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { walkthroughPki } from "../helpers/pki.ts";
import { startTrafficBackend, type TrafficBackend } from "../helpers/traffic-backends.ts";
import { headerOf, raw } from "../workers/harness.ts";

const pki = await walkthroughPki();
const N = 4;
let backends: TrafficBackend[] = [];
/** TCP backends: each answers its name to whatever it receives. */
let tcp: { port: number; stop(closeActive?: boolean): void }[] = [];
/** serverFirstTestCases' "tcp-server": speaks first (a greeting on accept), as MySQL does. */
let greeter: { port: number; stop(closeActive?: boolean): void };
/** h2c, answering the HTTP version it was spoken to in. */
let h2c: http2.Http2Server;
/** TLS (h2 and HTTP/1.1 by ALPN), answering the ALPN the gateway negotiated. */
let alpnApp: http2.Http2SecureServer;
let gw: GatewayProcess;

/** A STATIC ServiceEntry `<name>.test` on port `port` (protocol `protocol`), endpoints 127.0.0.1 at `targets`. */
function svc(name: string, targets: number[], port = 80, protocol = "HTTP"): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.test]
  ports: [{number: ${port}, name: p, protocol: ${protocol}}]
  resolution: STATIC
  endpoints:
${targets.map((t) => `  - {address: 127.0.0.1, ports: {p: ${t}}}`).join("\n")}
---
`;
}

/** routing.go's destRule template: `consistentHash: {{.}}` for host `<name>.test`. */
function hashRule(name: string, consistentHash: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${name}.test
  trafficPolicy:
    loadBalancer:
      consistentHash:
${consistentHash}
---
`;
}

/** A VirtualService for host `<name>.test` on gateway gw routing everything to `<name>.test:port`. */
function vs(name: string, port = 80): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${name}.test]
  gateways: [gw]
  http: [{route: [{destination: {host: ${name}.test, port: {number: ${port}}}}]}]
---
`;
}

const HASH_CASES = ["no-consistent", "source-ip", "query-param", "http-header", "cookie-ttl", "cookie-no-ttl"] as const;

beforeAll(async () => {
  backends = Array.from({ length: N }, (_, i) => startTrafficBackend(`b${i}`));
  tcp = Array.from({ length: N }, (_, i) => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s) => void s.write(`b${i}`) } }));
  greeter = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void s.write("220 hello\r\n"), data() {} } });
  h2c = http2.createServer((req, res) => res.end(JSON.stringify({ version: req.httpVersion })));
  await new Promise<void>((resolve) => h2c.listen(0, "127.0.0.1", resolve));
  alpnApp = http2.createSecureServer({ cert: pki.httpbin.cert, key: pki.httpbin.key, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] }, (req, res) => {
    res.end(JSON.stringify({ version: req.httpVersion, alpn: (req.socket as tls.TLSSocket).alpnProtocol }));
  });
  await new Promise<void>((resolve) => alpnApp.listen(0, "127.0.0.1", resolve));
  const ports = backends.map((b) => b.port);
  const h2cPort = (h2c.address() as AddressInfo).port;
  const alpnPort = (alpnApp.address() as AddressInfo).port;
  const config =
    `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 31400, name: tcp-hash, protocol: TCP}
    hosts: ["*"]
  - port: {number: 31401, name: tcp-server, protocol: TCP}
    hosts: ["*"]
---
` +
    HASH_CASES.map((c) => svc(c, ports) + vs(c)).join("") +
    hashRule("source-ip", "        useSourceIp: true") +
    hashRule("query-param", "        httpQueryParameterName: some-query-param") +
    hashRule("http-header", "        httpHeaderName: x-some-header") +
    hashRule("cookie-ttl", "        httpCookie:\n          name: session-cookie\n          ttl: 3600s") +
    hashRule("cookie-no-ttl", "        httpCookie:\n          name: session-cookie") +
    // "tcp source ip": the TCP route of a Gateway TCP server
    svc(
      "tcp-source-ip",
      tcp.map((t) => t.port),
      9000,
      "TCP",
    ) +
    hashRule("tcp-source-ip", "        useSourceIp: true") +
    svc("tcp-server", [greeter.port], 9001, "TCP") +
    // serverFirstTestCases "tcp-server:DISABLE/DISABLE": destinationRule(app, "DISABLE")
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: tcp-server}
spec:
  host: tcp-server.test
  trafficPolicy:
    tls:
      mode: DISABLE
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp}
spec:
  hosts: ["*"]
  gateways: [gw]
  tcp:
  - match: [{port: 31400}]
    route: [{destination: {host: tcp-source-ip.test, port: {number: 9000}}}]
  - match: [{port: 31401}]
    route: [{destination: {host: tcp-server.test, port: {number: 9001}}}]
---
` +
    // destinationRuleCases: idletimeoutDestinationRule and http2KeepaliveDestinationRule, on an HTTP2 port
    svc("idletimeout", [h2cPort], 80, "HTTP2") +
    vs("idletimeout") +
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: idletimeout-dr
spec:
  host: idletimeout.test
  trafficPolicy:
    tls:
      mode: DISABLE
    connectionPool:
      http:
        idleTimeout: 100s
---
` +
    svc("http2-keepalive", [h2cPort], 80, "HTTP2") +
    vs("http2-keepalive") +
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: http2-keepalive-dr
spec:
  host: http2-keepalive.test
  trafficPolicy:
    tls:
      mode: DISABLE
    connectionPool:
      http:
        http2KeepAlive:
          interval: 15s
          timeout: 5s
---
` +
    // tlsOriginationCases "DNS": a DestinationRule SIMPLE, insecureSkipVerify on the external
    // service, one port HTTP (8888) and one HTTP2 (8882), both to the TLS server
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external}
spec:
  hosts: [external.test]
  resolution: STATIC
  ports:
  - {name: http-tls-origination, number: 8888, protocol: http}
  - {name: http2-tls-origination, number: 8882, protocol: http2}
  endpoints: [{address: 127.0.0.1, ports: {http-tls-origination: ${alpnPort}, http2-tls-origination: ${alpnPort}}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: external
spec:
  host: external.test
  trafficPolicy:
    tls:
      mode: SIMPLE
      insecureSkipVerify: true
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: external}
spec:
  hosts: [external.test]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /h2}}]
    route: [{destination: {host: external.test, port: {number: 8882}}}]
  - route: [{destination: {host: external.test, port: {number: 8888}}}]
---
`;
  gw = await startGateway({ configDirs: [writeTree({ "config.yaml": config })], gatewayPorts: [80, 31400, 31401] });
});

afterAll(async () => {
  expect(await gw.stop()).toBe(0);
  for (const b of backends) b.stop();
  for (const t of tcp) t.stop(true);
  greeter?.stop(true);
  h2c?.close();
  alpnApp?.close();
});

/** One HTTP/1.1 request; the status, the backend that answered (x-backend), Set-Cookie and the body. */
async function call(host: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; backend: string | undefined; setCookie: string | undefined; body: string }> {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  const r = await raw(gw.ports.get(80)!, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
  return { status: Number(r.text.slice(9, 12)), backend: headerOf(r.text, "x-backend"), setCookie: headerOf(r.text, "set-cookie"), body: r.text.slice(r.text.indexOf("\r\n\r\n") + 4) };
}

/** routing.go's callOpts: 10 calls to `/?some-query-param=bar` with x-some-header: baz (and `cookie`); the backends that answered. */
async function tenCalls(host: string, cookie?: string): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const r = await call(host, "/?some-query-param=bar", { "x-some-header": "baz", ...(cookie === undefined ? {} : { cookie }) });
    expect(r.status).toBe(200);
    seen.add(r.backend!);
  }
  return seen;
}

describe("consistentHashCases", () => {
  test("no consistent: 10 calls do not all land on one backend", async () => {
    expect((await tenCalls("no-consistent.test")).size).toBeGreaterThan(1);
  });

  test("source ip: 10 calls land on one backend", async () => {
    expect((await tenCalls("source-ip.test")).size).toBe(1);
  });

  for (const [name, host, vary] of [
    ["query param", "query-param.test", (v: string) => ({ path: `/?some-query-param=${v}`, headers: {} })],
    ["http header", "http-header.test", (v: string) => ({ path: "/", headers: { "x-some-header": v } })],
  ] as const) {
    test(`${name}: 10 calls land on one backend (and the key, varied, reaches more than one)`, async () => {
      expect((await tenCalls(host)).size).toBe(1);
      // not Istio's check: the hash is on that key, not a constant
      const spread = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const c = vary(`v${i}`);
        spread.add((await call(host, c.path, c.headers)).backend!);
      }
      expect(spread.size).toBeGreaterThan(1);
    });
  }

  test("http cookie with ttl: the gateway sets session-cookie (Max-Age 3600) and the calls sending it back land on one backend", async () => {
    const first = await call("cookie-ttl.test", "/?some-query-param=bar", { "x-some-header": "baz" });
    expect(first.status).toBe(200);
    const cookie = first.setCookie ?? "";
    expect(cookie).toMatch(/^session-cookie="[0-9a-f]+"; Max-Age=3600; HttpOnly$/);
    const seen = await tenCalls("cookie-ttl.test", cookie.split(";")[0]);
    seen.add(first.backend!);
    expect(seen.size).toBe(1);
  });

  test("http cookie without ttl: Cookie session-cookie=somecookie, 10 calls on one backend, no Set-Cookie", async () => {
    expect((await tenCalls("cookie-no-ttl.test", "session-cookie=somecookie")).size).toBe(1);
    expect((await call("cookie-no-ttl.test", "/", { cookie: "session-cookie=somecookie" })).setCookie).toBeUndefined();
  });

  test("tcp source ip: 10 connections through a Gateway TCP server land on one backend", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = await raw(gw.ports.get(31400)!, "hi", (got) => got.length >= 2);
      seen.add(r.text);
    }
    expect(seen.size).toBe(1);
    expect([...seen][0]).toMatch(/^b[0-3]$/);
  });
});

describe("serverFirstTestCases", () => {
  test("tcp-server:DISABLE/DISABLE: the upstream speaks first, the client says nothing and gets its greeting", async () => {
    const r = await raw(gw.ports.get(31401)!, [], (got) => got.toString().includes("\r\n"));
    expect(r.text).toBe("220 hello\r\n");
  });
});

/** One HTTP/2 (h2c) request to the gateway; the status and body. */
async function h2get(authority: string, path = "/"): Promise<[number, string]> {
  const c = http2.connect(gw.url(80));
  try {
    return await new Promise<[number, string]>((resolve, reject) => {
      const s = c.request({ ":path": path, ":authority": authority });
      let status = 0;
      let body = "";
      s.on("response", (h) => (status = Number(h[":status"])));
      s.setEncoding("utf8");
      s.on("data", (d: string) => (body += d));
      s.on("end", () => resolve([status, body]));
      s.on("error", reject);
    });
  } finally {
    c.close();
  }
}

describe("destinationRuleCases", () => {
  test("only idletimeout specified in DR: an HTTP/2 client is served", async () => {
    const [status, body] = await h2get("idletimeout.test");
    expect([status, JSON.parse(body).version]).toEqual([200, "2.0"]);
  });

  test("http2 keepalive in DR: served, the upstream spoken to in HTTP/2 (http2KeepAlive itself is a GW0407 field not read)", async () => {
    const [status, body] = await h2get("http2-keepalive.test");
    expect([status, JSON.parse(body).version]).toEqual([200, "2.0"]);
    expect(gw.output()).toMatch(/http2KeepAlive[^\n]*GW0407/);
  });
});

describe("tlsOriginationCases", () => {
  test("DNS: http/1.1 on the HTTP port (no ALPN offered: the server's default), h2 on the HTTP2 port", async () => {
    const get = async (path: string) => {
      const r = await fetch(gw.url(80, path), { headers: { host: "external.test" } });
      return [r.status, await r.json()];
    };
    expect(await get("/")).toEqual([200, { version: "1.1", alpn: false }]);
    expect(await get("/h2")).toEqual([200, { version: "2.0", alpn: "h2" }]);
  });
});

// The rest of Istio's gatewayCases (istio/istio tests/integration/pilot/common/
// routing.go) and its gateway-topology cases (XFFGatewayCase, run with
// numTrustedProxies 2 in gw_topology_test.go), replayed against the real
// gateway process: HTTPS with every cipher suite Istio accepts plus a fake one,
// OPTIONAL_MUTUAL without a client certificate, `scheme` matches on HTTP and
// HTTPS, re-encryption to a TLS backend (DestinationRule SIMPLE,
// insecureSkipVerify), httpsRedirect with a trusted x-forwarded-proto, the
// client address behind two trusted proxies, and a TCP route.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { secretYaml } from "../../src/cli/certs.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { httpsGet } from "../helpers/https.ts";
import { walkthroughPki } from "../helpers/pki.ts";
import { startTrafficBackend, type TrafficBackend } from "../helpers/traffic-backends.ts";
import { headerOf, raw } from "../workers/harness.ts";

const pki = await walkthroughPki();
const HOST = "httpbin.example.com";
// security.ValidCipherSuites of Istio, and one it filters out
const CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-SHA",
  "ECDHE-RSA-AES128-SHA",
  "ECDHE-ECDSA-AES256-SHA",
  "ECDHE-RSA-AES256-SHA",
  "AES128-GCM-SHA256",
  "AES256-GCM-SHA384",
  "AES128-SHA",
  "AES256-SHA",
  "DES-CBC3-SHA",
  "fake",
];

let app: TrafficBackend;
let tlsApp: Server<undefined>;
let tcpApp: { port: number; stop(closeActive?: boolean): void };
/** h2 or HTTP/1.1 by ALPN; answers the protocol version it was spoken to in. */
let versionApp: http2.Http2SecureServer;
let gw: GatewayProcess;

beforeAll(async () => {
  app = startTrafficBackend("app");
  tlsApp = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pki.httpbin.cert, key: pki.httpbin.key },
    fetch: (req) => Response.json({ tls: new URL(req.url).protocol, host: req.headers.get("host") }),
  });
  versionApp = http2.createSecureServer({ cert: pki.httpbin.cert, key: pki.httpbin.key, allowHTTP1: true }, (req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ version: req.httpVersion }));
  });
  await new Promise<void>((resolve) => versionApp.listen(0, "127.0.0.1", resolve));
  const versionPort = (versionApp.address() as AddressInfo).port;
  tcpApp = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s, d) => void s.write(`tcp:${Buffer.from(d).toString()}`) } });
  const svc = (name: string, port: number, protocol: string, target: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.test]
  ports: [{number: ${port}, name: p${port}, protocol: ${protocol}}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {p${port}: ${target}}}]
---
`;
  const config = `${svc("app", 80, "HTTP", app.port)}${svc("tls-app", 443, "HTTPS", tlsApp.port!)}${svc("tcp-app", 9000, "TCP", tcpApp.port)}${svc("version-app", 443, "HTTPS", versionPort)}
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: cred, cipherSuites: ${JSON.stringify(CIPHERS)}}
    hosts: [${HOST}]
  - port: {number: 8443, name: https-optional, protocol: HTTPS}
    tls: {mode: OPTIONAL_MUTUAL, credentialName: cred-ca}
    hosts: [${HOST}]
  - port: {number: 8080, name: http-redirect, protocol: HTTP}
    hosts: ["*"]
    tls: {httpsRedirect: true}
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin}
spec:
  hosts: [${HOST}]
  gateways: [gateway]
  http:
  - match: [{scheme: {exact: https}, uri: {prefix: /scheme}}]
    route: [{destination: {host: app.test}}]
    headers: {request: {add: {istio-custom-header: https-matched}}}
  - match: [{scheme: {exact: http}, uri: {prefix: /scheme}}]
    route: [{destination: {host: app.test}}]
    headers: {request: {add: {istio-custom-header: http-matched}}}
  - match: [{uri: {prefix: /reencrypt}}]
    route: [{destination: {host: tls-app.test, port: {number: 443}}}]
  - match: [{uri: {prefix: /client-protocol}}]
    route: [{destination: {host: version-app.test, port: {number: 443}}}]
  - route: [{destination: {host: app.test}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp}
spec:
  hosts: ["*"]
  gateways: [gateway]
  tcp: [{match: [{port: 31400}], route: [{destination: {host: tcp-app.test, port: {number: 9000}}}]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: tls-app}
spec:
  host: tls-app.test
  trafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: use-client-protocol}
spec:
  host: version-app.test
  trafficPolicy:
    tls: {mode: SIMPLE, insecureSkipVerify: true}
    connectionPool: {http: {useClientProtocol: true}}
---
${secretYaml("cred", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key)}---
${secretYaml("cred-ca", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key, pki.ca.cert)}`;
  gw = await startGateway({
    configDirs: [writeTree({ "config.yaml": config })],
    gatewayPorts: [80, 443, 8443, 8080, 31400],
    // gw_topology_test.go: gatewayTopology numTrustedProxies 2
    args: ["--trusted-proxies", "2"],
  });
});

afterAll(async () => {
  expect(await gw.stop()).toBe(0);
  app.stop();
  tlsApp.stop(true);
  tcpApp.stop(true);
  versionApp.close();
});

async function h1(port: number, host: string, path: string, headers: Record<string, string> = {}) {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  const r = await raw(gw.ports.get(port)!, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
  return { status: Number(r.text.slice(9, 12)), text: r.text, body: r.text.slice(r.text.indexOf("\r\n\r\n") + 4) };
}

describe("gatewayCases", () => {
  test("cipher suite: every suite Istio accepts, and a fake one dropped", async () => {
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: HOST, path: "/", ca: pki.ca.cert });
    expect(r.status).toBe(200);
  });

  test("optional mTLS: a client without a certificate is served", async () => {
    const r = await httpsGet({ port: gw.ports.get(8443)!, servername: HOST, path: "/", ca: pki.ca.cert });
    expect(r.status).toBe(200);
  });

  test("HTTP scheme match / HTTPS scheme match", async () => {
    const plain = await h1(80, HOST, "/scheme");
    expect(JSON.parse(plain.body).headers["istio-custom-header"]).toBe("http-matched");
    const tls = await httpsGet({ port: gw.ports.get(443)!, servername: HOST, path: "/scheme", ca: pki.ca.cert });
    expect(JSON.parse(tls.body).headers["istio-custom-header"]).toBe("https-matched");
  });

  test("HTTPS re-encrypt: DestinationRule SIMPLE, insecureSkipVerify", async () => {
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: HOST, path: "/reencrypt", ca: pki.ca.cert });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).tls).toBe("https:");
  });

  test("https redirect: 301", async () => {
    const r = await h1(8080, HOST, "/");
    expect(r.status).toBe(301);
    expect(headerOf(r.text, "location")).toBe(`https://${HOST}/`);
  });

  test("https with x-forwarded-proto: a trusted proxy in front terminated TLS, so no redirect", async () => {
    const r = await h1(8080, HOST, "/scheme", { "x-forwarded-proto": "https" });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body).headers;
    expect(seen["x-forwarded-proto"]).toBe("https");
    expect(seen["istio-custom-header"]).toBe("https-matched");
  });
});

describe("client protocol - use client with (DestinationRule useClientProtocol)", () => {
  test("http1: the upstream is spoken to in HTTP/1.1", async () => {
    const r = await h1(80, HOST, "/client-protocol");
    expect([r.status, JSON.parse(r.body).version]).toEqual([200, "1.1"]);
  });

  test("http2: the upstream is spoken to in HTTP/2", async () => {
    const c = http2.connect(`http://127.0.0.1:${gw.ports.get(80)!}`);
    try {
      const [status, body] = await new Promise<[number, string]>((resolve, reject) => {
        const s = c.request({ ":path": "/client-protocol", ":authority": HOST });
        let status = 0;
        let body = "";
        s.on("response", (h) => (status = Number(h[":status"])));
        s.setEncoding("utf8");
        s.on("data", (d: string) => (body += d));
        s.on("end", () => resolve([status, body]));
        s.on("error", reject);
      });
      expect([status, JSON.parse(body).version]).toEqual([200, "2.0"]);
    } finally {
      c.close();
    }
  });
});

describe("XFFGatewayCase (numTrustedProxies 2)", () => {
  test("x-envoy-external-address is the second address from the right; x-forwarded-for gets the peer appended", async () => {
    const r = await h1(80, HOST, "/", { "x-forwarded-for": "56.5.6.7, 72.9.5.6, 98.1.2.3" });
    const seen = JSON.parse(r.body).headers;
    expect(seen["x-envoy-external-address"]).toBe("72.9.5.6");
    const xff = String(seen["x-forwarded-for"]).split(",");
    expect(xff.length).toBe(4);
    expect(xff[1]!.trim()).toBe("72.9.5.6");
  });
});

describe("tcpVirtualService", () => {
  test("a TCP server port routed by a tcp match on the port", async () => {
    const r = await raw(gw.ports.get(31400)!, "hello", (got) => got.toString().includes("tcp:hello"));
    expect(r.text).toBe("tcp:hello");
  });
});

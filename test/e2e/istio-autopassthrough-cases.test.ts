// Istio's autoPassthroughCases (istio/istio tests/integration/pilot/common/
// routing.go), replayed against the real gateway process: a Gateway server in
// AUTO_PASSTHROUGH on 443 must not let a plain TLS client reach a destination
// by naming its cluster in the SNI. Istio calls every SNI form of the cluster
// (BuildSubsetKey `outbound|80||host`, BuildDNSSrvSubsetKey `outbound_.80_._.host`)
// of a service with mTLS (a sidecar that demands the mesh's client certificate;
// here a TLS server that demands a client certificate) and of a naked one (plain
// HTTP behind the port), with every Istio ALPN and none, and expects each call
// to fail (check.Error, 5 s timeout). The PeerAuthentication modes Istio loops
// over are the destination sidecar's, not the gateway's: one mode here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { walkthroughPki } from "../helpers/pki.ts";
import { startTrafficBackend, type TrafficBackend } from "../helpers/traffic-backends.ts";

const pki = await walkthroughPki();
let naked: TrafficBackend;
/** Demands a client certificate from its CA, as a STRICT sidecar demands the mesh's. */
let strict: tls.Server;
let gw: GatewayProcess;

beforeAll(async () => {
  naked = startTrafficBackend("naked");
  strict = tls.createServer({ cert: pki.httpbin.cert, key: pki.httpbin.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true }, (s) => s.end("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
  await new Promise<void>((resolve) => strict.listen(0, "127.0.0.1", resolve));
  // "a" has a sidecar: its endpoint is labelled security.istio.io/tlsMode: istio, as the injector labels its pod
  const se = (name: string, port: number, labels = "{}") => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.ns.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${port}}, labels: ${labels}}]
---
`;
  const config = `${se("a", (strict.address() as AddressInfo).port, "{security.istio.io/tlsMode: istio}")}${se("naked", naked.port)}apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: cross-network-gateway-test
spec:
  selector:
    istio: ingressgateway
  servers:
    - port:
        number: 443
        name: tls
        protocol: TLS
      tls:
        mode: AUTO_PASSTHROUGH
      hosts:
        - "*.local"
`;
  gw = await startGateway({ configDirs: [writeTree({ "config.yaml": config })], gatewayPorts: [443] });
});

afterAll(async () => {
  expect(await gw.stop()).toBe(0);
  naked.stop();
  strict?.close();
});

/** A TLS call as Istio's echo client makes it (no server verification), then a request; "ok" or the error. */
function call(servername: string, alpn: string, client?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: "127.0.0.1", port: gw.ports.get(443)!, servername, ALPNProtocols: alpn === "" ? undefined : [alpn], rejectUnauthorized: false, ...client });
    const timer = setTimeout(() => {
      s.destroy();
      resolve("timeout");
    }, 5000);
    let got = "";
    s.on("secureConnect", () => s.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    s.on("data", (d) => (got += d.toString()));
    s.on("error", (e) => {
      clearTimeout(timer);
      resolve(`error: ${e.message}`);
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got.startsWith("HTTP/1.1 200") ? "ok" : `closed: ${JSON.stringify(got.slice(0, 40))}`);
    });
  });
}

describe("autoPassthroughCases", () => {
  const alpns = ["istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2", ""];
  const snis = ["a", "naked"].flatMap((h) => [`outbound|80||${h}.ns.svc.cluster.local`, `outbound_.80_._.${h}.ns.svc.cluster.local`]);
  for (const sni of snis) {
    test(`sni:${sni}: every ALPN (${alpns.map((a) => a || "none").join(", ")}) fails`, async () => {
      const got = await Promise.all(alpns.map((a) => call(sni, a)));
      for (const g of got) expect(g).not.toBe("ok");
      expect(got.some((g) => g === "timeout")).toBe(false);
    });
  }

  // not Istio's check: the control that makes the failures above the destination's refusal,
  // not a dead route (the mesh's client, with the certificate the destination demands, is served)
  test("control: a client with the demanded certificate reaches the mTLS destination by its outbound_.80_._ name", async () => {
    expect(await call(snis[1]!, "istio", { cert: pki.client.cert, key: pki.client.key })).toBe("ok");
  });

  // istiod's EndpointsWithMTLSFilter: the SNI-DNAT cluster of a service without a sidecar has no endpoint,
  // so the connection is closed at the gateway (UH): no upstream connection is made
  test("a plain-text destination (no tlsMode label) is not reached by its outbound_.80_._ name: closed at the gateway, UH", async () => {
    const cluster = "outbound_.80_._.naked.ns.svc.cluster.local";
    const uh = async () => Number(new RegExp(`gangway_upstream_rq_error_total\\{cluster="${cluster.replace(/\./g, "\\.")}",flag="UH"\\} (\\d+)`).exec(await (await gw.admin("/stats/prometheus")).text())?.[1] ?? 0);
    const before = await uh();
    expect(await call(cluster, "istio", { cert: pki.client.cert, key: pki.client.key })).toMatch(/^(error|closed)/);
    await gw.waitForOutput(/"- - -" 0 UH .* outbound_\.80_\._\.naked\.ns\.svc\.cluster\.local /);
    expect((await uh()) - before).toBe(1);
  });

  // gateway.go builtAutoPassthroughFilterChains: each chain matches the cluster's SNI *and*
  // allIstioMtlsALPNs, so a ClientHello without one of them finds no filter chain
  test("a ClientHello without an Istio mTLS ALPN (none, h2, http/1.1) finds no chain, even with the destination's certificate", async () => {
    const refused = async () => Number(/gangway_tls_refused_total\{listener="0\.0\.0\.0_443",reason="no_alpn_match"\} (\d+)/.exec(await (await gw.admin("/stats/prometheus")).text())?.[1] ?? 0);
    const before = await refused();
    const got = await Promise.all(["", "h2", "http/1.1"].map((a) => call(snis[1]!, a, { cert: pki.client.cert, key: pki.client.key })));
    for (const g of got) expect(g).toMatch(/^(error|closed)/);
    expect((await refused()) - before).toBe(3);
  });
});

// The walkthrough's "不终止TLS的ingress网关" section through the real gateway
// process, against a real nginx: a PASSTHROUGH server on 443 for
// nginx.example.com and a VirtualService tls route to my-nginx:443; the client
// sees nginx's own certificate. Then passthrough beside termination on the
// same port, refusals the access log explains, and AUTO_PASSTHROUGH.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { secretYaml } from "../../src/cli/certs.ts";
import { issue, type Issued } from "../../src/certs/generate.ts";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { serviceEntry } from "../helpers/config.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";
import { NGINX_BINARY } from "../../src/demo/nginx.ts";
import { startNginx, type Nginx } from "../helpers/nginx.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { walkthroughGateway } from "../helpers/walkthrough.ts";

let pki: WalkthroughPki;
let nginxCert: Issued;
let nginx: Nginx;
let httpbin: Backend;
// nginx is installed by .ci/run; elsewhere these tests say they are skipped, and why
const hasNginx = NGINX_BINARY !== null;
if (!hasNginx) console.warn("nginx not found: the PASSTHROUGH walkthrough tests are skipped (apt-get install nginx-light, as .ci/run does)");

beforeAll(async () => {
  if (!hasNginx) return;
  pki = await walkthroughPki();
  // openssl req -subj "/CN=nginx.example.com/O=some organization" ...; openssl x509 -req -CA example.com.crt
  nginxCert = await issue(pki.ca, { cn: "nginx.example.com", org: "some organization", usage: "server", keyType: "ec" });
  nginx = await startNginx({ serverName: "nginx.example.com", cert: nginxCert.cert, key: nginxCert.key });
  httpbin = startHttpbin({ name: "httpbin" });
});
afterAll(async () => {
  await nginx?.stop();
  await httpbin?.stop();
});

// the walkthrough's Service, with the Endpoints Kubernetes would make for its pod (nginx on loopback)
/** `endpointLabels`: the Endpoints' labels (a sidecar-injected pod's would carry `security.istio.io/tlsMode: istio`). */
function myNginx(endpointLabels = "{}"): string {
  return `
apiVersion: v1
kind: Service
metadata:
  name: my-nginx
  labels:
    run: my-nginx
spec:
  ports:
  - port: 443
    protocol: TCP
  selector:
    run: my-nginx
---
apiVersion: v1
kind: Endpoints
metadata:
  name: my-nginx
  labels: ${endpointLabels}
subsets:
- addresses: [{ip: 127.0.0.1}]
  ports: [{port: ${nginx.port}, protocol: TCP}]
`;
}

const GATEWAY = walkthroughGateway("PASSTHROUGH", "nginx.example.com");

const VIRTUAL_SERVICE = `
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: nginx
spec:
  hosts:
  - nginx.example.com
  gateways:
  - mygateway
  tls:
  - match:
    - port: 443
      sniHosts:
      - nginx.example.com
    route:
    - destination:
        host: my-nginx
        port:
          number: 443
`;

describe.skipIf(!hasNginx)("walkthrough: PASSTHROUGH to nginx", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    const dir = writeTree({ "nginx.yaml": myNginx(), "gateway.yaml": GATEWAY, "vs.yaml": VIRTUAL_SERVICE });
    gw = await startGateway({ configDirs: [dir], gatewayPorts: [443] });
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("curl --cacert example.com.crt https://nginx.example.com → Welcome to nginx!, with nginx's own certificate", async () => {
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: "nginx.example.com", path: "/", ca: pki.ca.cert });
    expect(r.status).toBe(200);
    expect(r.body).toContain("<title>Welcome to nginx!</title>");
    expect(String(r.headers.server)).toMatch(/^nginx/);
    expect(r.headers["x-envoy-upstream-service-time"]).toBeUndefined(); // not proxied at L7
    expect(r.peer.subject).toMatchObject({ CN: "nginx.example.com", O: "some organization" });
    expect(r.peer.issuer).toMatchObject({ CN: "example.com", O: "example Inc." });
    expect(r.peer.fingerprint256).toBe(new X509Certificate(nginxCert.cert).fingerprint256);
    expect(nginx.errors()).not.toContain("[crit]");
  });

  test("the access log line names the SNI, upstream, cluster and bytes both ways", async () => {
    await httpsGet({ port: gw.ports.get(443)!, servername: "nginx.example.com", path: "/", ca: pki.ca.cert });
    await gw.waitForOutput(/"- - -" 0 .* "127\.0\.0\.1:\d+" outbound\|443\|\|my-nginx\.default\.svc\.cluster\.local .* nginx\.example\.com nginx\.tls\.0/);
    const line = gw.output().split("\n").find((l) => l.includes("nginx.tls.0"))!;
    const [received, sent] = line.split(/\s+/).slice(9, 11).map(Number); // after `"- - -" 0 flags details termination "-"`
    expect(received).toBeGreaterThan(100);
    expect(sent).toBeGreaterThan(600);
  });

  test("an SNI the route does not name, or none, is closed; the access log says why", async () => {
    expect((await handshake({ port: gw.ports.get(443)!, servername: "other.example.com", ca: pki.ca.cert })).ok).toBe(false);
    expect((await handshake({ port: gw.ports.get(443)!, ca: pki.ca.cert })).ok).toBe(false);
    await gw.waitForOutput(/"- - -" 0 NR unknown_sni no_server_for_this_SNI .* other\.example\.com -/);
    await gw.waitForOutput(/"- - -" 0 NR unknown_sni no_SNI_and_no_server_for_any_name /);
  });

  test("istio_tcp_* metrics by destination_service", async () => {
    const text = await (await gw.admin("/stats/prometheus")).text();
    const dest = 'destination_service="my-nginx.default.svc.cluster.local"';
    for (const m of ["istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total", "istio_tcp_received_bytes_total", "istio_tcp_sent_bytes_total"]) {
      expect(text).toMatch(new RegExp(`${m}\\{[^}]*${dest}[^}]*\\} [1-9]`));
    }
  });
});

describe.skipIf(!hasNginx)("PASSTHROUGH beside SIMPLE on one port", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    const gateway = `${GATEWAY.trimEnd()}
  - port: {number: 443, name: https-httpbin, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: httpbin-credential}
    hosts: [httpbin.example.com]
`;
    const dir = writeTree({
      "nginx.yaml": myNginx(),
      "gateway.yaml": gateway,
      "vs.yaml": VIRTUAL_SERVICE,
      "httpbin.yaml":
        serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbin.port) +
        `---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: httpbin}
spec:
  hosts: [httpbin.example.com]
  gateways: [mygateway]
  http:
  - route: [{destination: {host: httpbin, port: {number: 8000}}}]
`,
      "secret.yaml": secretYaml("httpbin-credential", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key),
    });
    gw = await startGateway({ configDirs: [dir], gatewayPorts: [443] });
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("the SNI decides: nginx's certificate for nginx.example.com, the gateway's for httpbin.example.com, at the same time", async () => {
    const port = gw.ports.get(443)!;
    const rounds = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? httpsGet({ port, servername: "nginx.example.com", path: "/", ca: pki.ca.cert })
          : httpsGet({ port, servername: "httpbin.example.com", path: "/status/418", ca: pki.ca.cert }),
      ),
    );
    rounds.forEach((r, i) => {
      if (i % 2 === 0) {
        expect(r.status).toBe(200);
        expect(r.peer.subject.CN).toBe("nginx.example.com");
        expect(String(r.headers.server)).toMatch(/^nginx/);
      } else {
        expect(r.status).toBe(418);
        expect(r.peer.subject.CN).toBe("httpbin.example.com");
        expect(r.headers.server).toBe("istio-envoy");
      }
    });
  });
});

describe.skipIf(!hasNginx)("a PASSTHROUGH server no route applies to", () => {
  test("analyze reports it (Istio drops such a listener silently, istio/istio #50403)", async () => {
    const dir = writeTree({ "nginx.yaml": myNginx(), "gateway.yaml": GATEWAY, "vs.yaml": VIRTUAL_SERVICE.replace("- port: 443", "- port: 8443") });
    const r = await runCli(["analyze", "--config", dir]);
    expect(r.stdout).toContain("GW0207");
    expect(r.stdout).toMatch(/PASSTHROUGH server on port 443 \(nginx\.example\.com\): no VirtualService tls route applies/);
    expect(r.code).toBe(0); // a warning
  });
});

describe.skipIf(!hasNginx)("AUTO_PASSTHROUGH", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    const dir = writeTree({
      // AUTO_PASSTHROUGH reaches only endpoints taking Istio mTLS (istiod's SNI-DNAT endpoint filter)
      "nginx.yaml": myNginx("{security.istio.io/tlsMode: istio}"),
      "gateway.yaml": `
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: cross-network, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: ["*.local"]
`,
    });
    gw = await startGateway({ configDirs: [dir], gatewayPorts: [15443] });
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("SNI outbound_.443_._.my-nginx.default.svc.cluster.local with an Istio mTLS ALPN reaches nginx with no VirtualService", async () => {
    const r = await handshake({ port: gw.ports.get(15443)!, servername: "outbound_.443_._.my-nginx.default.svc.cluster.local", alpn: ["istio", "http/1.1"] }); // nginx refuses a hello without an ALPN it speaks
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.peer.subject.CN).toBe("nginx.example.com");
  });

  test("the same SNI without an Istio mTLS ALPN (h2, http/1.1) is closed, as istiod's chains match allIstioMtlsALPNs", async () => {
    expect((await handshake({ port: gw.ports.get(15443)!, servername: "outbound_.443_._.my-nginx.default.svc.cluster.local" })).ok).toBe(false);
  });

  test("a port the service does not have, or a host outside the server's, is closed", async () => {
    expect((await handshake({ port: gw.ports.get(15443)!, servername: "outbound_.80_._.my-nginx.default.svc.cluster.local", alpn: ["istio"] })).ok).toBe(false);
    expect((await handshake({ port: gw.ports.get(15443)!, servername: "outbound_.443_._.my-nginx.example.com", alpn: ["istio"] })).ok).toBe(false);
  });
});

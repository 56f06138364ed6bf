// BackendTLSPolicy end to end, through the real gateway process and real TLS:
// HTTPS backends whose certificate (abc.example.com, other.example.com and
// spiffe://abc.example.com/test-identity, as the conformance suite's) is signed
// by a CA given in a ConfigMap. The right CA and name → 200 (the backend sees
// the policy's hostname as SNI); a wrong name, a wrong CA, a SAN the certificate
// lacks, an invalid CA reference → 503 (Envoy: upstream TLS failure); the
// Gateway's tls.backend.clientCertificateRef is presented to a backend that
// requires a client certificate; a TLS Terminate listener's TLSRoute is
// encrypted again toward its backend; edits of the ConfigMap and the policy take
// effect on reload.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createServer as createTlsServer, type Server, type TLSSocket } from "node:tls";
import { join } from "node:path";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { httpsGet } from "../helpers/https.ts";
import { configFiles, INFRA, send, startBackends, type Backend } from "./gatewayapi-helpers.ts";
import { untilValue } from "../helpers/until-value.ts";

interface Seen {
  sni: string;
  client: string;
}

/**
 * An HTTPS backend (node:tls, HTTP/1.1 by hand: Bun's node:https request socket has no
 * getPeerCertificate) answering what it saw: the SNI and the client certificate's CN ("" without one).
 */
function httpsBackend(cert: Issued, clientCa: string | null): Promise<{ server: Server; port: number }> {
  const server = createTlsServer({ cert: cert.cert, key: cert.key, ...(clientCa !== null ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, (s: TLSSocket) => {
    let buf = "";
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      while (buf.includes("\r\n\r\n")) {
        buf = buf.slice(buf.indexOf("\r\n\r\n") + 4); // GETs only: no body
        const cn = clientCa !== null ? (s.getPeerCertificate()?.subject?.CN ?? "") : "";
        const seen: Seen = { sni: (s as TLSSocket & { servername?: string }).servername || "", client: Array.isArray(cn) ? cn.join(",") : cn };
        const body = JSON.stringify(seen);
        s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-pod: tls-backend-0\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port })));
}

const service = (name: string, port: number): string => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${INFRA}}
spec:
  ports: [{name: btls, port: 443, targetPort: 8443}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-e2e, namespace: ${INFRA}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1]}]
ports: [{name: btls, port: ${port}}]
`;

const policy = (name: string, svc: string, validation: string): string => `
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: ${name}, namespace: ${INFRA}}
spec:
  targetRefs: [{group: "", kind: Service, name: ${svc}, sectionName: btls}]
  validation: ${validation}
`;

const caConfigMap = (name: string, pem: string): string => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: INFRA }, data: { "ca.crt": pem } }) + "\n";

const CA_REF = `{caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}], hostname: abc.example.com}`;

/** `okHostname`: the hostname of policy "ok" (edited by the reload test). */
function policies(okHostname = "abc.example.com"): string {
  return [
    policy("ok", "btls-ok", CA_REF.replace("abc.example.com", okHostname)),
    policy("wrong-host", "btls-wrong-host", `{caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}], hostname: mismatch.example.com}`),
    policy("wrong-ca", "btls-wrong-ca", `{caCertificateRefs: [{group: "", kind: ConfigMap, name: other-ca}], hostname: abc.example.com}`),
    policy("san-uri", "btls-san-uri", `{caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}], hostname: abc.example.com, subjectAltNames: [{type: URI, uri: "spiffe://abc.example.com/test-identity"}]}`),
    policy("san-mismatch", "btls-san-mismatch", `{caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}], hostname: abc.example.com, subjectAltNames: [{type: Hostname, hostname: dce.example.com}]}`),
    policy("missing-ca", "btls-missing-ca", `{caCertificateRefs: [{group: "", kind: ConfigMap, name: no-such-ca}], hostname: abc.example.com}`),
    policy("mtls", "btls-mtls", CA_REF),
    policy("mtls-no-cert", "btls-mtls-no-cert", CA_REF),
    policy("terminate", "btls-terminate", CA_REF),
  ].join("---\n");
}

const NAMES = ["ok", "wrong-host", "wrong-ca", "san-uri", "san-mismatch", "missing-ca"];

function routes(): string {
  const rules = NAMES.map((n) => `  - matches: [{path: {type: Exact, value: /${n}}}]\n    backendRefs: [{name: btls-${n}, port: 443}]`);
  rules.push(`  - matches: [{path: {type: Exact, value: /mtls-no-cert}}]\n    backendRefs: [{name: btls-mtls-no-cert, port: 443}]`);
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: btls, namespace: ${INFRA}}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
${rules.join("\n")}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-client-cert, namespace: ${INFRA}}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 8080, protocol: HTTP}]
  tls:
    backend:
      clientCertificateRef: {group: "", kind: Secret, name: gateway-client}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: btls-mtls, namespace: ${INFRA}}
spec:
  parentRefs: [{name: gw-client-cert}]
  rules: [{backendRefs: [{name: btls-mtls, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-terminate, namespace: ${INFRA}}
spec:
  gatewayClassName: istio
  listeners:
  - name: tls-terminate
    port: 8443
    protocol: TLS
    hostname: tls.example.com
    tls: {mode: Terminate, certificateRefs: [{name: gw-cert}]}
    allowedRoutes: {kinds: [{kind: TLSRoute}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: btls-terminate, namespace: ${INFRA}}
spec:
  parentRefs: [{name: gw-terminate}]
  hostnames: [tls.example.com]
  rules: [{backendRefs: [{name: btls-terminate, port: 443}]}]
`;
}

let ca: Issued;
let other: Issued;
let backends: Backend[];
let tls: { server: Server; port: number };
let mtls: { server: Server; port: number };
let gw: GatewayProcess;
let dir: string;

beforeAll(async () => {
  [ca, other] = await Promise.all([createCA({ cn: "backend-ca", keyType: "ec" }), createCA({ cn: "another-ca", keyType: "ec" })]);
  const [leaf, client, gwCert] = await Promise.all([
    issue(ca, { cn: "abc.example.com", names: ["abc.example.com", "other.example.com"], uris: ["spiffe://abc.example.com/test-identity"], usage: "server", keyType: "ec" }),
    issue(ca, { cn: "gateway-client", usage: "client", keyType: "ec" }),
    issue(ca, { cn: "tls.example.com", usage: "server", keyType: "ec" }),
  ]);
  backends = startBackends();
  [tls, mtls] = await Promise.all([httpsBackend(leaf, null), httpsBackend(leaf, ca.cert)]);
  const files = configFiles(backends, []);
  const svcs = NAMES.map((n) => service(`btls-${n}`, tls.port));
  svcs.push(service("btls-mtls", mtls.port), service("btls-mtls-no-cert", mtls.port), service("btls-terminate", tls.port));
  files["services.yaml"] = svcs.join("---\n");
  files["routes.yaml"] = routes();
  files["policies.yaml"] = policies();
  files["backend-ca.yaml"] = caConfigMap("backend-ca", ca.cert);
  files["other-ca.yaml"] = caConfigMap("other-ca", other.cert);
  files["client.yaml"] = secretYaml("gateway-client", INFRA, "tls", client.cert, client.key) + "---\n" + secretYaml("gw-cert", INFRA, "tls", gwCert.cert, gwCert.key);
  dir = writeTree(files);
  gw = await startGateway({
    configDirs: [dir],
    gatewayPorts: [80, 8080, 8443],
    workers: 1,
    args: ["--gateway", `${INFRA}/same-namespace`, "--gateway", `${INFRA}/gw-client-cert`, "--gateway", `${INFRA}/gw-terminate`, "--access-log", "off"],
  });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends ?? []) b.server.stop(true);
  tls?.server.close();
  mtls?.server.close();
});

async function get(path: string, port = 80): Promise<{ status: number; seen: Seen | null }> {
  const r = await fetch(gw.url(port, path), { headers: { host: "abc.example.com" } });
  const text = await r.text();
  return { status: r.status, seen: r.headers.get("x-pod") === "tls-backend-0" ? (JSON.parse(text) as Seen) : null };
}

type PolicyStatus = { kind: string; metadata: { name: string }; status: { ancestors?: { ancestorRef: { kind: string; name: string }; conditions: { type: string; status: string; reason: string }[] }[] } };

async function policyStatus(name: string): Promise<string[]> {
  const doc = (await (await gw.admin("/status")).json()) as { items: PolicyStatus[] };
  const p = doc.items.find((i) => i.kind === "BackendTLSPolicy" && i.metadata.name === name);
  const a = p?.status.ancestors?.find((x) => x.ancestorRef.kind === "Gateway");
  return (a?.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason}`);
}

describe("BackendTLSPolicy", () => {
  test("the policy's CA and hostname: 200, and the backend sees the hostname as SNI", async () => {
    const r = await get("/ok");
    expect(r.status).toBe(200);
    expect(r.seen).toEqual({ sni: "abc.example.com", client: "" });
  });

  test("a hostname the certificate does not carry, a CA that did not sign it: 503", async () => {
    expect((await get("/wrong-host")).status).toBe(503);
    expect((await get("/wrong-ca")).status).toBe(503);
  });

  test("subjectAltNames: a URI SAN of the certificate → 200; a Hostname SAN it lacks → 503 (the hostname is then not what is checked)", async () => {
    expect((await get("/san-uri")).status).toBe(200);
    expect((await get("/san-mismatch")).status).toBe(503);
  });

  test("an invalid CA reference: 503, Accepted False NoValidCACertificate in /status", async () => {
    expect((await get("/missing-ca")).status).toBe(503);
    expect(await policyStatus("missing-ca")).toEqual(["Accepted=False/NoValidCACertificate", "ResolvedRefs=False/InvalidCACertificateRef"]);
    expect(await policyStatus("ok")).toEqual(["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]);
  });

  test("the Gateway's clientCertificateRef is presented to a backend that requires a client certificate; without one it refuses (503)", async () => {
    const r = await get("/", 8080);
    expect(r.status).toBe(200);
    expect(r.seen).toEqual({ sni: "abc.example.com", client: "gateway-client" });
    expect((await get("/mtls-no-cert")).status).toBe(503);
  });

  test("a TLS Terminate listener's TLSRoute: the bytes are encrypted again toward the backend, with the policy's SNI", async () => {
    const r = await httpsGet({ port: gw.ports.get(8443)!, servername: "tls.example.com", path: "/", ca: ca.cert });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ sni: "abc.example.com", client: "" });
  });

  test("gateway status prints the policies' status offline", async () => {
    const r = await runCli(["status", "--config", dir, "--gateway", `${INFRA}/same-namespace`, "-o", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { items: PolicyStatus[] };
    const names = doc.items.filter((i) => i.kind === "BackendTLSPolicy").map((i) => i.metadata.name);
    expect(names).toContain("ok");
    expect(names).toContain("missing-ca");
  });

  test("hot reload: the ConfigMap's CA replaced, then restored; the policy's hostname edited, then restored", async () => {
    expect((await get("/ok")).status).toBe(200);
    writeFileSync(join(dir, "backend-ca.yaml"), caConfigMap("backend-ca", other.cert));
    await untilValue("/ok after its CA is replaced", () => get("/ok"), (x) => x.status === 503);
    writeFileSync(join(dir, "backend-ca.yaml"), caConfigMap("backend-ca", ""));
    await untilValue("status after ca.crt is emptied", () => policyStatus("ok"), (x) => x[0] === "Accepted=False/NoValidCACertificate");
    expect((await get("/ok")).status).toBe(503);
    writeFileSync(join(dir, "backend-ca.yaml"), caConfigMap("backend-ca", ca.cert));
    await untilValue("/ok after its CA is restored", () => get("/ok"), (x) => x.status === 200);
    expect(await policyStatus("ok")).toEqual(["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]);
    writeFileSync(join(dir, "policies.yaml"), policies("other.example.com"));
    const o = await untilValue("/ok after the hostname is edited", () => get("/ok"), (x) => x.seen?.sni === "other.example.com");
    expect(o.status).toBe(200);
    writeFileSync(join(dir, "policies.yaml"), policies("nowhere.example.com"));
    await untilValue("/ok after the hostname names no SAN", () => get("/ok"), (x) => x.status === 503);
    writeFileSync(join(dir, "policies.yaml"), policies());
    const back = await untilValue("/ok after the policy is restored", () => get("/ok"), (x) => x.status === 200);
    expect(back.seen?.sni).toBe("abc.example.com");
  }, 60_000);
});

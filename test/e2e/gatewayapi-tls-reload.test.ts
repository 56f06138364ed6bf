// Gateway API with TLS and hot reload, through the real gateway process:
// an HTTPS listener whose certificateRef is a Secret of another namespace that
// a ReferenceGrant allows; a TLS Passthrough listener with a TLSRoute (the
// client sees the backend's own certificate); a deleted ReferenceGrant taking
// effect on reload (backend share answers 500, the status says RefNotPermitted;
// the HTTPS listener stops serving its certificate).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";
import { configFiles, INFRA, send, startBackends, type Backend } from "./gatewayapi-helpers.ts";
import { untilValue } from "../helpers/until-value.ts";

const WEB = "gateway-conformance-web-backend";

function tlsConfig(): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-https, namespace: ${INFRA}}
spec:
  gatewayClassName: istio
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    hostname: secure.example.com
    tls:
      certificateRefs: [{kind: Secret, name: secure-cert, namespace: ${WEB}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: secure, namespace: ${INFRA}}
spec:
  parentRefs: [{name: gw-https}]
  rules: [{backendRefs: [{name: infra-backend-v2, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-tls, namespace: ${INFRA}}
spec:
  gatewayClassName: istio
  listeners:
  - name: tls
    port: 8443
    protocol: TLS
    hostname: "*.example.com"
    tls: {mode: Passthrough}
    allowedRoutes: {kinds: [{kind: TLSRoute}]}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: passthrough, namespace: ${INFRA}}
spec:
  parentRefs: [{name: gw-tls}]
  hostnames: [abc.example.com]
  rules: [{backendRefs: [{name: tls-backend, port: 443}]}]
`;
}

function secretGrant(): string {
  return `
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: secret-for-gateways, namespace: ${WEB}}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: ${INFRA}}]
  to: [{group: "", kind: Secret}]
`;
}

let ca: Issued;
let backends: Backend[];
let tlsBackend: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;
let dir: string;

beforeAll(async () => {
  ca = await createCA({ cn: "example.com", keyType: "ec" });
  const [gwCert, backendCert] = await Promise.all([
    issue(ca, { cn: "secure.example.com", usage: "server", keyType: "ec" }),
    issue(ca, { cn: "abc.example.com", org: "the backend itself", usage: "server", keyType: "ec" }),
  ]);
  backends = startBackends();
  tlsBackend = Bun.serve({ port: 0, hostname: "127.0.0.1", development: false, tls: { cert: backendCert.cert, key: backendCert.key }, fetch: () => new Response("tls backend\n") });
  const files = configFiles(backends, ["httproute-reference-grant"]);
  // the base's tls-backend Service gets the TLS backend as endpoint
  files["tls-backend.yaml"] = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: tls-backend-e2e, namespace: ${INFRA}, labels: {kubernetes.io/service-name: tls-backend}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1]}]
ports: [{name: "", port: ${tlsBackend.port}}]
`;
  files["tls.yaml"] = tlsConfig() + "---\n" + secretYaml("secure-cert", WEB, "tls", gwCert.cert, gwCert.key);
  files["secret-grant.yaml"] = secretGrant();
  dir = writeTree(files);
  gw = await startGateway({
    configDirs: [dir],
    gatewayPorts: [80, 443, 8443],
    workers: 1,
    args: ["--gateway", `${INFRA}/same-namespace`, "--gateway", `${INFRA}/gw-https`, "--gateway", `${INFRA}/gw-tls`, "--access-log", "off"],
  });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends ?? []) b.server.stop(true);
  tlsBackend?.stop(true);
});

describe("Gateway API TLS listeners and hot reload", () => {
  test("HTTPS listener: a certificateRef to another namespace's Secret, allowed by a ReferenceGrant", async () => {
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: "secure.example.com", path: "/x", ca: ca.cert });
    expect(r.status).toBe(200);
    expect(r.headers["x-pod"]).toBe("infra-backend-v2-0");
  });

  test("TLS Passthrough listener: a TLSRoute sends the client's TLS to the backend untouched", async () => {
    const r = await httpsGet({ port: gw.ports.get(8443)!, servername: "abc.example.com", path: "/", ca: ca.cert });
    expect(r.body).toBe("tls backend\n");
    expect(r.peer.subject.O).toBe("the backend itself");
    const other = await handshake({ port: gw.ports.get(8443)!, servername: "other.example.com", ca: ca.cert });
    expect(other.ok).toBe(false);
  });

  test("a deleted ReferenceGrant takes effect on reload: 500 for the backend, RefNotPermitted in status, the certificate no longer served", async () => {
    expect((await send(gw, "/")).pod).toBe("web-backend-0");
    rmSync(join(dir, "httproute-reference-grant.yaml"));
    // the route stays (written again without its grant)
    writeFileSync(join(dir, "route.yaml"), (await Bun.file(join(import.meta.dir, "..", "gatewayapi", "cases", "httproute-reference-grant", "input.yaml")).text()).split("---")[1]!);
    rmSync(join(dir, "secret-grant.yaml"));
    const a = await untilValue("backend share after the grant is deleted", () => send(gw, "/"), (x) => x.status === 500);
    expect(a.pod).toBeNull();
    const status = (await (await gw.admin("/status")).json()) as { items: { kind: string; metadata: { name: string }; status: { parents?: { conditions: { type: string; reason: string }[] }[]; listeners?: { conditions: { type: string; reason: string }[] }[] } }[] };
    const route = status.items.find((i) => i.kind === "HTTPRoute" && i.metadata.name === "reference-grant")!;
    expect(route.status.parents![0]!.conditions.find((c) => c.type === "ResolvedRefs")!.reason).toBe("RefNotPermitted");
    const https = status.items.find((i) => i.kind === "Gateway" && i.metadata.name === "gw-https")!;
    expect(https.status.listeners![0]!.conditions.find((c) => c.type === "ResolvedRefs")!.reason).toBe("RefNotPermitted");
    const h = await handshake({ port: gw.ports.get(443)!, servername: "secure.example.com", ca: ca.cert });
    expect(h.ok).toBe(false);
  });

  test("gateway status prints the same status offline and exits 0 with invalid objects", async () => {
    const r = await runCli(["status", "--config", dir, "--gateway", `${INFRA}/same-namespace`, "-o", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { items: { kind: string; metadata: { name: string } }[] };
    expect(doc.items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual(["GatewayClass/istio", "Gateway/same-namespace", "HTTPRoute/reference-grant"]);
    const a = await runCli(["analyze", "--config", dir, "--gateway", `${INFRA}/same-namespace`]);
    expect(a.stdout).toContain("GW0806");
    expect(a.stdout).toContain("RefNotPermitted");
  });
});

// after the test above deleted the Secret's ReferenceGrant: gw-https has no usable listener
test("Gateways not served never stop an instance from becoming ready (--gateway naming a broken or missing Gateway)", async () => {
  const other = await startGateway({ configDirs: [dir], gatewayPorts: [80], workers: 1, args: ["--gateway", `${INFRA}/gw-https`, "--gateway", `${INFRA}/missing`, "--access-log", "off"] });
  try {
    expect((await other.admin("/ready")).status).toBe(200);
    const doc = (await (await other.admin("/status")).json()) as { items: { kind: string; status: { conditions?: { type: string; status: string }[] } }[] };
    const gateways = doc.items.filter((i) => i.kind === "Gateway");
    expect(gateways.map((i) => i.status.conditions?.find((c) => c.type === "Programmed")?.status)).toEqual(["False"]);
  } finally {
    await other.stop();
  }
});

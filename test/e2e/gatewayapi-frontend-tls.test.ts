// Gateway API frontend client certificate validation through the real gateway
// process and real TLS: the conformance case gateway-with-clientcertificate-validation
// (a default CA on 443, a per-port CA on 8443, both ConfigMaps with ca.crt), a
// Gateway of our own with AllowInsecureFallback on 9443, and a hot reload of the
// default CA's ConfigMap.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";
import { configFiles, INFRA, startBackends, type Backend } from "./gatewayapi-helpers.ts";
import { untilValue } from "../helpers/until-value.ts";

const FALLBACK = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: fallback, namespace: ${INFRA}}
spec:
  gatewayClassName: istio
  tls:
    frontend:
      default:
        validation:
          mode: AllowInsecureFallback
          caCertificateRefs: [{kind: ConfigMap, group: "", name: tls-validity-checks-ca-certificate}]
  listeners:
  - name: https
    port: 9443
    protocol: HTTPS
    hostname: fallback.example.org
    tls: {certificateRefs: [{name: tls-validity-checks-certificate}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: fallback, namespace: ${INFRA}}
spec:
  parentRefs: [{name: fallback}]
  rules: [{backendRefs: [{name: infra-backend-v3, port: 8080}]}]
`;

function caConfigMap(name: string, ca: Issued): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: ${INFRA}}\ndata:\n  ca.crt: ${JSON.stringify(ca.cert)}\n`;
}

let serverCa: Issued;
let caDefault: Issued;
let caPerPort: Issued;
/** Signed by caDefault (the suite's tls-validity-checks-client-certificate). */
let clientDefault: Issued;
/** Signed by caPerPort (tls-validity-checks-per-port-client-certificate). */
let clientPerPort: Issued;
let backends: Backend[];
let gw: GatewayProcess;
let dir: string;

beforeAll(async () => {
  [serverCa, caDefault, caPerPort] = await Promise.all([
    createCA({ cn: "gateway-conformance", keyType: "ec" }),
    createCA({ cn: "tls-validity-checks-ca-certificate", keyType: "ec" }),
    createCA({ cn: "tls-validity-checks-per-port-ca-certificate", keyType: "ec" }),
  ]);
  const server = await issue(serverCa, { cn: "example.org", names: ["example.org", "second-example.org", "fallback.example.org"], usage: "server", keyType: "ec" });
  [clientDefault, clientPerPort] = await Promise.all([
    issue(caDefault, { cn: "default client", usage: "client", keyType: "ec" }),
    issue(caPerPort, { cn: "per-port client", usage: "client", keyType: "ec" }),
  ]);
  backends = startBackends();
  const files = configFiles(backends, ["gateway-with-clientcertificate-validation"]);
  files["fallback.yaml"] = FALLBACK;
  files["server-cert.yaml"] = secretYaml("tls-validity-checks-certificate", INFRA, "tls", server.cert, server.key);
  files["ca-default.yaml"] = caConfigMap("tls-validity-checks-ca-certificate", caDefault);
  files["ca-per-port.yaml"] = caConfigMap("tls-validity-checks-per-port-ca-certificate", caPerPort);
  dir = writeTree(files);
  gw = await startGateway({
    configDirs: [dir],
    gatewayPorts: [443, 8443, 9443],
    workers: 1,
    args: ["--gateway", `${INFRA}/client-validation-default`, "--gateway", `${INFRA}/fallback`, "--access-log", "off"],
  });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends ?? []) b.server.stop(true);
});

/** GET / on gateway port `port` with SNI and Host `host`, presenting `client` (or no certificate): the status and the backend, or the error that ended the connection. */
async function get(port: number, host: string, client: Issued | null): Promise<{ status: number; pod: string; xfcc: string | null } | { error: string }> {
  try {
    const r = await httpsGet({ port: gw.ports.get(port)!, servername: host, path: "/", ca: serverCa.cert, ...(client === null ? {} : { cert: client.cert, key: client.key }) });
    const echo = JSON.parse(r.body) as { headers: Record<string, string> };
    return { status: r.status, pod: String(r.headers["x-pod"]), xfcc: echo.headers["x-forwarded-client-cert"] ?? null };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

async function refused(port: number, host: string, client: Issued | null): Promise<boolean> {
  const h = await handshake({ port: gw.ports.get(port)!, servername: host, ca: serverCa.cert, ...(client === null ? {} : { cert: client.cert, key: client.key }) });
  return !h.ok;
}

describe("frontend client certificate validation (AllowValidOnly)", () => {
  test("default CA on 443: a client the ConfigMap's CA signed gets 200; another CA's client and a client without a certificate fail the handshake", async () => {
    expect(await get(443, "example.org", clientDefault)).toMatchObject({ status: 200, pod: "infra-backend-v1-0" });
    expect(await refused(443, "example.org", clientPerPort)).toBe(true);
    expect(await refused(443, "example.org", null)).toBe(true);
    expect(await get(443, "example.org", null)).toHaveProperty("error");
  });

  test("the per-port entry for 8443 replaces the default there: its own CA's client gets 200, the default CA's client fails", async () => {
    expect(await get(8443, "second-example.org", clientPerPort)).toMatchObject({ status: 200, pod: "infra-backend-v2-0" });
    expect(await refused(8443, "second-example.org", clientDefault)).toBe(true);
    expect(await refused(8443, "second-example.org", null)).toBe(true);
  });

  test("a verified client's certificate reaches the backend in x-forwarded-client-cert", async () => {
    const r = await get(443, "example.org", clientDefault);
    expect("xfcc" in r && r.xfcc).toContain("Subject=\"CN=default client\"");
  });
});

describe("AllowInsecureFallback", () => {
  test("every client is served: the CA's client (verified, in XFCC), another CA's client and a client without a certificate (neither forwarded as an identity)", async () => {
    const verified = await get(9443, "fallback.example.org", clientDefault);
    expect(verified).toMatchObject({ status: 200, pod: "infra-backend-v3-0" });
    expect("xfcc" in verified && verified.xfcc).toContain("CN=default client");
    expect(await get(9443, "fallback.example.org", clientPerPort)).toEqual({ status: 200, pod: "infra-backend-v3-0", xfcc: null });
    expect(await get(9443, "fallback.example.org", null)).toEqual({ status: 200, pod: "infra-backend-v3-0", xfcc: null });
  });

  test("the Gateway's status says InsecureFrontendValidationMode", async () => {
    const doc = (await (await gw.admin("/status")).json()) as { items: { kind: string; metadata: { name: string }; status: { conditions?: { type: string; status: string; reason: string }[] } }[] };
    const fallback = doc.items.find((i) => i.kind === "Gateway" && i.metadata.name === "fallback")!;
    expect(fallback.status.conditions).toContainEqual(expect.objectContaining({ type: "InsecureFrontendValidationMode", status: "True", reason: "ConfigurationChanged" }));
    const strict = doc.items.find((i) => i.kind === "Gateway" && i.metadata.name === "client-validation-default")!;
    expect(strict.status.conditions!.map((c) => c.type)).not.toContain("InsecureFrontendValidationMode");
  });
});

// last: it replaces the default CA
test("hot reload: the default CA's ConfigMap rewritten with another CA takes effect on the next handshake", async () => {
  expect(await refused(443, "example.org", clientPerPort)).toBe(true);
  writeFileSync(join(dir, "ca-default.yaml"), caConfigMap("tls-validity-checks-ca-certificate", caPerPort));
  const r = await untilValue("the per-port client on 443 after the ConfigMap changed", () => get(443, "example.org", clientPerPort), (x) => "status" in x && x.status === 200);
  expect(r).toMatchObject({ pod: "infra-backend-v1-0" });
  expect(await refused(443, "example.org", clientDefault)).toBe(true);
  // the fallback Gateway names the same ConfigMap: the old CA's client is now unverified there (served, no XFCC)
  expect(await get(9443, "fallback.example.org", clientDefault)).toEqual({ status: 200, pod: "infra-backend-v3-0", xfcc: null });
});

// A Gateway with no Service in the files (gangway run on a host): status.addresses are where
// gangway listens, so a client that reads them, as the conformance suite does
// (WaitForGatewayAddress: the first address and the listener's port), reaches the Gateway.
// A Service for the Gateway, once in the files, takes priority (istiod's addresses); gone
// again, the listen address is back. The `status` CLI reports INSTANCE_IP for a wildcard bind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { untilValue } from "../helpers/until-value.ts";
import { configFiles, INFRA, startBackend, type Backend } from "./gatewayapi-helpers.ts";

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${INFRA}}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ${INFRA}}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]
`;
/** The Service istiod would generate for the Gateway (`<gateway>-<class>`), its load balancer assigned. */
const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: gw-istio, namespace: ${INFRA}}
spec: {type: LoadBalancer, ports: [{name: http, port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.80}]}}
`;
/** Not the 127.0.0.1 the test helpers use elsewhere: the address must come from --bind. */
const BIND = "127.0.0.2";

interface Gw {
  kind: string;
  metadata: { name: string };
  status: { addresses?: { type: string; value: string }[]; conditions?: { type: string; status: string; reason: string; message: string }[] };
}

let backend: Backend;
let gw: GatewayProcess;
let dir: string;

const gatewayStatus = async () => ((await (await gw.admin("/status")).json()) as { items: Gw[] }).items.find((i) => i.kind === "Gateway" && i.metadata.name === "gw")!.status;
const conditions = (s: Gw["status"]) => s.conditions!.map((c) => `${c.type}=${c.status}/${c.reason}`);

beforeAll(async () => {
  backend = startBackend(INFRA, "infra-backend-v1");
  dir = writeTree({ ...configFiles([backend], []), "gw.yaml": GATEWAY });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [80], workers: 1, args: ["--gateway", `${INFRA}/gw`, "--bind", BIND, "--access-log", "off"] });
});

afterAll(async () => {
  await gw?.stop();
  backend?.server.stop(true);
});

describe("admin /status, no Service for the Gateway", () => {
  test("status.addresses is the --bind address, and traffic sent to it (the listener's port, mapped) reaches the route", async () => {
    const s = await gatewayStatus();
    expect(s.addresses).toEqual([{ type: "IPAddress", value: BIND }]);
    expect(conditions(s)).toEqual(["Accepted=True/Accepted", "Programmed=True/Programmed"]);
    // as WaitForGatewayAddress: the first address with a type, then the listener's port (here through --port-map)
    const r = await fetch(`http://${s.addresses![0]!.value}:${gw.ports.get(80)}/`, { headers: { host: "example.com" } });
    expect([r.status, r.headers.get("x-pod")]).toEqual([200, "infra-backend-v1-0"]);
    await r.text();
  });

  test("a Service for the Gateway added by hot reload takes priority (its load balancer address); removed, the listen address is back", async () => {
    writeFileSync(join(dir, "service.yaml"), SERVICE);
    const held = await untilValue("the Service's address", gatewayStatus, (s) => s.addresses?.[0]?.value === "192.0.2.80");
    expect(held.addresses).toEqual([{ type: "IPAddress", value: "192.0.2.80" }]);
    expect(held.conditions!.find((c) => c.type === "Programmed")!.message).toBe(`Resource programmed, assigned to service(s) gw-istio.${INFRA}.svc.cluster.local:80`);
    rmSync(join(dir, "service.yaml"));
    const back = await untilValue("the listen address again", gatewayStatus, (s) => s.addresses?.[0]?.value === BIND);
    expect(back.addresses).toEqual([{ type: "IPAddress", value: BIND }]);
  });
});

describe("gateway status CLI", () => {
  const addresses = async (args: string[], env: Record<string, string | undefined>) => {
    const r = await runCli(["status", "--config", dir, "--gateway", `${INFRA}/gw`, "-o", "json", ...args], env);
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as { items: Gw[] }).items.find((i) => i.kind === "Gateway")!.status.addresses;
  };

  test("the default --bind 0.0.0.0: INSTANCE_IP, else POD_IP (the pod IP Istio's gateway pod is given)", async () => {
    expect(await addresses([], { INSTANCE_IP: "10.1.2.3", POD_IP: "10.9.9.9" })).toEqual([{ type: "IPAddress", value: "10.1.2.3" }]);
    expect(await addresses([], { INSTANCE_IP: undefined, POD_IP: "10.9.9.9" })).toEqual([{ type: "IPAddress", value: "10.9.9.9" }]);
  }, 30_000);

  test("--bind ::: INSTANCE_IP first, then INSTANCE_IPS (a dual-stack pod's status.podIPs) it does not repeat", async () => {
    const env = { INSTANCE_IP: "10.1.2.3", POD_IP: undefined, INSTANCE_IPS: "10.1.2.3,fd00::5" };
    expect(await addresses(["--bind", "::"], env)).toEqual([
      { type: "IPAddress", value: "10.1.2.3" },
      { type: "IPAddress", value: "fd00::5" },
    ]);
    expect(await addresses([], env)).toEqual([{ type: "IPAddress", value: "10.1.2.3" }]); // 0.0.0.0 takes IPv4 only
  }, 30_000);

  test("a specific --bind wins over the environment", async () => {
    expect(await addresses(["--bind", "127.0.0.5"], { INSTANCE_IP: "10.1.2.3" })).toEqual([{ type: "IPAddress", value: "127.0.0.5" }]);
  }, 30_000);
});

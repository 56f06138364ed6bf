// The status the conformance suite reads, through the real gateway process's admin
// /status: every condition carries its object's metadata.generation as
// observedGeneration, the GatewayClass is Accepted, the Gateway's Hostname address names
// the Service in front of it (status.addresses). Hot reload, as the suite patches objects:
// a new generation with an unsupported address type makes the Gateway Accepted False
// (UnsupportedAddress) at that generation while its listener keeps serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { untilValue } from "../helpers/until-value.ts";
import { configFiles, INFRA, send, startBackends, type Backend } from "./gatewayapi-helpers.ts";

const gateway = (generation: number, extraAddress: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${INFRA}, generation: ${generation}}
spec:
  gatewayClassName: istio
  addresses:${extraAddress}
  - {type: Hostname, value: front}
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: v1
kind: Service
metadata: {name: front, namespace: ${INFRA}}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ${INFRA}, generation: 5}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]
`;

interface Cond {
  type: string;
  status: string;
  reason: string;
  observedGeneration?: number;
}
interface Item {
  kind: string;
  metadata: { namespace?: string; name: string };
  status: { conditions?: Cond[]; addresses?: { type: string; value: string }[]; listeners?: { conditions: Cond[] }[]; parents?: { conditions: Cond[] }[] };
}

let backends: Backend[];
let gw: GatewayProcess;
let dir: string;

async function items(): Promise<Item[]> {
  return ((await (await gw.admin("/status")).json()) as { items: Item[] }).items;
}
const item = (all: Item[], kind: string, name: string) => all.find((i) => i.kind === kind && i.metadata.name === name)!;
const generations = (cs: Cond[]) => [...new Set(cs.map((c) => c.observedGeneration))];

beforeAll(async () => {
  backends = startBackends();
  const files = configFiles(backends, []);
  files["gateway.yaml"] = gateway(1, "");
  dir = writeTree(files);
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [80], workers: 1, args: ["--gateway", `${INFRA}/gw`, "--access-log", "off"] });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends ?? []) b.server.stop(true);
});

describe("admin /status as the conformance suite reads it", () => {
  test("observedGeneration on every condition, the GatewayClass Accepted, the address of the Service in front", async () => {
    const all = await items();
    expect(item(all, "GatewayClass", "istio").status.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(["Accepted=True"]);
    const g = item(all, "Gateway", "gw").status;
    expect(g.addresses).toEqual([{ type: "Hostname", value: `front.${INFRA}.svc.cluster.local` }]);
    expect(generations([...g.conditions!, ...g.listeners!.flatMap((l) => l.conditions)])).toEqual([1]);
    expect(generations(item(all, "HTTPRoute", "r").status.parents!.flatMap((p) => p.conditions))).toEqual([5]);
    expect((await send(gw, "/")).pod).toBe("infra-backend-v1-0");
  });

  test("hot reload to generation 2 with an unsupported address type: Accepted False UnsupportedAddress at generation 2, still served", async () => {
    writeFileSync(join(dir, "gateway.yaml"), gateway(2, '\n  - {type: "test/fake-invalid-type", value: "fake address teehee!"}'));
    const g = await untilValue("Gateway status at generation 2", async () => item(await items(), "Gateway", "gw").status, (s) => s.conditions?.[0]?.observedGeneration === 2);
    expect(g.conditions!.map((c) => `${c.type}=${c.status}/${c.reason}@${c.observedGeneration}`)).toEqual(["Accepted=False/UnsupportedAddress@2", "Programmed=True/Programmed@2"]);
    expect((await send(gw, "/")).pod).toBe("infra-backend-v1-0");
  });
});

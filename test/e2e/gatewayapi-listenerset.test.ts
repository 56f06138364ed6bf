// ListenerSet through the real gateway process: a ListenerSet's listener on a
// port the Gateway does not have serves the ListenerSet's route there, another
// shares the Gateway's port 80 by hostname; the Gateway's own route stays on
// the Gateway's listener. Hot reload: deleting the ListenerSet closes its port
// and its host on 80 is no longer routed; writing it again serves both again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { configFiles, INFRA, send, startBackends, type Backend } from "./gatewayapi-helpers.ts";
import { untilValue } from "../helpers/until-value.ts";

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${INFRA}}
spec:
  gatewayClassName: istio
  allowedListeners: {namespaces: {from: Same}}
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: gw.example.com}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: on-gateway, namespace: ${INFRA}}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: on-listenerset, namespace: ${INFRA}}
spec:
  parentRefs: [{kind: ListenerSet, group: gateway.networking.k8s.io, name: extra}]
  rules: [{backendRefs: [{name: infra-backend-v2, port: 8080}]}]
`;

const LISTENER_SET = `apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra, namespace: ${INFRA}}
spec:
  parentRef: {name: gw}
  listeners:
  - {name: own-port, port: 8081, protocol: HTTP}
  - {name: shared-port, port: 80, protocol: HTTP, hostname: ls.example.com}
`;

let backends: Backend[];
let gw: GatewayProcess;
let dir: string;

beforeAll(async () => {
  backends = startBackends();
  const files = configFiles(backends, []);
  files["gateway.yaml"] = GATEWAY;
  files["listenerset.yaml"] = LISTENER_SET;
  dir = writeTree(files);
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [80, 8081], workers: 1, args: ["--gateway", `${INFRA}/gw`, "--access-log", "off"] });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends ?? []) b.server.stop(true);
});

/** The pod that answers, the status when none does, or "refused" when nothing listens on the port. */
async function who(port: number, host: string): Promise<string | number> {
  try {
    const a = await send(gw, "/", { port, host });
    return a.pod ?? a.status;
  } catch {
    return "refused";
  }
}

interface Item {
  kind: string;
  metadata: { name: string };
  status: { conditions?: { type: string; status: string; reason: string }[]; listeners?: { name: string; attachedRoutes: number }[]; attachedListenerSets?: number };
}

async function status(): Promise<Item[]> {
  return ((await (await gw.admin("/status")).json()) as { items: Item[] }).items;
}

const answers = async () => [await who(8081, "any.example.com"), await who(80, "ls.example.com"), await who(80, "gw.example.com")];

describe("ListenerSet end to end", () => {
  test("its listeners serve its route on their own port and on the Gateway's port by hostname; the Gateway's route stays on the Gateway's listener", async () => {
    expect(await answers()).toEqual(["infra-backend-v2-0", "infra-backend-v2-0", "infra-backend-v1-0"]);
    const items = await status();
    const set = items.find((i) => i.kind === "ListenerSet")!;
    expect(set.status.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(["Accepted=True", "Programmed=True"]);
    expect(set.status.listeners!.map((l) => [l.name, l.attachedRoutes])).toEqual([
      ["own-port", 1],
      ["shared-port", 1],
    ]);
    expect(items.find((i) => i.kind === "Gateway")!.status.attachedListenerSets).toBe(1);
  });

  test("hot reload: the ListenerSet deleted closes its port and unroutes its host; written again, both are served again", async () => {
    rmSync(join(dir, "listenerset.yaml"));
    expect(await untilValue("after the ListenerSet is deleted", answers, (a) => a[0] === "refused" && a[1] === 404)).toEqual(["refused", 404, "infra-backend-v1-0"]);
    const items = await status();
    expect(items.filter((i) => i.kind === "ListenerSet")).toEqual([]);
    expect(items.find((i) => i.kind === "Gateway")!.status.attachedListenerSets).toBeUndefined();

    writeFileSync(join(dir, "listenerset.yaml"), LISTENER_SET);
    expect(await untilValue("after the ListenerSet is written again", answers, (a) => a[0] !== "refused" && a[1] !== 404)).toEqual(["infra-backend-v2-0", "infra-backend-v2-0", "infra-backend-v1-0"]);
  });
});

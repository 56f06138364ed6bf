// The mesh config's Kubernetes Ingress settings through the real gateway, as istiod
// reads them from its MeshConfig: ingressControllerMode DEFAULT serves an Ingress
// without a class, ingressClass names the annotation value served, and
// ingressSelector the `istio` label the derived Gateways select; admin /status
// lists the Ingresses served with the addresses of the mesh config's ingressService.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { send, serviceYaml, startEcho, type Echo } from "./ingress-helpers.ts";

const ing = (name: string, annotations: string) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: apps${annotations}}
spec:
  rules:
  - host: ${name}.example
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: ${name}, port: {number: 8080}}}}]
`;

const LB_SERVICE = `---
apiVersion: v1
kind: Service
metadata: {name: edge-lb, namespace: istio-system}
spec: {type: LoadBalancer, ports: [{name: http2, port: 80}]}
status: {loadBalancer: {ingress: [{ip: 203.0.113.7}]}}
`;

describe("--mesh-config ingressControllerMode, ingressClass, ingressSelector", () => {
  let echoes: Echo[];
  let gw: GatewayProcess;
  beforeAll(async () => {
    echoes = ["unclassed", "edge", "istio"].map((n) => startEcho(n));
    const yaml = echoes.map((e) => serviceYaml("apps", e.service, [e])).join("") + ing("unclassed", "") + ing("edge", ", annotations: {kubernetes.io/ingress.class: edge}") + ing("istio", ", annotations: {kubernetes.io/ingress.class: istio}") + LB_SERVICE;
    const meshDir = writeTree({ "mesh.yaml": "ingressControllerMode: DEFAULT\ningressClass: edge\ningressSelector: edge-gw\ningressService: edge-lb\n" });
    gw = await startGateway({ configDirs: [writeTree({ "ingress.yaml": yaml })], args: ["--mesh-config", join(meshDir, "mesh.yaml"), "--labels", "istio=edge-gw"] });
  }, 20_000);
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
    await Promise.all(echoes.map((e) => e.stop()));
  });

  test("an Ingress without a class is served (DEFAULT)", async () => {
    const r = await send(gw, "unclassed.example", "/");
    expect([r.status, r.service]).toEqual([200, "unclassed"]);
  });

  test("the mesh config's class is served, istio is not", async () => {
    const a = await send(gw, "edge.example", "/");
    expect([a.status, a.service]).toEqual([200, "edge"]);
    expect((await send(gw, "istio.example", "/")).status).toBe(404);
  });

  test("admin /status: the Ingresses served, with the ingressService's address", async () => {
    const r = await gw.admin("/status");
    const items = ((await r.json()) as { items: { kind: string; metadata: { name: string }; status: unknown }[] }).items.filter((i) => i.kind === "Ingress");
    expect(items.map((i) => [i.metadata.name, i.status])).toEqual([
      ["edge", { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } }],
      ["unclassed", { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } }],
    ]);
  });
});

// An Ingress served with no ingress gateway Service in the files (gangway run on a host):
// its status.loadBalancer is where gangway listens, so a client that reads it (the Ingress
// conformance suite sends its requests to that address) reaches the Ingress. istiod reports
// no address there (README: Ingress status).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { kubeService } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

const BIND = "127.0.0.2"; // not the helpers' 127.0.0.1: the address must come from --bind
let backend: Backend;
let gw: GatewayProcess;

beforeAll(async () => {
  backend = startHttpbin({ name: "app" });
  const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: default, annotations: {kubernetes.io/ingress.class: istio}}
spec:
  rules: [{host: app.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}}]
`;
  const dir = writeTree({ "ing.yaml": `${ingress}---\n${kubeService("app", "default", backend.port)}` });
  gw = await startGateway({ configDirs: [dir], workers: 1, args: ["--bind", BIND, "--access-log", "off"] });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
}, 30_000);

test("admin /status: the Ingress's loadBalancer is the --bind address, and a request sent there is routed", async () => {
  const items = ((await (await gw.admin("/status")).json()) as { items: { kind: string; metadata: { name: string }; status: { loadBalancer?: { ingress?: { ip?: string }[] } } }[] }).items;
  const ing = items.find((i) => i.kind === "Ingress" && i.metadata.name === "ing")!;
  expect(ing.status.loadBalancer).toEqual({ ingress: [{ ip: BIND }] });
  const r = await fetch(`http://${ing.status.loadBalancer!.ingress![0]!.ip}:${gw.ports.get(80)}/get`, { headers: { host: "app.example.com" } });
  expect(r.status).toBe(200);
  await r.text();
});

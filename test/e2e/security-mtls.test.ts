// AuthorizationPolicy on the mTLS identity: `principals` and `namespaces` are
// read from the SPIFFE id of the verified client certificate (ISTIO_MUTUAL).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { issue, type Issued } from "../../src/certs/generate.ts";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { serviceEntry } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { httpsGet } from "../helpers/https.ts";
import { MESH_GATEWAY, meshCerts } from "../helpers/mesh.ts";

let root: Issued;
const clients: Record<string, Issued> = {};
let httpbin: Backend;
let gw: GatewayProcess;

const CONFIG = `${MESH_GATEWAY}---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: sleep-only, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/default/sa/sleep]}}]
    to: [{operation: {paths: [/anything/private*]}}]
  - to: [{operation: {notPaths: [/anything/private*]}}]
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: no-blocked-namespace, namespace: istio-system}
spec:
  action: DENY
  rules: [{from: [{source: {namespaces: [blocked]}}]}]
`;

beforeAll(async () => {
  const meshed = await meshCerts();
  root = meshed.root;
  for (const [name, uri] of [
    ["sleep", "spiffe://cluster.local/ns/default/sa/sleep"],
    ["other", "spiffe://cluster.local/ns/default/sa/other"],
    ["blocked", "spiffe://cluster.local/ns/blocked/sa/sleep"],
  ] as const) {
    clients[name] = await issue(root, { cn: name, usage: "client", keyType: "ec", uris: [uri] });
  }
  httpbin = startHttpbin({ name: "httpbin" });
  const config = writeTree({ "gw.yaml": CONFIG + "---" + serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbin.port) });
  gw = await startGateway({ configDirs: [config], gatewayPorts: [443], args: ["--mesh-certs", meshed.dir] });
});
afterAll(async () => {
  await gw.stop();
  await httpbin.stop();
});

async function call(client: string, path: string): Promise<[number, string]> {
  const c = clients[client]!;
  const r = await httpsGet({ port: gw.ports.get(443)!, servername: "app.mesh.example.com", path, ca: root.cert, cert: c.cert, key: c.key });
  return [r.status, r.status === 403 ? r.body : ""];
}

describe("AuthorizationPolicy on the client certificate's SPIFFE identity", () => {
  test("principals: only sleep reaches the private path; everyone else the public one", async () => {
    expect(await call("sleep", "/anything/private")).toEqual([200, ""]);
    expect(await call("other", "/anything/private")).toEqual([403, "RBAC: access denied"]);
    expect(await call("other", "/anything/public")).toEqual([200, ""]);
  });

  test("namespaces: a client of namespace blocked is denied everywhere", async () => {
    expect(await call("blocked", "/anything/public")).toEqual([403, "RBAC: access denied"]);
  });
});

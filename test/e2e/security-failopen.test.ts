// CUSTOM with a provider that cannot be reached: failOpen lets requests through;
// without it they get statusOnError. A change of the mesh config file is a reload.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { HTTPBIN_FRONT, httpbinAndExtAuthz } from "../helpers/config.ts";
import { freePort, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

let httpbin: Backend;
let gw: GatewayProcess;
let meshFile: string;

const mesh = (failOpen: boolean) => `extensionProviders:
- name: ext
  envoyExtAuthzHttp: {service: ext-authz.istio-system.svc.cluster.local, port: 9000, timeout: 1s, failOpen: ${failOpen}, statusOnError: "503"}
`;

beforeAll(async () => {
  httpbin = startHttpbin({ name: "httpbin" });
  const dead = await freePort(); // nothing listens there: every check fails to connect
  const config = writeTree({
    "gw.yaml": `${HTTPBIN_FRONT}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: istio-system}
spec:
  action: CUSTOM
  provider: {name: ext}
  rules: [{to: [{operation: {paths: [/status/*]}}]}]
---
${httpbinAndExtAuthz(httpbin.port, dead)}`,
  });
  meshFile = writeTree({ "mesh.yaml": mesh(true) }) + "/mesh.yaml";
  gw = await startGateway({ configDirs: [config], args: ["--mesh-config", meshFile] });
});

afterAll(async () => {
  await gw.stop();
  await httpbin.stop();
});

const status = async (path: string): Promise<number> => (await fetch(gw.url(80, path), { headers: { host: "app.example.com" } })).status;

describe("CUSTOM with an unreachable provider", () => {
  test("failOpen: the request goes through", async () => {
    expect(await status("/status/200")).toBe(200);
  });

  test("without failOpen: statusOnError, with the UAEX flag in the access log", async () => {
    writeFileSync(meshFile, mesh(false)); // picked up by the watcher, no signal
    // the watcher polls the mesh file every second; the reload runs on the primary (nice 10, slow on a loaded machine)
    let s = 0;
    for (const end = Date.now() + 20_000; s !== 503 && Date.now() < end; ) {
      await Bun.sleep(100);
      s = await status("/status/200");
    }
    expect(s).toBe(503);
    await gw.waitForOutput(/"GET \/status\/200 HTTP\/1\.1" 503 UAEX ext_authz_error/);
    expect(await status("/anything")).toBe(200); // paths the policy does not match are not checked
  }, 30_000);
});

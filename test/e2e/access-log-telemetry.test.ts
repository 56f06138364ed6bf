// Telemetry accessLogging through the real gateway: a provider of the mesh
// config's extensionProviders (its own file and JSON labels), a CEL filter, and
// changes to the Telemetry applied without a restart (disabled, filter removed).
// One worker, so that a line written for a later request proves an earlier one
// was not (a worker writes its lines in order).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { logLines } from "../helpers/access-log.ts";
import { HTTP_GATEWAY, serviceEntry } from "../helpers/config.ts";
import { startGateway, writeAndReload, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

let backend: Backend;
beforeAll(() => {
  backend = startHttpbin({ name: "app" });
});
afterAll(async () => {
  await backend.stop();
});

const ROUTES = () => `${HTTP_GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: app.local, port: {number: 80}}}]}]
---${serviceEntry("app", "app.local", 80, backend.port)}`;

/** A mesh config with one file access-log provider `json-file` writing `file` with JSON `labels` (a YAML flow map). */
const jsonFileProvider = (file: string, labels: string) => `extensionProviders:
- name: json-file
  envoyFileAccessLog:
    path: ${file}
    logFormat:
      labels: ${labels}
`;
const telemetry = (entry: string) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - ${entry}
  tracing: [{randomSamplingPercentage: 100}]
`;

async function get(gw: GatewayProcess, path: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await fetch(gw.url(80, path), { headers });
  await r.arrayBuffer();
  return r.status;
}

describe("Telemetry accessLogging", () => {
  test("a JSON provider with a filter; disabled, then unfiltered, without a restart", async () => {
    const logs = writeTree({});
    const file = join(logs, "json.log");
    const mesh = writeTree({
      "mesh.yaml": jsonFileProvider(file, `{code: "%RESPONSE_CODE%", path: "%REQ(:PATH)%", debug: "%REQ(X-DEBUG)%", flags: "%RESPONSE_FLAGS%"}`),
    });
    const config = writeTree({ "routes.yaml": ROUTES(), "telemetry.yaml": telemetry(`providers: [{name: json-file}]\n    filter: {expression: "response.code >= 400 || request.headers['x-debug'] == 'true'"}`) });
    const gw = await startGateway({ configDirs: [config], workers: 1, args: ["--mesh-config", join(mesh, "mesh.yaml")] });
    try {
      // a tracing entry without a provider traces nothing, and says so
      expect(gw.output()).toMatch(/Warning: .*Telemetry\/istio-system\/mesh-default: spec\.tracing: no tracing provider.*\[GW0970\]/);
      expect(await get(gw, "/status/200")).toBe(200);
      expect(await get(gw, "/status/503")).toBe(503);
      expect(await get(gw, "/status/201", { "x-debug": "true" })).toBe(201);
      const first = (await logLines(file, () => true, 2)).map((l) => JSON.parse(l));
      expect(first).toEqual([
        { code: 503, path: "/status/503", debug: null, flags: null },
        { code: 201, path: "/status/201", debug: "true", flags: null },
      ]);

      await writeAndReload(gw, join(config, "telemetry.yaml"), telemetry("providers: [{name: json-file}]\n    disabled: true"));
      expect(await get(gw, "/status/500")).toBe(500);
      await writeAndReload(gw, join(config, "telemetry.yaml"), telemetry("providers: [{name: json-file}]"));
      expect(await get(gw, "/status/204")).toBe(204);
      const all = (await logLines(file, () => true, 3)).map((l) => JSON.parse(l).path);
      expect(all).toEqual(["/status/503", "/status/201", "/status/204"]); // /status/500 came while disabled

      // the Telemetry removed: the mesh config decides (no accessLogFile: gangway's default stdout)
      const mark = gw.output().length;
      rmSync(join(config, "telemetry.yaml"));
      await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
      expect(await get(gw, "/status/202")).toBe(202);
      await gw.waitForOutput(/"GET \/status\/202 HTTP\/1\.1" 202 /);
      expect((await logLines(file, () => true, 1, 0)).length).toBe(3);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  }, 60_000);

  test("a filter on response headers and response.flags; %RESP(X)% and %RESPONSE_FLAGS_LONG% in the labels", async () => {
    const logs = writeTree({});
    const file = join(logs, "resp.log");
    const mesh = writeTree({
      "mesh.yaml": jsonFileProvider(file, `{path: "%REQ(:PATH)%", code: "%RESPONSE_CODE%", marked: "%RESP(X-MARKED)%", flags: "%RESPONSE_FLAGS_LONG%"}`),
    });
    const routes = `${HTTP_GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /marked}}]
    rewrite: {uri: /get}
    headers: {response: {set: {x-marked: "yes"}}}
    route: [{destination: {host: app.local, port: {number: 80}}}]
  - match: [{uri: {prefix: /dead}}]
    route: [{destination: {host: dead.local, port: {number: 80}}}]
  - route: [{destination: {host: app.local, port: {number: 80}}}]
---${serviceEntry("app", "app.local", 80, backend.port)}---${serviceEntry("dead", "dead.local", 80, 1)}`;
    const filter = "response.headers['x-marked'] == 'yes' || response.flags != 0 || request.duration > duration('1h')";
    const config = writeTree({ "routes.yaml": routes, "telemetry.yaml": telemetry(`providers: [{name: json-file}]\n    filter: {expression: "${filter}"}`) });
    const gw = await startGateway({ configDirs: [config], workers: 1, args: ["--mesh-config", join(mesh, "mesh.yaml")] });
    try {
      expect(gw.output()).not.toContain("GW0951"); // evaluated, not a Warning
      expect(await get(gw, "/get")).toBe(200);
      expect(await get(gw, "/marked")).toBe(200);
      expect(await get(gw, "/dead")).toBe(503);
      expect((await logLines(file, () => true, 2)).map((l) => JSON.parse(l))).toEqual([
        { path: "/marked", code: 200, marked: "yes", flags: null },
        { path: "/dead", code: 503, marked: null, flags: "UpstreamConnectionFailure" }, // (/get, not matched, came first: one worker writes in order)
      ]);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  }, 60_000);
});

// The mesh config's access-log fields through the real gateway: accessLogFile,
// accessLogFormat (text, with a request header no default format reads) and
// accessLogEncoding JSON, changed while the gateway runs (no restart), `""` off;
// an explicit --access-log wins over accessLogFile.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
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

const config = () => ({
  "gw.yaml": `${HTTP_GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: app.local, port: {number: 80}}}]}]
---${serviceEntry("app", "app.local", 80, backend.port)}`,
});

async function get(gw: GatewayProcess, tenant: string, path = "/get"): Promise<number> {
  const r = await fetch(gw.url(80, path), { headers: { "x-tenant": tenant } });
  await r.arrayBuffer();
  return r.status;
}

describe("mesh config accessLogFile / accessLogFormat / accessLogEncoding", () => {
  test("a text format with a request header, then JSON to another file and off, applied without a restart", async () => {
    const logs = writeTree({});
    const meshDir = writeTree({});
    const mesh = join(meshDir, "mesh.yaml");
    const a = join(logs, "a.log");
    const b = join(logs, "b.log");
    writeFileSync(mesh, `accessLogFile: ${a}\naccessLogFormat: '%REQ(:METHOD)% %REQ(X-TENANT)% %RESPONSE_CODE% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %ROUTE_NAME%'\n`);
    const gw = await startGateway({ configDirs: [writeTree(config())], args: ["--mesh-config", mesh] });
    try {
      expect(await get(gw, "blue")).toBe(200);
      expect(await logLines(a, (l) => l.includes("blue"))).toEqual(["GET blue 200 127.0.0.1 app.0"]);

      await writeAndReload(gw, mesh, `accessLogFile: ${b}\naccessLogEncoding: JSON\naccessLogFormat: '{"tenant": "%REQ(X-TENANT)%", "code": "%RESPONSE_CODE%", "path": "%REQ(:PATH)%", "none": "%REQ(X-NONE)%"}'\n`);
      expect(await get(gw, "red", "/status/418")).toBe(418);
      const json = await logLines(b, (l) => l.includes("red"));
      expect(json.map((l) => JSON.parse(l))).toEqual([{ tenant: "red", code: 418, path: "/status/418", none: null }]);

      await writeAndReload(gw, mesh, `accessLogFile: ""\n`);
      expect(await get(gw, "off")).toBe(200);
      await writeAndReload(gw, mesh, `accessLogFile: ${a}\n`); // Istio's default text format
      expect(await get(gw, "back")).toBe(200);
      const back = await logLines(a, () => true, 2);
      expect(back).toHaveLength(2);
      expect(back[0]).toBe("GET blue 200 127.0.0.1 app.0");
      expect(back[1]).toMatch(/^\[\S+Z\] "GET \/get HTTP\/1\.1" 200 - via_upstream - "-" 0 \d+ \d+ \d+ "127\.0\.0\.1" "[^"]*" "[^"]+" "127\.0\.0\.1:\d+" "127\.0\.0\.1:\d+" outbound\|80\|\|app\.local /);
      // the request made while the access log was off is in neither file
      expect(await logLines(b, () => true, 1, 0)).toHaveLength(1);
      expect(back.join("\n")).not.toContain("off");
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  }, 60_000);

  test("an explicit --access-log wins over accessLogFile; the mesh config's format still applies", async () => {
    const logs = writeTree({});
    const meshDir = writeTree({ "mesh.yaml": `accessLogFile: ${join(logs, "mesh.log")}\naccessLogFormat: 'tenant=%REQ(X-TENANT)%'\n` });
    const flag = join(logs, "flag.log");
    const gw = await startGateway({ configDirs: [writeTree(config())], args: ["--mesh-config", join(meshDir, "mesh.yaml"), "--access-log", flag] });
    try {
      expect(await get(gw, "green")).toBe(200);
      expect(await logLines(flag)).toEqual(["tenant=green"]);
      expect(await logLines(join(logs, "mesh.log"), () => true, 1, 0)).toEqual([]);
      expect(gw.output()).toContain("the explicit --access-log");
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  }, 30_000);

  test("an accessLogFile that cannot be opened: said once per worker, traffic served, a fixed path then logs", async () => {
    const logs = writeTree({});
    const meshDir = writeTree({});
    const mesh = join(meshDir, "mesh.yaml");
    writeFileSync(mesh, `accessLogFile: ${join(logs, "no-such-dir", "a.log")}\n`);
    const gw = await startGateway({ configDirs: [writeTree(config())], args: ["--mesh-config", mesh] });
    try {
      expect(await get(gw, "x")).toBe(200);
      await gw.waitForOutput(/cannot open the access log \S*no-such-dir\/a\.log: ENOENT/);
      const ok = join(logs, "ok.log");
      await writeAndReload(gw, mesh, `accessLogFile: ${ok}\naccessLogFormat: '%RESPONSE_CODE%'\n`);
      expect(await get(gw, "y")).toBe(200);
      expect(await logLines(ok)).toEqual(["200"]);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  }, 30_000);

  test("an operator Envoy does not know: the gateway does not start, and says which", async () => {
    const meshDir = writeTree({ "mesh.yaml": "accessLogFile: /dev/stdout\naccessLogFormat: '%START_TIME% %RESPONSE_COD%'\n" });
    await expect(startGateway({ configDirs: [writeTree(config())], args: ["--mesh-config", join(meshDir, "mesh.yaml")] })).rejects.toThrow(/accessLogFormat: %RESPONSE_COD%: RESPONSE_COD is not an Envoy command operator .*\[GW0950\]/);
  }, 30_000);
});

// Validation against the published schemas, through the real process: a typo
// (`prefx:`) stops a start-up with exit 1 naming file, document and field; the
// same typo in a reload is refused and the last good configuration keeps
// serving; `analyze` reports it with its code, and a misspelt kind as a Warning.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { serviceEntry } from "../helpers/config.ts";
import { runCli, startGateway, writeTree } from "../helpers/gateway.ts";

let httpbin: Backend;
beforeAll(() => {
  httpbin = startHttpbin({ name: "httpbin" });
});
afterAll(async () => {
  await httpbin.stop();
});

/** A Gateway and a VirtualService routing only `/status` (`key` is the StringMatch field as written). */
function routes(key: string): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["httpbin.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin}
spec:
  hosts: ["httpbin.example.com"]
  gateways: [gw]
  http:
  - match: [{uri: {${key}: /status}}]
    route: [{destination: {host: httpbin.local, port: {number: 80}}}]
`;
}

const TYPO_FIELD = "spec.http[0].match[0].uri.prefx";

function get(gw: { url(p: number, path?: string): string }, path: string): Promise<Response> {
  return fetch(gw.url(80, path), { headers: { host: "httpbin.example.com" } });
}

describe("published schema validation", () => {
  test("start-up with an unknown field exits 1 naming file, document, field and the field meant", async () => {
    const dir = writeTree({ "routes.yaml": routes("prefx"), "backend.yaml": serviceEntry("httpbin", "httpbin.local", 80, httpbin.port) });
    const r = await runCli(["--config", dir, "--admin", "off"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(dir, "routes.yaml"));
    expect(r.stderr).toContain("document 1");
    expect(r.stderr).toContain("VirtualService/default/httpbin");
    expect(r.stderr).toContain(TYPO_FIELD);
    expect(r.stderr).toContain('did you mean "prefix"?');
    expect(r.stderr).toContain("[GW0112]");
  }, 30_000);

  test("a reload with an unknown field is refused; the last good configuration keeps serving", async () => {
    const dir = writeTree({ "routes.yaml": routes("prefix"), "backend.yaml": serviceEntry("httpbin", "httpbin.local", 80, httpbin.port) });
    const gw = await startGateway({ configDirs: [dir] });
    try {
      expect((await get(gw, "/status/200")).status).toBe(200);
      expect((await get(gw, "/headers")).status).toBe(404);
      writeTree({ "routes.yaml": routes("prefx") }, dir);
      await gw.waitForOutput(/configuration rejected/);
      await gw.waitForOutput(/spec\.http\[0\]\.match\[0\]\.uri\.prefx/);
      // had the typo been applied, the match would be match-all and /headers a 200
      expect((await get(gw, "/headers")).status).toBe(404);
      expect((await get(gw, "/status/200")).status).toBe(200);
      expect((await gw.admin("/ready")).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 30_000);

  test("analyze: the unknown field is an Error (exit 1); a misspelt kind is a Warning with did-you-mean (exit 0)", async () => {
    const bad = writeTree({ "routes.yaml": routes("prefx") });
    const r = await runCli(["analyze", "--config", bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Error: ${join(bad, "routes.yaml")}: document 1: VirtualService/default/httpbin: ${TYPO_FIELD}: unknown field "prefx"; did you mean "prefix"? [GW0112]`);

    const misspelt = writeTree({
      "routes.yaml": routes("prefix") + "---\napiVersion: networking.istio.io/v1\nkind: Gatway\nmetadata: {name: gw2}\nspec: {}\n",
      "backend.yaml": serviceEntry("httpbin", "httpbin.local", 80, httpbin.port),
    });
    const w = await runCli(["analyze", "--config", misspelt, "-o", "json"]);
    expect(w.code).toBe(0);
    const findings = JSON.parse(w.stdout) as { code: string; level: string; field?: string; message: string }[];
    const kind = findings.find((f) => f.code === "GW0113");
    expect(kind?.level).toBe("Warning");
    expect(kind?.field).toBe("kind");
    expect(kind?.message).toContain('did you mean "Gateway"?');
  }, 30_000);
});

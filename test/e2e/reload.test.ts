// Hot reload through the real process: reloads while a bounded load runs fail no
// request; a Kubernetes ConfigMap volume swap (..data) reaches traffic; SIGTERM
// lets a slow request finish.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { startGateway, writeTree } from "../helpers/gateway.ts";
import { writeKubeVolume } from "../helpers/kube-volume.ts";
import { serviceEntry } from "../helpers/config.ts";

let v1: Backend;
let v2: Backend;
beforeAll(() => {
  v1 = startHttpbin({ name: "v1" });
  v2 = startHttpbin({ name: "v2" });
});
afterAll(async () => {
  await v1.stop();
  await v2.stop();
});

/** Gateway + VirtualService for host `h`, destination a ServiceEntry on `port`. */
function config(backendPort: number, extraPrefix = "/never"): Record<string, string> {
  return {
    "gw.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["app.example.com"]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: app, namespace: default}
spec:
  hosts: ["app.example.com"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: ${extraPrefix}}}]
    route: [{destination: {host: app.local, port: {number: 80}}}]
  - route: [{destination: {host: app.local, port: {number: 80}}}]
---` + serviceEntry("app", "app.local", 80, backendPort),
  };
}

describe("hot reload", () => {
  test("reloads during a bounded load fail no request, and traffic moves to the new backend", async () => {
    const dir = writeTree(config(v1.port));
    const gw = await startGateway({ configDirs: [dir] });
    try {
      const url = gw.url(80, "/get");
      const seen = { v1: 0, v2: 0, failed: 0, other: 0 };
      let stop = false;
      const deadline = Date.now() + 15_000;
      const client = async () => {
        for (let i = 0; i < 5000 && !stop && Date.now() < deadline; i++) {
          try {
            const r = await fetch(url, { headers: { host: "app.example.com" } });
            await r.arrayBuffer();
            const b = r.headers.get("x-backend");
            if (r.status !== 200) seen.failed++;
            else if (b === "v1") seen.v1++;
            else if (b === "v2") seen.v2++;
            else seen.other++;
          } catch {
            seen.failed++;
          }
        }
      };
      const clients = Array.from({ length: 8 }, client);
      // five reloads: alternate the backend and change an unrelated route
      for (let i = 0; i < 5; i++) {
        await Bun.sleep(300);
        writeTree(config(i % 2 === 0 ? v2.port : v1.port, `/p${i}`), dir);
        await gw.waitForOutput(new RegExp(`version=${i + 2}\\b`));
      }
      await Bun.sleep(300);
      stop = true;
      await Promise.all(clients);
      expect(seen.failed).toBe(0);
      expect(seen.other).toBe(0);
      expect(seen.v1).toBeGreaterThan(0);
      expect(seen.v2).toBeGreaterThan(0);
      const metrics = await (await gw.admin("/stats/prometheus")).text();
      expect(metrics).toContain('gangway_config_reloads_total{result="ok"} 5');
      expect(metrics).toContain("gangway_config_version 6");
    } finally {
      await gw.stop();
    }
  });

  test("a ConfigMap volume update (kubelet ..data swap) reaches traffic", async () => {
    const dir = writeTree({});
    writeKubeVolume(dir, config(v1.port));
    const gw = await startGateway({ configDirs: [dir] });
    try {
      const get = () => fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } });
      expect((await get()).headers.get("x-backend")).toBe("v1");
      writeKubeVolume(dir, config(v2.port));
      const end = Date.now() + 5000;
      while ((await get()).headers.get("x-backend") !== "v2" && Date.now() < end) await Bun.sleep(50);
      expect((await get()).headers.get("x-backend")).toBe("v2");
      expect(gw.output()).toContain("configuration reloaded");
    } finally {
      await gw.stop();
    }
  });

  test("an unchanged rewrite of the files is not a reload", async () => {
    const files = config(v1.port);
    const dir = writeTree(files);
    const gw = await startGateway({ configDirs: [dir] });
    try {
      writeTree(files, dir);
      await Bun.sleep(1500);
      expect(gw.output()).not.toContain("configuration reloaded");
    } finally {
      await gw.stop();
    }
  });

  test("SIGHUP forces a reload of changed files", async () => {
    const dir = writeTree(config(v1.port));
    const gw = await startGateway({ configDirs: [dir] });
    try {
      writeTree(config(v2.port), dir);
      gw.proc.kill("SIGHUP");
      await gw.waitForOutput(/configuration reloaded/);
      expect((await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } })).headers.get("x-backend")).toBe("v2");
    } finally {
      await gw.stop();
    }
  });
});

describe("lifecycle", () => {
  test("SIGTERM: ready turns 503, a slow request in flight completes, exit 0", async () => {
    const gw = await startGateway({ configDirs: [writeTree(config(v1.port))], args: ["--drain-seconds", "5"] });
    const slow = fetch(gw.url(80, "/delay/2"), { headers: { host: "app.example.com" } });
    await Bun.sleep(300);
    gw.proc.kill("SIGTERM");
    await Bun.sleep(200);
    const ready = await gw.admin("/ready").then((r) => r.status, () => 0);
    expect([503, 0]).toContain(ready); // 503 while draining (0 once the admin closed)
    const r = await slow;
    expect(r.status).toBe(200);
    expect(((await r.json()) as { delayed: number }).delayed).toBe(2);
    expect(await gw.proc.exited).toBe(0);
  });

  test("bad usage exits 2; a configuration that does not load exits 1 naming file, document and field", async () => {
    const { runCli } = await import("../helpers/gateway.ts");
    expect((await runCli(["--bogus"])).code).toBe(2);
    expect((await runCli([])).code).toBe(2);
    const dir = writeTree({
      "ok.yaml": config(v1.port)["gw.yaml"]!,
      "bad.yaml": "apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g}\nspec: {}\n---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [a]\n  http:\n  - route: [{destination: {port: {number: 80}}}]\n",
    });
    const r = await runCli(["--config", dir, "--admin", "off"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(dir, "bad.yaml"));
    expect(r.stderr).toContain("document 1");
    expect(r.stderr).toContain("spec.http[0].route[0].destination.host");
  });
});

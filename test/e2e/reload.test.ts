// Hot reload through the real process: reloads while a bounded load runs fail no
// request; a Kubernetes ConfigMap volume swap (..data) and a same-size edit stat cannot
// see reach traffic; SIGTERM
// lets a slow request finish.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFile } from "node:fs/promises";
import { renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
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

/** A counter of the gateway's /stats/prometheus (0 when absent). */
async function metric(gw: GatewayProcess, name: string): Promise<number> {
  const text = await (await gw.admin("/stats/prometheus")).text();
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** Wait until a counter reaches `n` (bounded). */
async function waitMetric(gw: GatewayProcess, name: string, n: number, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await metric(gw, name)) < n) {
    if (Date.now() > end) throw new Error(`${name} did not reach ${n}`);
    await Bun.sleep(50);
  }
}

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
      const served = () => seen.v1 + seen.v2 + seen.failed + seen.other;
      /** Let the load run for `n` more requests (bounded by the clients' deadline). */
      const requests = async (n: number) => {
        const target = served() + n;
        while (served() < target && !stop && Date.now() < deadline) await Bun.sleep(10);
      };
      // five reloads under load: alternate the backend and change an unrelated route
      for (let i = 0; i < 5; i++) {
        await requests(50);
        writeTree(config(i % 2 === 0 ? v2.port : v1.port, `/p${i}`), dir);
        await gw.waitForOutput(new RegExp(`version=${i + 2}\\b`), 20_000);
      }
      await requests(50);
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
      await gw.waitForOutput(/configuration reloaded/, 20_000); // published to every worker before it is logged
      expect((await get()).headers.get("x-backend")).toBe("v2");
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
      await waitMetric(gw, "gangway_config_reads_total", 1); // the files were read again
      expect(gw.output()).not.toContain("configuration reloaded");
    } finally {
      await gw.stop();
    }
  });

  test("a bad edit after a good one keeps the last good configuration serving; the next good edit applies (decode cache)", async () => {
    const dir = writeTree(config(v1.port));
    const gw = await startGateway({ configDirs: [dir] });
    const get = () => fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } });
    try {
      writeTree(config(v2.port), dir);
      await waitMetric(gw, "gangway_config_reloads_total\\{result=\"ok\"\\}", 1);
      expect((await get()).headers.get("x-backend")).toBe("v2");
      // per-phase fields; the workers got a delta, not the full snapshot
      expect(gw.output()).toMatch(/configuration reloaded .*took_ms=\d+ read_ms=[\d.]+ decode_ms=[\d.]+ compile_ms=[\d.]+ diff_ms=[\d.]+ send_ms=[\d.]+ worker_receive_ms=[\d.]+ worker_apply_ms=[\d.]+ .*workers_delta=[1-9]\d* workers_full=0/);
      const bad = config(v1.port);
      bad["gw.yaml"] = bad["gw.yaml"]!.replace("prefix: /never", "prefix: /never}, timeout: 12parsecs");
      writeTree(bad, dir);
      await waitMetric(gw, "gangway_config_reloads_total\\{result=\"failed\"\\}", 1);
      expect(gw.output()).toContain("configuration rejected");
      expect((await get()).headers.get("x-backend")).toBe("v2");
      writeTree(config(v1.port), dir);
      await waitMetric(gw, "gangway_config_reloads_total\\{result=\"ok\"\\}", 2);
      expect((await get()).headers.get("x-backend")).toBe("v1");
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

  test("a same-size edit with the file's mtime set back reaches traffic (a reload compares the bytes read, not stat)", async () => {
    const dir = writeTree(config(v1.port));
    const gw = await startGateway({ configDirs: [dir] });
    try {
      const path = join(dir, "gw.yaml");
      const next = config(v2.port)["gw.yaml"]!;
      expect(next.length).toBe(config(v1.port)["gw.yaml"]!.length); // ephemeral ports: five digits each
      const st = statSync(path);
      writeFileSync(path, next);
      utimesSync(path, st.atime, st.mtime);
      gw.proc.kill("SIGHUP");
      await gw.waitForOutput(/configuration reloaded/);
      expect((await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } })).headers.get("x-backend")).toBe("v2");
    } finally {
      await gw.stop();
    }
  });
});

describe("what the watch reacts to", () => {
  test("SIGHUP with nothing changed logs that", async () => {
    const gw = await startGateway({ configDirs: [writeTree(config(v1.port))] });
    try {
      gw.proc.kill("SIGHUP");
      await gw.waitForOutput(/reload requested: no change version=1\b/);
      expect(gw.output()).not.toContain("configuration reloaded");
    } finally {
      await gw.stop();
    }
  });

  test("a big file written beside the config folder reads nothing; a ..data swap and a renamed folder still reload", async () => {
    const root = writeTree({});
    const volume = join(root, "v1");
    writeKubeVolume(volume, config(v1.port));
    symlinkSync(volume, join(root, "config"));
    const gw = await startGateway({ configDirs: [join(root, "config")], env: { GANGWAY_DEBUG: "1" }, args: ["--access-log", join(root, "access.log")] });
    try {
      const log = join(root, "beside.log");
      const chunk = Buffer.alloc(1 << 20, 0x61);
      for (let i = 0; i < 20; i++) await appendFile(log, chunk); // 20 MB beside the config folder
      await gw.waitForOutput(/watch: not a configuration change path=\S*beside\.log/);
      // requests write the access log beside it too
      for (let i = 0; i < 5; i++) await (await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } })).arrayBuffer();
      await gw.waitForOutput(/watch: not a configuration change path=\S*access\.log/);
      expect(await metric(gw, "gangway_config_reads_total")).toBe(0);

      let mark = gw.output().length;
      writeKubeVolume(volume, config(v2.port)); // the kubelet's ..data swap inside the folder
      await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
      expect((await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } })).headers.get("x-backend")).toBe("v2");
      expect(await metric(gw, "gangway_config_reads_total")).toBe(1);

      const other = join(root, "v2");
      writeKubeVolume(other, config(v1.port, "/other"));
      mark = gw.output().length;
      symlinkSync(other, join(root, "config.tmp"));
      renameSync(join(root, "config.tmp"), join(root, "config")); // the folder itself renamed over
      await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
      expect((await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" } })).headers.get("x-backend")).toBe("v1");
    } finally {
      await gw.stop();
    }
  });

  test("a configuration file above 8 MiB is refused with an Error naming it", async () => {
    const dir = writeTree(config(v1.port));
    writeFileSync(join(dir, "huge.yaml"), Buffer.alloc(9 << 20, 0x20));
    const r = await runCli(["--config", dir, "--admin", "off"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: ${join(dir, "huge.yaml")}: configuration file ${join(dir, "huge.yaml")} is 9.0 MiB, above the 8.0 MiB limit: not read [GW0002]`);
  });
});

describe("lifecycle", () => {
  test("SIGTERM: ready turns 503, a slow request in flight completes, exit 0", async () => {
    // a backend that says when the request reached it, and answers when told to
    let arrived!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const slowBackend = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: async () => {
        arrived();
        await answered;
        return new Response("finished");
      },
    });
    const gw = await startGateway({ configDirs: [writeTree(config(slowBackend.port!))], args: ["--drain-seconds", "5"] });
    try {
      const slow = fetch(gw.url(80, "/slow"), { headers: { host: "app.example.com" } });
      await reached; // in flight
      gw.proc.kill("SIGTERM");
      await gw.waitForOutput(/draining/);
      const ready = await gw.admin("/ready").then((r) => r.status, () => 0);
      expect([503, 0]).toContain(ready); // 503 while draining (0 once the admin closed)
      answer();
      const r = await slow;
      expect(r.status).toBe(200);
      expect(await r.text()).toBe("finished");
      expect(await gw.proc.exited).toBe(0);
    } finally {
      answer();
      await gw.stop();
      slowBackend.stop(true);
    }
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

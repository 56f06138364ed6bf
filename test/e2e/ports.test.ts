// The ports of a deployed gateway (INTERFACE.md): the admin on loopback, the status
// port (readiness alone, and liveness) and the metrics port, on real sockets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { freePort, runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { appConfig } from "../helpers/config.ts";

const CONFIG = join(import.meta.dir, "..", "..", "config");

describe("--status-port and --metrics-port", () => {
  let httpbin: Backend;
  let gw: GatewayProcess;
  let status: number;
  let metrics: number;
  const at = (port: number, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init);

  beforeAll(async () => {
    httpbin = startHttpbin({ name: "app" });
    status = await freePort();
    metrics = await freePort();
    const dir = writeTree({ "c.yaml": appConfig(httpbin.port) });
    gw = await startGateway({
      configDirs: [dir],
      args: ["--status-port", `127.0.0.1:${status}`, "--metrics-port", `127.0.0.1:${metrics}`, "--drain-seconds", "5"],
    });
  });
  afterAll(async () => {
    await gw.stop();
    await httpbin.stop();
  });

  test("the status port answers readiness and liveness, and nothing else", async () => {
    const ready = await at(status, "/healthz/ready");
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("LIVE\n");
    expect((await at(status, "/healthz/live")).status).toBe(200);
    for (const path of ["/config_dump", "/certs", "/stats/prometheus", "/ready", "/listeners", "/"]) {
      const r = await at(status, path);
      expect(`${path} ${r.status}`).toBe(`${path} 404`);
      expect(await r.text()).toBe("not found\n");
    }
    expect((await at(status, "/healthz/ready", { method: "POST" })).status).toBe(405);
  });

  test("the metrics port answers /stats/prometheus, and nothing else", async () => {
    await fetch(gw.url(80, "/status/200"), { headers: { host: "app.example.com" } }).then((r) => r.arrayBuffer());
    const m = await at(metrics, "/stats/prometheus");
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const body = await m.text();
    expect(body).toContain("gangway_ready 1");
    expect(body).toMatch(/istio_requests_total\{response_code="200"[^}]*\} 1/);
    for (const path of ["/config_dump", "/healthz/ready", "/certs", "/"]) expect((await at(metrics, path)).status).toBe(404);
  });

  test("the admin keeps /ready, /healthz/ready, /stats/prometheus and gains /healthz/live", async () => {
    for (const path of ["/ready", "/healthz/ready", "/healthz/live", "/stats/prometheus", "/config_dump"]) {
      expect(`${path} ${(await gw.admin(path)).status}`).toBe(`${path} 200`);
    }
    expect(gw.output()).toContain(`status listening address=127.0.0.1:${status}`);
    expect(gw.output()).toContain(`metrics listening address=127.0.0.1:${metrics}`);
    expect(gw.output()).not.toContain("not on loopback"); // the admin is on 127.0.0.1
  });

  // last in this block: it stops the gateway
  test("while draining, readiness turns 503 and liveness stays 200, until the in-flight request is done", async () => {
    const inflight = fetch(gw.url(80, "/delay/2"), { headers: { host: "app.example.com" } });
    // wait until the request is at the backend (which delays it 2 s)
    for (let i = 0; i < 200 && httpbin.server.pendingRequests === 0; i++) await Bun.sleep(25);
    expect(httpbin.server.pendingRequests).toBe(1);
    gw.proc.kill("SIGTERM");
    await gw.waitForOutput(/draining/);
    expect((await at(status, "/healthz/ready")).status).toBe(503);
    expect((await at(status, "/healthz/live")).status).toBe(200);
    expect((await gw.admin("/healthz/live")).status).toBe(200);
    const r = await inflight;
    expect(r.status).toBe(200);
    expect(await gw.proc.exited).toBe(0);
  });
});

describe("liveness of a gateway whose traffic port another process holds", () => {
  const hasNode = Bun.which("node") !== null;
  test.skipIf(!hasNode)("readiness 503, liveness 200 on the status port", async () => {
    const port = await freePort();
    const status = await freePort();
    // node's listener does not set SO_REUSEPORT: the gateway's bind fails while it holds the port
    const holder = Bun.spawn(["node", "-e", `require("net").createServer().listen(${port}, "127.0.0.1", () => console.log("up"))`], { stdout: "pipe" });
    await (holder.stdout as ReadableStream<Uint8Array>).getReader().read(); // "up"
    const gw = await startGateway({
      configDirs: [join(CONFIG, "quickstart")],
      waitReady: false,
      args: ["--port-map", `80:${port}`, "--status-port", `127.0.0.1:${status}`],
    });
    try {
      await gw.waitForOutput(/EADDRINUSE|in use/i);
      expect((await fetch(`http://127.0.0.1:${status}/healthz/ready`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${status}/healthz/live`)).status).toBe(200);
    } finally {
      holder.kill();
      await gw.stop();
    }
  });
});

describe("start-up of the extra ports", () => {
  test("a status port that cannot be bound exits 1 and names it", async () => {
    const held = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = await runCli(["--config", join(CONFIG, "quickstart"), "--admin", "off", "--status-port", `127.0.0.1:${held.port}`, "--port-map", `80:${await freePort()}`, "--workers", "1"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot start the status listener address=127.0.0.1:${held.port}`);
    } finally {
      held.stop(true);
    }
  });

  test("bad values are usage errors (exit 2) naming the option", async () => {
    for (const [flag, value] of [["--status-port", "15021"], ["--metrics-port", "x:99999"]] as const) {
      const r = await runCli(["--config", join(CONFIG, "quickstart"), flag, value]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${flag}: (expected HOST:PORT|bad port)`));
    }
  });
});

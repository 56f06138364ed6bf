// Operating gangway from the outside: explain, proxy-config (offline and live),
// analyze output and exit codes, metrics after a known mix of requests.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { freePort, runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { appConfig } from "../helpers/config.ts";

const CONFIG = join(import.meta.dir, "..", "..", "config");
const QUICK = ["--config", join(CONFIG, "quickstart")];

describe("explain", () => {
  test("404 by host names the domains there are", async () => {
    const r = await runCli(["explain", ...QUICK, "--host", "nope.example.com", "--path", "/status/200"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("result:        404 no_virtual_host: no virtual host for nope.example.com in http.80 (domains: httpbin.example.com)");
  });

  test("404 by path shows every route considered and why it did not match", async () => {
    const r = await runCli(["explain", ...QUICK, "--host", "httpbin.example.com:31194", "--path", "/headers"]);
    expect(r.stdout).toContain("path /headers is not prefix /status");
    expect(r.stdout).toContain("path /headers is not prefix /delay");
    expect(r.stdout).toContain("404 no_route");
  });

  test("404 by header", async () => {
    const dir = writeTree({
      "c.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{headers: {x-version: {exact: v2}}}]
    route: [{destination: {host: a.local}}]
`,
    });
    const miss = await runCli(["explain", "--config", dir, "--host", "x", "--path", "/", "--header", "x-version=v1"]);
    expect(miss.stdout).toContain('header x-version="v1" is not exact v2');
    expect(miss.stdout).toContain("404 no_route");
    const hit = await runCli(["explain", "--config", dir, "--host", "x", "--path", "/", "--header", "x-version: v2", "-o", "json"]);
    const t = JSON.parse(hit.stdout) as { outcome: string; route: string; cluster: string };
    expect(t.route).toBe("v.0");
    expect(t.cluster).toBe("outbound|80||a.local");
    expect(t.outcome).toBe("no_endpoints"); // a.local is no Service: 503
  });

  test("the matched route, destination and endpoints", async () => {
    const r = await runCli(["explain", ...QUICK, "--host", "httpbin.example.com", "--path", "/delay/1"]);
    expect(r.stdout).toContain("MATCH");
    expect(r.stdout).toContain("destination:   outbound|8000||httpbin.default.svc.cluster.local weight 100 → 127.0.0.1:18080");
    expect(r.stdout).toContain("result:        200 forward");
  });
});

describe("proxy-config", () => {
  test("offline clusters: EDS for a Kubernetes Service, as istioctl prints it", async () => {
    const r = await runCli(["proxy-config", "clusters", ...QUICK]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+DESTINATION RULE$/);
    expect(r.stdout).toMatch(/httpbin\.default\.svc\.cluster\.local\s+8000\s+-\s+outbound\s+EDS/);
  });

  test("offline listeners, routes, endpoints and secrets", async () => {
    expect((await runCli(["proxy-config", "listeners", ...QUICK])).stdout).toMatch(/0\.0\.0\.0\s+80\s+80\s+HTTP\s+ALL\s+Route: http\.80/);
    expect((await runCli(["proxy-config", "routes", ...QUICK])).stdout).toMatch(/http\.80\s+httpbin\.example\.com:80\s+httpbin\.example\.com\s+\/status\*\s+httpbin\.default/);
    expect((await runCli(["proxy-config", "endpoints", ...QUICK])).stdout).toMatch(/127\.0\.0\.1:18080\s+HEALTHY\s+OK\s+outbound\|8000\|\|httpbin/);
    const secrets = await runCli(["proxy-config", "secrets", "--config", join(CONFIG, "backends"), "--config", join(CONFIG, "walkthrough/06-tls-multi-host")]);
    expect(secrets.stdout).toMatch(/kubernetes:\/\/httpbin-credential\s+Cert Chain\s+ACTIVE\s+true/);
    expect(secrets.stdout).toContain("kubernetes://helloworld-credential");
  });

  test("bad usage exits 2", async () => {
    expect((await runCli(["proxy-config", "nonsense", ...QUICK])).code).toBe(2);
    expect((await runCli(["proxy-config", "clusters"])).code).toBe(2);
  });
});

describe("analyze", () => {
  test("findings as json with code, level, resource, file, document; exit 1 on an Error", async () => {
    const dir = writeTree({
      "vs.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [a.example.com]
  gateways: [missing]
  http: [{route: [{destination: {host: a.local}}]}]
`,
    });
    const r = await runCli(["analyze", "--config", dir, "-o", "json"]);
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout) as { code: string; level: string; resource: string; file: string; doc: number; field: string }[];
    const f = findings.find((x) => x.code === "GW0301")!;
    expect(f).toMatchObject({ level: "Error", resource: "VirtualService/default/v", file: join(dir, "vs.yaml"), doc: 0, field: "spec.gateways[0]" });
  });

  test("the quickstart has no findings: exit 0", async () => {
    const r = await runCli(["analyze", ...QUICK]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("No validation issues");
  });
});

describe("live: proxy-config --admin and metrics after a known mix", () => {
  let httpbin: Backend;
  let gw: GatewayProcess;
  beforeAll(async () => {
    httpbin = startHttpbin({ name: "httpbin" });
    const dir = writeTree({
      "c.yaml": appConfig(
        httpbin.port,
        `  - name: api
    match: [{uri: {prefix: /status}}]
    route: [{destination: {host: app.local, port: {number: 80}}}]`,
      ),
    });
    gw = await startGateway({ configDirs: [dir] });
  });
  afterAll(async () => {
    await gw.stop();
    await httpbin.stop();
  });

  test("proxy-config clusters --admin reads the running gateway", async () => {
    const r = await runCli(["proxy-config", "clusters", "--admin", `127.0.0.1:${gw.adminPort}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/app\.local\s+80\s+-\s+outbound\s+STATIC/);
  });

  test("3 × 200, 2 × 503, 1 × 404 are counted by code, flags, route and destination, summed over workers", async () => {
    const get = (p: string, host = "app.example.com") => fetch(gw.url(80, p), { headers: { host } }).then((r) => r.arrayBuffer());
    for (let i = 0; i < 3; i++) await get("/status/200");
    for (let i = 0; i < 2; i++) await get("/status/503");
    await get("/nowhere");
    const m = await (await gw.admin("/stats/prometheus")).text();
    const value = (re: RegExp) => Number(re.exec(m)?.[1] ?? "NaN");
    expect(value(/istio_requests_total\{response_code="200",response_flags="-",route="api",destination_service="app\.local"\} (\d+)/)).toBe(3);
    expect(value(/istio_requests_total\{response_code="503",response_flags="-",route="api",destination_service="app\.local"\} (\d+)/)).toBe(2);
    expect(value(/istio_requests_total\{response_code="404",response_flags="NR",[^}]*\} (\d+)/)).toBe(1);
    expect(value(/istio_request_duration_milliseconds_count\{response_code="200"[^}]*\} (\d+)/)).toBe(3);
    expect(m).toContain("# TYPE istio_request_duration_milliseconds histogram");
    expect(m).toContain("# TYPE istio_requests_total counter");
    expect(m).toContain("gangway_workers 2");
    expect(m).toContain("gangway_ready 1");
  });
  test("a second gateway on the same admin address exits 1 instead of sharing it", async () => {
    const r = await runCli(["--config", join(CONFIG, "quickstart"), "--admin", `127.0.0.1:${gw.adminPort}`, "--port-map", `80:${await freePort()}`, "--workers", "1"]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("cannot start the admin listener");
    expect((await gw.admin("/ready")).status).toBe(200);
  });
});

describe("explain on a TLS port", () => {
  const TLS = ["--config", join(CONFIG, "backends"), "--config", join(CONFIG, "walkthrough/06-tls-multi-host"), "--port", "443"];
  test("the SNI picks the filter chain; a Host it does not serve is 421; an unknown SNI fails the handshake", async () => {
    const ok = await runCli(["explain", ...TLS, "--host", "helloworld-v1.example.com", "--path", "/hello"]);
    expect(ok.stdout).toContain("filter chain:  https.443.https-helloworld.mygateway.default");
    expect(ok.stdout).toContain("200 forward");
    const mis = await runCli(["explain", ...TLS, "--sni", "httpbin.example.com", "--host", "helloworld-v1.example.com", "--path", "/hello"]);
    expect(mis.stdout).toContain("421 misdirected");
    const unknown = await runCli(["explain", ...TLS, "--host", "x.example.com", "--path", "/"]);
    expect(unknown.stdout).toContain("handshake_failed");
  });
});

describe("explain --alpn: the ClientHello's ALPN list (AUTO_PASSTHROUGH's chains match Istio's mTLS ALPNs)", () => {
  const dir = writeTree({
    "c.yaml": `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a, namespace: ns}
spec:
  hosts: [a.ns.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.7, labels: {security.istio.io/tlsMode: istio}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: cross-network, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: ["*.local"]
`,
  });
  const AP = ["explain", "--config", dir, "--port", "15443", "--sni", "outbound_.80_._.a.ns.svc.cluster.local", "--host", "x", "--path", "/"];
  test("an Istio ALPN among those offered (a list, or the flag repeated) reaches the SNI-DNAT cluster", async () => {
    for (const alpn of [["--alpn", "h2,istio"], ["--alpn", "h2", "--alpn", "istio-peer-exchange"], ["--alpn=istio-http/1.1"]]) {
      const r = await runCli([...AP, ...alpn]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("destination:   outbound_.80_._.a.ns.svc.cluster.local weight 100 → 10.0.0.7:80");
      expect(r.stdout).toContain("tcp_forward");
    }
  });

  test("none of them, or no ALPN at all (--alpn \"\"): the chain does not match and the handshake fails, naming what was offered", async () => {
    const h2 = await runCli([...AP, "--alpn", "h2", "--alpn", "http/1.1"]);
    expect(h2.stdout).toContain("handshake_failed");
    expect(h2.stdout).toContain("offered: h2, http/1.1");
    const none = await runCli([...AP, "--alpn", ""]);
    expect(none.stdout).toContain("offered: none");
    // without --alpn the hello's ALPN is not known: the condition is not applied
    expect((await runCli(AP)).stdout).toContain("tcp_forward");
  });

  test("-o json carries the same answer; a protocol name over 255 bytes is a usage error (exit 2)", async () => {
    const j = JSON.parse((await runCli([...AP, "--alpn", "h2", "-o", "json"])).stdout) as { outcome: string; reason: string };
    expect(j.outcome).toBe("handshake_failed");
    expect(j.reason).toContain("offered: h2");
    const long = await runCli([...AP, "--alpn", "x".repeat(256)]);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain("--alpn protocol names are at most 255 bytes");
  });
});

describe("a port held by another process", () => {
  const hasNode = Bun.which("node") !== null;
  test.skipIf(!hasNode)("is not ready while the port is taken, and binds once it is free, without a restart", async () => {
    const port = await freePort();
    // node's listener does not set SO_REUSEPORT: the gateway's bind fails while it holds the port
    const holder = Bun.spawn(["node", "-e", `require("net").createServer().listen(${port}, "127.0.0.1", () => console.log("up"))`], { stdout: "pipe" });
    const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // "up"
    const gw = await startGateway({ configDirs: [join(CONFIG, "quickstart")], waitReady: false, args: ["--port-map", `80:${port}`, "--bind", "127.0.0.1"] });
    try {
      await gw.waitForOutput(/EADDRINUSE|in use/i);
      expect((await gw.admin("/ready")).status).toBe(503);
      holder.kill();
      await holder.exited;
      const end = Date.now() + 15_000;
      while (Date.now() < end && (await gw.admin("/ready")).status !== 200) await Bun.sleep(200);
      expect((await gw.admin("/ready")).status).toBe(200);
      const r = await fetch(`http://127.0.0.1:${port}/status/200`, { headers: { host: "httpbin.example.com" } });
      expect(r.headers.get("server")).toBe("istio-envoy"); // the gateway answers (the backend is not running: 503)
    } finally {
      holder.kill();
      await gw.stop();
    }
  }, 30_000);
});

describe("a port another process shares with SO_REUSEPORT", () => {
  test.skipIf(process.platform !== "linux")("is detected and reported, /ready stays 503, and the gateway binds once it is gone", async () => {
    const port = await freePort();
    // a Bun listener with reusePort: the kernel would let the gateway bind beside it and split the traffic
    const holder = Bun.spawn([process.execPath, "-e", `Bun.listen({ hostname: "127.0.0.1", port: ${port}, reusePort: true, socket: { data() {} } }); console.log("up");`], { stdout: "pipe" });
    const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // "up"
    const gw = await startGateway({ configDirs: [join(CONFIG, "quickstart")], waitReady: false, args: ["--port-map", `80:${port}`, "--bind", "127.0.0.1"] });
    try {
      await gw.waitForOutput(new RegExp(`listener not bound .*127\\.0\\.0\\.1:${port} is in use by another process \\(pid ${holder.pid} `));
      expect((await gw.admin("/ready")).status).toBe(503);
      holder.kill();
      await holder.exited;
      const end = Date.now() + 20_000;
      while (Date.now() < end && (await gw.admin("/ready")).status !== 200) await Bun.sleep(100);
      expect((await gw.admin("/ready")).status).toBe(200);
      const r = await fetch(`http://127.0.0.1:${port}/status/200`, { headers: { host: "httpbin.example.com" } });
      expect(r.headers.get("server")).toBe("istio-envoy");
    } finally {
      holder.kill();
      await gw.stop();
    }
  }, 40_000);

  test.skipIf(process.platform !== "linux")("a second gateway on the same traffic port does not split it: it reports the first and is not ready", async () => {
    const first = await startGateway({ configDirs: [join(CONFIG, "quickstart")], workers: 1 });
    const port = first.ports.get(80)!;
    const second = await startGateway({ configDirs: [join(CONFIG, "quickstart")], workers: 1, waitReady: false, args: ["--port-map", `80:${port}`] });
    try {
      await second.waitForOutput(new RegExp(`127\\.0\\.0\\.1:${port} is in use by another process \\(pid ${first.proc.pid} `));
      expect((await second.admin("/ready")).status).toBe(503);
      expect((await first.admin("/ready")).status).toBe(200);
    } finally {
      await second.stop();
      await first.stop();
    }
  }, 40_000);
});

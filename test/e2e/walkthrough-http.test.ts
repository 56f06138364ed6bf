// The walkthrough's "Ingress网关" section through the real gateway process
// (2 workers), with its own YAML: HTTP gateway for httpbin.example.com, 404 for
// other paths and hosts, then the "*" variant, then Kubernetes Ingress.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

const CONFIG = join(import.meta.dir, "..", "..", "config");

function backends(port: number): string {
  return writeTree({
    "httpbin.yaml": `
apiVersion: v1
kind: Service
metadata:
  name: httpbin
spec:
  ports:
  - name: http
    port: 8000
    targetPort: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: httpbin-test
  labels:
    kubernetes.io/service-name: httpbin
addressType: IPv4
ports:
- name: http
  port: ${port}
endpoints:
- addresses: ["127.0.0.1"]
`,
  });
}

let httpbin: Backend;
beforeAll(() => {
  httpbin = startHttpbin({ name: "httpbin-e2e" });
});
afterAll(async () => {
  await httpbin.stop();
});

async function get(gw: GatewayProcess, host: string, path: string, method = "GET"): Promise<Response> {
  return fetch(gw.url(80, path), { method, headers: { host } });
}

describe("walkthrough: HTTP gateway (01-http-gateway)", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGateway({ configDirs: [backends(httpbin.port), join(CONFIG, "walkthrough/01-http-gateway")] });
  });
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
  });

  test("curl -I -HHost:httpbin.example.com /status/200 → 200 from httpbin, server: istio-envoy", async () => {
    const r = await get(gw, "httpbin.example.com", "/status/200", "HEAD");
    expect(r.status).toBe(200);
    expect(r.headers.get("server")).toBe("istio-envoy");
    expect(r.headers.get("x-backend")).toBe("httpbin-e2e");
    expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(Number(r.headers.get("x-envoy-upstream-service-time"))).toBeGreaterThanOrEqual(0);
  });

  test("/delay/1 is routed too", async () => {
    const r = await get(gw, "httpbin.example.com", "/delay/1");
    expect(r.status).toBe(200);
    expect(((await r.json()) as { delayed: number }).delayed).toBe(1);
  });

  test("a Host header with the node port (as curl sends it) still matches", async () => {
    const r = await get(gw, "httpbin.example.com:31194", "/status/418");
    expect(r.status).toBe(418);
    expect(await r.text()).toContain("teapot");
  });

  test("/headers (not exposed) → 404 with server: istio-envoy", async () => {
    const r = await get(gw, "httpbin.example.com", "/headers");
    expect(r.status).toBe(404);
    expect(r.headers.get("server")).toBe("istio-envoy");
    expect(r.headers.get("x-backend")).toBeNull();
  });

  test("another host → 404", async () => {
    expect((await get(gw, "other.example.com", "/status/200")).status).toBe(404);
  });

  test("one access log line per request, in Envoy's format", async () => {
    await get(gw, "httpbin.example.com", "/status/201");
    await gw.waitForOutput(/"GET \/status\/201 HTTP\/1\.1" 201 /);
  });

  test("admin answers ready, config_dump and metrics", async () => {
    expect((await gw.admin("/ready")).status).toBe(200);
    expect((await gw.admin("/healthz/ready")).status).toBe(200);
    const dump = (await (await gw.admin("/config_dump")).json()) as { version: number };
    expect(dump.version).toBe(1);
    const metrics = await (await gw.admin("/stats/prometheus")).text();
    expect(metrics).toContain("gangway_config_version 1");
    expect(metrics).toMatch(/istio_requests_total\{[^}]*response_code="200"[^}]*\} \d+/);
  });
});

describe("walkthrough: the * host variant (02-wildcard-host)", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGateway({ configDirs: [backends(httpbin.port), join(CONFIG, "walkthrough/02-wildcard-host")] });
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("any host reaches /headers, and httpbin sees the forwarded headers", async () => {
    const r = await get(gw, "what.ever.example", "/headers");
    expect(r.status).toBe(200);
    const { headers } = (await r.json()) as { headers: Record<string, string> };
    expect(headers["Host"]).toBe("what.ever.example");
    expect(headers["X-Forwarded-For"]).toBe("127.0.0.1");
    expect(headers["X-Forwarded-Proto"]).toBe("http");
    expect(headers["X-Request-Id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("a browser without a Host override: the IP as host", async () => {
    expect((await fetch(gw.url(80, "/headers"))).status).toBe(200);
  });

  test("/status is not routed in this variant", async () => {
    expect((await get(gw, "httpbin.example.com", "/status/200")).status).toBe(404);
  });
});

describe("hot reload: from the host gateway to the * variant and back, while serving", () => {
  test("a file replaced takes effect, a broken one is rejected and the last good one keeps serving", async () => {
    const dir = writeTree({});
    cpSync(join(CONFIG, "walkthrough/01-http-gateway"), dir, { recursive: true });
    const gw = await startGateway({ configDirs: [backends(httpbin.port), dir] });
    try {
      expect((await get(gw, "x.example", "/headers")).status).toBe(404);
      cpSync(join(CONFIG, "walkthrough/02-wildcard-host/httpbin-gateway.yaml"), join(dir, "httpbin-gateway.yaml"));
      await gw.waitForOutput(/configuration reloaded/);
      expect((await get(gw, "x.example", "/headers")).status).toBe(200);

      writeTree({ "httpbin-gateway.yaml": "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {name: x}\nspec:\n  hosts: [a\n" }, dir);
      await gw.waitForOutput(/configuration rejected/);
      expect(gw.output()).toContain("httpbin-gateway.yaml");
      expect((await get(gw, "x.example", "/headers")).status).toBe(200);
      expect((await gw.admin("/ready")).status).toBe(200);

      // no Gateway left on port 80: the port is closed (INTERFACE.md: listened on only while used)
      const mark = gw.output().length;
      rmSync(join(dir, "httpbin-gateway.yaml"));
      await gw.waitForOutput(/configuration reloaded/, 20_000, mark); // logged once every worker applied it
      expect(await get(gw, "x.example", "/headers").then(() => false, () => true)).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});

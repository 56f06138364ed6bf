// The walkthrough's "Ingress(kubernetes)" steps through the real gateway (2
// workers): config/walkthrough/03-ingress (v1beta1 Ingress with
// `kubernetes.io/ingress.class: istio`, /status/* → httpbin:8000), then
// 04-ingress-class (the same with an IngressClass), swapped in by hot reload;
// then the class changed at runtime takes the Ingress out and back in.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

const WALKTHROUGH = join(import.meta.dir, "..", "..", "config", "walkthrough");
const step03 = readFileSync(join(WALKTHROUGH, "03-ingress", "ingress.yaml"), "utf8");
const step04 = readFileSync(join(WALKTHROUGH, "04-ingress-class", "ingress.yaml"), "utf8");

/** httpbin's Service (port 8000 → 8080, as the sample) with the test's httpbin as endpoint, and an Ingress that stays, so port 80 stays open. */
function backends(port: number): string {
  return `apiVersion: v1
kind: Service
metadata: {name: httpbin}
spec:
  ports: [{name: http, port: 8000, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: httpbin-test, labels: {kubernetes.io/service-name: httpbin}}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: steady, annotations: {kubernetes.io/ingress.class: istio}}
spec:
  rules:
  - host: steady.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: httpbin, port: {number: 8000}}}}]
`;
}

let httpbin: Backend;
let gw: GatewayProcess;
let dir: string;

beforeAll(async () => {
  httpbin = startHttpbin({ name: "httpbin-ingress" });
  dir = writeTree({ "backends.yaml": backends(httpbin.port), "ingress.yaml": step03 });
  gw = await startGateway({ configDirs: [dir] });
}, 20_000);
afterAll(async () => {
  expect(await gw.stop()).toBe(0);
  await httpbin.stop();
});

function get(host: string, path: string, method = "GET"): Promise<Response> {
  return fetch(gw.url(80, path), { method, headers: { host } });
}

async function version(): Promise<number> {
  return ((await (await gw.admin("/config_dump")).json()) as { version: number }).version;
}

/**
 * Rewrite ingress.yaml, wait for the reload (the config version goes up), then
 * until the workers answer `status` for httpbin.example.com/status/200.
 */
async function apply(yaml: string, status: number): Promise<void> {
  const before = await version();
  writeFileSync(join(dir, "ingress.yaml"), yaml);
  const end = Date.now() + 10_000;
  while ((await version()) === before) {
    if (Date.now() > end) throw new Error(`no reload; output:\n${gw.output()}`);
    await Bun.sleep(25);
  }
  for (;;) {
    const r = await get("httpbin.example.com", "/status/200");
    await r.arrayBuffer();
    if (r.status === status) return;
    if (Date.now() > end) throw new Error(`still ${r.status} after the reload; output:\n${gw.output()}`);
    await Bun.sleep(25);
  }
}

async function walkthroughChecks(): Promise<void> {
  // curl -I -HHost:httpbin.example.com http://$INGRESS_HOST:$INGRESS_PORT/status/200
  const ok = await get("httpbin.example.com", "/status/200", "HEAD");
  expect(ok.status).toBe(200);
  expect(ok.headers.get("server")).toBe("istio-envoy");
  expect(ok.headers.get("x-backend")).toBe("httpbin-ingress");
  expect(ok.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(Number(ok.headers.get("x-envoy-upstream-service-time"))).toBeGreaterThanOrEqual(0);
  // other paths under /status/*, and the node port in the Host header
  expect((await get("httpbin.example.com:31194", "/status/418")).status).toBe(418);
  // curl -I -HHost:httpbin.example.com .../headers → 404 from the gateway itself
  const nf = await get("httpbin.example.com", "/headers", "HEAD");
  expect(nf.status).toBe(404);
  expect(nf.headers.get("server")).toBe("istio-envoy");
  expect(nf.headers.get("x-backend")).toBeNull();
  expect((await get("other.example.com", "/status/200")).status).toBe(404);
}

describe("walkthrough: Ingress(kubernetes)", () => {
  test("03-ingress: the annotated v1beta1 Ingress serves /status/* and nothing else", async () => {
    await walkthroughChecks();
  });

  test("proxy-config: the cluster comes from EDS, as `istioctl proxy-config cluster` shows", async () => {
    const { clusters } = (await (await gw.admin("/clusters")).json()) as { clusters: Record<string, { type: string; endpoints: { port: number }[] }> };
    const c = clusters["outbound|8000||httpbin.default.svc.cluster.local"]!;
    expect(c.type).toBe("EDS");
    expect(c.endpoints.map((e) => e.port)).toEqual([httpbin.port]);
  });

  test("04-ingress-class: the same Ingress naming an IngressClass with istio.io/ingress-controller", async () => {
    await apply(step04, 200);
    await walkthroughChecks();
  });

  test("the IngressClass changed to another controller takes the Ingress out, and back in", async () => {
    await apply(step04.replace("controller: istio.io/ingress-controller", "controller: k8s.io/ingress-nginx"), 404);
    expect((await get("steady.example.com", "/status/200")).status).toBe(200);
    await gw.waitForOutput(/Ingress\/default\/ingress: spec\.ingressClassName: IngressClass istio is for controller k8s\.io\/ingress-nginx: not served \[GW0501\]/);
    await apply(step04, 200);
  });

  test("the class annotation changed takes the Ingress out, and back in", async () => {
    await apply(step03, 200);
    await apply(step03.replace("kubernetes.io/ingress.class: istio", "kubernetes.io/ingress.class: nginx"), 404);
    await apply(step03.replace("kubernetes.io/ingress.class: istio", 'kubernetes.io/ingress.class: "istio"'), 200);
    // no class at all: not served (Istio's STRICT mode, gangway's default)
    await apply(step03.replace(/\n  annotations:\n    kubernetes\.io\/ingress\.class: istio/, ""), 404);
    await gw.waitForOutput(/Ingress\/default\/ingress: spec\.ingressClassName: no ingress class: not served/);
  });
});

// INTERFACE.md "Hot reload": a change to any kind takes effect without a restart.
// One real gateway process, one edit per kind (written, replaced, deleted), each
// checked by the traffic it changes. (VirtualService, ServiceEntry, Secret,
// ReferenceGrant, AuthorizationPolicy and the ..data swap have their own tests in
// reload, walkthrough-tls, gatewayapi-tls-reload and security.) And SIGTERM's bound.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { jwks, makeKey, now, sign, type TestKey } from "../helpers/jwt.ts";
import { startTrafficBackend, type TrafficBackend } from "../helpers/traffic-backends.ts";

let a: TrafficBackend;
let b: TrafficBackend;
let gw: GatewayProcess;
let dir = "";
let key: TestKey;

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*/*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [svc.example.com, subset.example.com, we.example.com]
  gateways: [istio-system/gw]
  http:
  - match: [{authority: {exact: subset.example.com}}]
    route: [{destination: {host: se.local, port: {number: 80}, subset: v2}}]
  - match: [{authority: {exact: we.example.com}}]
    route: [{destination: {host: we.local, port: {number: 80}}}]
  - route: [{destination: {host: app, port: {number: 80}}}]
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se}
spec:
  hosts: [se.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: A_PORT}, labels: {version: v1}}, {address: 127.0.0.1, ports: {http: B_PORT}, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: we}
spec:
  hosts: [we.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: we}}
---
${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: kgw, namespace: default}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 8080, protocol: HTTP}]
`;

const slice = (port: number) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: app-1, labels: {kubernetes.io/service-name: app}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1]}]
ports: [{name: http, port: ${port}}]
`;

const endpoints = (port: number) => `apiVersion: v1
kind: Endpoints
metadata: {name: app}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: http, port: ${port}}]}]
`;

beforeAll(async () => {
  a = startTrafficBackend("a");
  b = startTrafficBackend("b");
  key = await makeKey("ES256");
  dir = writeTree({ "gw.yaml": GATEWAY.replace("A_PORT", String(a.port)).replace("B_PORT", String(b.port)), "slice.yaml": slice(a.port) });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [80, 8080], workers: 1 });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  a?.stop();
  b?.stop();
});

/** Write (or with null delete) files, and wait until the gateway applied them. */
async function apply(files: Record<string, string | null>): Promise<void> {
  const mark = gw.output().length;
  for (const [name, text] of Object.entries(files)) {
    if (text === null) rmSync(join(dir, name), { force: true });
    else writeTree({ [name]: text }, dir);
  }
  await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
}

async function call(port: number, host: string, path = "/", headers: Record<string, string> = {}): Promise<string> {
  const r = await fetch(gw.url(port, path), { headers: { host, ...headers } });
  return `${r.status} ${r.headers.get("x-backend") ?? (await r.text())}`;
}

describe("hot reload, kind by kind", () => {
  test("EndpointSlice: a new port moves traffic", async () => {
    expect(await call(80, "svc.example.com")).toBe("200 a");
    await apply({ "slice.yaml": slice(b.port) });
    expect(await call(80, "svc.example.com")).toBe("200 b");
  });

  test("Endpoints: the slice deleted and Endpoints written in its place", async () => {
    await apply({ "slice.yaml": null, "endpoints.yaml": endpoints(a.port) });
    expect(await call(80, "svc.example.com")).toBe("200 a");
  });

  test("DestinationRule: the subset a route names appears", async () => {
    expect((await call(80, "subset.example.com")).slice(0, 3)).toBe("503");
    await apply({ "dr.yaml": "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: se}\nspec:\n  host: se.local\n  subsets: [{name: v2, labels: {version: v2}}]\n" });
    expect(await call(80, "subset.example.com")).toBe("200 b");
  });

  test("WorkloadEntry: an endpoint for a workloadSelector ServiceEntry", async () => {
    expect((await call(80, "we.example.com")).slice(0, 3)).toBe("503");
    await apply({ "we.yaml": `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: we-1}\nspec: {address: 127.0.0.1, labels: {app: we}, ports: {http: ${b.port}}}\n` });
    expect(await call(80, "we.example.com")).toBe("200 b");
  });

  test("Ingress and IngressClass: an Ingress naming a class appears when the class is istio's", async () => {
    const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing}
spec:
  ingressClassName: mine
  rules: [{host: ing.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}}]
`;
    await apply({ "ingress.yaml": ingress });
    expect((await call(80, "ing.example.com")).slice(0, 3)).toBe("404");
    await apply({ "class.yaml": "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: mine}\nspec: {controller: istio.io/ingress-controller}\n" });
    expect(await call(80, "ing.example.com")).toBe("200 a");
    await apply({ "ingress.yaml": null });
    expect((await call(80, "ing.example.com")).slice(0, 3)).toBe("404");
  });

  test("HTTPRoute: written, then edited", async () => {
    const route = (path: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: kgw}]
  rules: [{matches: [{path: {type: PathPrefix, value: ${path}}}], backendRefs: [{name: app, port: 80}]}]
`;
    expect((await call(8080, "k.example.com", "/one")).slice(0, 3)).toBe("404");
    await apply({ "route.yaml": route("/one") });
    expect(await call(8080, "k.example.com", "/one")).toBe("200 a");
    await apply({ "route.yaml": route("/two") });
    expect((await call(8080, "k.example.com", "/one")).slice(0, 3)).toBe("404");
    expect(await call(8080, "k.example.com", "/two")).toBe("200 a");
  });

  test("RequestAuthentication: a token that does not verify is 401 once the policy is written", async () => {
    const bad = await sign(await makeKey("ES256", "other"), { iss: "https://issuer.example", sub: "x", exp: now() + 600 });
    expect(await call(80, "svc.example.com", "/", { authorization: `Bearer ${bad}` })).toBe("200 a");
    await apply({
      "ra.yaml": `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-system}
spec:
  jwtRules: [{issuer: https://issuer.example, jwks: '${jwks(key)}'}]
`,
    });
    expect((await call(80, "svc.example.com", "/", { authorization: `Bearer ${bad}` })).slice(0, 3)).toBe("401");
    const good = await sign(key, { iss: "https://issuer.example", sub: "x", exp: now() + 600 });
    expect(await call(80, "svc.example.com", "/", { authorization: `Bearer ${good}` })).toBe("200 a");
  });
});

describe("SIGTERM drain is bounded", () => {
  test("a request longer than --drain-seconds is cut, and the exit code is still 0", async () => {
    const g = await startGateway({ configDirs: [dir], workers: 1, args: ["--drain-seconds", "1"] });
    const inflight = fetch(g.url(80, "/slow/8000"), { headers: { host: "svc.example.com" } }).then(
      (r) => r.text().then(() => r.status),
      () => 0,
    );
    for (const end = Date.now() + 10_000; !a.seen.some((s) => s.path === "/slow/8000") && Date.now() < end; ) await Bun.sleep(20);
    expect(a.seen.some((s) => s.path === "/slow/8000")).toBe(true); // in flight: else a refusal would pass this test too
    const code = await g.stop("SIGTERM");
    expect(code).toBe(0);
    expect(await inflight).not.toBe(200);
  }, 30_000);
});

// INTERFACE.md promises about what a running instance serves, through the real
// process and real sockets: a traffic port is listened on only while a server
// uses it, --labels against a Gateway's selector, --namespace for credentialName,
// the access log on stdout by default (the gateway's own lines on stderr), the
// client address --trusted-proxies gives to the log, and a Gateway API HTTPS
// listener negotiating h2 by ALPN, its HTTP listener taking h2 with prior knowledge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import { connect } from "node:tls";
import { join } from "node:path";
import { secretYaml } from "../../src/cli/certs.ts";
import { ISTIO_GATEWAY_CLASS, kubeService, serviceEntry } from "../helpers/config.ts";
import { freePort, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake } from "../helpers/https.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { startTrafficBackend, type TrafficBackend } from "../helpers/traffic-backends.ts";

const ROOT = join(import.meta.dir, "..", "..");

let backend: TrafficBackend;
let pki: WalkthroughPki;
beforeAll(async () => {
  backend = startTrafficBackend("app");
  pki = await walkthroughPki();
});
afterAll(() => backend?.stop());

/** Istio Gateway `name` with selector `selector` and one HTTP server per port, all routed to app.local. */
function istioGateway(name: string, selector: string, ports: number[]): string {
  const servers = ports.map((p) => `  - {port: {number: ${p}, name: http-${p}, protocol: HTTP}, hosts: ["*"]}`).join("\n");
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}}
spec:
  selector: ${selector}
  servers:
${servers}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: ["*"]
  gateways: [${name}]
  http: [{route: [{destination: {host: app.local, port: {number: 80}}}]}]
---
`;
}

/** Whether something accepts a TCP connection on 127.0.0.1:`port`. */
async function listening(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

describe("a traffic port is listened on only while a server uses it", () => {
  let gw: GatewayProcess;
  let dir = "";
  const se = () => serviceEntry("app", "app.local", 80, backend.port);
  beforeAll(async () => {
    dir = writeTree({ "gw.yaml": istioGateway("gw", "{istio: ingressgateway}", [80, 81]), "se.yaml": se(), "other.yaml": istioGateway("other", "{app: other-gateway}", [82]) });
    gw = await startGateway({ configDirs: [dir], gatewayPorts: [80, 81, 82], workers: 1 });
  }, 30_000);
  afterAll(() => gw?.stop());

  test("a Gateway whose selector is not a subset of --labels (default istio=ingressgateway) opens no port", async () => {
    expect(await listening(gw.ports.get(80)!)).toBe(true);
    expect(await listening(gw.ports.get(81)!)).toBe(true);
    expect(await listening(gw.ports.get(82)!)).toBe(false);
  });

  test("a server removed by a reload closes its port; /ready stays 200; put back, it listens again", async () => {
    let mark = gw.output().length;
    writeTree({ "gw.yaml": istioGateway("gw", "{istio: ingressgateway}", [80]) }, dir);
    await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
    let closed = false;
    for (let i = 0; i < 100 && !closed; i++) {
      closed = !(await listening(gw.ports.get(81)!));
      if (!closed) await Bun.sleep(50);
    }
    expect(closed).toBe(true);
    expect(await listening(gw.ports.get(80)!)).toBe(true);
    expect((await gw.admin("/ready")).status).toBe(200);
    mark = gw.output().length;
    writeTree({ "gw.yaml": istioGateway("gw", "{istio: ingressgateway}", [80, 81]) }, dir);
    await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
    let r = 0;
    for (let i = 0; i < 100 && r !== 200; i++) {
      r = await fetch(gw.url(81, "/"), { headers: { host: "a.example.com" } }).then((x) => x.status, () => 0);
      if (r !== 200) await Bun.sleep(50);
    }
    expect(r).toBe(200);
  }, 40_000);

  test("--labels: an instance labelled app=other-gateway serves that Gateway, and not the istio=ingressgateway one", async () => {
    const other = await startGateway({ configDirs: [dir], gatewayPorts: [80, 82], workers: 1, args: ["--labels", "app=other-gateway,version=v1"] });
    try {
      expect((await fetch(other.url(82, "/"), { headers: { host: "a.example.com" } })).status).toBe(200);
      expect(await listening(other.ports.get(80)!)).toBe(false);
    } finally {
      await other.stop();
    }
  }, 30_000);
});

describe("--namespace: credentialName is looked up in the gateway namespace", () => {
  test("a Secret in namespace edge serves with --namespace edge, and not with the default istio-system", async () => {
    const gwYaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 443, name: https, protocol: HTTPS}, tls: {mode: SIMPLE, credentialName: cred}, hosts: [httpbin.example.com]}]
`;
    const dir = writeTree({ "gw.yaml": gwYaml, "secret.yaml": secretYaml("cred", "edge", "tls", pki.httpbin.cert, pki.httpbin.key) });
    const [edge, plain] = await Promise.all([
      startGateway({ configDirs: [dir], gatewayPorts: [443], workers: 1, args: ["--namespace", "edge"] }),
      startGateway({ configDirs: [dir], gatewayPorts: [443], workers: 1 }),
    ]);
    try {
      expect((await handshake({ port: edge.ports.get(443)!, servername: "httpbin.example.com", ca: pki.ca.cert })).ok).toBe(true);
      expect((await handshake({ port: plain.ports.get(443)!, servername: "httpbin.example.com", ca: pki.ca.cert })).ok).toBe(false);
    } finally {
      await Promise.all([edge.stop(), plain.stop()]);
    }
  }, 30_000);
});

describe("the access log", () => {
  test("by default on stdout, one line per request, and the gateway's own lines on stderr", async () => {
    const dir = writeTree({ "gw.yaml": istioGateway("gw", "{istio: ingressgateway}", [80]), "se.yaml": serviceEntry("app", "app.local", 80, backend.port) });
    const [admin, local] = [await freePort(), await freePort()];
    const proc = Bun.spawn([process.execPath, "src/main.ts", "--config", dir, "--admin", `127.0.0.1:${admin}`, "--bind", "127.0.0.1", "--workers", "1", "--port-map", `80:${local}`], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    const out = new Response(proc.stdout as ReadableStream).text();
    const err = new Response(proc.stderr as ReadableStream).text();
    try {
      let ready = 0;
      for (const end = Date.now() + 20_000; proc.exitCode === null && ready !== 200 && Date.now() < end; ) { // as startGateway: 20 s to be ready
        ready = await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.status, () => 0);
        if (ready !== 200) await Bun.sleep(50);
      }
      expect(ready).toBe(200);
      expect((await fetch(`http://127.0.0.1:${local}/stdout-line`, { headers: { host: "a.example.com" } })).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${local}/stdout-line-2`, { headers: { host: "a.example.com" } })).status).toBe(200);
    } finally {
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    }
    const stdout = (await out).split("\n").filter((l) => l !== "");
    const stderr = await err;
    expect(stdout.filter((l) => l.includes("/stdout-line")).length).toBe(2);
    expect(stdout.every((l) => !/\t(info|warn|error)\t/.test(l))).toBe(true);
    expect(stderr).toMatch(/\tinfo\tready /);
    expect(stderr).not.toContain("/stdout-line");
  }, 30_000);

  test("--trusted-proxies 1: the client address in the log is the one the trusted proxy appended to x-forwarded-for", async () => {
    const dir = writeTree({ "gw.yaml": istioGateway("gw", "{istio: ingressgateway}", [80]), "se.yaml": serviceEntry("app", "app.local", 80, backend.port) });
    const [trusting, plain] = await Promise.all([
      startGateway({ configDirs: [dir], workers: 1, args: ["--trusted-proxies", "1"] }),
      startGateway({ configDirs: [dir], workers: 1 }),
    ]);
    try {
      const xff = { host: "a.example.com", "x-forwarded-for": "203.0.113.5, 198.51.100.1" };
      for (const g of [trusting, plain]) expect((await fetch(g.url(80, "/xff-client"), { headers: xff })).status).toBe(200);
      await trusting.waitForOutput(/\/xff-client/);
      await plain.waitForOutput(/\/xff-client/);
      // Envoy's default format: ... %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%
      const remote = (g: GatewayProcess) => g.output().split("\n").find((l) => l.includes("/xff-client"))!.trim().split(" ").at(-3);
      expect(remote(trusting)).toBe("198.51.100.1:0");
      expect(remote(plain)).toMatch(/^127\.0\.0\.1:[0-9]+$/);
    } finally {
      await Promise.all([trusting.stop(), plain.stop()]);
    }
  }, 30_000);
});

describe("Gateway API listeners", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    const config = `${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: istio
  listeners:
  - {name: https, port: 443, protocol: HTTPS, hostname: httpbin.example.com, tls: {mode: Terminate, certificateRefs: [{name: cred}]}}
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: app, port: 80}]}]
---
${kubeService("app", "default", backend.port)}---
${secretYaml("cred", "default", "tls", pki.httpbin.cert, pki.httpbin.key)}`;
    gw = await startGateway({ configDirs: [writeTree({ "gw.yaml": config })], gatewayPorts: [80, 443], workers: 1 });
  }, 30_000);
  afterAll(() => gw?.stop());

  const alpn = (offer: string[]) =>
    new Promise<string | false>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port: gw.ports.get(443)!, servername: "httpbin.example.com", ca: pki.ca.cert, ALPNProtocols: offer }, () => {
        const p = s.alpnProtocol ?? false;
        s.end();
        resolve(p);
      });
      s.on("error", reject);
    });

  const h2get = (url: string, opts: http2.SecureClientSessionOptions = {}) =>
    new Promise<{ status: unknown; body: string }>((resolve, reject) => {
      const c = http2.connect(url, opts);
      c.on("error", reject);
      const s = c.request({ ":path": "/h2", ":authority": "httpbin.example.com" });
      let status: unknown;
      let body = "";
      s.on("response", (h) => (status = h[":status"]));
      s.setEncoding("utf8");
      s.on("data", (d: string) => (body += d));
      s.on("end", () => {
        c.close();
        resolve({ status, body });
      });
      s.on("error", reject);
      s.end();
    });

  test("the HTTPS listener negotiates h2 by ALPN when offered, HTTP/1.1 otherwise", async () => {
    expect(await alpn(["h2", "http/1.1"])).toBe("h2");
    expect(await alpn(["http/1.1"])).toBe("http/1.1");
    const r = await h2get(`https://127.0.0.1:${gw.ports.get(443)!}`, { servername: "httpbin.example.com", ca: pki.ca.cert });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).path).toBe("/h2");
  });

  test("the HTTP listener takes HTTP/2 with prior knowledge", async () => {
    const r = await h2get(`http://127.0.0.1:${gw.ports.get(80)!}`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).path).toBe("/h2");
  });
});

describe("Ingress tls.secretName", () => {
  test("not in the Ingress's namespace: read from the gateway namespace", async () => {
    const config = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: apps, annotations: {kubernetes.io/ingress.class: istio}}
spec:
  tls: [{hosts: [httpbin.example.com], secretName: gw-cert}]
  rules: [{host: httpbin.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}}]
---
${kubeService("app", "apps", backend.port)}---
${secretYaml("gw-cert", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key)}`;
    const gw = await startGateway({ configDirs: [writeTree({ "ing.yaml": config })], gatewayPorts: [80, 443], workers: 1 });
    try {
      const h = await handshake({ port: gw.ports.get(443)!, servername: "httpbin.example.com", ca: pki.ca.cert });
      expect(h.ok).toBe(true);
    } finally {
      await gw.stop();
    }
  }, 30_000);
});

describe("Gateway API: which Gateways an instance serves", () => {
  test("another controller's Gateway opens no port and does not stop readiness; a route attaches by the implicit kubernetes.io/metadata.name label", async () => {
    const config = `${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: other}
spec: {controllerName: example.com/other-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {kubernetes.io/metadata.name: apps}}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: theirs, namespace: infra}
spec:
  gatewayClassName: other
  listeners: [{name: http, port: 81, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}, {name: theirs, namespace: infra}]
  rules: [{backendRefs: [{name: app, port: 80}]}]
---
${kubeService("app", "apps", backend.port)}`;
    const gw = await startGateway({ configDirs: [writeTree({ "gw.yaml": config })], gatewayPorts: [80, 81], workers: 1 });
    try {
      expect((await gw.admin("/ready")).status).toBe(200);
      expect((await fetch(gw.url(80, "/ns"), { headers: { host: "a.example.com" } })).status).toBe(200);
      expect(await listening(gw.ports.get(81)!)).toBe(false);
    } finally {
      await gw.stop();
    }
  }, 30_000);
});

describe("Gateway API backends from EndpointSlices", () => {
  test("an unnamed Service port matches slices' \"\" port; numbers as given; several slices per Service; an empty slice is harmless", async () => {
    const b = startTrafficBackend("b");
    const slice = (name: string, endpoints: string, port: number | null) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}, namespace: default, labels: {kubernetes.io/service-name: multi}}
addressType: IPv4
endpoints: ${endpoints}
ports: ${port === null ? "[]" : `[{name: "", port: ${port}}]`}
`;
    const config = `${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: multi, port: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: multi, namespace: default}
spec: {ports: [{port: 80, targetPort: 9}]}
${slice("multi-a", "[{addresses: [127.0.0.1]}]", backend.port)}${slice("multi-b", "[{addresses: [127.0.0.1]}]", b.port)}${slice("multi-empty", "[]", null)}`;
    const gw = await startGateway({ configDirs: [writeTree({ "gw.yaml": config })], workers: 1 });
    try {
      const { clusters } = (await (await gw.admin("/clusters")).json()) as { clusters: Record<string, { endpoints: { port: number }[] }> };
      expect(clusters["outbound|80||multi.default.svc.cluster.local"]!.endpoints.map((e) => e.port).sort()).toEqual([backend.port, b.port].sort());
      expect((await fetch(gw.url(80, "/"), { headers: { host: "a.example.com" } })).status).toBe(200);
    } finally {
      await gw.stop();
      b.stop();
    }
  }, 30_000);
});

// INTERFACE.md "Configuration read" and "Hot reload" through the real process:
// which files `--config` reads (*.yaml, *.yml, *.json, recursively, multi-document,
// hidden files and folders skipped, a kubelet `..data` volume followed, the flag
// repeated), other kinds skipped, and a `--secrets-dir` volume swapped by the kubelet.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createCA, issue } from "../../src/certs/generate.ts";
import { HTTP_GATEWAY, serviceEntry } from "../helpers/config.ts";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";
import { writeKubeVolume } from "../helpers/kube-volume.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { walkthroughGateway } from "../helpers/walkthrough.ts";
import { startTrafficBackend, type TrafficBackend } from "../helpers/traffic-backends.ts";

/** A VirtualService `name` on gw answering `path` directly with `body`. */
const direct = (name: string, path: string, body: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: ["${name}.example.com"]
  gateways: [gw]
  http: [{match: [{uri: {exact: ${path}}}], directResponse: {status: 200, body: {string: ${body}}}}]
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: httpbin}
spec:
  replicas: 1
  selector: {matchLabels: {app: httpbin}}
  template:
    metadata: {labels: {app: httpbin}}
    spec: {containers: [{name: httpbin, image: docker.io/kong/httpbin, ports: [{containerPort: 80}]}]}
`;

describe("which files --config reads", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    const main = writeTree({
      "gateway.yaml": HTTP_GATEWAY,
      // multi-document, with a Deployment and a ServiceAccount beside the route: loads as it is
      "deep/er/multi.yaml": `${DEPLOYMENT}---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: httpbin}\n---\n${direct("yaml", "/x", "from-yaml")}`,
      "nested/route.yml": direct("yml", "/x", "from-yml"),
      "nested/route.json": JSON.stringify({
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "json" },
        spec: { hosts: ["json.example.com"], gateways: ["gw"], http: [{ match: [{ uri: { exact: "/x" } }], directResponse: { status: 200, body: { string: "from-json" } } }] },
      }),
      // not configuration: other extensions, hidden files and folders (each would be an Error if read)
      "notes.txt": "kind: [broken",
      ".hidden.yaml": "kind: [broken",
      ".git/config.yaml": "kind: [broken",
      "nested/.cache/route.yaml": "kind: [broken",
    });
    const second = writeTree({ "route.yaml": direct("second", "/x", "from-second-config") });
    const volume = join(writeTree({}), "configmap");
    writeKubeVolume(volume, { "route.yaml": direct("volume", "/x", "from-volume") });
    gw = await startGateway({ configDirs: [main, second, volume], workers: 1 });
  }, 30_000);
  afterAll(() => gw?.stop());

  const body = async (host: string) => {
    const r = await fetch(gw.url(80, "/x"), { headers: { host } });
    return `${r.status} ${await r.text()}`;
  };

  test("*.yaml (multi-document, recursive), *.yml, *.json, a second --config and a kubelet ..data volume are all read", async () => {
    expect(await body("yaml.example.com")).toBe("200 from-yaml");
    expect(await body("yml.example.com")).toBe("200 from-yml");
    expect(await body("json.example.com")).toBe("200 from-json");
    expect(await body("second.example.com")).toBe("200 from-second-config");
    expect(await body("volume.example.com")).toBe("200 from-volume");
  });

  test("the volume's data is read once, not again through its ..data or timestamped folders", async () => {
    expect(gw.output()).not.toMatch(/duplicate|conflict/i);
    const routes = (await (await gw.admin("/routes")).json()) as { routes: { virtualHosts: { domains: string[] }[] }[] };
    const domains = routes.routes.flatMap((r) => r.virtualHosts.flatMap((v) => v.domains));
    expect(domains.filter((d) => d === "volume.example.com").length).toBe(1);
  });

  test("a Deployment and a ServiceAccount in a file are skipped, hidden files and other extensions never read: no error", () => {
    expect(gw.output()).not.toMatch(/\berror\b/i);
    expect(gw.output()).not.toContain("broken");
  });
});

describe("--secrets-dir", () => {
  let pki: WalkthroughPki;
  let gw: GatewayProcess;
  let backend: TrafficBackend;
  let secrets = "";
  let dir = "";
  beforeAll(async () => {
    pki = await walkthroughPki();
    backend = startTrafficBackend("httpbin");
    secrets = writeTree({});
    mkdirSync(join(secrets, "httpbin-credential"));
    writeKubeVolume(join(secrets, "httpbin-credential"), { "tls.crt": pki.httpbin.cert, "tls.key": pki.httpbin.key });
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin}
spec:
  hosts: [httpbin.example.com]
  gateways: [mygateway]
  http: [{route: [{destination: {host: httpbin.default.svc.cluster.local, port: {number: 8000}}}]}]
---
${serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, backend.port)}`;
    dir = writeTree({ "gw.yaml": walkthroughGateway("SIMPLE", "httpbin.example.com"), "vs.yaml": vs });
    gw = await startGateway({ configDirs: [dir], secretsDir: secrets, gatewayPorts: [443], workers: 1 });
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
    backend?.stop();
  });

  test("DIR/<secret>/<key> in the kubelet's layout is Secret <secret> of the gateway namespace (istio-system by default)", async () => {
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: "httpbin.example.com", path: "/status/200", ca: pki.ca.cert });
    expect(r.status).toBe(200);
  });

  test("/config_dump (listeners, routes, clusters, secrets) has a version and no private key; /listeners, /routes, /clusters, /certs the same per part", async () => {
    const text = await (await gw.admin("/config_dump")).text();
    const dump = JSON.parse(text) as Record<string, unknown>;
    expect(typeof dump.version).toBe("number");
    for (const part of ["listeners", "routes", "clusters", "secrets"]) expect(Object.keys(dump)).toContain(part);
    expect(JSON.stringify(dump.secrets)).toContain("httpbin-credential");
    // the same, per part: {version, <part>}
    for (const [path, key] of [["/listeners", "listeners"], ["/routes", "routes"], ["/clusters", "clusters"], ["/certs", "certs"]]) {
      const partText = await (await gw.admin(path!)).text();
      const doc = JSON.parse(partText) as Record<string, unknown>;
      expect([path, Object.keys(doc)]).toEqual([path, ["version", key]]);
      expect(doc.version).toBe(dump.version);
      expect(partText).not.toContain("PRIVATE KEY");
    }
    expect(text).not.toContain("PRIVATE KEY");
    const keyBody = pki.httpbin.key.split("\n").filter((l) => !l.startsWith("-----") && l !== "")[0]!;
    expect(text).not.toContain(keyBody);
  });

  test("proxy-config secrets --admin lists the credential, as offline with the same --secrets-dir", async () => {
    const live = await runCli(["proxy-config", "secrets", "--admin", `127.0.0.1:${gw.adminPort}`]);
    const offline = await runCli(["proxy-config", "secrets", "--config", dir, "--secrets-dir", secrets]);
    expect(live.code).toBe(0);
    expect(live.stdout).toContain("httpbin-credential");
    expect(live.stdout).toBe(offline.stdout);
  });

  test("the kubelet swapping the volume's ..data reaches new handshakes without a restart", async () => {
    const newCa = await createCA({ cn: "example.com", org: "new Inc.", keyType: "ec" });
    const newCert = await issue(newCa, { cn: "httpbin.example.com", usage: "server", keyType: "ec" });
    const mark = gw.output().length;
    writeKubeVolume(join(secrets, "httpbin-credential"), { "tls.crt": newCert.cert, "tls.key": newCert.key });
    await gw.waitForOutput(/configuration reloaded/, 20_000, mark);
    expect((await handshake({ port: gw.ports.get(443)!, servername: "httpbin.example.com", ca: newCa.cert })).ok).toBe(true);
    expect((await handshake({ port: gw.ports.get(443)!, servername: "httpbin.example.com", ca: pki.ca.cert })).ok).toBe(false);
  }, 30_000);
});

describe("other kinds", () => {
  test("a kind misspelt inside networking.istio.io at start-up: a Warning with did-you-mean, the gateway starts and is ready", async () => {
    const dir = writeTree({ "gw.yaml": `${HTTP_GATEWAY}---\napiVersion: networking.istio.io/v1\nkind: Gatway\nmetadata: {name: typo}\nspec: {}\n` });
    const gw = await startGateway({ configDirs: [dir], workers: 1 });
    try {
      expect(gw.output()).toMatch(/\twarn\tWarning: .*gw\.yaml: document 1: .*has no kind "Gatway"; did you mean "Gateway"\?/);
      expect((await gw.admin("/ready")).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 30_000);

  test("a kind gangway does not read is skipped with a debug line (GANGWAY_DEBUG=1) naming file, document and kind", async () => {
    const dir = writeTree({ "httpbin.yaml": `${HTTP_GATEWAY}---\n${DEPLOYMENT}` });
    const gw = await startGateway({ configDirs: [dir], workers: 1, env: { GANGWAY_DEBUG: "1" } });
    try {
      await gw.waitForOutput(/debug\tskipped: not a kind gangway reads .*httpbin\.yaml.* document=1 kind=Deployment apiVersion=apps\/v1/);
      expect((await gw.admin("/ready")).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 30_000);
});

/** One document of every kind INTERFACE.md lists, in every apiVersion it lists. */
function everyKindAndVersion(): string {
  const docs: string[] = [];
  const d = (apiVersion: string, kind: string, name: string, body: string) => docs.push(`apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}}\n${body}`);
  for (const v of ["v1alpha3", "v1beta1", "v1"]) {
    const av = `networking.istio.io/${v}`;
    d(av, "Gateway", `gw-${v}`, `spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["${v}.example.com"]}]}`);
    d(av, "VirtualService", `vs-${v}`, `spec: {hosts: [${v}.example.com], gateways: [gw-${v}], http: [{route: [{destination: {host: se-${v}.local}}]}]}`);
    d(av, "DestinationRule", `dr-${v}`, `spec: {host: se-${v}.local}`);
    d(av, "ServiceEntry", `se-${v}`, `spec: {hosts: [se-${v}.local], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 127.0.0.1}]}`);
    d(av, "WorkloadEntry", `we-${v}`, "spec: {address: 127.0.0.1}");
  }
  d("networking.k8s.io/v1", "Ingress", "ing-v1", "spec: {ingressClassName: istio-v1, rules: [{host: i1.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc, port: {number: 80}}}}]}}]}");
  for (const av of ["networking.k8s.io/v1beta1", "extensions/v1beta1"]) {
    const n = av.split(".")[0]!.split("/")[0]!;
    d(av, "Ingress", `ing-${n}`, `spec: {ingressClassName: istio-v1beta1, rules: [{host: ${n}.example.com, http: {paths: [{path: /, backend: {serviceName: svc, servicePort: 80}}]}}]}`);
  }
  d("networking.k8s.io/v1", "IngressClass", "istio-v1", "spec: {controller: istio.io/ingress-controller}");
  d("networking.k8s.io/v1beta1", "IngressClass", "istio-v1beta1", "spec: {controller: istio.io/ingress-controller}");
  d("v1", "Secret", "s", "type: Opaque\ndata: {a: YQ==}");
  d("v1", "Service", "svc", "spec: {ports: [{name: http, port: 80}]}");
  d("v1", "Endpoints", "svc", "subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: http, port: 8080}]}]");
  d("discovery.k8s.io/v1", "EndpointSlice", "svc-1", "addressType: IPv4\nendpoints: [{addresses: [127.0.0.1]}]\nports: [{name: http, port: 8080}]");
  d("v1", "Namespace", "apps", "");
  for (const v of ["v1", "v1beta1"]) {
    const g = `gateway.networking.k8s.io/${v}`;
    d(g, "GatewayClass", `gc-${v}`, "spec: {controllerName: istio.io/gateway-controller}");
    d(g, "Gateway", `kgw-${v}`, `spec: {gatewayClassName: gc-${v}, listeners: [{name: http, port: 8080, protocol: HTTP}]}`);
    d(g, "HTTPRoute", `hr-${v}`, `spec: {parentRefs: [{name: kgw-${v}}], rules: [{backendRefs: [{name: svc, port: 80}]}]}`);
    d(g, "GRPCRoute", `gr-${v}`, `spec: {parentRefs: [{name: kgw-${v}}], rules: [{backendRefs: [{name: svc, port: 80}]}]}`);
    d(g, "ReferenceGrant", `rg-${v}`, `spec: {from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}], to: [{group: "", kind: Service}]}`);
  }
  for (const v of ["v1alpha2", "v1alpha3"]) {
    const g = `gateway.networking.k8s.io/${v}`;
    d(g, "TLSRoute", `tls-${v}`, "spec: {parentRefs: [{name: kgw-v1}], hostnames: [t.example.com], rules: [{backendRefs: [{name: svc, port: 80}]}]}");
    d(g, "TCPRoute", `tcp-${v}`, "spec: {parentRefs: [{name: kgw-v1}], rules: [{backendRefs: [{name: svc, port: 80}]}]}");
  }
  for (const v of ["v1", "v1beta1"]) {
    d(`security.istio.io/${v}`, "RequestAuthentication", `ra-${v}`, `spec: {jwtRules: [{issuer: https://i.example, jwks: '{"keys":[]}'}]}`);
    d(`security.istio.io/${v}`, "AuthorizationPolicy", `ap-${v}`, "spec: {action: ALLOW, rules: [{to: [{operation: {paths: [/x]}}]}]}");
  }
  return docs.join("\n---\n") + "\n";
}

describe("kinds read", () => {
  test("every kind in every apiVersion INTERFACE.md lists is read: none skipped, none 'not served in this version'", async () => {
    const dir = writeTree({ "all.yaml": everyKindAndVersion() });
    const proc = Bun.spawn([process.execPath, "src/main.ts", "analyze", "--config", dir, "-o", "json"], {
      cwd: join(import.meta.dir, "..", ".."),
      env: { ...process.env, GANGWAY_DEBUG: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text(), proc.exited]);
    expect(err).not.toContain("skipped: not a kind gangway reads");
    const findings = JSON.parse(out) as { code: string; level: string; message: string }[];
    expect(findings.filter((f) => f.code === "GW0113" || f.code === "GW0114" || f.level === "Error")).toEqual([]);
    // read, not only tolerated: the routes of each version are compiled
    const routes = await runCli(["proxy-config", "routes", "--config", dir]);
    for (const source of ["Ingress/default/ing-v1", "Ingress/default/ing-networking", "Ingress/default/ing-extensions", "vs-v1alpha3.default", "vs-v1beta1.default", "vs-v1.default", "HTTPRoute/default/hr-v1", "HTTPRoute/default/hr-v1beta1", "GRPCRoute/default/gr-v1", "GRPCRoute/default/gr-v1beta1"])
      expect([source, routes.stdout.includes(source)]).toEqual([source, true]);
  });
});

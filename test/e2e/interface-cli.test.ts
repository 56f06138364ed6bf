// INTERFACE.md "Command line" through the real process: the defaults an outside
// script relies on without passing the option (--admin 127.0.0.1:15000, --workers =
// CPUs, --bind 0.0.0.0), proxy-config live against --admin matching offline, the
// `status` subcommand's exact shape, SIGINT draining, exit codes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { appConfig, ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";
import { freePort, runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { startTrafficBackend, type TrafficBackend } from "../helpers/traffic-backends.ts";

const ROOT = join(import.meta.dir, "..", "..");

let backend: TrafficBackend;
let dir = "";
beforeAll(() => {
  backend = startTrafficBackend("app");
  dir = writeTree({ "app.yaml": appConfig(backend.port) });
});
afterAll(() => backend?.stop());

/** Whether 127.0.0.1:`port` can be bound right now. */
function portFree(port: number): boolean {
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

describe("defaults", () => {
  test("without --admin the admin listens on 127.0.0.1:15000; without --workers there is one worker per CPU", async () => {
    if (!portFree(15000)) {
      console.warn("skipped: 127.0.0.1:15000 is held by another process, the default admin address cannot be checked");
      return;
    }
    const local = await freePort();
    const proc = Bun.spawn([process.execPath, "src/main.ts", "--config", dir, "--bind", "127.0.0.1", "--port-map", `80:${local}`], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    const err = new Response(proc.stderr as ReadableStream).text();
    const out = new Response(proc.stdout as ReadableStream).text();
    try {
      let ready = 0;
      for (const end = Date.now() + 20_000; proc.exitCode === null && ready !== 200 && Date.now() < end; ) { // as startGateway: 20 s to be ready
        ready = await fetch("http://127.0.0.1:15000/ready").then((r) => r.status, () => 0);
        if (ready !== 200) await Bun.sleep(50);
      }
      if (proc.exitCode !== null) {
        const text = (await out) + (await err);
        if (/15000/.test(text) && /in use|EADDRINUSE/i.test(text)) {
          console.warn("skipped: 127.0.0.1:15000 was taken by another process meanwhile");
          return;
        }
        throw new Error(`gateway exited ${proc.exitCode}:\n${text}`);
      }
      expect(ready).toBe(200);
      const metrics = await (await fetch("http://127.0.0.1:15000/stats/prometheus")).text();
      expect(metrics).toMatch(new RegExp(`^gangway_workers ${Math.max(1, availableParallelism())}$`, "m"));
      expect((await fetch(`http://127.0.0.1:${local}/`, { headers: { host: "app.example.com" } })).status).toBe(200);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  }, 30_000);

  test("--admin off: no admin listener, traffic served", async () => {
    const gw = await startGateway({ configDirs: [dir], workers: 1, waitReady: false, args: ["--admin", "off"] });
    try {
      // the helper's --admin comes first; the later --admin off wins
      await gw.waitForOutput(/\tinfo\tready /, 20_000);
      expect(gw.output()).not.toMatch(/admin listening/);
      expect(await fetch(`http://127.0.0.1:${gw.adminPort}/ready`).then((r) => r.status, () => 0)).toBe(0);
      expect((await fetch(gw.url(80, "/"), { headers: { host: "app.example.com" } })).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 30_000);

  test("without --bind the traffic listeners are on 0.0.0.0 (proxy-config listeners, offline)", async () => {
    const r = await runCli(["proxy-config", "listeners", "--config", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[1]!.split(/\s+/).slice(0, 3)).toEqual(["0.0.0.0", "80", "80"]);
  });
});

describe("proxy-config --admin reads the running gateway", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGateway({ configDirs: [dir], workers: 1 });
  }, 30_000);
  afterAll(() => gw?.stop());

  for (const part of ["listeners", "routes", "clusters", "secrets"]) {
    test(`${part}: the same table as offline from the same configuration`, async () => {
      const live = await runCli(["proxy-config", part, "--admin", `127.0.0.1:${gw.adminPort}`]);
      const offline = await runCli(["proxy-config", part, "--config", dir, "--bind", "127.0.0.1", "--port-map", `80:${gw.ports.get(80)}`]);
      expect([live.code, live.stderr]).toEqual([0, ""]);
      expect(live.stdout.length).toBeGreaterThan(0);
      expect(live.stdout).toBe(offline.stdout);
    });
  }
});

/** One of each class of problem INTERFACE.md says analyze reports. */
const ANALYZE_CLASSES = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: [a.example.com]}
  - {port: {number: 443, name: https, protocol: HTTPS}, hosts: [s.example.com], tls: {mode: SIMPLE, credentialName: nope}}
  - {port: {number: 443, name: https2, protocol: HTTPS}, hosts: [m.example.com], tls: {mode: SIMPLE, credentialName: bad}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw2}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: tcp, protocol: TCP}, hosts: ["*"]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: missing-gw}
spec:
  hosts: [a.example.com]
  gateways: [missing]
  http: [{route: [{destination: {host: a.local}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: other-host}
spec:
  hosts: [b.example.com]
  gateways: [gw]
  http: [{route: [{destination: {host: nowhere.local, port: {number: 80}}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: no-dest}
spec:
  hosts: [a.example.com]
  gateways: [gw]
  http: [{route: [{destination: {host: nowhere.local, port: {number: 80}}}]}]
---
apiVersion: v1
kind: Secret
metadata: {name: bad, namespace: istio-system}
type: kubernetes.io/tls
data: {tls.crt: bm90IGEgY2VydA==, tls.key: bm90IGEga2V5}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: noclass}
spec:
  rules: [{host: i.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: x, port: {number: 80}}}}]}}]
`;

describe("analyze", () => {
  test("reports each class INTERFACE.md names, with file, document and resource; exit 1 on an Error", async () => {
    const dir = writeTree({ "all.yaml": ANALYZE_CLASSES });
    const r = await runCli(["analyze", "--config", dir, "-o", "json"]);
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout) as { code: string; level: string; resource?: string; file: string; doc: number }[];
    const by = (code: string) => findings.filter((f) => f.code === code).map((f) => [f.level, f.resource, f.doc]);
    expect(by("GW0301")).toEqual([["Error", "VirtualService/default/missing-gw", 2]]); // unknown gateway reference
    expect(by("GW0302")).toEqual([["Warning", "VirtualService/default/other-host", 3]]); // host no server serves
    expect(by("GW0201")).toEqual([["Error", "Gateway/default/gw2", 1]]); // conflicting servers on one port
    expect(by("GW0601")).toEqual([["Error", "Gateway/default/gw", 0]]); // missing credential
    expect(by("GW0602").map((f) => f[0])).toEqual(["Error"]); // malformed credential
    expect(by("GW0401").length).toBeGreaterThan(0); // destination host not found
    expect(by("GW0501")).toEqual([["Warning", "Ingress/default/noclass", 6]]); // Ingress with no class for us
    for (const f of findings) expect(f.file).toBe(join(dir, "all.yaml"));
  });
});

const GATEWAY_API = `${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: same, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: missing, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules: [{matches: [{path: {type: PathPrefix, value: /}}]}]
`;

type Condition = { type: string; status: unknown; reason: string };
type Item = {
  apiVersion: string;
  kind: string;
  metadata: { namespace: string; name: string };
  status: {
    conditions?: Condition[];
    listeners?: { name: string; attachedRoutes: unknown; supportedKinds: { group: string; kind: string }[]; conditions: Condition[] }[];
    parents?: { parentRef: Record<string, unknown>; controllerName: string; conditions: Condition[] }[];
  };
};

function checkStatus(items: Item[]): void {
  const byName = new Map(items.map((i) => [`${i.kind}/${i.metadata.namespace}/${i.metadata.name}`, i]));
  const gw = byName.get("Gateway/infra/gw")!;
  expect(gw.apiVersion).toBe("gateway.networking.k8s.io/v1");
  expect(gw.status.conditions!.map((c) => [c.type, c.status])).toEqual(expect.arrayContaining([["Accepted", "True"], ["Programmed", "True"]]));
  const l = gw.status.listeners![0]!;
  expect([l.name, l.attachedRoutes]).toEqual(["http", 2]);
  expect(l.supportedKinds).toContainEqual({ group: "gateway.networking.k8s.io", kind: "HTTPRoute" });
  for (const c of l.conditions) expect(["True", "False"]).toContain(c.status as string);
  const same = byName.get("HTTPRoute/infra/same")!.status.parents![0]!;
  expect(same.parentRef).toEqual({ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" });
  expect(same.controllerName).toBe("istio.io/gateway-controller");
  expect(same.conditions.find((c) => c.type === "Accepted")!.status).toBe("True");
  expect(same.conditions.find((c) => c.type === "ResolvedRefs")).toMatchObject({ status: "False", reason: "BackendNotFound" });
  const other = byName.get("HTTPRoute/apps/other")!.status.parents![0]!;
  expect(other.parentRef).toEqual({ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw", namespace: "infra" });
  expect(other.conditions.map((c) => [c.type, c.status])).toEqual(expect.arrayContaining([["Accepted", "True"], ["ResolvedRefs", "True"]]));
}

describe("Gateway API status", () => {
  const statusDir = () => writeTree({ "gw.yaml": GATEWAY_API });

  test("status -o json: items with apiVersion, kind, metadata and status; \"True\"/\"False\" strings, numeric attachedRoutes, parentRef namespace only when it differs; exit 0 with an invalid route", async () => {
    const r = await runCli(["status", "--config", statusDir(), "-o", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { items: Item[] };
    expect(Object.keys(doc)).toEqual(["items"]);
    checkStatus(doc.items);
  });

  test("status (default yaml) gives the same document", async () => {
    const d = statusDir();
    const [y, j] = await Promise.all([runCli(["status", "--config", d]), runCli(["status", "--config", d, "-o", "json"])]);
    expect(y.code).toBe(0);
    expect(parse(y.stdout)).toEqual(JSON.parse(j.stdout));
  });

  test("admin /status serves the same shape", async () => {
    const gw = await startGateway({ configDirs: [statusDir()], workers: 1 });
    try {
      const r = await gw.admin("/status");
      expect(r.headers.get("content-type")).toContain("application/json");
      const doc = (await r.json()) as { items: Item[] };
      expect(Object.keys(doc)).toEqual(["items"]);
      checkStatus(doc.items);
    } finally {
      await gw.stop();
    }
  }, 30_000);
});

describe("lifecycle", () => {
  test("SIGINT: a slow request in flight completes, then exit 0", async () => {
    const gw = await startGateway({ configDirs: [dir], workers: 1 });
    const inflight = fetch(gw.url(80, "/slow/1500"), { headers: { host: "app.example.com" } });
    // in flight = at the backend (else SIGINT could come before the gateway took the request)
    for (const end = Date.now() + 10_000; !backend.seen.some((s) => s.path === "/slow/1500") && Date.now() < end; ) await Bun.sleep(20);
    expect(backend.seen.some((s) => s.path === "/slow/1500")).toBe(true);
    const code = await gw.stop("SIGINT");
    const r = await inflight;
    expect([r.status, await r.text(), code]).toEqual([200, "slow", 0]);
  }, 30_000);

  test("SIGTERM: stop accepting: while a request is in flight, a new connection is not served; the in-flight one finishes, exit 0", async () => {
    let arrived!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const held = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: async () => {
        arrived();
        await answered;
        return new Response("finished");
      },
    });
    const gw = await startGateway({ configDirs: [writeTree({ "app.yaml": appConfig(held.port!) })], workers: 1, args: ["--drain-seconds", "10"] });
    try {
      const slow = fetch(gw.url(80, "/held"), { headers: { host: "app.example.com" } });
      await reached;
      gw.proc.kill("SIGTERM");
      await gw.waitForOutput(/draining/);
      // a new connection after the signal is refused (the listener is closed)
      const late = await fetch(gw.url(80, "/late"), { headers: { host: "app.example.com", connection: "close" } }).then(
        (r) => r.status,
        () => 0,
      );
      expect(late).toBe(0);
      answer();
      const r = await slow;
      expect([r.status, await r.text()]).toEqual([200, "finished"]);
      expect(await gw.proc.exited).toBe(0);
    } finally {
      answer();
      await gw.stop();
      held.stop(true);
    }
  }, 30_000);

  test("through `bun run gateway` (the package script): exit codes 2 and 1 pass through; SIGTERM reaches the gateway, exit 0", async () => {
    const run = (args: string[]) => Bun.spawn([process.execPath, "run", "gateway", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    expect(await run(["--no-such-option"]).exited).toBe(2);
    const bad = writeTree({ "bad.yaml": "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hostz: [a]}\n" });
    expect(await run(["--config", bad, "--admin", "off"]).exited).toBe(1);
    const [admin, local] = [await freePort(), await freePort()];
    const p = run(["--config", dir, "--admin", `127.0.0.1:${admin}`, "--bind", "127.0.0.1", "--workers", "1", "--port-map", `80:${local}`]);
    void new Response(p.stdout as ReadableStream).text();
    void new Response(p.stderr as ReadableStream).text();
    try {
      let ready = 0;
      for (const end = Date.now() + 20_000; p.exitCode === null && ready !== 200 && Date.now() < end; ) { // as startGateway: 20 s to be ready
        ready = await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.status, () => 0);
        if (ready !== 200) await Bun.sleep(50);
      }
      expect(ready).toBe(200);
      expect((await fetch(`http://127.0.0.1:${local}/`, { headers: { host: "app.example.com" } })).status).toBe(200);
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      // the gateway itself is gone, not only the `bun run` wrapper
      expect(await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.status, () => 0)).toBe(0);
    } finally {
      if (p.exitCode === null) p.kill("SIGKILL");
    }
  }, 30_000);

  test("bad usage exits 2: an unknown option, --config missing, a bad --workers", async () => {
    for (const args of [["--config", dir, "--no-such-option"], [], ["--config", dir, "--workers", "many"]]) {
      const r = await runCli(args);
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
    }
  });
});

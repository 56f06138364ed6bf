// `kubectl apply --dry-run=client`-style checks of deploy/kubernetes: the fields
// that must agree with each other and with the gateway's own flags.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseArgs } from "../../src/cli/args.ts";

const DIR = join(import.meta.dir, "..", "..", "deploy", "kubernetes");
type Obj = Record<string, any>;

function load(file: string): Obj[] {
  return parseAllDocuments(readFileSync(join(DIR, file), "utf8")).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Obj;
  });
}

const kustomization = load("kustomization.yaml")[0]!;
const all = (kustomization.resources as string[]).flatMap(load);
const byKind = (kind: string) => all.filter((o) => o.kind === kind);

describe("deploy/kubernetes", () => {
  test("every object has apiVersion, kind, metadata.name, and lives in istio-system", () => {
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const o of all) {
      expect(typeof o.apiVersion).toBe("string");
      expect(typeof o.kind).toBe("string");
      expect(typeof o.metadata?.name).toBe("string");
      if (o.kind !== "Namespace") expect(o.metadata.namespace).toBe("istio-system");
    }
  });

  const deploy = byKind("Deployment")[0]!;
  const pod = deploy.spec.template.spec;
  const container = pod.containers[0];
  const opts = parseArgs(container.args);

  test("the container's arguments are a valid gateway command line", () => {
    expect(opts.command).toBe("serve");
    expect(opts.configDirs).toEqual(["/etc/gangway/config"]);
    expect(opts.secretsDir).toBe("/etc/gangway/secrets");
    expect(opts.labels).toEqual({ istio: "ingressgateway" });
  });

  test("pod labels carry istio: ingressgateway, matched by selector, Service and PDB", () => {
    const labels = deploy.spec.template.metadata.labels;
    expect(labels.istio).toBe("ingressgateway");
    for (const [k, v] of Object.entries(deploy.spec.selector.matchLabels)) expect(labels[k]).toBe(v);
    const svc = byKind("Service")[0]!;
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(labels[k]).toBe(v);
    const pdb = byKind("PodDisruptionBudget")[0]!;
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) expect(labels[k]).toBe(v);
    expect(deploy.spec.replicas).toBeGreaterThan(pdb.spec.minAvailable);
  });

  test("Service http2/https ports reach the container ports the gateway listens on (--port-map)", () => {
    const svc = byKind("Service")[0]!;
    const containerPorts = new Map<string, number>(container.ports.map((p: Obj) => [p.name, p.containerPort]));
    const http2 = svc.spec.ports.find((p: Obj) => p.name === "http2");
    const https = svc.spec.ports.find((p: Obj) => p.name === "https");
    expect(http2.port).toBe(80);
    expect(https.port).toBe(443);
    expect(opts.portMap.get(80)).toBe(http2.targetPort);
    expect(opts.portMap.get(443)).toBe(https.targetPort);
    expect(containerPorts.get("http2")).toBe(http2.targetPort);
    expect(containerPorts.get("https")).toBe(https.targetPort);
    expect(svc.spec.type).toBe("LoadBalancer");
  });

  test("probes hit the status port: readiness /healthz/ready, liveness not the readiness answer", () => {
    expect(opts.statusPort).toEqual({ host: "0.0.0.0", port: 15021 }); // the kubelet probes the pod IP
    expect(container.readinessProbe.httpGet).toEqual({ path: "/healthz/ready", port: opts.statusPort!.port });
    // a draining pod, or one whose traffic port is held, is not ready but must not be killed
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz/live", port: opts.statusPort!.port });
  });

  test("Istio's port split: admin on loopback, status and metrics ports; only 15021 (and traffic) published", () => {
    expect(opts.admin).toEqual({ host: "127.0.0.1", port: 15000 });
    expect(opts.metricsPort).toEqual({ host: "0.0.0.0", port: 15090 });
    const containerPorts = container.ports.map((p: Obj) => p.containerPort as number).sort((a: number, b: number) => a - b);
    expect(containerPorts).toEqual([8080, 8443, 15021, 15090]);
    const svc = byKind("Service")[0]!;
    const targets = svc.spec.ports.map((p: Obj) => p.targetPort);
    expect(targets).toContain(15021);
    expect(targets).not.toContain(15000);
    expect(targets).not.toContain(15090);
    const ann = deploy.spec.template.metadata.annotations;
    expect([ann["prometheus.io/port"], ann["prometheus.io/path"]]).toEqual(["15090", "/stats/prometheus"]);
  });

  test("read-only root: /tmp is an emptyDir and Bun's transpiler cache is kept there", () => {
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    const tmp = container.volumeMounts.find((m: Obj) => m.mountPath === "/tmp");
    expect(pod.volumes.find((v: Obj) => v.name === tmp.name).emptyDir).toBeDefined();
    const env = new Map<string, string>(container.env.map((e: Obj) => [e.name, e.value]));
    expect(env.get("BUN_RUNTIME_TRANSPILER_CACHE_PATH")?.startsWith("/tmp/")).toBe(true);
  });

  test("runs as non-root; config and secrets come from volumes at the flag paths", () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const mounts = new Map<string, string>(container.volumeMounts.map((m: Obj) => [m.name, m.mountPath]));
    const volumes = new Map<string, Obj>(pod.volumes.map((v: Obj) => [v.name, v]));
    expect(mounts.get("config")).toBe(opts.configDirs[0]);
    expect(volumes.get("config")!.configMap.name).toBe(byKind("ConfigMap")[0]!.metadata.name);
    for (const [name, path] of mounts) {
      if (name === "config" || path === "/tmp") continue;
      expect(path).toBe(`${opts.secretsDir}/${volumes.get(name)!.secret.secretName}`);
      expect(container.volumeMounts.find((m: Obj) => m.name === name).subPath).toBeUndefined(); // subPath mounts never update
    }
  });

  test("terminationGracePeriod covers the preStop pause and the drain", () => {
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(opts.drainSeconds + (container.lifecycle?.preStop?.sleep?.seconds ?? 0));
  });

  test("the ConfigMap's YAML parses as gateway configuration documents", () => {
    const cm = byKind("ConfigMap")[0]!;
    for (const text of Object.values(cm.data as Record<string, string>)) {
      const docs = parseAllDocuments(text);
      for (const d of docs) expect(d.errors).toEqual([]);
      expect(docs.map((d) => (d.toJS() as Obj).kind)).toContain("Gateway");
    }
  });
});

// localityLbSetting from configuration to cluster: istiod's validation of the
// setting (DestinationRule and mesh config), endpoint localities from
// ServiceEntry endpoints, WorkloadEntries and EndpointSlices, the gateway's
// locality (--locality, --labels), and the clusters' priorities / weights and
// findings.
import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { formatTrace } from "../../src/cli/explain.ts";
import { render } from "../../src/cli/proxy-config.ts";
import { snapshotToJSON } from "../../src/snapshot/dump.ts";
import { trace } from "../../src/trace.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import { decodeMeshConfig } from "../../src/decode/meshconfig.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { beInternalEntry, gatewayWithRoutes, TO_BE_INTERNAL } from "../helpers/config.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const DR = (lb: string, extra = "") => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be}
spec:
  host: be.internal
  trafficPolicy:
    loadBalancer:
      localityLbSetting: ${lb}
${extra}`;

function decodeErrors(yaml: string): string[] {
  return decodeFiles([{ path: "t.yaml", text: yaml }]).errors.map((f) => `${f.code} ${f.field}: ${f.message}`);
}

describe("istiod's validation of localityLbSetting", () => {
  const p = "spec.trafficPolicy.loadBalancer.localityLbSetting";
  test.each([
    ["{distribute: [{from: a/*, to: {b/*: 100}}], failover: [{from: a, to: b}]}", `GW0110 ${p}: distribute and failover cannot both be set`],
    ["{failover: [{from: a, to: b}], failoverPriority: [x, topology.kubernetes.io/zone]}", `GW0110 ${p}.failoverPriority[1]: failover cannot be set with the topology label topology.kubernetes.io/zone in failoverPriority`],
    ["{distribute: [{from: a/*, to: {b/*: 60, c/*: 30}}]}", `GW0106 ${p}.distribute[0].to: the locality weights add up to 90, not 100`],
    ["{distribute: [{from: a/*, to: {b/*: 0, c/*: 100}}]}", `GW0106 ${p}.distribute[0].to.b/*: locality weight must be from 1 to 100, got 0`],
    ["{distribute: [{from: a/*, to: {b: 50, b/z1: 50}}]}", `GW0106 ${p}.distribute[0].to: locality b/z1 overlaps one given before it`],
    ["{distribute: [{from: a/*, to: {b: 100}}, {from: a/z1, to: {b: 100}}]}", `GW0106 ${p}.distribute: from: locality a/z1 overlaps one given before it`],
    ["{failover: [{from: a, to: a}]}", `GW0106 ${p}.failover[0]: from and to must be different regions, both are "a"`],
    ["{failover: [{from: a/z1, to: b}]}", `GW0106 ${p}.failover[0]: failover names regions only (no /zone)`],
    ["{failover: [{from: a, to: b*}]}", `GW0106 ${p}.failover[0]: failover regions cannot contain the wildcard *`],
  ])("%s", (lb, want) => {
    expect(decodeErrors(DR(lb))).toContain(want);
  });
  test("a valid setting decodes without findings", () => {
    expect(decodeErrors(DR("{distribute: [{from: a/z1/*, to: {a/z1/*: 80, b/*: 20}}]}"))).toEqual([]);
    expect(decodeErrors(DR("{failover: [{from: a, to: b}], failoverPriority: [topology.istio.io/network, app=x]}"))).toEqual([]);
  });
  test("the mesh config's: read (not reported as unread), checked the same way", () => {
    const ok = decodeMeshConfig("mesh.yaml", "localityLbSetting: {enabled: true, failover: [{from: a, to: b}]}\n");
    expect(ok.errors).toEqual([]);
    expect(ok.notRead).toEqual([]);
    expect(ok.mesh.localityLbSetting?.failover).toEqual([{ from: "a", to: "b" }]);
    const bad = decodeMeshConfig("mesh.yaml", "localityLbSetting: {failover: [{from: a, to: a}]}\n");
    expect(bad.errors.map((f) => `${f.field}: ${f.message}`)).toEqual(['localityLbSetting.failover[0]: from and to must be different regions, both are "a"']);
    expect(decodeMeshConfig("mesh.yaml", "{}").mesh.localityLbSetting).toBeNull();
  });
});

const ROUTE = TO_BE_INTERNAL;
const SE = (endpoints: string) => beInternalEntry([endpoints]);
const THREE = SE(`  - {address: 10.0.0.1, locality: r1/z1}
  - {address: 10.0.0.2, labels: {istio-locality: r1.z2}}
  - {address: 10.0.0.3, locality: r2/z1}`);
const OD = "    outlierDetection: {consecutive5xxErrors: 1}\n";
const C = "outbound|80||be.internal";

function endpoints(s: Snapshot, name = C): string[] {
  return s.clusters.get(name)!.endpoints.map((e) => `${e.address} ${e.locality ?? "-"} p${e.priority ?? 0}${e.localityWeight === undefined ? "" : ` w${e.localityWeight}`}`);
}

describe("clusters", () => {
  test("mesh default + outlierDetection: failover by the gateway's --locality; ServiceEntry locality and istio-locality label read", () => {
    const s = compileYaml(`${ROUTE}${THREE}${DR("{}", OD)}`, { locality: "r1/z1" });
    expect(endpoints(s)).toEqual(["10.0.0.1 r1/z1 p0", "10.0.0.2 r1/z2 p1", "10.0.0.3 r2/z1 p2"]);
    expect(s.clusters.get(C)!.localityLb).toEqual({ mode: "failover", gatewayLocality: "r1/z1", source: "DestinationRule/default/be" });
  });
  test("the gateway's locality from its labels", () => {
    const s = compileYaml(`${ROUTE}${THREE}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be}
spec:
  host: be.internal
  trafficPolicy:
${OD}`, { labels: { istio: "ingressgateway", "topology.kubernetes.io/region": "r2" } });
    expect(endpoints(s)).toEqual(["10.0.0.1 r1/z1 p1", "10.0.0.2 r1/z2 p1", "10.0.0.3 r2/z1 p0"]);
    expect(s.clusters.get(C)!.localityLb?.source).toBe("mesh default");
  });
  test("no outlierDetection, or enabled: false (rule or mesh): no priorities", () => {
    expect(endpoints(compileYaml(`${ROUTE}${THREE}`, { locality: "r1/z1" }))).toEqual(["10.0.0.1 r1/z1 p0", "10.0.0.2 r1/z2 p0", "10.0.0.3 r2/z1 p0"]);
    expect(endpoints(compileYaml(`${ROUTE}${THREE}${DR("{enabled: false}", OD)}`, { locality: "r1/z1" }))).toEqual(["10.0.0.1 r1/z1 p0", "10.0.0.2 r1/z2 p0", "10.0.0.3 r2/z1 p0"]);
    const mesh = decodeMeshConfig("m.yaml", "localityLbSetting: {enabled: false}\n").mesh;
    const s = compileYaml(`${ROUTE}${THREE}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be}
spec:
  host: be.internal
  trafficPolicy:
${OD}`, { locality: "r1/z1", mesh });
    expect(s.clusters.get(C)!.localityLb).toBeUndefined();
  });
  test("distribute: locality weights, an unnamed locality left out (Info)", () => {
    const s = compileYaml(`${ROUTE}${THREE}${DR("{distribute: [{from: r1/z1/*, to: {r1/z1/*: 70, r2/*: 30}}]}")}`, { locality: "r1/z1" });
    expect(endpoints(s)).toEqual(["10.0.0.1 r1/z1 p0 w70", "10.0.0.3 r2/z1 p0 w30"]);
    expect(findingLines(s)).toContain("Info GW0418 DestinationRule/default/be: outbound|80||be.internal: distribute from r1/z1/* names no locality of 1 endpoint (r1/z2): as istiod, it gets no traffic");
  });
  test("EndpointSlice: the slice's topology labels and the endpoint's zone; WorkloadEntry: istio-locality label", () => {
    const yaml = `${gatewayWithRoutes("[{route: [{destination: {host: be, port: {number: 80}}}]}]")}apiVersion: v1
kind: Service
metadata: {name: be}
spec:
  selector: {app: be}
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: be-1, labels: {kubernetes.io/service-name: be, topology.kubernetes.io/region: r1}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.0.0.1], zone: z1}, {addresses: [10.0.0.2], zone: z2}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm}
spec: {address: 10.0.0.9, labels: {app: be, istio-locality: r2.z1}, ports: {http: 8080}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be}
spec:
  host: be
  trafficPolicy:
${OD}`;
    const s = compileYaml(yaml, { locality: "r1/z2" });
    expect(endpoints(s, "outbound|80||be.default.svc.cluster.local")).toEqual(["10.0.0.1 r1/z1 p1", "10.0.0.2 r1/z2 p0", "10.0.0.9 r2/z1 p2"]);
  });
});

describe("--locality", () => {
  test("REGION[/ZONE[/SUBZONE]]", () => {
    expect(parseArgs(["--config", "d", "--locality", "us-east1/us-east1-b"]).locality).toBe("us-east1/us-east1-b");
    expect(parseArgs(["--config", "d"]).locality).toBeNull();
    for (const bad of ["", "a//b", "a/b/c/d", "a/*"]) expect(() => parseArgs(["--config", "d", "--locality", bad])).toThrow(UsageError);
  });
});

describe("outputs", () => {
  const s = compileYaml(`${ROUTE}${THREE}${DR("{}", OD)}`, { locality: "r1/z1" });
  test("proxy-config endpoints: LOCALITY and PRIORITY columns when endpoints have localities; config_dump carries them", () => {
    const d = snapshotToJSON(s) as Record<string, unknown>;
    const text = render("endpoints", d);
    expect(text.split("\n")[0]).toMatch(/^ENDPOINT\s+STATUS\s+OUTLIER CHECK\s+CLUSTER\s+LOCALITY\s+PRIORITY$/);
    expect(text).toMatch(/10\.0\.0\.2:80\s+HEALTHY\s+OK\s+outbound\|80\|\|be\.internal\s+r1\/z2\s+1/);
    const c = (d.clusters as Record<string, { localityLb: unknown; endpoints: unknown[] }>)[C]!;
    expect(c.localityLb).toEqual({ mode: "failover", gatewayLocality: "r1/z1", source: "DestinationRule/default/be" });
    expect(c.endpoints[2]).toMatchObject({ locality: "r2/z1", priority: 2 });
    const plain = render("endpoints", snapshotToJSON(compileYaml(`${ROUTE}${SE("  - {address: 10.0.0.1}")}`)) as Record<string, unknown>);
    expect(plain.split("\n")[0]).toMatch(/^ENDPOINT\s+STATUS\s+OUTLIER CHECK\s+CLUSTER$/);
  });
  test("explain: each endpoint's locality and priority", () => {
    const out = formatTrace(trace(s, { port: 80, host: "be.internal", path: "/" }));
    expect(out).toContain("→ 10.0.0.1:80 (locality r1/z1, priority 0), 10.0.0.2:80 (locality r1/z2, priority 1), 10.0.0.3:80 (locality r2/z1, priority 2)");
  });
});

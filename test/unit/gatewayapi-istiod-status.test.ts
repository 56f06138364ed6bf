// The status istiod writes, where the Gateway API leaves a choice: cases found
// by running `gateway status` on istiod's conversion testdata
// (istio/istio pilot/pkg/config/kube/gateway/testdata/*.status.yaml.golden) and
// written here small. Each row: the objects, then `Kind ns/name` → the
// conditions (`Type=Status/Reason`) gangway must write.
import { describe, expect, test } from "bun:test";
import type { Condition, StatusItem } from "../../src/snapshot/status.ts";
import { trace } from "../../src/trace.ts";
import { compileYaml } from "./pipeline-helpers.ts";

const CLASS = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: istio}\nspec: {controllerName: istio.io/gateway-controller}\n";
const svc = (ns: string, name: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {ports: [{name: http, port: 80}]}\n`;
const gateway = (name: string, listeners: string, cls = "istio") =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: ${name}, namespace: istio-system}\nspec:\n  gatewayClassName: ${cls}\n  listeners:\n${listeners}`;
const http = (name: string, hostname = "", allowed = "{namespaces: {from: All}}") =>
  `  - {name: ${name}, port: 80, protocol: HTTP${hostname ? `, hostname: "${hostname}"` : ""}, allowedRoutes: ${allowed}}\n`;
const https = (name: string, secret: string) => `  - {name: ${name}, port: 443, protocol: HTTPS, hostname: "${name}.example", tls: {certificateRefs: [{name: ${secret}}]}}\n`;
const route = (ns: string, name: string, spec: string) => `apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}`;
const parent = (section = "") => `  parentRefs: [{name: gw, namespace: istio-system${section ? `, sectionName: ${section}` : ""}}]\n`;

const conds = (c: Condition[]) => c.map((x) => `${x.type}=${x.status}/${x.reason}`).join(" ");

/** `Kind ns/name` → its conditions (a route: its first parent's; a Gateway: its own, then `listener=` each listener's). */
function statusOf(docs: string[]): Map<string, string> {
  const snap = compileYaml(docs.join("---\n"));
  const out = new Map<string, string>();
  for (const it of (snap.gatewayStatus ?? []) as StatusItem[]) {
    const key = `${it.kind} ${it.metadata.namespace}/${it.metadata.name}`;
    const s = it.status;
    if (s.listeners !== undefined) out.set(key, [conds(s.conditions ?? []), ...s.listeners.map((l) => `${l.name}: ${conds(l.conditions)}`)].join(" | "));
    else out.set(key, conds(s.parents?.[0]?.conditions ?? []));
  }
  return out;
}

const OK_ROUTE = "Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs";
const OK_LISTENER = "Accepted=True/Accepted Conflicted=False/NoConflicts Programmed=True/Programmed ResolvedRefs=True/ResolvedRefs";

describe("GatewayClass", () => {
  test("a Gateway of class istio is served without a GatewayClass object, as istiod's built-in class", () => {
    const s = statusOf([gateway("gw", http("http")), route("default", "r", parent() + "  rules: [{backendRefs: [{name: a, port: 80}]}]\n"), svc("default", "a")]);
    expect(s.get("Gateway istio-system/gw")).toBe(`Accepted=True/Accepted Programmed=True/Programmed | http: ${OK_LISTENER}`);
    expect(s.get("HTTPRoute default/r")).toBe(OK_ROUTE);
  });

  test("a GatewayClass object named istio for another controller still wins", () => {
    const other = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: istio}\nspec: {controllerName: example.com/other}\n";
    expect(statusOf([other, gateway("gw", http("http"))]).size).toBe(0);
  });

  test("another class name without a GatewayClass object is not ours", () => {
    expect(statusOf([gateway("gw", http("http"), "istio-remote")]).size).toBe(0);
  });
});

describe("Gateway Accepted counts the listeners it programs", () => {
  const cases: [string, string, string][] = [
    ["no listener programmed (certificate Secret missing): not Accepted", https("a", "missing"), "Accepted=False/ListenersNotValid Programmed=False/Invalid"],
    ["one of two programmed: Accepted, ListenersNotValid", http("http") + https("a", "missing"), "Accepted=True/ListenersNotValid Programmed=True/Programmed"],
    ["a listener allowing only kinds it cannot take is still programmed", http("http", "", "{kinds: [{kind: TCPRoute}]}"), "Accepted=True/Accepted Programmed=True/Programmed"],
  ];
  test.each(cases)("%s", (_name, listeners, want) => {
    expect(statusOf([CLASS, gateway("gw", listeners)]).get("Gateway istio-system/gw")!.split(" | ")[0]).toBe(want);
  });

  test("the listener with no kind it can take: ResolvedRefs InvalidRouteKinds, Programmed, no supportedKinds", () => {
    const snap = compileYaml([CLASS, gateway("gw", http("http", "", "{kinds: [{kind: TCPRoute}]}"))].join("---\n"));
    const l = snap.gatewayStatus!.find((i) => i.kind === "Gateway")!.status.listeners![0]!;
    expect(l.supportedKinds).toEqual([]);
    expect(conds(l.conditions)).toBe("Accepted=True/Accepted Conflicted=False/NoConflicts Programmed=True/Programmed ResolvedRefs=False/InvalidRouteKinds");
  });
});

describe("a parentRef refused: hostname first, then namespace and kind; the least severe listener speaks", () => {
  const cases: [string, string, string, string][] = [
    ["hostname and namespace both refused: NoMatchingListenerHostname", http("same", "*.same.example", "{namespaces: {from: Same}}"), "default", "  hostnames: [other.example]\n"],
    ["hostname and kind both refused: NoMatchingListenerHostname", http("tcp-only", "*.tcp.example", "{namespaces: {from: All}, kinds: [{kind: TCPRoute}]}"), "default", "  hostnames: [other.example]\n"],
    ["one listener refuses the namespace, another the hostname: NotAllowedByListeners", http("same", "", "{namespaces: {from: Same}}") + http("all", "*.all.example"), "default", "  hostnames: [a.other.example]\n"],
    ["the hostname matches, the namespace is refused: NotAllowedByListeners", http("same", "*.same.example", "{namespaces: {from: Same}}"), "default", "  hostnames: [a.same.example]\n"],
  ];
  test.each(cases)("%s", (name, listeners, ns, hostnames) => {
    const want = name.endsWith("NoMatchingListenerHostname") ? "NoMatchingListenerHostname" : "NotAllowedByListeners";
    const s = statusOf([CLASS, gateway("gw", listeners), svc(ns, "a"), route(ns, "r", parent() + hostnames + "  rules: [{backendRefs: [{name: a, port: 80}]}]\n")]);
    expect(s.get(`HTTPRoute ${ns}/r`)).toBe(`Accepted=False/${want} ResolvedRefs=True/ResolvedRefs`);
  });
});

describe("ResolvedRefs names the reference istiod names: the last that fails", () => {
  const cases: [string, string, string][] = [
    ["a missing Service, then a kind that is not a Service: InvalidKind", "  rules: [{backendRefs: [{name: gone, port: 80}, {name: a, port: 80}, {name: b, kind: GcsBucket, port: 80}]}]\n", "InvalidKind"],
    ["a kind that is not a Service, then a missing Service: BackendNotFound", "  rules: [{backendRefs: [{name: b, kind: GcsBucket, port: 80}, {name: gone, port: 80}]}]\n", "BackendNotFound"],
    ["rule 0 without a grant, rule 1 a missing Service: BackendNotFound", "  rules:\n  - backendRefs: [{name: a, namespace: other, port: 80}]\n  - backendRefs: [{name: gone, port: 80}]\n", "BackendNotFound"],
    [
      "a missing mirror and an other-namespace backend: the backend's RefNotPermitted",
      "  rules: [{filters: [{type: RequestMirror, requestMirror: {backendRef: {name: gone, port: 80}}}], backendRefs: [{name: a, namespace: other, port: 80}]}]\n",
      "RefNotPermitted",
    ],
  ];
  test.each(cases)("%s", (_name, rules, reason) => {
    const s = statusOf([CLASS, gateway("gw", http("http")), svc("default", "a"), svc("other", "a"), route("default", "r", parent() + rules)]);
    expect(s.get("HTTPRoute default/r")).toBe(`Accepted=True/Accepted ResolvedRefs=False/${reason}`);
  });
});

describe("backendRef kinds istiod takes besides core Services", () => {
  const SE = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: egress, namespace: default}\nspec: {hosts: [google.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}\n";
  const ref = (b: string) => route("default", "r", parent() + `  rules: [{backendRefs: [${b}]}]\n`);
  const cases: [string, string, string, string | null][] = [
    ["networking.istio.io Hostname of a ServiceEntry: routed to that host", "{group: networking.istio.io, kind: Hostname, name: google.com, port: 80}", "ResolvedRefs=True/ResolvedRefs", "outbound|80||google.com"],
    ["Hostname of a Service's FQDN", "{group: networking.istio.io, kind: Hostname, name: a.default.svc.cluster.local, port: 80}", "ResolvedRefs=True/ResolvedRefs", "outbound|80||a.default.svc.cluster.local"],
    ["Hostname nothing has: BackendNotFound", "{group: networking.istio.io, kind: Hostname, name: nowhere.example, port: 80}", "ResolvedRefs=False/BackendNotFound", null],
    ["Hostname of another namespace without a grant: RefNotPermitted (istiod checks the grant first)", "{group: networking.istio.io, kind: Hostname, name: google.com, namespace: default2, port: 80}", "ResolvedRefs=False/RefNotPermitted", null],
    ["multicluster.x-k8s.io ServiceImport: the Service of its name", "{group: multicluster.x-k8s.io, kind: ServiceImport, name: a, port: 80}", "ResolvedRefs=True/ResolvedRefs", "outbound|80||a.default.svc.cluster.local"],
    ["ServiceImport of another namespace without a grant for ServiceImports: RefNotPermitted", "{group: multicluster.x-k8s.io, kind: ServiceImport, name: a, namespace: other, port: 80}", "ResolvedRefs=False/RefNotPermitted", null],
  ];
  test.each(cases)("%s", (_name, b, want, cluster) => {
    const snap = compileYaml([CLASS, gateway("gw", http("http")), svc("default", "a"), svc("other", "a"), SE, ref(b)].join("---\n"));
    const r = snap.gatewayStatus!.find((i) => i.kind === "HTTPRoute")!;
    expect(conds(r.status.parents![0]!.conditions)).toBe(`Accepted=True/Accepted ${want}`);
    const t = trace(snap, { port: 80, host: "x.example", path: "/" });
    if (cluster === null) expect(t.status).toBe(500);
    else expect(t.cluster).toBe(cluster);
  });

  test("a ReferenceGrant for ServiceImports lets another namespace's ServiceImport resolve", () => {
    const grant = "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: g, namespace: other}\nspec:\n  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]\n  to: [{group: multicluster.x-k8s.io, kind: ServiceImport}]\n";
    const snap = compileYaml([CLASS, gateway("gw", http("http")), svc("other", "a"), grant, ref("{group: multicluster.x-k8s.io, kind: ServiceImport, name: a, namespace: other, port: 80}")].join("---\n"));
    expect(trace(snap, { port: 80, host: "x.example", path: "/" }).cluster).toBe("outbound|80||a.other.svc.cluster.local");
  });
});

describe("a backendRef istiod cannot convert (InvalidDestination): the route is reported, none of it served", () => {
  const MSG = "service name invalid; the name of the Service must be used, not the hostname.";
  const get = (snap: ReturnType<typeof compileYaml>, path: string) => trace(snap, { port: 80, host: "x.example", path });
  const routeStatus = (snap: ReturnType<typeof compileYaml>) => snap.gatewayStatus!.find((i) => i.kind === "HTTPRoute" || i.kind === "TCPRoute")!.status.parents![0]!.conditions;

  test("a Service named by its hostname in one rule: ResolvedRefs InvalidDestination, every rule 404, still attached", () => {
    const rules = "  rules:\n  - {matches: [{path: {type: PathPrefix, value: /ok}}], backendRefs: [{name: a, port: 80}]}\n  - {matches: [{path: {type: PathPrefix, value: /fqdn}}], backendRefs: [{name: a.default.svc.cluster.local, port: 80}]}\n";
    const snap = compileYaml([CLASS, gateway("gw", http("http")), svc("default", "a"), route("default", "r", parent() + rules)].join("---\n"));
    const c = routeStatus(snap);
    expect(conds(c)).toBe("Accepted=True/Accepted ResolvedRefs=False/InvalidDestination");
    expect(c[1]!.message).toBe(MSG);
    expect([get(snap, "/ok").status, get(snap, "/fqdn").status]).toEqual([404, 404]);
    expect(snap.gatewayStatus!.find((i) => i.kind === "Gateway")!.status.listeners![0]!.attachedRoutes).toBe(1);
    expect(snap.findings.some((f) => f.code === "GW0806" && f.message.includes("the route is not served"))).toBe(true);
  });

  test("a mirror named by its hostname is only left out (istiod's mirror errors are soft)", () => {
    const rules = "  rules:\n  - backendRefs: [{name: a, port: 80}]\n    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: a.default.svc.cluster.local, port: 80}}}]\n";
    const snap = compileYaml([CLASS, gateway("gw", http("http")), svc("default", "a"), route("default", "r", parent() + rules)].join("---\n"));
    expect(conds(routeStatus(snap))).toBe("Accepted=True/Accepted ResolvedRefs=False/InvalidDestination");
    expect(get(snap, "/").cluster).toBe("outbound|80||a.default.svc.cluster.local");
  });

  test("a TCPRoute: no connection is routed", () => {
    const tcpGw = gateway("gw", "  - {name: tcp, port: 9000, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}\n");
    const tcpRoute = "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\nmetadata: {name: t, namespace: default}\nspec:\n" + parent() + "  rules: [{backendRefs: [{name: a.default.svc.cluster.local, port: 80}]}]\n";
    const snap = compileYaml([CLASS, tcpGw, svc("default", "a"), tcpRoute].join("---\n"));
    expect(conds(routeStatus(snap))).toBe("Accepted=True/Accepted ResolvedRefs=False/InvalidDestination");
    const t = trace(snap, { port: 9000, host: "", path: "" });
    expect([t.outcome, t.cluster]).toEqual(["tcp_no_route", null]);
  });
});

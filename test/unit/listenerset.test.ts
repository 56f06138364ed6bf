// ListenerSet (gateway.networking.k8s.io/v1): decode with its defaults, the
// vendored CRD schema, and what compile makes of it (allowedListeners, the
// merged listeners and their conflicts, route parentRefs to a ListenerSet,
// status). The upstream conformance cases are in gatewayapi-conformance.test.ts.
import { describe, expect, test } from "bun:test";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue } from "../../src/certs/generate.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import type { ListenerSetResource } from "../../src/model/gatewayapi.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { trace } from "../../src/trace.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";
import { ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";

const LS = `apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: apps}
spec:
  parentRef: {name: gw, namespace: infra}
  listeners:
  - {name: extra, port: 8080, protocol: HTTP, hostname: extra.example.com}
`;

describe("decode", () => {
  test("a ListenerSet decodes with the parentRef's defaults and its listeners as a Gateway's", () => {
    const { resources, errors, warnings } = decodeFiles([{ path: "ls.yaml", text: LS }]);
    expect([...errors, ...warnings]).toEqual([]);
    const ls = resources[0] as ListenerSetResource;
    expect(ls.kind).toBe("ListenerSet");
    expect(ls.spec.parentRef).toEqual({ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "gw" });
    expect(ls.spec.listeners).toEqual([
      { name: "extra", hostname: "extra.example.com", port: 8080, protocol: "HTTP", tls: null, allowedRoutes: { from: "Same", selector: null, kinds: [] } },
    ]);
  });

  test("the parentRef's namespace defaults to the ListenerSet's", () => {
    const { resources } = decodeFiles([{ path: "ls.yaml", text: LS.replace("{name: gw, namespace: infra}", "{name: gw}") }]);
    expect((resources[0] as ListenerSetResource).spec.parentRef.namespace).toBe("apps");
  });

  test("the vendored CRD schema checks it: a port out of range and a missing parentRef are Errors, the document is not used", () => {
    const bad = LS.replace("port: 8080", "port: 70000").replace("  parentRef: {name: gw, namespace: infra}\n", "");
    const { resources, errors } = decodeFiles([{ path: "ls.yaml", text: bad }]);
    expect(resources).toEqual([]);
    expect(errors.map((e) => [e.code, e.field])).toEqual([
      ["GW0106", "spec.listeners[0].port"],
      ["GW0105", "spec.parentRef"],
    ]);
  });

  test("an unknown field is refused with did-you-mean, as for every vendored kind", () => {
    const { errors } = decodeFiles([{ path: "ls.yaml", text: LS.replace("parentRef:", "parentRefs:") }]);
    expect(errors.map((e) => [e.code, e.field, e.message])).toContainEqual(["GW0112", "spec.parentRefs", 'unknown field "parentRefs"; did you mean "parentRef"?']);
  });

  test("Gateway spec.allowedListeners: namespaces.from (CRD default None) and selector; absent when not written", () => {
    const gw = (al: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
${al}`;
    const spec = (al: string) => (decodeFiles([{ path: "g.yaml", text: gw(al) }]).resources[0]!.spec as { allowedListeners?: unknown }).allowedListeners;
    expect(spec("")).toBeNull();
    expect(spec("  allowedListeners: {namespaces: {}}\n")).toEqual({ from: "None", selector: null });
    expect(spec("  allowedListeners: {namespaces: {from: Selector, selector: {matchLabels: {a: b}}}}\n")).toEqual({
      from: "Selector",
      selector: { matchLabels: { a: "b" }, matchExpressions: [] },
    });
  });
});

const BASE = `${ISTIO_GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: istio
  allowedListeners: {namespaces: {from: All}}
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: v1
kind: Service
metadata: {name: be, namespace: apps}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: be-1, namespace: apps, labels: {kubernetes.io/service-name: be}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{name: http, port: 9000}]
`;

function listenerSet(listeners: string, name = "ls", ns = "apps", parent = "{name: gw, namespace: infra}"): string {
  return `---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ${name}, namespace: ${ns}}
spec:
  parentRef: ${parent}
  listeners:
${listeners}`;
}

function route(parentRefs: string, name = "r", hostnames = "[]"): string {
  return `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: apps}
spec:
  parentRefs: ${parentRefs}
  hostnames: ${hostnames}
  rules: [{backendRefs: [{name: be, port: 8080}]}]
`;
}

const TO_LS = "[{kind: ListenerSet, name: ls}]";

function get(s: Snapshot, port: number, host: string): string | number {
  const t = trace(s, { port, host, path: "/", headers: {} });
  if (t.outcome === "no_listener") return "no listener";
  return t.outcome === "forward" ? t.cluster! : t.status;
}

describe("compile", () => {
  test("a ListenerSet listener on a port the Gateway does not have is served there, to the routes of the ListenerSet only", () => {
    const s = compileYaml(BASE + listenerSet("  - {name: extra, port: 8081, protocol: HTTP}\n") + route(TO_LS) + route("[{name: gw, namespace: infra}]", "on-gw"));
    expect(get(s, 8081, "a.example.com")).toBe("outbound|8080||be.apps.svc.cluster.local");
    expect(s.listeners.map((l) => l.port).sort()).toEqual([80, 8081]);
    const ls = s.gatewayStatus!.find((i) => i.kind === "ListenerSet")!;
    expect(ls.status.listeners!.map((l) => [l.name, l.attachedRoutes])).toEqual([["extra", 1]]);
    const gw = s.gatewayStatus!.find((i) => i.kind === "Gateway")!;
    expect([gw.status.attachedListenerSets, gw.status.listeners!.map((l) => l.attachedRoutes)]).toEqual([1, [1]]);
  });

  test("hostname isolation spans the Gateway and its ListenerSets: a catch-all Gateway listener does not serve a ListenerSet listener's host", () => {
    const s = compileYaml(BASE + listenerSet("  - {name: a, port: 80, protocol: HTTP, hostname: a.example.com}\n") + route("[{name: gw, namespace: infra}]", "on-gw", "[a.example.com, b.example.com]"));
    expect(get(s, 80, "b.example.com")).toBe("outbound|8080||be.apps.svc.cluster.local");
    expect(get(s, 80, "a.example.com")).toBe(404);
  });

  test("a ListenerSet named like a Gateway of its namespace derives Istio Gateways of other names", () => {
    const same = listenerSet("  - {name: http, port: 8081, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}\n", "gw", "infra");
    const s = compileYaml(BASE + same + route("[{kind: ListenerSet, name: gw, namespace: infra}]"));
    expect(get(s, 8081, "a.example.com")).toBe("outbound|8080||be.apps.svc.cluster.local");
    expect(get(s, 80, "a.example.com")).toBe(404);
  });

  test("not attached: parent missing (Warning), of another class (Info), not a Gateway (Warning), not allowed (Warning, NotAllowed); a route to it gets no status", () => {
    const other = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: theirs, namespace: infra}
spec: {gatewayClassName: other, listeners: [{name: http, port: 80, protocol: HTTP}]}
`;
    const notAllowed = BASE.replace("allowedListeners: {namespaces: {from: All}}", "allowedListeners: {namespaces: {from: Same}}");
    const s = compileYaml(
      notAllowed +
        other +
        listenerSet("  - {name: a, port: 8081, protocol: HTTP}\n", "missing", "apps", "{name: nope, namespace: infra}") +
        listenerSet("  - {name: a, port: 8082, protocol: HTTP}\n", "theirs", "apps", "{name: theirs, namespace: infra}") +
        listenerSet("  - {name: a, port: 8083, protocol: HTTP}\n", "svc", "apps", "{group: '', kind: Service, name: gw, namespace: infra}") +
        listenerSet("  - {name: a, port: 8084, protocol: HTTP}\n", "ls") +
        route(TO_LS),
    );
    expect(findingLines(s).filter((l) => l.includes("GW0815"))).toEqual([
      "Warning GW0815 ListenerSet/apps/ls: Gateway infra/gw does not allow ListenerSets of namespace apps (spec.allowedListeners): not served (NotAllowed)",
      "Warning GW0815 ListenerSet/apps/missing: parent Gateway infra/nope not found",
      "Warning GW0815 ListenerSet/apps/svc: parentRef /Service is not a Gateway: not served",
      "Info GW0815 ListenerSet/apps/theirs: parent Gateway infra/theirs is not served by this instance",
    ]);
    expect(s.listeners.map((l) => l.port)).toEqual([80]);
    expect(s.gatewayStatus!.filter((i) => i.kind !== "Gateway" && i.kind !== "GatewayClass").map((i) => [i.kind, i.metadata.name, i.status.conditions?.map((c) => c.reason)])).toEqual([
      ["ListenerSet", "ls", ["NotAllowed", "NotAllowed"]],
    ]);
  });

  test("a ListenerSet certificateRef to another namespace needs a ReferenceGrant from ListenerSets (one from Gateways is not enough)", () => {
    const https = listenerSet("  - {name: tls, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert, namespace: certs}]}}\n");
    const grant = (kind: string) => `---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: g, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: ${kind}, namespace: apps}]
  to: [{group: "", kind: Secret}]
`;
    const resolved = (s: Snapshot) => s.gatewayStatus!.find((i) => i.kind === "ListenerSet")!.status.listeners![0]!.conditions.find((c) => c.type === "ResolvedRefs")!.reason;
    expect(resolved(compileYaml(BASE + https + grant("Gateway")))).toBe("RefNotPermitted");
    // the grant is enough: the Secret itself is missing
    expect(resolved(compileYaml(BASE + https + grant("ListenerSet")))).toBe("InvalidCertificateRef");
  });

  test("TLS: a ListenerSet listener's chain answers 421 for a Host a more specific listener of the port owns, as a Gateway listener's", async () => {
    const ca = await createCA({ cn: "t", keyType: "ec" });
    const leaf = await issue(ca, { cn: "*.example.com", names: ["*.example.com"], usage: "server", keyType: "ec" });
    const gw = BASE.replace(
      "  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}",
      "  - {name: a, port: 443, protocol: HTTPS, hostname: a.example.com, tls: {certificateRefs: [{name: c}]}, allowedRoutes: {namespaces: {from: All}}}",
    );
    const set = listenerSet("  - {name: any, port: 443, protocol: HTTPS, hostname: '*.example.com', tls: {certificateRefs: [{name: c}]}}\n");
    const s = compileYaml(gw + set + "---\n" + secretYaml("c", "infra", "tls", leaf.cert, leaf.key) + "---\n" + secretYaml("c", "apps", "tls", leaf.cert, leaf.key) + route(TO_LS));
    const t = trace(s, { port: 443, host: "a.example.com", path: "/", headers: {}, sni: "z.example.com" });
    expect([t.outcome, t.status]).toEqual(["misdirected", 421]);
    expect(trace(s, { port: 443, host: "z.example.com", path: "/", headers: {}, sni: "z.example.com" }).cluster).toBe("outbound|8080||be.apps.svc.cluster.local");
  });

  test("an HTTPS listener of a ListenerSet without tls is not Accepted (UnsupportedProtocol), as istiod; the set then ListenersNotValid", () => {
    const s = compileYaml(BASE + listenerSet("  - {name: missing-tls, port: 8443, protocol: HTTPS, hostname: child.example.com}\n"));
    const st = s.gatewayStatus!.find((i) => i.kind === "ListenerSet")!.status;
    expect(st.conditions!.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual(["Accepted=False/ListenersNotValid", "Programmed=False/ListenersNotValid"]);
    expect(st.listeners![0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual([
      "Accepted=False/UnsupportedProtocol",
      "Conflicted=False/NoConflicts",
      "Programmed=False/Invalid",
      "ResolvedRefs=True/ResolvedRefs",
    ]);
    expect(s.listeners.map((l) => l.port)).toEqual([80]);
  });

  test("a TCPRoute reaches a ListenerSet's TCP listener on its own port", () => {
    const tcp = `---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: t, namespace: apps}
spec:
  parentRefs: [{kind: ListenerSet, name: ls}]
  rules: [{backendRefs: [{name: be, port: 8080}]}]
`;
    const s = compileYaml(BASE + listenerSet("  - {name: tcp, port: 9000, protocol: TCP}\n") + tcp);
    const t = trace(s, { port: 9000, host: "", path: "/", headers: {} });
    expect([t.outcome, t.cluster]).toEqual(["tcp_forward", "outbound|8080||be.apps.svc.cluster.local"]);
  });
});


describe("no Gateway API Gateway in the configuration", () => {
  test("a ListenerSet and a route naming a Gateway that is not there are still said (GW0815, GW0805), as when other Gateways exist", () => {
    const route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: infra}\nspec:\n  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: a, port: 80}]}]\n";
    const s = compileYaml(`${ISTIO_GATEWAY_CLASS}---\n${LS}---\n${route}`);
    expect(findingLines(s).filter((l) => l.includes("GW0815") || l.includes("GW0805"))).toEqual([
      "Warning GW0815 ListenerSet/apps/ls: parent Gateway infra/gw not found",
      "Warning GW0805 HTTPRoute/infra/r: parent Gateway infra/gw not found",
    ]);
    expect(s.listeners).toEqual([]);
  });
});

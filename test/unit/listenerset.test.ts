// ListenerSet (gateway.networking.k8s.io/v1): decode with its defaults, the
// vendored CRD schema, and what compile makes of it (allowedListeners, the
// merged listeners and their conflicts, route parentRefs to a ListenerSet,
// status). The upstream conformance cases are in gatewayapi-conformance.test.ts.
import { describe, expect, test } from "bun:test";
import { decodeFiles } from "../../src/decode/index.ts";
import type { ListenerSetResource } from "../../src/model/gatewayapi.ts";

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

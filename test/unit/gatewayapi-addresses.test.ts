// A Gateway's spec.addresses → status.addresses and the Accepted/Programmed reasons istiod
// writes for them (UnsupportedAddress, AddressNotUsable, AddressNotAssigned): first the
// conformance test gateway-static-addresses step by step, then istiod's rules around it.
import { describe, expect, test } from "bun:test";
import type { StatusItem } from "../../src/snapshot/status.ts";
import { compileYaml, findingLines, get } from "./pipeline-helpers.ts";

const CLASS = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: istio}\nspec: {controllerName: istio.io/gateway-controller}\n";
const gateway = (name: string, addresses: string, annotations = "{}") =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: ${name}, namespace: infra, generation: 4, annotations: ${annotations}}\nspec:\n  gatewayClassName: istio\n  addresses: ${addresses}\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n`;
const service = (name: string, ns = "infra", more = "", ports = "[{name: http, port: 80}]") => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {ports: ${ports}${more}}\n`;
const HOST = (v: string) => `{type: Hostname, value: ${v}}`;

function gw(docs: string[], name = "gw"): StatusItem["status"] & { snap: ReturnType<typeof compileYaml> } {
  const snap = compileYaml([CLASS, ...docs].join("---\n"));
  const it = snap.gatewayStatus!.find((i) => i.kind === "Gateway" && i.metadata.name === name)!;
  return { ...it.status, snap };
}
const reasons = (s: StatusItem["status"]) => (s.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason}`).join(" ");

describe("gateway-static-addresses, as the conformance test patches it", () => {
  const usable = HOST("infra-backend-v1.infra.svc.cluster.local");
  const backend = service("infra-backend-v1");

  test("an address type gangway does not support: Accepted False, UnsupportedAddress; the listeners are still served", () => {
    const s = gw([backend, gateway("gw", `[{type: test/fake-invalid-type, value: "fake address teehee!"}, ${HOST("foo")}, ${usable}]`)]);
    expect(s.conditions![0]).toEqual({ type: "Accepted", status: "False", observedGeneration: 4, reason: "UnsupportedAddress", message: "only Hostname is supported, ignoring [fake address teehee!]" });
    expect(get(s.snap, "a.example", "/").status).toBe(404);
    expect(findingLines(s.snap).filter((l) => l.includes("GW0809"))[0]).toContain("UnsupportedAddress");
  });

  test("then an address naming no Service: Accepted, Programmed False AddressNotUsable", () => {
    const s = gw([backend, gateway("gw", `[${HOST("foo")}, ${usable}]`)]);
    expect(reasons(s)).toBe("Accepted=True/Accepted Programmed=False/AddressNotUsable");
    expect(s.conditions![1]!.message).toBe(
      'Assigned to service(s) infra-backend-v1.infra.svc.cluster.local:80, but failed to assign to all requested addresses: hostname "foo.infra.svc.cluster.local" not found',
    );
  });

  test("then the usable address alone: Accepted, Programmed, one status address of its type", () => {
    const s = gw([backend, gateway("gw", `[${usable}]`)]);
    expect(reasons(s)).toBe("Accepted=True/Accepted Programmed=True/Programmed");
    expect(s.addresses).toEqual([{ type: "Hostname", value: "infra-backend-v1.infra.svc.cluster.local" }]);
    expect(s.listeners!.map((l) => [l.name, l.attachedRoutes, l.conditions.map((c) => `${c.type}=${c.status}`).join(" ")])).toEqual([
      ["http", 0, "Accepted=True Conflicted=False Programmed=True ResolvedRefs=True"],
    ]);
  });
});

describe("istiod's address rules", () => {
  test("no Hostname left (two IP addresses): not Accepted, not Programmed (UnsupportedAddress), no listener built or served", () => {
    const s = gw([gateway("gw", "[{type: IPAddress, value: 10.0.0.1}, {type: IPAddress, value: 10.0.0.2}]")]);
    expect(reasons(s)).toBe("Accepted=False/UnsupportedAddress Programmed=False/UnsupportedAddress");
    expect(s.conditions![1]!.message).toBe("Failed to assign to any requested addresses");
    expect(s.listeners).toEqual([]);
    expect(s.snap.listeners).toEqual([]);
    expect(findingLines(s.snap).some((l) => l.startsWith("Error GW0809") && l.includes("not served"))).toBe(true);
  });

  test("a short Hostname is a Service of the Gateway's namespace; one of another namespace is named in the message", () => {
    const s = gw([service("front", "other"), gateway("gw", `[${HOST("front.other.svc.cluster.local")}]`)]);
    expect(reasons(s)).toBe("Accepted=True/Accepted Programmed=False/AddressNotUsable");
    expect(s.conditions![1]!.message).toBe(
      'Failed to assign to any requested addresses: hostname "front.other.svc.cluster.local" not found in namespace "infra", but it was found in namespace(s) "other"',
    );
    expect(s.addresses).toBeUndefined();
  });

  test("a Service without a listener's port: AddressNotUsable", () => {
    const s = gw([service("front", "infra", "", "[{name: https, port: 443}]"), gateway("gw", `[${HOST("front")}]`)]);
    expect(reasons(s)).toBe("Accepted=True/Accepted Programmed=False/AddressNotUsable");
    expect(s.conditions![1]!.message).toBe('Failed to assign to any requested addresses: port 80 not found for hostname "front.infra.svc.cluster.local"');
  });

  test("a listener on the workload's port (a targetPort of the Service): istiod's hint names the Service port", () => {
    const s = gw([service("front", "infra", "", "[{name: http, port: 8080, targetPort: 80}]"), gateway("gw", `[${HOST("front")}]`)]);
    expect(s.conditions![1]!.message).toBe(
      'Failed to assign to any requested addresses: port 80 not found for hostname "front.infra.svc.cluster.local" (hint: the service port should be specified, not the workload port. Did you mean one of these ports: [8080]?)',
    );
  });

  test("a LoadBalancer Service: its ingress addresses; none yet: AddressNotAssigned (pending), no address reported", () => {
    const lb = `${service("front", "infra", ", type: LoadBalancer, clusterIP: 10.96.0.9")}status: {loadBalancer: {ingress: [{ip: 192.0.2.7}, {hostname: lb.example.net}]}}\n`;
    const s = gw([lb, gateway("gw", `[${HOST("front")}]`)]);
    expect(reasons(s)).toBe("Accepted=True/Accepted Programmed=True/Programmed");
    expect(s.addresses).toEqual([{ type: "IPAddress", value: "192.0.2.7" }, { type: "Hostname", value: "lb.example.net" }]);
    const pending = gw([service("front", "infra", ", type: LoadBalancer"), gateway("gw", `[${HOST("front")}]`)]);
    expect(reasons(pending)).toBe("Accepted=True/Accepted Programmed=False/AddressNotAssigned");
    expect(pending.conditions![1]!.message).toContain('address pending for hostname "front.infra.svc.cluster.local"');
    expect(pending.addresses).toBeUndefined();
  });

  test("a listener not programmed still has its port counted (istiod builds its server), a placeholder HTTPS without tls does not", () => {
    const gwTls = (tls: string) =>
      `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: infra}\nspec:\n  gatewayClassName: istio\n  addresses: [${HOST("front")}]\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n  - {name: https, port: 9443, protocol: HTTPS, hostname: a.example${tls}}\n`;
    const missingCert = gw([service("front"), gwTls(", tls: {certificateRefs: [{name: nope}]}")]);
    expect(reasons(missingCert)).toBe("Accepted=True/ListenersNotValid Programmed=False/AddressNotUsable");
    expect(missingCert.conditions![1]!.message).toContain("port 9443 not found");
    expect(reasons(gw([service("front"), gwTls("")]))).toBe("Accepted=True/ListenersNotValid Programmed=True/Programmed");
  });

  test("annotation networking.istio.io/address-type IPAddress: the ClusterIP instead of the hostname", () => {
    const s = gw([service("front", "infra", ", clusterIP: 10.96.0.9"), gateway("gw", `[${HOST("front")}]`, '{"networking.istio.io/address-type": IPAddress}')]);
    expect(s.addresses).toEqual([{ type: "IPAddress", value: "10.96.0.9" }]);
  });

  test("no address: the Service istiod generates (<gateway>-<class>) when the files hold it, else nothing is said", () => {
    const none = `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: infra}\nspec:\n  gatewayClassName: istio\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n`;
    const alone = gw([none]);
    expect(reasons(alone)).toBe("Accepted=True/Accepted Programmed=True/Programmed");
    expect(alone.addresses).toBeUndefined();
    const held = gw([service("gw-istio"), none]);
    expect(held.addresses).toEqual([{ type: "Hostname", value: "gw-istio.infra.svc.cluster.local" }]);
    expect(held.conditions![1]!.message).toBe("Resource programmed, assigned to service(s) gw-istio.infra.svc.cluster.local:80");
    const wrong = gw([service("gw-istio", "infra", "", "[{name: x, port: 81}]"), none]);
    expect(reasons(wrong)).toBe("Accepted=True/Accepted Programmed=False/AddressNotUsable");
  });
});

describe("a ListenerSet and its parent's addresses (istiod's ReportListenerSetStatus)", () => {
  const parent = (addresses: string) =>
    `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: infra}\nspec:\n  gatewayClassName: istio\n  allowedListeners: {namespaces: {from: All}}\n  addresses: ${addresses}\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n`;
  const set = "apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\nmetadata: {name: ls, namespace: infra}\nspec:\n  parentRef: {name: gw}\n  listeners:\n  - {name: extra, port: 8081, protocol: HTTP, hostname: extra.example}\n";
  const setStatus = (snap: ReturnType<typeof compileYaml>) => snap.gatewayStatus!.find((i) => i.kind === "ListenerSet")!.status;

  test("a parent assigned to no address: the ListenerSet is not accepted (UnsupportedAddress), nothing of it built or served", () => {
    const snap = compileYaml([CLASS, parent("[{type: example.com/custom, value: 0.0.0.0}]"), set].join("---\n"));
    const s = setStatus(snap);
    expect(reasons(s)).toBe("Accepted=False/UnsupportedAddress Programmed=False/UnsupportedAddress");
    expect(s.conditions![0]!.message).toBe("Parent not accepted: only Hostname is supported, ignoring [0.0.0.0]");
    expect(s.listeners).toEqual([]);
    expect(snap.listeners).toEqual([]);
  });

  test("its own port missing from the parent's Service: Programmed False, AddressNotUsable (the parent's too)", () => {
    const snap = compileYaml([CLASS, service("front"), parent(`[${HOST("front")}]`), set].join("---\n"));
    expect(reasons(setStatus(snap))).toBe("Accepted=True/Accepted Programmed=False/AddressNotUsable");
    expect(setStatus(snap).conditions![1]!.message).toBe('Failed to assign to any requested addresses: port 8081 not found for hostname "front.infra.svc.cluster.local"');
    const g = snap.gatewayStatus!.find((i) => i.kind === "Gateway")!.status;
    expect(reasons(g)).toBe("Accepted=True/Accepted Programmed=False/AddressNotUsable");
    expect(snap.listeners.map((l) => l.port).sort()).toEqual([80, 8081]);
  });
});

describe("no Service for the Gateway: where gangway listens (CompileOptions.listenAddresses)", () => {
  const LISTEN = { listenAddresses: ["192.0.2.2", "fd00::2"] };
  const none = `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: infra}\nspec:\n  gatewayClassName: istio\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n`;
  const at = (docs: string[], over: Parameters<typeof compileYaml>[1] = LISTEN) => {
    const snap = compileYaml([CLASS, ...docs].join("---\n"), over);
    return { ...snap.gatewayStatus!.find((i) => i.kind === "Gateway" && i.metadata.name === "gw")!.status, snap };
  };
  const ips = (...v: string[]) => v.map((value) => ({ type: "IPAddress" as const, value }));
  const info = (snap: ReturnType<typeof compileYaml>) => findingLines(snap).filter((l) => l.startsWith("Info GW0809"));

  // each row: spec.addresses (managed: none or one IPAddress), Services in the files, the status.addresses wanted
  const cases: [string, string, string[], unknown][] = [
    ["no address, no Service: every listen address, best first", "[]", [], ips("192.0.2.2", "fd00::2")],
    ["an IPAddress without a value (gateway-optional-address-value), no Service: every listen address", "[{type: IPAddress}]", [], ips("192.0.2.2", "fd00::2")],
    ["a requested IP gangway listens on, no Service: that IP alone", "[{type: IPAddress, value: fd00::2}]", [], ips("fd00::2")],
    ["a requested IP gangway does not listen on, no Service: where it listens", "[{type: IPAddress, value: 10.0.0.9}]", [], ips("192.0.2.2", "fd00::2")],
    ["the generated Service in the files: its hostname, as istiod (the fallback never mixes in)", "[]", [service("gw-istio")], [{ type: "Hostname", value: "gw-istio.infra.svc.cluster.local" }]],
    ["the generated Service with a load balancer address: that address", "[{type: IPAddress, value: 192.0.2.2}]", [`${service("gw-istio", "infra", ", type: LoadBalancer")}status: {loadBalancer: {ingress: [{ip: 203.0.113.5}]}}\n`], ips("203.0.113.5")],
    ["the generated Service pending (AddressNotAssigned): none, as istiod", "[]", [service("gw-istio", "infra", ", type: LoadBalancer")], undefined],
    ["a Hostname address naming no Service (AddressNotUsable): none, as istiod", "[{type: Hostname, value: front}]", [], undefined],
  ];
  for (const [name, addresses, services, want] of cases) {
    test(name, () => {
      const withListen = at([...services, none.replace("spec:\n", `spec:\n  addresses: ${addresses}\n`)]);
      expect(withListen.addresses).toEqual(want as never);
      // the conditions are those compiled without the fallback
      const without = at([...services, none.replace("spec:\n", `spec:\n  addresses: ${addresses}\n`)], {});
      expect(withListen.conditions).toEqual(without.conditions!);
      if (services.length === 0 && !addresses.includes("Hostname")) expect(without.addresses).toBeUndefined();
    });
  }

  test("the conditions stay Accepted/Programmed, and a requested IP's Info finding says whether gangway listens on it", () => {
    const on = at([none.replace("spec:\n", "spec:\n  addresses: [{type: IPAddress, value: 192.0.2.2}]\n")]);
    expect(reasons(on)).toBe("Accepted=True/Accepted Programmed=True/Programmed");
    expect(info(on.snap)).toEqual(["Info GW0809 Gateway.gateway.networking.k8s.io/infra/gw: address 192.0.2.2: istiod asks the Service it generates for it; gangway generates no Service: none is in the files and gangway listens on it: the status address"]);
    const off = at([none.replace("spec:\n", "spec:\n  addresses: [{type: IPAddress, value: 10.0.0.9}]\n")]);
    expect(info(off.snap)[0]).toContain("none is in the files and gangway does not listen on it: the status addresses are where it does");
    const held = at([service("gw-istio"), none.replace("spec:\n", "spec:\n  addresses: [{type: IPAddress, value: 10.0.0.9}]\n")]);
    expect(info(held.snap)[0]).toContain("the address is the one of the Service in front of it");
  });

  test("a ListenerSet's status has no addresses; the parent's fallback does not change its conditions", () => {
    const parent = none.replace("spec:\n", "spec:\n  allowedListeners: {namespaces: {from: All}}\n");
    const set = "apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\nmetadata: {name: ls, namespace: infra}\nspec:\n  parentRef: {name: gw}\n  listeners:\n  - {name: extra, port: 8081, protocol: HTTP, hostname: extra.example}\n";
    const s = at([parent, set]);
    expect(s.addresses).toEqual(ips("192.0.2.2", "fd00::2"));
    const ls = (over: Parameters<typeof compileYaml>[1]) => compileYaml([CLASS, parent, set].join("---\n"), over).gatewayStatus!.find((i) => i.kind === "ListenerSet")!.status;
    expect(ls(LISTEN)).toEqual(ls({}));
    expect(ls(LISTEN).addresses).toBeUndefined();
  });
});

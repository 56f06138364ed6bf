// Which Ingresses gangway serves: the class annotation (--ingress-class), an
// IngressClass with Istio's controller, and Ingresses without a class
// (--ingress-mode strict|default|off, with the default IngressClass honoured).
import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { decodeMeshConfig } from "../../src/decode/meshconfig.ts";
import { compileOptions } from "../../src/primary/pipeline.ts";
import { findingLines } from "./pipeline-helpers.ts";
import { backend, compileIngress, ingress, ingressClass, served, services } from "./ingress-helpers.ts";

const ISTIO = "istio.io/ingress-controller";
const NGINX = "k8s.io/ingress-nginx";
const rules = (svc: string) => `  rules:\n  - host: ${svc}.example\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: ${backend(svc)}}`;
const withClass = (name: string, cls: string) => ingress(name, `  ingressClassName: ${cls}\n${rules(name)}`, {});
const annotated = (name: string, cls: string) => ingress(name, rules(name), { annotations: { "kubernetes.io/ingress.class": cls } });
const unclassed = (name: string) => ingress(name, rules(name), {});
const notOurs = (lines: string[]) => lines.filter((l) => l.includes("GW0501"));

describe("class annotation and IngressClass (Istio's rules)", () => {
  const yaml =
    services(["a", "b", "c", "d", "e", "f", "g"]) +
    ingressClass("istio", ISTIO) +
    ingressClass("nginx", NGINX) +
    annotated("a", "istio") +
    withClass("b", "istio") +
    withClass("c", "nginx") +
    withClass("d", "missing") +
    unclassed("e") +
    annotated("f", "nginx") +
    ingress("g", `  ingressClassName: nginx\n${rules("g")}`, { annotations: { "kubernetes.io/ingress.class": "istio" } });

  test("served: annotation istio, IngressClass with istio.io/ingress-controller; the annotation wins over ingressClassName", () => {
    const s = compileIngress(yaml);
    const answers = ["a", "b", "c", "d", "e", "f", "g"].map((n) => served(s, `${n}.example`, "/"));
    expect(answers).toEqual(["a", "b", 404, 404, 404, 404, "g"]);
  });

  test("not served, with a finding each (another controller's class is Info, a missing class a Warning)", () => {
    expect(notOurs(findingLines(compileIngress(yaml)))).toEqual([
      "Info GW0501 Ingress/default/c: IngressClass nginx is for controller k8s.io/ingress-nginx: not served",
      'Warning GW0501 Ingress/default/d: IngressClass "missing" not found: not served',
      "Warning GW0501 Ingress/default/e: no ingress class: not served (add annotation kubernetes.io/ingress.class: istio, or ingressClassName naming an IngressClass with controller istio.io/ingress-controller, or run with --ingress-mode default)",
      'Info GW0501 Ingress/default/f: class "nginx" is not istio: not served',
    ]);
  });

  test("an IngressClass's parameters are not read (istiod reads none): Info naming the field, the class still serves", () => {
    const cls = ingressClass("istio", ISTIO).replace("spec: {controller: istio.io/ingress-controller}", "spec: {controller: istio.io/ingress-controller, parameters: {apiGroup: example.com, kind: Params, name: p}}");
    const s = compileIngress(services(["b"]) + cls + withClass("b", "istio"));
    expect(served(s, "b.example", "/")).toBe("b");
    expect(s.findings.filter((f) => f.resource === "IngressClass/default/istio").map((f) => `${f.level} ${f.code} ${f.field}`)).toEqual(["Info GW0503 spec.parameters"]);
  });

  test("--ingress-class changes the annotation value served (IngressClass still goes by controller)", () => {
    const s = compileIngress(yaml, { ingressClass: "nginx" });
    expect(["a", "b", "c", "f", "g"].map((n) => served(s, `${n}.example`, "/"))).toEqual([404, "b", 404, "f", 404]);
    expect(findingLines(s)).toContain('Info GW0501 Ingress/default/a: class "istio" is not nginx: not served');
  });

  test("--ingress-mode off: nothing served, nothing listened on", () => {
    const s = compileIngress(yaml, { ingressMode: "off" });
    expect(s.listeners).toEqual([]);
    expect(findingLines(s)).toContain("Info GW0501 Ingress/default/a: not served: --ingress-mode is off");
  });
});

describe("--ingress-mode default: Ingresses without a class, and the default IngressClass", () => {
  const base = services(["u", "n"]) + unclassed("u") + withClass("n", "missing");

  test("no default IngressClass: an Ingress without class is served; a missing named class still is not", () => {
    const s = compileIngress(base, { ingressMode: "default" });
    expect([served(s, "u.example", "/"), served(s, "n.example", "/")]).toEqual(["u", 404]);
  });

  test("the default IngressClass is ours: served", () => {
    const s = compileIngress(base + ingressClass("istio", ISTIO, true), { ingressMode: "default" });
    expect(served(s, "u.example", "/")).toBe("u");
  });

  test("the default IngressClass is another controller's: not served (Istio ignores it: istio/istio #31720)", () => {
    const s = compileIngress(base + ingressClass("istio", ISTIO) + ingressClass("nginx", NGINX, true), { ingressMode: "default" });
    expect(served(s, "u.example", "/")).toBe(404);
    expect(notOurs(findingLines(s))).toContain("Info GW0501 Ingress/default/u: no ingress class: the default IngressClass nginx is for controller k8s.io/ingress-nginx: not served");
  });

  test("several default IngressClasses: Kubernetes would refuse the Ingress; not served", () => {
    const s = compileIngress(base + ingressClass("istio", ISTIO, true) + ingressClass("nginx", NGINX, true), { ingressMode: "default" });
    expect(served(s, "u.example", "/")).toBe(404);
    expect(notOurs(findingLines(s))).toContain(
      "Warning GW0501 Ingress/default/u: no ingress class and several default IngressClasses (istio, nginx): Kubernetes refuses such an Ingress; not served",
    );
  });

  test("strict (the default) ignores the default IngressClass, as Istio does", () => {
    const s = compileIngress(base + ingressClass("istio", ISTIO, true));
    expect(served(s, "u.example", "/")).toBe(404);
  });
});

describe("command line: --ingress-class, --ingress-mode", () => {
  test("defaults: not given (the mesh config's, else istio and strict); passed on to compile", () => {
    const o = parseArgs(["--config", "d"]);
    expect([o.ingressClass, o.ingressMode]).toEqual([null, null]);
    expect(compileOptions(o)).not.toContainKey("ingressClass");
    expect(compileOptions(o)).not.toContainKey("ingressMode");
    const c = compileOptions(parseArgs(["--config", "d", "--ingress-class", "gangway", "--ingress-mode=DEFAULT"]));
    expect([c.ingressClass, c.ingressMode]).toEqual(["gangway", "default"]);
  });

  test("bad values are usage errors", () => {
    expect(() => parseArgs(["--ingress-mode", "lenient"])).toThrow(UsageError);
    expect(() => parseArgs(["--ingress-class", "Not A Class"])).toThrow(UsageError);
    expect(() => parseArgs(["--ingress-class"])).toThrow(UsageError);
  });
});

describe("mesh config (--mesh-config): ingressClass, ingressControllerMode, ingressService, ingressSelector, as istiod reads them", () => {
  const mesh = (yaml: string) => {
    const r = decodeMeshConfig("mesh.yaml", yaml);
    expect(r.errors).toEqual([]);
    return r.mesh;
  };
  const yaml = services(["a", "u"]) + annotated("a", "gangway") + unclassed("u");

  test("ingressClass and ingressControllerMode apply when the flags are not given", () => {
    const s = compileIngress(yaml, { mesh: mesh("ingressClass: gangway\ningressControllerMode: DEFAULT\n") });
    expect([served(s, "a.example", "/"), served(s, "u.example", "/")]).toEqual(["a", "u"]);
    const off = compileIngress(yaml, { mesh: mesh("ingressClass: gangway\ningressControllerMode: OFF\n") });
    expect([served(off, "a.example", "/"), served(off, "u.example", "/")]).toEqual([404, 404]);
  });

  test("--ingress-class and --ingress-mode win over the mesh config", () => {
    const s = compileIngress(yaml, { mesh: mesh("ingressClass: gangway\ningressControllerMode: DEFAULT\n"), ingressClass: "istio", ingressMode: "strict" });
    expect([served(s, "a.example", "/"), served(s, "u.example", "/")]).toEqual([404, 404]);
  });

  test("the derived Gateways select istio=<ingressSelector>, else istio=<ingressService> unless istio-ingressgateway, else istio=ingressgateway", () => {
    const base = services(["a"]) + annotated("a", "istio");
    const at = (m: string, labels: Record<string, string>) => served(compileIngress(base, { mesh: mesh(m), labels }), "a.example", "/");
    expect(at("ingressSelector: my-gw\n", { istio: "my-gw" })).toBe("a");
    expect(at("ingressSelector: my-gw\n", { istio: "ingressgateway" })).toBe(404);
    expect(at("ingressService: edge\n", { istio: "edge" })).toBe("a");
    expect(at("ingressService: istio-ingressgateway\n", { istio: "ingressgateway" })).toBe("a");
    expect(at("ingressService: edge\ningressSelector: sel\n", { istio: "sel" })).toBe("a");
    expect(at("", { istio: "ingressgateway" })).toBe("a");
  });

  test("bad values are Errors naming the field", () => {
    const r = decodeMeshConfig("mesh.yaml", "ingressControllerMode: LENIENT\ningressClass: 'Not A Class'\ningressSelector: 'a b'\n");
    expect(r.errors.map((e) => e.field)).toEqual(["ingressClass", "ingressControllerMode", "ingressSelector"]);
  });
});

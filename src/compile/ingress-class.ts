// Which Kubernetes Ingresses are ours. As Istio's shouldProcessIngressWithClass:
// the annotation `kubernetes.io/ingress.class` decides when present (equal to
// --ingress-class, default `istio`); else `ingressClassName` names an
// IngressClass whose controller must be istio.io/ingress-controller; else the
// Ingress has no class, served only with --ingress-mode default.
//
// Where gangway differs from Istio, as the Kubernetes Ingress specification and
// its conformance features ask:
// - `ingressClassName` naming an IngressClass that does not exist is not served
//   in any mode (Istio's DEFAULT mode serves it; conformance's ingress_class
//   feature says an invalid class must not be served);
// - in `default` mode an Ingress without a class follows the default
//   IngressClass (`ingressclass.kubernetes.io/is-default-class: "true"`): served
//   when there is none or it is ours, not when it is another controller's
//   (Istio ignores the annotation: istio/istio #31720).
import { Codes } from "../model/codes.ts";
import type { IngressClassResource, IngressResource } from "../model/kube.ts";
import type { CompileContext, IngressMode } from "./context.ts";

export const INGRESS_CONTROLLER = "istio.io/ingress-controller";
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";

/** --ingress-mode, else the mesh config's ingressControllerMode, else strict (Istio's default). */
export function ingressMode(ctx: CompileContext): IngressMode {
  return ctx.opts.ingressMode ?? ctx.opts.mesh?.ingressControllerMode ?? "strict";
}

/** --ingress-class, else the mesh config's ingressClass, else istio (Istio's default). */
export function ingressClassName(ctx: CompileContext): string {
  return ctx.opts.ingressClass ?? ctx.opts.mesh?.ingressClass ?? "istio";
}

/**
 * The `istio` label the Gateways derived from Ingresses select, as istiod picks it: the
 * mesh config's ingressSelector; else its ingressService unless that is empty or
 * `istio-ingressgateway`; else `ingressgateway`.
 */
export function ingressSelector(ctx: CompileContext): string {
  const m = ctx.opts.mesh;
  if (m?.ingressSelector) return m.ingressSelector;
  if (m?.ingressService && m.ingressService !== "istio-ingressgateway") return m.ingressService;
  return "ingressgateway";
}

/** The IngressClasses marked default (Kubernetes admission gives them to Ingresses without a class). */
function defaultClasses(classes: Map<string, IngressClassResource>): IngressClassResource[] {
  return [...classes.values()].filter((c) => c.metadata.annotations[DEFAULT_CLASS_ANNOTATION] === "true");
}

/** Is this Ingress served by gangway? Reports why not. */
export function isOurs(ctx: CompileContext, ing: IngressResource, classes: Map<string, IngressClassResource>): boolean {
  const mode = ingressMode(ctx);
  if (mode === "off") {
    ctx.report("Info", Codes.IngressNotOurs, ing, "not served: --ingress-mode is off");
    return false;
  }
  const ours = ingressClassName(ctx);
  const annotated = ing.metadata.annotations[INGRESS_CLASS_ANNOTATION];
  if (annotated !== undefined) {
    if (annotated === ours) return true;
    ctx.report("Info", Codes.IngressNotOurs, ing, `class ${JSON.stringify(annotated)} is not ${ours}: not served`, `metadata.annotations`);
    return false;
  }
  const name = ing.spec.ingressClassName;
  if (name !== "") {
    const cls = classes.get(name);
    if (cls === undefined) {
      ctx.report("Warning", Codes.IngressNotOurs, ing, `IngressClass ${JSON.stringify(name)} not found: not served`, "spec.ingressClassName");
      return false;
    }
    if (cls.spec.controller !== INGRESS_CONTROLLER) {
      ctx.report("Info", Codes.IngressNotOurs, ing, `IngressClass ${name} is for controller ${cls.spec.controller}: not served`, "spec.ingressClassName");
      return false;
    }
    return true;
  }
  if (mode === "strict") {
    ctx.report(
      "Warning",
      Codes.IngressNotOurs,
      ing,
      `no ingress class: not served (add annotation ${INGRESS_CLASS_ANNOTATION}: ${ours}, or ingressClassName naming an IngressClass with controller ${INGRESS_CONTROLLER}, or run with --ingress-mode default)`,
      "spec.ingressClassName",
    );
    return false;
  }
  const defaults = defaultClasses(classes);
  if (defaults.length > 1) {
    const names = defaults.map((c) => c.metadata.name).sort().join(", ");
    ctx.report("Warning", Codes.IngressNotOurs, ing, `no ingress class and several default IngressClasses (${names}): Kubernetes refuses such an Ingress; not served`, "spec.ingressClassName");
    return false;
  }
  const d = defaults[0];
  if (d !== undefined && d.spec.controller !== INGRESS_CONTROLLER) {
    ctx.report("Info", Codes.IngressNotOurs, ing, `no ingress class: the default IngressClass ${d.metadata.name} is for controller ${d.spec.controller}: not served`);
    return false;
  }
  return true;
}

// YAML builders and shorthands for the Ingress unit tests.
import type { CompileOptions } from "../../src/compile/index.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import type { TraceRequest } from "../../src/trace.ts";
import { compileYaml, get } from "./pipeline-helpers.ts";

export interface IngressMeta {
  namespace?: string;
  annotations?: Record<string, string>;
  created?: string;
  api?: string;
}

export const ISTIO_CLASS = { "kubernetes.io/ingress.class": "istio" };

/** An Ingress document; `spec` is YAML indented by two spaces. */
export function ingress(name: string, spec: string, m: IngressMeta = { annotations: ISTIO_CLASS }): string {
  const meta = [`name: ${name}`];
  if (m.namespace) meta.push(`namespace: ${m.namespace}`);
  if (m.annotations) meta.push(`annotations: ${JSON.stringify(m.annotations)}`);
  if (m.created) meta.push(`creationTimestamp: "${m.created}"`);
  return `---\napiVersion: ${m.api ?? "networking.k8s.io/v1"}\nkind: Ingress\nmetadata: {${meta.join(", ")}}\nspec:\n${spec}\n`;
}

export function ingressClass(name: string, controller: string, isDefault = false): string {
  const ann = isDefault ? `, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}` : "";
  return `---\napiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: ${name}${ann}}\nspec: {controller: ${controller}}\n`;
}

/** Services (one port 8080 named http) with one endpoint each, so traces reach "forward". */
export function services(names: string[], namespace = "default"): string {
  return names
    .map(
      (n, i) => `---
apiVersion: v1
kind: Service
metadata: {name: ${n}, namespace: ${namespace}}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${n}-1, namespace: ${namespace}, labels: {kubernetes.io/service-name: ${n}}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: ["10.0.0.${i + 1}"]}]
`,
    )
    .join("");
}

/** v1 backend YAML. */
export function backend(service: string, port: number | string = 8080): string {
  return typeof port === "number" ? `{service: {name: ${service}, port: {number: ${port}}}}` : `{service: {name: ${service}, port: {name: ${port}}}}`;
}

export function compileIngress(yaml: string, over: Partial<CompileOptions> = {}): Snapshot {
  return compileYaml(yaml, over);
}

/** Who answers: the Service name of the cluster a request reaches, or the status when it reaches none. */
export function served(s: Snapshot, host: string, path: string, extra: Partial<TraceRequest> = {}): string | number {
  const t = get(s, host, path, extra);
  if (t.outcome !== "forward") return t.status;
  return t.cluster!.split("|")[3]!.split(".")[0]!;
}

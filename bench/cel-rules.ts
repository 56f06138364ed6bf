// Lists the distinct CEL rules (x-kubernetes-validations) of the served versions of the
// CRDs gangway reads, from the originals (not committed; see schemas/README.md):
//   bun bench/cel-rules.ts /work/schemasrc [--json]
// One row per distinct (kind, field path, rule, message), with the versions carrying it.
import { readFileSync, readdirSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const KINDS = new Set([
  "networking.istio.io/Gateway", "networking.istio.io/VirtualService", "networking.istio.io/DestinationRule",
  "networking.istio.io/ServiceEntry", "networking.istio.io/WorkloadEntry",
  "security.istio.io/RequestAuthentication", "security.istio.io/AuthorizationPolicy",
  "gateway.networking.k8s.io/GatewayClass", "gateway.networking.k8s.io/Gateway", "gateway.networking.k8s.io/HTTPRoute",
  "gateway.networking.k8s.io/GRPCRoute", "gateway.networking.k8s.io/TLSRoute", "gateway.networking.k8s.io/TCPRoute",
  "gateway.networking.k8s.io/ReferenceGrant", "gateway.networking.k8s.io/BackendTLSPolicy", "gateway.networking.k8s.io/ListenerSet",
]);

import type { CelRow as Row } from "../test/helpers/cel-cases.ts";

export function celRules(src: string): Row[] {
const files = [`${src}/istio-crds.yaml`, ...readdirSync(`${src}/gateway-api`).filter((f) => f.endsWith(".yaml")).map((f) => `${src}/gateway-api/${f}`)];
const rows = new Map<string, Row>();

function walk(node: unknown, path: string, kind: string, version: string): void {
  if (typeof node !== "object" || node === null) return;
  const n = node as Record<string, unknown>;
  const v = n["x-kubernetes-validations"];
  if (Array.isArray(v)) {
    for (const x of v as Record<string, string>[]) {
      const key = JSON.stringify([kind, path, x.rule, x.message ?? ""]);
      const row = rows.get(key) ?? { kind, path, rule: x.rule, message: x.message ?? "", reason: x.reason, fieldPath: x.fieldPath, versions: [] };
      row.versions.push(version);
      rows.set(key, row);
    }
  }
  if (n.properties && typeof n.properties === "object") for (const [k, c] of Object.entries(n.properties)) walk(c, path === "" ? k : `${path}.${k}`, kind, version);
  if (n.items) walk(n.items, `${path}[*]`, kind, version);
  if (n.additionalProperties && typeof n.additionalProperties === "object") walk(n.additionalProperties, `${path}{*}`, kind, version);
  for (const k of ["oneOf", "anyOf", "allOf"]) if (Array.isArray(n[k])) for (const c of n[k] as unknown[]) walk(c, path, kind, version);
  if (n.not) walk(n.not, path, kind, version);
}

for (const f of files) {
  for (const d of parseAllDocuments(readFileSync(f, "utf8"))) {
    const crd = d.toJS() as Record<string, any> | null;
    if (crd?.kind !== "CustomResourceDefinition") continue;
    const kind = `${crd.spec.group}/${crd.spec.names.kind}`;
    if (!KINDS.has(kind)) continue;
    for (const ver of crd.spec.versions) {
      if (ver.served === false) continue;
      walk(ver.schema?.openAPIV3Schema, "", kind, ver.name);
    }
  }
}

return [...rows.values()];
}

if (import.meta.main) {
const src = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "/work/schemasrc";
const out = celRules(src);
if (process.argv.includes("--json")) console.log(JSON.stringify(out, null, 1));
else {
  out.forEach((r, i) => console.log(`${i + 1}\t${r.kind.split("/")[1]}(${r.kind.split(".")[0]})\t${r.path}\t${r.versions.join(",")}\n\t${r.rule.replace(/\s+/g, " ")}\n\t=> ${r.message}${r.fieldPath ? ` [fieldPath ${r.fieldPath}]` : ""}`));
  console.error(`${out.length} distinct rules, ${out.reduce((a, r) => a + r.versions.length, 0)} occurrences`);
}
}

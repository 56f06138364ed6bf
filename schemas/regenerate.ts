// Regenerates the trimmed schema files of this folder from the published
// originals (see README.md for where each comes from; the originals are not
// committed). Run:
//   node_modules/.bin/bun schemas/regenerate.ts SRC_DIR
// SRC_DIR holds istio-crds.yaml, gateway-api/*.yaml, k8s-1.35.json, k8s-1.29.json.
// Trimming keeps what validation needs: types, properties, items, required,
// enums, bounds, patterns, formats, oneOf/anyOf/allOf/not and the
// x-kubernetes-* markers that change what a value may be; it drops
// descriptions, defaults, printer columns and CEL rules (x-kubernetes-validations).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

type Json = Record<string, unknown>;
const src = process.argv[2];
if (src === undefined) {
  console.error("usage: bun schemas/regenerate.ts SRC_DIR");
  process.exit(2);
}
const OUT = import.meta.dir;

const DROP = new Set([
  "description",
  "default",
  "example",
  "externalDocs",
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-patch-merge-key",
  "x-kubernetes-patch-strategy",
  "x-kubernetes-unions",
  "x-kubernetes-group-version-kind",
  "x-kubernetes-action",
]);

/** The schema without the keys validation does not need (keys named like them inside `properties` are kept). */
function trim(v: unknown, inProperties = false): unknown {
  if (Array.isArray(v)) return v.map((x) => trim(x));
  if (typeof v !== "object" || v === null) return v;
  const out: Json = {};
  for (const k of Object.keys(v as Json).sort()) {
    if (!inProperties && DROP.has(k)) continue;
    out[k] = trim((v as Json)[k], !inProperties && (k === "properties" || k === "patternProperties" || k === "definitions"));
  }
  return out;
}

/** Writes `{ key: value }` one top-level entry per line: compact, yet diffs stay readable. */
function write(file: string, data: Json): void {
  const lines = Object.keys(data).map((k) => `${JSON.stringify(k)}:${JSON.stringify(data[k])}`);
  writeFileSync(join(OUT, file), `{\n${lines.join(",\n")}\n}\n`);
  console.log(`${file}: ${(lines.join("").length / 1024).toFixed(0)} KiB`);
}

interface Crd {
  spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Json } }[] };
}

/** `group/Kind` → [{ versions, schema }], versions with identical schemas sharing one entry. */
function crdSchemas(crds: Crd[], kinds: Set<string>): { schemas: Json; kinds: Record<string, string[]> } {
  const schemas: Json = {};
  const all: Record<string, string[]> = {};
  for (const crd of crds) {
    const { group, names } = crd.spec;
    (all[group] ??= []).push(names.kind);
    if (!kinds.has(names.kind)) continue;
    const entries: { versions: string[]; schema: unknown }[] = [];
    for (const v of crd.spec.versions) {
      if (!v.served || v.schema === undefined) continue;
      const schema = trim(v.schema.openAPIV3Schema);
      const same = entries.find((e) => JSON.stringify(e.schema) === JSON.stringify(schema));
      if (same !== undefined) same.versions.push(v.name);
      else entries.push({ versions: [v.name], schema });
    }
    schemas[`${group}/${names.kind}`] = entries;
  }
  for (const g of Object.keys(all)) all[g]!.sort();
  return { schemas, kinds: all };
}

function yamlDocs(path: string): Crd[] {
  return parseAllDocuments(readFileSync(path, "utf8"))
    .map((d) => d.toJS() as Crd)
    .filter((d) => d !== null && (d as unknown as Json).kind === "CustomResourceDefinition");
}

// ---- Istio ---------------------------------------------------------------------
const ISTIO_KINDS = new Set(["Gateway", "VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry", "RequestAuthentication", "AuthorizationPolicy", "Telemetry"]);
const istio = crdSchemas(yamlDocs(join(src, "istio-crds.yaml")), ISTIO_KINDS);
write("istio.json", {
  source: "istio/api master b8f8791d9653b2edc77a071d48887e582cfe84bf (1.31.0-alpha.0 + 1, 2026-07-21) kubernetes/customresourcedefinitions.gen.yaml",
  kinds: istio.kinds,
  schemas: istio.schemas,
});

// ---- Gateway API ------------------------------------------------------------------
const gwDir = join(src, "gateway-api");
const gwCrds = readdirSync(gwDir)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .flatMap((f) => yamlDocs(join(gwDir, f)));
const GW_KINDS = new Set(["GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "TLSRoute", "TCPRoute", "BackendTLSPolicy", "ListenerSet"]);
const gw = crdSchemas(gwCrds, GW_KINDS);
write("gateway-api.json", {
  source: "kubernetes-sigs/gateway-api v1.6.1 (8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3) config/crd/experimental/gateway.networking.k8s.io_*.yaml",
  // every kind of the experimental channel, so a misspelt kind is told from a real one
  kinds: { "gateway.networking.k8s.io": ["BackendTLSPolicy", "GatewayClass", "Gateway", "GRPCRoute", "HTTPRoute", "ListenerSet", "ReferenceGrant", "TCPRoute", "TLSRoute", "UDPRoute"] },
  schemas: gw.schemas,
});

// ---- Kubernetes built-ins --------------------------------------------------------
interface Gvk {
  group: string;
  version: string;
  kind: string;
}

/** The definitions `roots` reach through $ref, trimmed; `roots` as `group/version/Kind` → definition name. */
function k8s(file: string, wanted: string[], groups: string[], source: string): Json {
  const defs = (JSON.parse(readFileSync(join(src, file), "utf8")) as { definitions: Record<string, Json> }).definitions;
  const roots: Record<string, string> = {};
  const kinds: Record<string, Set<string>> = {};
  for (const [name, d] of Object.entries(defs)) {
    for (const g of (d["x-kubernetes-group-version-kind"] as Gvk[] | undefined) ?? []) {
      if (groups.includes(g.group)) (kinds[g.group] ??= new Set()).add(g.kind);
      const key = `${g.group === "" ? "" : g.group + "/"}${g.version}/${g.kind}`;
      if (wanted.includes(key)) roots[key] = name;
    }
  }
  const missing = wanted.filter((w) => roots[w] === undefined);
  if (missing.length > 0) throw new Error(`${file}: no definition for ${missing.join(", ")}`);
  const keep = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (typeof v !== "object" || v === null) return;
    for (const [k, x] of Object.entries(v as Json)) {
      if (k === "$ref" && typeof x === "string") {
        const name = x.replace("#/definitions/", "");
        if (!keep.has(name)) {
          keep.add(name);
          visit(defs[name]);
        }
      } else visit(x);
    }
  };
  for (const name of [...Object.values(roots), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]) {
    keep.add(name);
    visit(defs[name]);
  }
  const definitions: Json = {};
  for (const name of [...keep].sort()) definitions[name] = trim(defs[name]);
  const kindLists: Record<string, string[]> = {};
  for (const g of groups) kindLists[g] = [...(kinds[g] ?? [])].sort();
  return { source, kinds: kindLists, roots, definitions };
}

write(
  "kubernetes.json",
  k8s(
    "k8s-1.35.json",
    ["v1/Service", "v1/Secret", "v1/ConfigMap", "v1/Endpoints", "v1/Namespace", "networking.k8s.io/v1/Ingress", "networking.k8s.io/v1/IngressClass", "discovery.k8s.io/v1/EndpointSlice"],
    ["", "networking.k8s.io", "discovery.k8s.io"],
    "Kubernetes v1.35.0 api/openapi-spec/swagger.json, as kubernetes-client/javascript (afd5af774619938cf4ed7855da5b56a1b63fa296) src/gen/swagger.json.unprocessed",
  ),
);

write(
  "kubernetes-1.29-deploy.json",
  k8s(
    "k8s-1.29.json",
    [
      "v1/Namespace",
      "v1/ServiceAccount",
      "v1/ConfigMap",
      "v1/Service",
      "v1/Secret",
      "apps/v1/Deployment",
      "policy/v1/PodDisruptionBudget",
      "autoscaling/v2/HorizontalPodAutoscaler",
      "networking.k8s.io/v1/NetworkPolicy",
      "rbac.authorization.k8s.io/v1/Role",
      "rbac.authorization.k8s.io/v1/RoleBinding",
    ],
    [],
    "Kubernetes v1.29.0 api/openapi-spec/swagger.json, as kubernetes-client/javascript (b1465379c131299d84417a763896171bf59dc994) src/gen/swagger.json.unprocessed",
  ),
);

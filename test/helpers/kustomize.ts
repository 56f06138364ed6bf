// `kubectl kustomize DIR` for the parts of kustomize deploy/ uses, so tests can
// check the rendered objects without kustomize installed: `resources` (files and
// folders with their own kustomization.yaml), `namespace`, `commonLabels`,
// `commonAnnotations`, and `patches` given by `path` (strategic merge: maps
// merged, lists of named objects merged by `name`). Any other key is an error
// here, so a kustomization that grows past this renderer fails loudly.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

export type Obj = Record<string, any>;

const SUPPORTED = new Set(["apiVersion", "kind", "namespace", "resources", "commonLabels", "commonAnnotations", "patches"]);
/** Kinds kustomize leaves without a namespace. */
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "IngressClass", "PriorityClass", "StorageClass", "PersistentVolume", "GatewayClass"]);

function docs(path: string): Obj[] {
  return parseAllDocuments(readFileSync(path, "utf8")).flatMap((d) => {
    if (d.errors.length > 0) throw new Error(`${path}: ${d.errors[0]!.message}`);
    const v = d.toJS() as Obj | null;
    return v === null ? [] : [v];
  });
}

function isMap(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Strategic merge as far as it goes here: maps deep-merged, lists of `name`d objects merged by name, other lists replaced. */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isMap(base) && isMap(patch)) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = v === null ? undefined : k in base ? strategicMerge(base[k], v) : v;
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((p) => isMap(p) && typeof p.name === "string") && base.every((b) => isMap(b) && typeof b.name === "string")) {
    const out = base.map((b) => {
      const p = patch.find((x) => x.name === b.name);
      return p === undefined ? b : strategicMerge(b, p);
    });
    for (const p of patch) if (!base.some((b) => b.name === p.name)) out.push(p);
    return out;
  }
  return patch;
}

function withMap(o: Obj, path: string[], add: Record<string, string>): void {
  let cur = o;
  for (const k of path) cur = cur[k] ??= {};
  Object.assign(cur, add);
}

/** The objects `kubectl kustomize dir` prints, in resource order. */
export function renderKustomization(dir: string): Obj[] {
  const k = docs(join(dir, "kustomization.yaml"))[0]!;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) throw new Error(`${dir}/kustomization.yaml: test/helpers/kustomize.ts does not render ${unsupported.join(", ")}`);
  let out: Obj[] = [];
  for (const r of (k.resources as string[] | undefined) ?? []) {
    const p = join(dir, r);
    if (!existsSync(p)) throw new Error(`${dir}/kustomization.yaml: resource ${r} not found`);
    out.push(...(statSync(p).isDirectory() ? renderKustomization(p) : docs(p)));
  }
  for (const patch of (k.patches as Obj[] | undefined) ?? []) {
    if (typeof patch.path !== "string" || patch.target !== undefined) throw new Error(`${dir}/kustomization.yaml: only patches given by path alone are rendered here`);
    for (const pd of docs(join(dir, patch.path))) {
      const i = out.findIndex((o) => o.kind === pd.kind && o.metadata?.name === pd.metadata?.name);
      if (i < 0) throw new Error(`${patch.path}: no ${pd.kind} ${pd.metadata?.name} to patch`);
      out[i] = strategicMerge(out[i], pd) as Obj;
    }
  }
  out = out.map((o) => structuredClone(o));
  for (const o of out) {
    if (typeof k.namespace === "string" && !CLUSTER_SCOPED.has(o.kind)) withMap(o, ["metadata"], { namespace: k.namespace });
    if (isMap(k.commonLabels)) {
      withMap(o, ["metadata", "labels"], k.commonLabels);
      if (isMap(o.spec?.selector?.matchLabels)) Object.assign(o.spec.selector.matchLabels, k.commonLabels);
      if (isMap(o.spec?.template?.metadata)) withMap(o, ["spec", "template", "metadata", "labels"], k.commonLabels);
    }
    if (isMap(k.commonAnnotations)) withMap(o, ["metadata", "annotations"], k.commonAnnotations);
  }
  return out;
}

export const DEPLOY_DIR = join(dirname(import.meta.dir), "..", "deploy", "kubernetes");

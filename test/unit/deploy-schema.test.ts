// deploy/kubernetes, rendered as `kubectl kustomize` renders it, against the
// published schemas of Kubernetes 1.29 (schemas/kubernetes-1.29-deploy.json),
// the oldest version the manifests claim (README: the preStop `sleep` action
// needs 1.29). Strict, as `kubectl apply --validate=strict`: an unknown field
// or a field newer than 1.29 fails.
import { describe, expect, test } from "bun:test";
import { parseAllDocuments } from "yaml";
import { decodeFiles } from "../../src/decode/index.ts";
import { schemaProblems } from "../../src/validate/index.ts";
import { deploySchemas } from "../../src/validate/registry.ts";
import { DEPLOY_DIR, renderKustomization, strategicMerge, type Obj } from "../helpers/kustomize.ts";

const registry = deploySchemas();
const rendered = renderKustomization(DEPLOY_DIR);

function check(o: Obj): string[] {
  return schemaProblems(o, o.apiVersion, o.kind, registry).map((p) => `${o.kind}/${o.metadata?.name}: ${p.field}: ${p.message}`);
}

describe("deploy/kubernetes against Kubernetes 1.29", () => {
  test("renders to the objects of its resources, in the kustomization's namespace", () => {
    expect(rendered.length).toBeGreaterThanOrEqual(6);
    for (const o of rendered) if (o.kind !== "Namespace") expect(`${o.kind}: ${o.metadata.namespace}`).toBe(`${o.kind}: istio-system`);
  });

  test("every rendered object is of a kind whose 1.29 schema is vendored", () => {
    for (const o of rendered) expect(`${o.apiVersion}/${o.kind}: ${registry.has(o.apiVersion, o.kind)}`).toBe(`${o.apiVersion}/${o.kind}: true`);
  });

  test("every rendered object is valid (strict: no unknown field)", () => {
    expect(rendered.flatMap(check)).toEqual([]);
  }, 30_000); // compiles the 1.29 schemas with ajv

  test("the check is the 1.29 one: a field added after 1.29 (pod-level resources, 1.32) is refused", () => {
    const deploy = structuredClone(rendered.find((o) => o.kind === "Deployment")!);
    deploy.spec.template.spec.resources = { limits: { cpu: "1" } };
    expect(check(deploy)).toEqual([`Deployment/${deploy.metadata.name}: spec.template.spec.resources: unknown field "resources"`]);
  });

  test("a typo in the Deployment is named with its path and the field meant", () => {
    const deploy = structuredClone(rendered.find((o) => o.kind === "Deployment")!);
    deploy.spec.template.spec.containers[0].readinesProbe = deploy.spec.template.spec.containers[0].readinessProbe;
    expect(check(deploy)).toEqual([`Deployment/${deploy.metadata.name}: spec.template.spec.containers[0].readinesProbe: unknown field "readinesProbe"; did you mean "readinessProbe"?`]);
  });

  test("the gangway configuration the ConfigMap carries is valid too", () => {
    const files = rendered.filter((o) => o.kind === "ConfigMap").flatMap((o) => Object.entries((o.data ?? {}) as Record<string, string>).map(([k, text]) => ({ path: `${o.metadata.name}/${k}`, text })));
    expect(files.length).toBeGreaterThan(0);
    const { errors, warnings } = decodeFiles(files.filter((f) => /\.(ya?ml|json)$/.test(f.path)));
    expect([...errors, ...warnings]).toEqual([]);
  });
});

describe("test/helpers/kustomize.ts", () => {
  test.skipIf(Bun.which("kubectl") === null)("renders what `kubectl kustomize` renders (where kubectl is installed)", () => {
    const r = Bun.spawnSync(["kubectl", "kustomize", DEPLOY_DIR]);
    expect(r.exitCode).toBe(0);
    const theirs = parseAllDocuments(r.stdout.toString()).map((d) => d.toJS() as Obj);
    const sorted = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(sorted) : typeof v === "object" && v !== null ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Obj)[k])])) : v;
    const byName = (list: Obj[]) => new Map(list.map((o) => [`${o.kind}/${o.metadata.name}`, JSON.stringify(sorted(o))]));
    expect(byName(rendered)).toEqual(byName(theirs));
  });

  test.each([
    ["maps merge", { a: { b: 1, c: 2 } }, { a: { c: 3 } }, { a: { b: 1, c: 3 } }],
    ["null deletes", { a: 1, b: 2 }, { b: null }, { a: 1 }],
    ["named lists merge by name", { l: [{ name: "x", v: 1 }, { name: "y", v: 2 }] }, { l: [{ name: "y", v: 3 }, { name: "z" }] }, { l: [{ name: "x", v: 1 }, { name: "y", v: 3 }, { name: "z" }] }],
    ["other lists are replaced", { l: [1, 2] }, { l: [3] }, { l: [3] }],
  ] as const)("strategic merge: %s", (_n, base, patch, want) => {
    expect(strategicMerge(base, patch)).toEqual(want);
  });
});

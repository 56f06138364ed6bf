// The vendored published schemas (schemas/*.json), indexed by apiVersion and
// kind, each compiled by ajv the first time a document of its kind is seen
// (a configuration compiles only the kinds it uses). Generic: a kind is
// validated as soon as its schema is here, whatever code decodes it.
import Ajv, { type ValidateFunction } from "ajv";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { builtinRoot, convertCrdRoot, convertDefinitions, type Schema } from "./convert.ts";
import { addKubernetesFormats } from "./formats.ts";

export const SCHEMA_DIR = join(import.meta.dir, "..", "..", "schemas");

interface CrdFile {
  source: string;
  kinds: Record<string, string[]>;
  schemas: Record<string, { versions: string[]; schema: Schema }[]>;
}

interface BuiltinFile {
  source: string;
  kinds: Record<string, string[]>;
  roots: Record<string, string>;
  definitions: Record<string, unknown>;
}

/** `group` and `version` of an apiVersion (`v1` is the core group ""). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf("/");
  return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export class SchemaRegistry {
  private readonly ajv: Ajv;
  /** `apiVersion/Kind` → root schema, not compiled yet. */
  private readonly roots = new Map<string, Schema>();
  private readonly compiled = new Map<string, ValidateFunction>();
  /** Every kind of each known API group (also kinds without a schema here). */
  readonly groupKinds = new Map<string, Set<string>>();
  /** `group/Kind` → the versions its vendored CRD schema serves. */
  readonly crdVersions = new Map<string, string[]>();
  readonly sources: string[] = [];

  constructor(crds: CrdFile[], builtin: BuiltinFile | null) {
    this.ajv = new Ajv({ allErrors: true, verbose: true, strict: false, logger: false, messages: false });
    addKubernetesFormats(this.ajv);
    if (builtin !== null) {
      this.ajv.addSchema({ $id: "k8s", definitions: convertDefinitions(builtin.definitions, "k8s") });
      // keys are `apiVersion/Kind` already (`v1/Service`, `networking.k8s.io/v1/Ingress`)
      for (const [key, def] of Object.entries(builtin.roots)) this.roots.set(key, builtinRoot("k8s", def));
      this.addKinds(builtin.kinds);
      this.sources.push(builtin.source);
    }
    for (const f of crds) {
      for (const [gk, entries] of Object.entries(f.schemas)) {
        const slash = gk.lastIndexOf("/");
        const group = gk.slice(0, slash);
        const kind = gk.slice(slash + 1);
        const versions: string[] = [];
        for (const e of entries) {
          const root = convertCrdRoot(e.schema);
          for (const v of e.versions) {
            versions.push(v);
            this.roots.set(`${group}/${v}/${kind}`, root);
          }
        }
        this.crdVersions.set(gk, versions);
      }
      this.addKinds(f.kinds);
      this.sources.push(f.source);
    }
  }

  private addKinds(kinds: Record<string, string[]>): void {
    for (const [g, ks] of Object.entries(kinds)) {
      const set = this.groupKinds.get(g) ?? new Set<string>();
      for (const k of ks) set.add(k);
      this.groupKinds.set(g, set);
    }
  }

  has(apiVersion: string, kind: string): boolean {
    return this.roots.has(`${apiVersion}/${kind}`);
  }

  /** The compiled validator of a kind, or null when no schema is vendored for it. */
  validator(apiVersion: string, kind: string): ValidateFunction | null {
    const key = `${apiVersion}/${kind}`;
    const done = this.compiled.get(key);
    if (done !== undefined) return done;
    const root = this.roots.get(key);
    if (root === undefined) return null;
    // versions sharing one schema share one compiled function
    for (const [k, v] of this.compiled) {
      if (this.roots.get(k) === root) {
        this.compiled.set(key, v);
        return v;
      }
    }
    const fn = this.ajv.compile(root);
    this.compiled.set(key, fn);
    return fn;
  }

  /** Every vendored kind, as `apiVersion/Kind`. */
  keys(): string[] {
    return [...this.roots.keys()];
  }
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, file), "utf8")) as T;
}

let runtime: SchemaRegistry | null = null;

/** The schemas of the kinds gangway reads from `--config` (Istio, Gateway API, Kubernetes built-ins). */
export function configSchemas(): SchemaRegistry {
  runtime ??= new SchemaRegistry([readJson<CrdFile>("istio.json"), readJson<CrdFile>("gateway-api.json")], readJson<BuiltinFile>("kubernetes.json"));
  return runtime;
}

/** The Kubernetes 1.29 schemas deploy/kubernetes is checked against (tests only). */
export function deploySchemas(): SchemaRegistry {
  return new SchemaRegistry([], readJson<BuiltinFile>("kubernetes-1.29-deploy.json"));
}

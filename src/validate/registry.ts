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

/**
 * Two compilations of one schema: `fast` stops at the first error and keeps
 * nothing for messages (10,000 VirtualServices validate in ~100 ms against
 * ~290 ms with all errors, bench/validate.bench.ts); `full` collects every
 * error with its schema, for the findings, and is compiled only for a kind
 * that has an invalid document.
 */
type Mode = "fast" | "full";

export class SchemaRegistry {
  private readonly ajv: Record<Mode, Ajv | null> = { fast: null, full: null };
  private readonly definitions: Schema | null;
  /** `apiVersion/Kind` → root schema, not compiled yet. */
  private readonly roots = new Map<string, Schema>();
  private readonly compiled: Record<Mode, Map<string, ValidateFunction>> = { fast: new Map(), full: new Map() };
  /** Every kind of each known API group (also kinds without a schema here). */
  readonly groupKinds = new Map<string, Set<string>>();
  /** `group/Kind` → the versions its vendored CRD schema serves. */
  readonly crdVersions = new Map<string, string[]>();
  readonly sources: string[] = [];

  constructor(crds: CrdFile[], builtin: BuiltinFile | null) {
    this.definitions = builtin === null ? null : convertDefinitions(builtin.definitions, "k8s");
    if (builtin !== null) {
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

  private instance(mode: Mode): Ajv {
    let ajv = this.ajv[mode];
    if (ajv === null) {
      const full = mode === "full";
      ajv = new Ajv({ allErrors: full, verbose: full, strict: false, logger: false, messages: false });
      addKubernetesFormats(ajv);
      if (this.definitions !== null) ajv.addSchema({ $id: "k8s", definitions: this.definitions });
      this.ajv[mode] = ajv;
    }
    return ajv;
  }

  /**
   * The compiled validator of a kind, or null when no schema is vendored for
   * it: `fast` says whether a document is valid, `full` lists every error.
   */
  validator(apiVersion: string, kind: string, mode: Mode = "fast"): ValidateFunction | null {
    const key = `${apiVersion}/${kind}`;
    const compiled = this.compiled[mode];
    const done = compiled.get(key);
    if (done !== undefined) return done;
    const root = this.roots.get(key);
    if (root === undefined) return null;
    // versions sharing one schema share one compiled function
    for (const [k, v] of compiled) {
      if (this.roots.get(k) === root) {
        compiled.set(key, v);
        return v;
      }
    }
    const fn = this.instance(mode).compile(root);
    compiled.set(key, fn);
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

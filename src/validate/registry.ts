// The vendored published schemas (schemas/*.json), indexed by apiVersion and
// kind. Generic: a kind is validated as soon as its schema is here, whatever
// code decodes it.
//
// Two validators per schema: `fast` stops at the first error and keeps nothing
// for messages; `full` collects every error with its schema, for the findings,
// and is compiled by ajv only for a kind that has an invalid document. The
// fast ones of the config kinds are ajv's standalone code, generated from the
// vendored schemas and committed (src/validate/generated/, `bun
// src/validate/generate.ts`): loading one is a require, where compiling it
// took 0.1–0.3 s per large kind at every start (bench/README.md). A schema
// without generated code is compiled at first use.
import type Ajv from "ajv";
import type { ValidateFunction } from "ajv";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { builtinRoot, convertCrdRoot, convertDefinitions, type Schema } from "./convert.ts";
import { addKubernetesFormats } from "./formats.ts";

export const SCHEMA_DIR = join(import.meta.dir, "..", "..", "schemas");
export const GENERATED_DIR = join(import.meta.dir, "generated");

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

export type Mode = "fast" | "full";

/** ajv's options for each mode; the generated code was made with the `fast` ones. */
export const AJV_OPTIONS = {
  fast: { allErrors: false, verbose: false, strict: false, logger: false, messages: false },
  full: { allErrors: true, verbose: true, strict: false, logger: false, messages: false },
} as const;

/** One distinct schema: several apiVersions of a kind may share it. */
interface Entry {
  /** Stable name, also the generated file's: `networking.istio.io_VirtualService_v1-v1alpha3-v1beta1`. */
  id: string;
  make: () => Schema;
  schema?: Schema;
}

/** `group` and `version` of an apiVersion (`v1` is the core group ""). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf("/");
  return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export class SchemaRegistry {
  private readonly ajv: Record<Mode, Ajv | null> = { fast: null, full: null };
  private definitionsRaw: Record<string, unknown> | null;
  private definitionsConverted: Schema | null = null;
  /** `apiVersion/Kind` → its schema entry. */
  private readonly roots = new Map<string, Entry>();
  private readonly compiled: Record<Mode, Map<string, ValidateFunction>> = { fast: new Map(), full: new Map() };
  /** Every kind of each known API group (also kinds without a schema here). */
  readonly groupKinds = new Map<string, Set<string>>();
  /** `group/Kind` → the versions its vendored CRD schema serves. */
  readonly crdVersions = new Map<string, string[]>();
  readonly sources: string[] = [];

  constructor(
    crds: CrdFile[],
    builtin: BuiltinFile | null,
    /** Folder of generated fast validators (index.json + one file per entry), or null. */
    private readonly generated: string | null = null,
  ) {
    this.definitionsRaw = builtin?.definitions ?? null;
    if (builtin !== null) {
      // keys are `apiVersion/Kind` already (`v1/Service`, `networking.k8s.io/v1/Ingress`)
      for (const [key, def] of Object.entries(builtin.roots)) {
        this.roots.set(key, { id: key.replace(/\//g, "_"), make: () => builtinRoot("k8s", def) });
      }
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
          const entry: Entry = { id: `${group}_${kind}_${e.versions.join("-")}`, make: () => convertCrdRoot(e.schema) };
          for (const v of e.versions) {
            versions.push(v);
            this.roots.set(`${group}/${v}/${kind}`, entry);
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

  /** The Kubernetes definitions every schema may `$ref` (as `k8s#/definitions/...`), converted once. */
  definitions(): Schema | null {
    if (this.definitionsConverted === null && this.definitionsRaw !== null) {
      this.definitionsConverted = convertDefinitions(this.definitionsRaw, "k8s");
      this.definitionsRaw = null;
    }
    return this.definitionsConverted;
  }

  /** A new ajv instance with the Kubernetes formats and definitions (also used to generate code). */
  newAjv(options: object): Ajv {
    // loaded on first need: a start-up whose kinds all have generated code never loads ajv's compiler
    const { default: AjvClass } = require("ajv") as { default: new (o: object) => Ajv };
    const ajv = new AjvClass(options);
    addKubernetesFormats(ajv);
    const defs = this.definitions();
    if (defs !== null) ajv.addSchema({ $id: "k8s", definitions: defs });
    return ajv;
  }

  private instance(mode: Mode): Ajv {
    return (this.ajv[mode] ??= this.newAjv(AJV_OPTIONS[mode]));
  }

  has(apiVersion: string, kind: string): boolean {
    return this.roots.has(`${apiVersion}/${kind}`);
  }

  /** Each distinct schema once, converted for ajv (for code generation). */
  entries(): { id: string; schema: Schema }[] {
    const seen = new Set<Entry>();
    const out: { id: string; schema: Schema }[] = [];
    for (const e of this.roots.values()) {
      if (seen.has(e)) continue;
      seen.add(e);
      out.push({ id: e.id, schema: this.schemaOf(e) });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private schemaOf(e: Entry): Schema {
    return (e.schema ??= e.make());
  }

  private generatedFast(id: string): ValidateFunction | null {
    if (this.generated === null) return null;
    const file = join(this.generated, `${id}.js`);
    if (!existsSync(file)) return null;
    return (require(file) as { default: ValidateFunction }).default;
  }

  /**
   * The validator of a kind, or null when no schema is vendored for it:
   * `fast` says whether a document is valid, `full` lists every error.
   */
  validator(apiVersion: string, kind: string, mode: Mode = "fast"): ValidateFunction | null {
    const entry = this.roots.get(`${apiVersion}/${kind}`);
    if (entry === undefined) return null;
    const compiled = this.compiled[mode];
    let fn = compiled.get(entry.id);
    if (fn === undefined) {
      fn = (mode === "fast" ? this.generatedFast(entry.id) : null) ?? this.instance(mode).compile(this.schemaOf(entry));
      compiled.set(entry.id, fn);
    }
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
export function configSchemas(generated: string | null = GENERATED_DIR): SchemaRegistry {
  if (generated !== GENERATED_DIR) return new SchemaRegistry([readJson<CrdFile>("istio.json"), readJson<CrdFile>("gateway-api.json")], readJson<BuiltinFile>("kubernetes.json"), generated);
  runtime ??= new SchemaRegistry([readJson<CrdFile>("istio.json"), readJson<CrdFile>("gateway-api.json")], readJson<BuiltinFile>("kubernetes.json"), generated);
  return runtime;
}

/** The Kubernetes 1.29 schemas deploy/kubernetes is checked against (tests only). */
export function deploySchemas(): SchemaRegistry {
  return new SchemaRegistry([], readJson<BuiltinFile>("kubernetes-1.29-deploy.json"));
}

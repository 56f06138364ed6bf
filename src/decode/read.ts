// Typed field readers for decoding one document: each reads `obj[key]`, checks
// its type, returns a value with its default, and on a problem records a Finding
// naming the file, document, resource and field path. Nothing throws.
import { Codes, type Code } from "../model/codes.ts";
import type { Finding } from "../snapshot/types.ts";
import { underPath } from "../model/meta.ts";

export type Obj = Record<string, unknown>;

/** Where we are: the document being decoded and the findings collected so far. */
export class Reader {
  constructor(
    readonly errors: Finding[],
    readonly file: string,
    readonly doc: number,
    /** `Kind/ns/name` once known. */
    public resource: string | undefined,
    /** Prefix of every field path (`items[2]` inside a List), or "". */
    readonly prefix: string,
  ) {}

  fail(code: Code, field: string, message: string): void {
    const f: Finding = { code, level: "Error", message, file: this.file, doc: this.doc };
    if (this.resource !== undefined) f.resource = this.resource;
    const path = underPath(this.prefix, field);
    if (path !== "") f.field = path;
    this.errors.push(f);
  }
}

/** Characters a key may have and still be written bare in a field path (`metadata.labels.app.kubernetes.io/name`). */
const BARE_KEY = /^[A-Za-z0-9_$@:/.~+-]+$/;

/** A map key as the next part of a field path: `.key`, or `["key"]` when it is empty, has spaces, quotes, brackets or control characters, or dots that would read as an empty part. */
export function keySegment(key: string, first: boolean): string {
  if (BARE_KEY.test(key) && !/^\.|\.\.|\.$/.test(key)) return first ? key : `.${key}`;
  return `[${JSON.stringify(key)}]`;
}

export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  return `${typeof v} ${String(v)}`;
}

function wrong(r: Reader, path: string, what: string, v: unknown): void {
  r.fail(Codes.WrongType, path, `must be ${what}, got ${describe(v)}`);
}

/** A nested object; null when absent (or null). */
export function obj(r: Reader, o: Obj, key: string, path: string, required = false): Obj | null {
  const v = o[key];
  const p = join(path, key);
  if (v === undefined || v === null) {
    if (required) r.fail(Codes.MissingField, p, "is required");
    return null;
  }
  if (!isObj(v)) {
    wrong(r, p, "an object", v);
    return null;
  }
  return v;
}

export function str(r: Reader, o: Obj, key: string, path: string, required = false): string {
  const v = o[key];
  const p = join(path, key);
  if (v === undefined || v === null || v === "") {
    if (required) r.fail(Codes.MissingField, p, "is required");
    return "";
  }
  if (typeof v !== "string") {
    wrong(r, p, "a string", v);
    return "";
  }
  return v;
}

export function bool(r: Reader, o: Obj, key: string, path: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") {
    wrong(r, join(path, key), "true or false", v);
    return false;
  }
  return v;
}

/** An integer within [min, max]; 0 when absent. */
export function int(r: Reader, o: Obj, key: string, path: string, min: number, max: number, required = false): number {
  const v = o[key];
  const p = join(path, key);
  if (v === undefined || v === null) {
    if (required) r.fail(Codes.MissingField, p, "is required");
    return 0;
  }
  if (typeof v !== "number" || !Number.isInteger(v)) {
    wrong(r, p, "an integer", v);
    return 0;
  }
  if (v < min || v > max) {
    r.fail(Codes.InvalidValue, p, `must be between ${min} and ${max}, got ${v}`);
    return 0;
  }
  return v;
}

export function port(r: Reader, o: Obj, key: string, path: string, required = false): number {
  return int(r, o, key, path, 1, 65535, required);
}

/** A number or a name (Kubernetes IntOrString); "" when absent. */
export function intOrString(r: Reader, o: Obj, key: string, path: string): number | string {
  const v = o[key];
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return /^[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  wrong(r, join(path, key), "a port number or name", v);
  return "";
}

/** One of `values` (case-sensitive, as the API's enums); `dflt` when absent. */
export function oneOf<T extends string>(r: Reader, o: Obj, key: string, path: string, values: readonly T[], dflt: T): T {
  const v = str(r, o, key, path);
  if (v === "") return dflt;
  if (!(values as readonly string[]).includes(v)) {
    r.fail(Codes.InvalidValue, join(path, key), `must be one of ${values.filter((x) => x !== "").join(", ")}, got ${JSON.stringify(v)}`);
    return dflt;
  }
  return v as T;
}

/** A list; each element passed to `each` with its path. Absent: []. */
export function list<T>(
  r: Reader,
  o: Obj,
  key: string,
  path: string,
  each: (v: unknown, path: string) => T | null,
  required = false,
): T[] {
  const v = o[key];
  const p = join(path, key);
  if (v === undefined || v === null) {
    if (required) r.fail(Codes.MissingField, p, "is required");
    return [];
  }
  if (!Array.isArray(v)) {
    wrong(r, p, "a list", v);
    return [];
  }
  if (required && v.length === 0) r.fail(Codes.MissingField, p, "must not be empty");
  const out: T[] = [];
  for (let i = 0; i < v.length; i++) {
    const x = each(v[i], `${p}[${i}]`);
    if (x !== null) out.push(x);
  }
  return out;
}

/** A list of objects: non-object elements are reported. */
export function objList<T>(
  r: Reader,
  o: Obj,
  key: string,
  path: string,
  each: (v: Obj, path: string) => T | null,
  required = false,
): T[] {
  return list(
    r,
    o,
    key,
    path,
    (v, p) => {
      if (!isObj(v)) {
        wrong(r, p, "an object", v);
        return null;
      }
      return each(v, p);
    },
    required,
  );
}

export function strList(r: Reader, o: Obj, key: string, path: string, required = false): string[] {
  return list(
    r,
    o,
    key,
    path,
    (v, p) => {
      if (typeof v !== "string") {
        wrong(r, p, "a string", v);
        return null;
      }
      return v;
    },
    required,
  );
}

/** A string → string map (labels, annotations, header values). */
export function strMap(r: Reader, o: Obj, key: string, path: string): Record<string, string> {
  const m = obj(r, o, key, path);
  const out: Record<string, string> = {};
  if (m === null) return out;
  const p = join(path, key);
  for (const k of Object.keys(m)) {
    const v = m[k];
    if (typeof v !== "string") {
      wrong(r, `${p}.${k}`, "a string (quote numbers and booleans)", v);
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** A map of string → object; entries in name order. `null` values passed as null. */
export function objMap<T>(
  r: Reader,
  o: Obj,
  key: string,
  path: string,
  each: (name: string, v: Obj | null, path: string) => T | null,
): T[] {
  const m = obj(r, o, key, path);
  const out: T[] = [];
  if (m === null) return out;
  const p = join(path, key);
  for (const k of Object.keys(m).sort()) {
    const v = m[k];
    if (v !== null && !isObj(v)) {
      wrong(r, `${p}.${k}`, "an object", v);
      continue;
    }
    const x = each(k, v as Obj | null, `${p}.${k}`);
    if (x !== null) out.push(x);
  }
  return out;
}

// One document against the published schema of its (apiVersion, kind), with
// ajv, and ajv's errors turned into findings that say what kubectl would say:
// an unknown field with its path and a did-you-mean, a wrong type with the
// type wanted and the value got, an enum with its allowed values. A kind its
// group does not have is a Warning with a did-you-mean. Pure: no files.
import type { ErrorObject } from "ajv";
import { Codes, type Code } from "../model/codes.ts";
import { describe, keySegment } from "../decode/read.ts";
import { configSchemas, splitApiVersion, type SchemaRegistry } from "./registry.ts";
import { didYouMean } from "./suggest.ts";

export interface SchemaProblem {
  level: "Error" | "Warning";
  code: Code;
  /** Field path in gangway's notation (`spec.http[0].match[0].uri.prefx`), "" for the document. */
  field: string;
  message: string;
}

/** At most this many problems per document: the first ones are what a user fixes first. */
export const MAX_PROBLEMS = 20;
const MAX_ERRORS_READ = 1000;

/** `/spec/http/0/match` → `spec.http[0].match` (JSON Pointer escapes undone). */
export function fieldPath(pointer: string, extra?: string): string {
  let out = "";
  if (pointer !== "") {
    for (const raw of pointer.slice(1).split("/")) {
      const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      out += /^[0-9]+$/.test(seg) ? `[${seg}]` : keySegment(seg, out === "");
    }
  }
  if (extra !== undefined) out += keySegment(extra, out === "");
  return out;
}


const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  null: "null",
};

const FORMAT_NAMES: Record<string, string> = {
  int32: "a 32-bit integer",
  int64: "a 64-bit integer",
  "date-time": "an RFC 3339 date-time",
  date: "a date (YYYY-MM-DD)",
  ipv4: "an IPv4 address",
  ipv6: "an IPv6 address",
};

function typeNames(types: string[]): string {
  const named = types.filter((t) => t !== "null").map((t) => TYPE_NAMES[t] ?? t);
  return named.length <= 1 ? (named[0] ?? "null") : `${named.slice(0, -1).join(", ")} or ${named[named.length - 1]}`;
}

function quoteList(values: unknown[]): string {
  return values
    .filter((v) => v !== null)
    .map((v) => JSON.stringify(v))
    .join(", ");
}

/** The property names a schema node allows (for did-you-mean). */
function knownFields(schema: Record<string, unknown> | undefined): string[] {
  const props = schema?.properties;
  return props !== null && typeof props === "object" ? Object.keys(props) : [];
}

/** What ajv reports for a oneOf whose branches only name `required` fields: the field names. */
function exclusiveFields(parent: Record<string, unknown> | undefined): string[] {
  const names: string[] = [];
  for (const b of (parent?.oneOf as Record<string, unknown>[] | undefined) ?? []) {
    // a branch that constrains values (Gateway addresses) is a form, not one of several exclusive fields
    if (Array.isArray(b.required) && b.properties === undefined) names.push(...(b.required as string[]));
  }
  return names.length > 1 ? names : [];
}

function problem(e: ErrorObject): SchemaProblem | null {
  // null is "not set" (the API server prunes it): a oneOf/not of required fields says nothing about it
  if (e.data === null && (e.keyword === "oneOf" || e.keyword === "anyOf" || e.keyword === "not")) return null;
  const parent = e.parentSchema as Record<string, unknown> | undefined;
  const here = fieldPath(e.instancePath);
  switch (e.keyword) {
    case "additionalProperties": {
      const name = String(e.params.additionalProperty);
      return { level: "Error", code: Codes.UnknownField, field: fieldPath(e.instancePath, name), message: `unknown field ${JSON.stringify(name)}${didYouMean(name, knownFields(parent))}` };
    }
    case "type": {
      const want = Array.isArray(e.params.type) ? (e.params.type as string[]) : String(e.params.type).split(",");
      const quote = want.includes("string") && (typeof e.data === "number" || typeof e.data === "boolean") ? " (quote numbers and booleans)" : "";
      return { level: "Error", code: Codes.WrongType, field: here, message: `must be ${typeNames(want)}, got ${describe(e.data)}${quote}` };
    }
    case "enum":
      return { level: "Error", code: Codes.InvalidValue, field: here, message: `must be one of ${quoteList(e.params.allowedValues as unknown[])}, got ${JSON.stringify(e.data)}` };
    case "required":
      return { level: "Error", code: Codes.MissingField, field: fieldPath(e.instancePath, String(e.params.missingProperty)), message: "is required" };
    case "oneOf": {
      const names = exclusiveFields(parent);
      const message = names.length > 0 ? `only one of ${names.join(", ")} may be set` : "must match exactly one of the allowed forms";
      return { level: "Error", code: Codes.Conflict, field: here, message };
    }
    case "format":
      if (e.params.format === "byte") return { level: "Error", code: Codes.InvalidBase64, field: here, message: "is not base64 (use stringData for plain text)" };
      return { level: "Error", code: Codes.InvalidValue, field: here, message: `must be ${FORMAT_NAMES[String(e.params.format)] ?? `of format ${String(e.params.format)}`}, got ${describe(e.data)}` };
    case "pattern":
      return { level: "Error", code: Codes.SchemaViolation, field: here, message: `must match ${String(e.params.pattern)}, got ${describe(e.data)}` };
    case "maxLength":
    case "minLength":
      return { level: "Error", code: Codes.SchemaViolation, field: here, message: `must be ${e.keyword === "maxLength" ? "at most" : "at least"} ${String(e.params.limit)} characters long` };
    case "maxItems":
    case "minItems":
      return { level: "Error", code: Codes.SchemaViolation, field: here, message: `must have ${e.keyword === "maxItems" ? "at most" : "at least"} ${String(e.params.limit)} items` };
    case "maxProperties":
    case "minProperties":
      return { level: "Error", code: Codes.SchemaViolation, field: here, message: `must have ${e.keyword === "maxProperties" ? "at most" : "at least"} ${String(e.params.limit)} entries` };
    case "maximum":
    case "minimum":
    case "exclusiveMaximum":
    case "exclusiveMinimum":
      return { level: "Error", code: Codes.InvalidValue, field: here, message: `must be ${String(e.params.comparison)} ${String(e.params.limit)}, got ${describe(e.data)}` };
    case "uniqueItems":
      return { level: "Error", code: Codes.SchemaViolation, field: here, message: `items ${String(e.params.j)} and ${String(e.params.i)} are the same` };
    case "not":
      return { level: "Error", code: Codes.SchemaViolation, field: here, message: "has a combination of fields the schema does not allow" };
    case "anyOf":
      return { level: "Error", code: Codes.SchemaViolation, field: here, message: "must match one of the allowed forms" };
    default:
      return { level: "Error", code: Codes.SchemaViolation, field: here, message: `fails the schema's ${e.keyword}` };
  }
}

/**
 * ajv's errors as problems. An anyOf/oneOf reports its branches' errors before
 * its own: an anyOf of types (int-or-string) becomes one "must be an integer
 * or a string"; the branch errors of any anyOf/oneOf are left out.
 */
export function translate(all: ErrorObject[]): SchemaProblem[] {
  // a document broken everywhere can give ajv thousands of errors: the first ones are enough, and keep this quadratic pass small
  const errors = all.length > MAX_ERRORS_READ ? all.slice(0, MAX_ERRORS_READ) : all;
  const out: SchemaProblem[] = [];
  const branches = errors.filter((e) => e.keyword === "anyOf" || e.keyword === "oneOf").map((e) => e.schemaPath + "/");
  const seen = new Set<string>();
  for (const e of errors) {
    if (branches.some((b) => e.schemaPath.startsWith(b))) continue;
    let p: SchemaProblem | null;
    if (e.keyword === "anyOf") {
      const subs = errors.filter((s) => s.schemaPath.startsWith(e.schemaPath + "/") && s.instancePath === e.instancePath);
      const types = subs.filter((s) => s.keyword === "type").map((s) => String(s.params.type));
      p =
        subs.length > 0 && types.length === subs.length
          ? { level: "Error", code: Codes.WrongType, field: fieldPath(e.instancePath), message: `must be ${typeNames(types)}, got ${describe(e.data)}` }
          : subs.length > 0
            ? problem(subs[0]!)
            : problem(e);
    } else p = problem(e);
    if (p === null) continue;
    const key = `${p.code}\0${p.field}\0${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
    if (out.length >= MAX_PROBLEMS) break;
  }
  return out;
}

/**
 * The problems of one document of `apiVersion`/`kind`: schema errors when a
 * schema is vendored for it; a Warning for a kind its known group lacks or a
 * version its CRD does not serve; nothing for groups gangway does not know.
 */
export function schemaProblems(doc: unknown, apiVersion: string, kind: string, registry: SchemaRegistry = configSchemas()): SchemaProblem[] {
  const validate = registry.validator(apiVersion, kind);
  if (validate !== null) {
    if (validate(doc)) return [];
    const full = registry.validator(apiVersion, kind, "full")!;
    full(doc);
    return translate(full.errors ?? []);
  }
  const { group, version } = splitApiVersion(apiVersion);
  const versions = registry.crdVersions.get(`${group}/${kind}`);
  if (versions !== undefined) {
    return [{ level: "Warning", code: Codes.UnknownVersion, field: "apiVersion", message: `${kind} is not served in ${apiVersion} (versions: ${versions.join(", ")}): skipped` }];
  }
  const kinds = registry.groupKinds.get(group);
  if (kinds !== undefined && !kinds.has(kind)) {
    const where = group === "" ? "the core API group (v1)" : `API group ${group}`;
    return [{ level: "Warning", code: Codes.UnknownKind, field: "kind", message: `${where} has no kind ${JSON.stringify(kind)}${didYouMean(kind, kinds)}: skipped` }];
  }
  return [];
}

// Kubernetes OpenAPI schemas → JSON Schema that ajv checks the way
// `kubectl apply --validate=strict` and the API server do:
// - an object with `properties` rejects other fields (strict: unknown fields
//   are errors), unless `x-kubernetes-preserve-unknown-fields` says otherwise;
//   an object with neither `properties` nor `additionalProperties` stays open;
// - `x-kubernetes-int-or-string` / `format: int-or-string` take an integer or
//   a string, a Quantity takes a string or a number;
// - `null` is the same as absent (the API server prunes nulls), so every typed
//   value may also be null;
// - `metadata` is Kubernetes' ObjectMeta, as the API server checks it for
//   custom resources too;
// - the schemas under `oneOf`/`anyOf`/`allOf`/`not` only constrain values (a
//   structural schema declares its fields outside them), so their `properties`
//   never close an object: Gateway `addresses` items are `oneOf` an IPAddress
//   form `{type, value}` and a form naming only `type`, and `{type: Hostname,
//   value: ...}` must match the second. Such a `oneOf`, whose branches require
//   no field, is checked as `anyOf`: the API server first fills the `default`
//   (trimmed here, `type: IPAddress`), without which both branches match a
//   value that leaves the field out;
// - `x-kubernetes-validations` (CEL) are not evaluated here: gangway's own semantic
//   checks (the decoders) and src/decode/cel.ts stand in for them.
// Pure: data in, data out.

export type Schema = Record<string, unknown>;

/** Where the ObjectMeta definition is, for `metadata` of every kind. */
export const OBJECT_META = "k8s#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";

const INT_OR_STRING = [{ type: "integer" }, { type: "string" }];

function isSchema(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function withNull(s: Schema): Schema {
  if (typeof s.type === "string") {
    const out: Schema = { ...s, nullable: true };
    if (Array.isArray(s.enum) && !s.enum.includes(null)) out.enum = [...s.enum, null];
    return out;
  }
  if (Array.isArray(s.anyOf) && s.type === undefined && Object.keys(s).length === 1) return { anyOf: [...s.anyOf, { type: "null" }] };
  return s;
}

/**
 * One schema node, converted. `refBase` rewrites `#/definitions/X` references
 * (Swagger documents) to the schema id that holds the definitions. `branch`:
 * under `oneOf`/`anyOf`/`allOf`/`not`, where `properties` constrain the fields
 * named and close nothing.
 */
export function convertNode(v: unknown, refBase: string, branch = false): unknown {
  if (Array.isArray(v)) return v.map((x) => convertNode(x, refBase, branch));
  if (!isSchema(v)) return v;
  const out: Schema = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith("x-kubernetes-")) continue;
    if (k === "$ref" && typeof x === "string") {
      out.$ref = x.replace("#/definitions/", `${refBase}#/definitions/`);
    } else if (k === "properties" || k === "patternProperties" || k === "definitions") {
      const props: Schema = {};
      for (const [name, p] of Object.entries(x as Schema)) props[name] = convertProperty(p, refBase, branch);
      out[k] = props;
    } else if (k === "items" || k === "additionalProperties") {
      out[k] = isSchema(x) ? convertProperty(x, refBase, branch) : x;
    } else if (k === "not") {
      out[k] = isSchema(x) ? convertProperty(x, refBase, true) : x;
    } else if (k === "oneOf" || k === "anyOf" || k === "allOf") {
      const branches = (x as unknown[]).map((s) => convertNode(s, refBase, true));
      const requireNothing = k === "oneOf" && (x as unknown[]).every((b) => isSchema(b) && b.required === undefined && b.properties !== undefined);
      out[requireNothing ? "anyOf" : k] = branches;
    } else out[k] = x;
  }
  const intOrString = v["x-kubernetes-int-or-string"] === true || v.format === "int-or-string";
  if (intOrString) {
    delete out.type;
    if (out.format === "int-or-string") delete out.format;
    if (out.anyOf === undefined) out.anyOf = INT_OR_STRING;
  }
  const open = v["x-kubernetes-preserve-unknown-fields"] === true;
  if (out.properties !== undefined && out.additionalProperties === undefined && !open && !branch) out.additionalProperties = false;
  if (open && out.type === "object" && out.properties === undefined) delete out.additionalProperties;
  return out;
}

/** A value under `properties`/`items`/`additionalProperties`: converted, and null accepted. */
function convertProperty(v: unknown, refBase: string, branch = false): unknown {
  const c = convertNode(v, refBase, branch);
  return isSchema(c) && c.$ref === undefined ? withNull(c) : c;
}

/** A Swagger `definitions` map converted for ajv (Quantity takes numbers too). */
export function convertDefinitions(defs: Record<string, unknown>, refBase: string): Schema {
  const out: Schema = {};
  for (const [name, d] of Object.entries(defs)) {
    out[name] = name === QUANTITY ? { anyOf: [{ type: "string" }, { type: "number" }] } : convertNode(d, refBase);
  }
  return out;
}

/**
 * A custom resource's `openAPIV3Schema`, converted, with the fields the API
 * server adds to every custom resource (`apiVersion`, `kind`, `metadata`).
 */
export function convertCrdRoot(schema: Schema): Schema {
  const root = convertNode(schema, "") as Schema;
  const props = { ...((root.properties as Schema | undefined) ?? {}) };
  props.apiVersion = { type: "string" };
  props.kind = { type: "string" };
  props.metadata = { $ref: OBJECT_META };
  return { ...root, type: "object", properties: props, additionalProperties: false };
}

/** A built-in kind: its definition in the definitions registered as `base`. */
export function builtinRoot(base: string, definition: string): Schema {
  return { $ref: `${base}#/definitions/${definition}` };
}

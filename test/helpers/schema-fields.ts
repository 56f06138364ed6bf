// Every field a vendored published schema allows for a kind gangway decodes,
// and a way to write one into a document (filling the required fields around
// it), for test/unit/schema-fields.test.ts: a field the schema accepts must be
// read by the decoder, reported, or listed there with the reason it is not.
import gatewayApi from "../../schemas/gateway-api.json";
import istio from "../../schemas/istio.json";
import kube from "../../schemas/kubernetes.json";

type S = Record<string, any>;

export interface Leaf {
  /** `spec.servers[].tls.mode`: `[]` a list element, `{}` a map value. */
  path: string;
  schema: S;
}

export interface SchemaKind {
  /** The kind as written in a document. */
  kind: string;
  apiVersion: string;
  /** Schema of the whole document. */
  root: S;
  /** `$ref` targets (Kubernetes definitions); {} for CRDs. */
  defs: S;
  /** Where fields start: `spec` for CRDs and Service/Ingress/IngressClass, the document for the others. */
  under: "spec" | "";
}

function resolve(s: S | undefined, defs: S): S | undefined {
  let n = s;
  while (n !== undefined && typeof n.$ref === "string") n = defs[n.$ref.replace("#/definitions/", "")];
  return n;
}

function hasProps(s: S | undefined): boolean {
  return s !== undefined && typeof s.properties === "object" && Object.keys(s.properties).length > 0;
}

function walk(s0: S | undefined, path: string, defs: S, out: Leaf[], depth: number): void {
  const s = resolve(s0, defs);
  if (s === undefined || depth > 24) return;
  if (hasProps(s)) {
    for (const k of Object.keys(s.properties)) walk(s.properties[k], path === "" ? k : `${path}.${k}`, defs, out, depth + 1);
    return;
  }
  const items = resolve(s.items, defs);
  if (s.type === "array" && hasProps(items)) return walk(items, `${path}[]`, defs, out, depth + 1);
  const values = typeof s.additionalProperties === "object" ? resolve(s.additionalProperties, defs) : undefined;
  if (s.type === "object" && hasProps(values)) return walk(values, `${path}{}`, defs, out, depth + 1);
  out.push({ path, schema: s });
}

export function leaves(k: SchemaKind): Leaf[] {
  const out: Leaf[] = [];
  const root = resolve(k.root, k.defs)!;
  if (k.under === "spec") walk(root.properties.spec, "spec", k.defs, out, 0);
  else for (const f of Object.keys(root.properties)) if (!["apiVersion", "kind", "metadata", "status"].includes(f)) walk(root.properties[f], f, k.defs, out, 0);
  return out;
}

function crd(file: S, group: string, kind: string, version: string): SchemaKind {
  const entry = (file.schemas[`${group}/${kind}`] as S[]).find((e) => e.versions.includes(version))!;
  return { kind, apiVersion: `${group}/${version}`, root: entry.schema, defs: {}, under: "spec" };
}

/** The kinds gangway decodes and the vendored schema of each, by a name unique here. */
export function schemaKinds(): Record<string, SchemaKind> {
  const out: Record<string, SchemaKind> = {};
  for (const k of ["Gateway", "VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry"]) out[`istio/${k}`] = crd(istio, "networking.istio.io", k, "v1");
  for (const k of ["RequestAuthentication", "AuthorizationPolicy"]) out[k] = crd(istio, "security.istio.io", k, "v1");
  for (const k of ["GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "BackendTLSPolicy", "ListenerSet"]) out[k === "Gateway" ? "gateway-api/Gateway" : k] = crd(gatewayApi, "gateway.networking.k8s.io", k, "v1");
  for (const v of ["v1alpha2", "v1"]) for (const k of ["TLSRoute", "TCPRoute"]) out[`${k}/${v}`] = crd(gatewayApi, "gateway.networking.k8s.io", k, v);
  const defs = (kube as S).definitions as S;
  for (const [root, def] of Object.entries((kube as S).roots as Record<string, string>)) {
    const kind = root.slice(root.lastIndexOf("/") + 1);
    if (kind === "Namespace") continue;
    out[kind] = { kind, apiVersion: root.slice(0, root.lastIndexOf("/")), root: { $ref: `#/definitions/${def}` }, defs, under: ["Service", "Ingress", "IngressClass"].includes(kind) ? "spec" : "" };
  }
  return out;
}

/** Values to try for a field, schema-valid as far as its type and enum say. */
export function samples(s: S): unknown[] {
  if (Array.isArray(s.enum)) return s.enum.filter((x: unknown) => x !== "" && x !== null);
  const t = s.type ?? (s["x-kubernetes-int-or-string"] === true ? "int-or-string" : "object");
  switch (t) {
    case "string":
      return ["1s", "a.example.com", "x", "10.0.0.0/8", "/p", "10.0.0.9", "https://a.example.com/x", "Yg==", "^x$", "GET", "example.com/x"];
    case "integer":
      return [8080, 1, 2, 50, 200, 302, 0];
    case "number":
      return [0.5, 1];
    case "boolean":
      return [true, false];
    case "int-or-string":
      return [8080, "http", "50%"];
    case "array":
      return samples(s.items ?? {}).map((v) => [v]);
    case "object":
      if (typeof s.additionalProperties === "object") return samples(s.additionalProperties).map((v) => ({ k: v, "x-a": v }));
      return [{ a: "b" }, {}];
  }
  return ["x"];
}

/** Required fields filled in around the field written, by name (else by type). */
const REQUIRED: Record<string, unknown> = {
  kind: "Service", group: "", name: "n", value: "v", header: "x-h", claim: "c", key: "k", operator: "In", host: "h",
  destination: { host: "h" }, protocol: "HTTP", status: 200, fixedDelay: "1s", backendRef: { name: "s", port: 80 }, numerator: 1,
  port: 80, rewrite: "/r", match: "^/x", hostname: "a.example.com", uri: "https://a.example.com/", issuer: "i", path: "/p", ip: "10.0.0.7",
};

function fill(o: S, schema: S | undefined, defs: S, next: string | undefined): void {
  const s = resolve(schema, defs);
  if (s === undefined || !Array.isArray(s.required)) return;
  for (const r of s.required as string[]) {
    if (o[r] !== undefined) continue;
    const ps = resolve(s.properties?.[r], defs) ?? {};
    if (Array.isArray(ps.enum)) {
      o[r] = ps.enum.find((e: unknown) => String(e).toLowerCase() === (next ?? "").toLowerCase()) ?? ps.enum[0];
    } else if (r in REQUIRED) {
      const d = REQUIRED[r];
      if (ps.type === "object" && typeof d !== "object") o[r] = r === "port" ? { number: 80 } : {};
      else if (ps.type === "integer" && typeof d !== "number") o[r] = 80;
      else if (ps.type === "array") o[r] = [structuredClone(d)];
      else o[r] = structuredClone(d);
    } else if (ps.type === "string") o[r] = "x";
    else if (ps.type === "integer") o[r] = 1;
    else if (ps.type === "object") o[r] = {};
  }
}

/**
 * `body` (the document without apiVersion/kind/metadata) with the field at
 * `path` set to `value`. A list step takes the first element that already has
 * the next field, else the first (made when missing); required fields of every
 * object on the way are filled in.
 */
export function withField(k: SchemaKind, body: S, path: string, value: unknown): S {
  const doc = structuredClone(body);
  const segs = path.match(/[^.[\]{}]+|\[\]|\{\}/g)!;
  let o: S = doc;
  let s: S | undefined = resolve(k.root, k.defs);
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i]!;
    if (seg === "[]" || seg === "{}") continue;
    const next = segs[i + 1];
    s = resolve(s?.properties?.[seg], k.defs);
    if (next === "[]") {
      if (!Array.isArray(o[seg]) || o[seg].length === 0) o[seg] = [{}];
      const want = segs[i + 2];
      o = (o[seg] as S[]).find((e) => want !== undefined && e !== null && typeof e === "object" && e[want] !== undefined) ?? o[seg][0];
      s = resolve(s?.items, k.defs);
    } else if (next === "{}") {
      if (o[seg] === null || typeof o[seg] !== "object") o[seg] = { k: {} };
      o = Object.values(o[seg] as S)[0] as S;
      s = resolve(s?.additionalProperties, k.defs);
    } else {
      if (o[seg] === null || typeof o[seg] !== "object") o[seg] = {};
      o = o[seg];
    }
    let j = i + 1;
    while (segs[j] === "[]" || segs[j] === "{}") j++;
    fill(o, s, k.defs, segs[j]);
  }
  o[segs[segs.length - 1]!] = value;
  return doc;
}

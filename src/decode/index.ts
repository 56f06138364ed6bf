// Files → typed resources, as `kubectl apply -f DIR` reads them: multi-document
// YAML, JSON objects, `List` kinds. Unknown kinds and empty documents are skipped;
// a document that is unusable (bad YAML, a known kind with a malformed field) is
// an Error finding naming file, document, resource and field. Pure.
import { parseAllDocuments } from "yaml";
import { Codes } from "../model/codes.ts";
import type { Resource } from "../model/index.ts";
import { underPath, type ObjectMeta, type SourceFile, type SourceRef } from "../model/meta.ts";
import type { Finding } from "../snapshot/types.ts";
import { decodeDestinationRule, decodeServiceEntry, decodeWorkload } from "./destinationrule.ts";
import { decodeGateway } from "./gateway.ts";
import { decodeGatewayApiSpec, GATEWAY_API, GATEWAY_API_KINDS } from "./gatewayapi.ts";
import { decodeEndpointSlice, decodeEndpoints, decodeIngress, decodeConfigMap, decodeIngressClass, decodeSecret, decodeService } from "./kube.ts";
import { describe, int, isObj, obj, str, strMap, Reader, type Obj } from "./read.ts";
import { decodeVirtualService } from "./virtualservice.ts";
import { checkCelRules } from "./cel.ts";
import { jsonProblem } from "./json-check.ts";
import { schemaProblems } from "../validate/index.ts";
import { log } from "../log.ts";
import { decodeAuthorizationPolicy, decodeRequestAuthentication } from "./security.ts";
import { decodeTelemetry } from "./telemetry.ts";

export type { SourceFile } from "../model/meta.ts";

const ISTIO = /^networking\.istio\.io\/(v1alpha3|v1beta1|v1)$/;
const INGRESS = /^(networking\.k8s\.io\/(v1|v1beta1)|extensions\/v1beta1)$/;
const INGRESS_CLASS = /^networking\.k8s\.io\/(v1|v1beta1)$/;
const ENDPOINT_SLICE = /^discovery\.k8s\.io\/(v1|v1beta1)$/;
const SECURITY = /^security\.istio\.io\/(v1|v1beta1)$/;
const SECURITY_GROUP = /^security\.istio\.io\//;

/** apiVersion patterns of the kinds gangway reads; anything else is skipped. */
const KNOWN: Record<string, RegExp> = {
  Gateway: ISTIO,
  VirtualService: ISTIO,
  DestinationRule: ISTIO,
  ServiceEntry: ISTIO,
  WorkloadEntry: ISTIO,
  Ingress: INGRESS,
  IngressClass: INGRESS_CLASS,
  Secret: /^v1$/,
  ConfigMap: /^v1$/,
  Service: /^v1$/,
  Endpoints: /^v1$/,
  EndpointSlice: ENDPOINT_SLICE,
  RequestAuthentication: SECURITY,
  AuthorizationPolicy: SECURITY,
  Telemetry: /^telemetry\.istio\.io\/(v1|v1alpha1)$/,
};

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Kinds of the groups gangway reads (their schemas are vendored) that it does
 * not decode: skipped, but said, since each one changes an Istio gateway (or,
 * Info, is one Istio does not apply to gateways either).
 */
const NOT_READ_KINDS: Record<string, { group: RegExp; level: "Warning" | "Info"; why: string }> = {
  EnvoyFilter: { group: /^networking\.istio\.io\//, level: "Warning", why: "its patches change an Envoy configuration, and gangway has none to patch: not applied" },
  ProxyConfig: { group: /^networking\.istio\.io\//, level: "Warning", why: "proxy settings (concurrency, environment, image) are not read: gangway's command line sets them (--workers, ...)" },
  Sidecar: { group: /^networking\.istio\.io\//, level: "Info", why: "a Sidecar configures sidecar proxies; Istio does not apply it to gateways either" },
  WorkloadGroup: { group: /^networking\.istio\.io\//, level: "Info", why: "a template for WorkloadEntries that istiod registers; gangway reads the WorkloadEntries themselves" },
  Telemetry: { group: /^telemetry\.istio\.io\//, level: "Warning", why: "gangway reads Telemetry of telemetry.istio.io/v1 and v1alpha1: not applied" },
  WasmPlugin: { group: /^extensions\.istio\.io\//, level: "Warning", why: "gangway runs no Wasm: not applied (if it authenticates or authorizes requests, they are not checked)" },
  TrafficExtension: { group: /^extensions\.istio\.io\//, level: "Warning", why: "gangway runs no extension: not applied (if it authenticates or authorizes requests, they are not checked)" },
  UDPRoute: { group: /^gateway\.networking\.k8s\.io\//, level: "Warning", why: "UDP is not served by gangway (nor by istiod's gateways): no route" },
  XBackendTrafficPolicy: { group: /^gateway\.networking\.x-k8s\.io\//, level: "Warning", why: "istiod applies its retry budget and session persistence to the Services it targets; gangway does not: not applied" },
  XListenerSet: { group: /^gateway\.networking\.x-k8s\.io\//, level: "Warning", why: "gangway reads ListenerSet of gateway.networking.k8s.io/v1 (the same fields): its listeners are not served" },
};

function reportKindNotRead(r: Reader, doc: Obj, kind: string, apiVersion: string, warnings: Finding[]): void {
  const k = NOT_READ_KINDS[kind];
  if (k === undefined || !k.group.test(apiVersion)) return;
  const f: Finding = { code: Codes.KindNotRead, level: k.level, message: `${kind} is not read by gangway: ${k.why}`, file: r.file, doc: r.doc };
  const ref = refOf(kind, doc);
  if (ref !== undefined) f.resource = ref;
  if (r.prefix !== "") f.field = r.prefix;
  warnings.push(f);
}

function decodeMeta(r: Reader, doc: Obj): ObjectMeta | null {
  const m = obj(r, doc, "metadata", "", true);
  if (m === null) return null;
  const name = str(r, m, "name", "metadata");
  if (name === "") {
    r.fail(Codes.MissingName, "metadata.name", "is required");
    return null;
  }
  const namespace = str(r, m, "namespace", "metadata") || "default";
  r.resource = `${String(doc.kind)}/${namespace}/${name}`;
  const meta: ObjectMeta = {
    name,
    namespace,
    labels: strMap(r, m, "labels", "metadata"),
    annotations: strMap(r, m, "annotations", "metadata"),
    creationTimestamp: str(r, m, "creationTimestamp", "metadata"),
  };
  // set by the API server on every spec change; echoed as the status conditions' observedGeneration
  const generation = int(r, m, "generation", "metadata", 0, Number.MAX_SAFE_INTEGER);
  if (generation > 0) meta.generation = generation;
  if (!NAME.test(name)) r.fail(Codes.InvalidValue, "metadata.name", `invalid name ${JSON.stringify(name)} (lower-case letters, digits, '-', '.')`);
  if (!NAME.test(meta.namespace)) r.fail(Codes.InvalidValue, "metadata.namespace", `invalid namespace ${JSON.stringify(meta.namespace)}`);
  return meta;
}

function decodeSpec(r: Reader, kind: string, apiVersion: string, doc: Obj, meta: ObjectMeta): unknown {
  const spec = doc.spec === undefined || doc.spec === null ? {} : doc.spec;
  if (!isObj(spec)) {
    r.fail(Codes.WrongType, "spec", `must be an object, got ${describe(spec)}`);
    return null;
  }
  switch (kind) {
    case "Gateway":
      return decodeGateway(r, spec, meta.name);
    case "VirtualService":
      return decodeVirtualService(r, spec);
    case "DestinationRule":
      return decodeDestinationRule(r, spec);
    case "ServiceEntry":
      return decodeServiceEntry(r, spec);
    case "WorkloadEntry":
      return decodeWorkload(r, spec, "spec", true);
    case "Ingress":
      return decodeIngress(r, spec, apiVersion);
    case "IngressClass":
      return decodeIngressClass(r, spec);
    case "Service":
      return decodeService(r, spec, doc);
    case "Secret":
      return decodeSecret(r, doc);
    case "ConfigMap":
      return decodeConfigMap(r, doc);
    case "Endpoints":
      return decodeEndpoints(r, doc);
    case "EndpointSlice":
      return decodeEndpointSlice(r, doc, meta.labels);
    case "RequestAuthentication":
      return decodeRequestAuthentication(r, spec);
    case "AuthorizationPolicy":
      return decodeAuthorizationPolicy(r, spec);
    case "Telemetry":
      return decodeTelemetry(r, spec);
  }
  return decodeGatewayApiSpec(r, kind, spec, meta.namespace) ?? null;
}

/** `Kind/ns/name` of a document whose metadata is readable, for findings made before decoding it. */
function refOf(kind: string, doc: Obj): string | undefined {
  const m = doc.metadata;
  if (!isObj(m) || typeof m.name !== "string" || m.name === "") return undefined;
  return `${kind}/${typeof m.namespace === "string" && m.namespace !== "" ? m.namespace : "default"}/${m.name}`;
}

/**
 * The published schema's verdict on a document (src/validate). Its errors are
 * recorded (the paths they name are returned, so that the hand-written checks
 * that run after it do not report the same field twice); a Warning (a
 * misspelt kind, a version not served) means the document is skipped: null.
 * `decoded`: gangway reads this apiVersion of the kind (KNOWN), so a version
 * the vendored CRD does not serve (TCPRoute v1alpha3) is decoded, unchecked.
 */
function schemaCheck(r: Reader, doc: Obj, apiVersion: string, kind: string, decoded: boolean, warnings: Finding[]): string[] | null {
  const problems = schemaProblems(doc, apiVersion, kind).filter((p) => !(decoded && p.code === Codes.UnknownVersion));
  if (problems.length === 0) return [];
  r.resource ??= refOf(kind, doc);
  const fields: string[] = [];
  for (const p of problems) {
    const path = underPath(r.prefix, p.field);
    if (p.level === "Error") {
      r.fail(p.code, p.field, p.message);
      fields.push(path);
      continue;
    }
    const w: Finding = { code: p.code, level: p.level, message: p.message, file: r.file, doc: r.doc };
    if (r.resource !== undefined) w.resource = r.resource;
    if (path !== "") w.field = path;
    warnings.push(w);
  }
  return fields.length === problems.length ? fields : null;
}

/**
 * Drops findings from `from` on that name a field (or a part of one) the schema
 * already reported, then puts the document's findings (from `start`) in field
 * order, so schema and hand-written findings read as one list.
 */
function dropOverlaps(errors: Finding[], start: number, from: number, fields: string[]): void {
  const covered = (f: string | undefined) => f !== undefined && fields.some((s) => f === s || f.startsWith(`${s}.`) || f.startsWith(`${s}[`));
  let w = from;
  for (let i = from; i < errors.length; i++) if (fields.length === 0 || !covered(errors[i]!.field)) errors[w++] = errors[i]!;
  errors.length = w;
  if (fields.length === 0 || errors.length - start < 2) return;
  const doc = errors.splice(start).sort((a, b) => (a.field ?? "").localeCompare(b.field ?? "", "en", { numeric: true }));
  errors.push(...doc);
}

/** One object of a document (or of a List's items). */
function decodeObject(value: unknown, source: SourceRef, out: Resource[], errors: Finding[], warnings: Finding[]): void {
  const r = new Reader(errors, source.file, source.doc, undefined, source.path);
  if (!isObj(value)) {
    r.fail(Codes.NotAnObject, "", `a Kubernetes object must be a mapping, got ${describe(value)}`);
    return;
  }
  const written = value.kind;
  const apiVersion = value.apiVersion;
  if (typeof written !== "string" || written === "") {
    r.fail(Codes.NotAnObject, "kind", "kind not set");
    return;
  }
  if (typeof apiVersion !== "string" || apiVersion === "") {
    r.fail(Codes.NotAnObject, "apiVersion", "apiVersion not set");
    return;
  }
  if (written === "List" || written.endsWith("List")) {
    const items = value.items;
    if (!Array.isArray(items)) {
      if (written === "List") r.fail(Codes.WrongType, "items", `must be a list, got ${describe(items)}`);
      return;
    }
    const base = source.path === "" ? "items" : `${source.path}.items`;
    items.forEach((item, i) => decodeObject(item, { ...source, path: `${base}[${i}]` }, out, errors, warnings));
    return;
  }
  const kind = written === "Gateway" && GATEWAY_API.test(apiVersion) ? "KubernetesGateway" : written;
  const pattern = KNOWN[kind] ?? GATEWAY_API_KINDS[kind];
  const ours = pattern !== undefined && pattern.test(apiVersion);
  // the kind as written: the published schema's name, whatever gangway calls it inside
  const schemaFields = schemaCheck(r, value, apiVersion, written, ours, warnings);
  if (!ours && SECURITY_GROUP.test(apiVersion)) {
    // a security kind is never skipped silently: compile reports it (and fails closed where it would apply)
    const meta = decodeMeta(r, value);
    if (meta !== null) out.push({ kind: "OtherSecurityKind", apiVersion, metadata: meta, spec: { kind, apiVersion }, source });
    return;
  }
  if (schemaFields === null) return;
  const checked = errors.length;
  if (!ours) {
    // not ours: skipped with a debug line, as INTERFACE.md says (GANGWAY_DEBUG=1 shows it); a kind of
    // Istio's or the Gateway API's groups gangway does not apply is also a finding (GW0116)
    log("debug", "skipped: not a kind gangway reads", { file: source.file, document: source.doc, kind: written, apiVersion });
    return reportKindNotRead(r, value, written, apiVersion, warnings);
  }
  const before = errors.length - schemaFields.length;
  const meta = decodeMeta(r, value);
  if (meta !== null && kind === "Namespace") meta.labels = { ...meta.labels, "kubernetes.io/metadata.name": meta.name };
  const spec = meta === null ? null : decodeSpec(r, kind, apiVersion, value, meta);
  checkCelRules(r, value, apiVersion, written, before);
  dropOverlaps(errors, before, checked, schemaFields);
  if (errors.length > before || spec === null || meta === null) return;
  out.push({ kind, apiVersion, metadata: meta, spec, source } as Resource);
}

function firstLine(msg: string): string {
  const nl = msg.indexOf("\n");
  return (nl < 0 ? msg : msg.slice(0, nl)).replace(/:$/, "");
}

type Docs = { ok: true; docs: unknown[] } | { ok: false; error: Finding };

const SEPARATOR = /^---(\s|$)/;
const COMMENT_OR_BLANK = /^\s*(#.*)?$/;

/**
 * How many documents `text` holds, as the yaml package counts them (text before the
 * first `---` is a document only when it has content other than comments), or -1
 * when it has markers we do not count (`...`, directives): the slow path decides.
 */
export function countDocuments(text: string): number {
  const docs = splitDocuments(text);
  return docs === null ? -1 : docs.length;
}

/**
 * The text of each document: a `---` at the start of a line (followed by a space,
 * a tab, a line end or the end) starts one, as it does in YAML (no scalar goes on
 * past it); text before the first that holds only comments and blank lines is no
 * document. null when a line starts with `...` or `%` (document end, directive):
 * the slow path reads those.
 */
export function splitDocuments(text: string): string[] | null {
  const out: string[] = [];
  let start = -1; // start of the current document; -1: still before the first marker
  let preamble = false; // content before the first marker
  for (let at = 0; at < text.length; ) {
    let nl = text.indexOf("\n", at);
    if (nl < 0) nl = text.length;
    const c = text.charCodeAt(at);
    if (c === 46 /* . */ && text.startsWith("...", at)) return null;
    if (c === 37 /* % */) return null;
    if (c === 45 /* - */ && text.startsWith("---", at)) {
      const next = at + 3 < text.length ? text.charCodeAt(at + 3) : 10;
      if (next === 10 || next === 13 || next === 32 || next === 9) {
        if (start >= 0) out.push(text.slice(start, at));
        else if (preamble) out.push(text.slice(0, at));
        start = at;
        at = nl + 1;
        continue;
      }
    }
    if (start < 0 && !preamble && !COMMENT_OR_BLANK.test(text.slice(at, nl))) preamble = true;
    at = nl + 1;
  }
  if (start >= 0) out.push(text.slice(start));
  else if (preamble) out.push(text);
  return out;
}

/**
 * Text Bun's parser reads otherwise than the yaml package (measured, notes/bigload.md:
 * explicit tags such as `!!binary`, `!!int '1'`, `!!null ''`; merge keys `<<`, whose
 * keys Bun orders differently; complex keys `? ` and empty keys `: v`, which Bun
 * names "null"; a plain scalar starting with `,` and a tab in indentation, which
 * the yaml package refuses):
 * such a document is read by the yaml package. What is left: a duplicate key, which
 * Bun lets the later one win silently.
 */
function bunDiffers(part: string): boolean {
  // a tab anywhere (not only in indentation) is enough: such documents are rare
  return part.includes("!!") || part.includes("<<") || part.includes("\t") || ODD_LINE_START.test(part) || (part.includes(",") && EMPTY_BEFORE_COMMA.test(part));
}
const ODD_LINE_START = /^[\s-]*(?:[?:](?:\s|$)|,)/m;
const EMPTY_BEFORE_COMMA = /:[ \t]+,/;

/**
 * Bun's native YAML parser, one document at a time (three times faster than
 * handing it the whole file, ~3 µs for a small document): null when a document
 * fails (the slow path then finds the line and column) or the markers are not
 * ones we count. A document Bun reads differently (bunDiffers) is read by the
 * yaml package alone.
 */
function fastDocuments(text: string): unknown[] | null {
  const parts = splitDocuments(text);
  if (parts === null) return null;
  const docs: unknown[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (bunDiffers(part)) {
      const slow = slowDocuments("", part);
      if (!slow.ok || slow.docs.length !== 1) return null;
      docs[i] = slow.docs[0];
      continue;
    }
    try {
      docs[i] = Bun.YAML.parse(part);
    } catch {
      return null; // the slow path finds the line and column
    }
  }
  return docs;
}

/** The `yaml` package: slower, strict (duplicate keys), precise error positions. */
export function slowDocuments(path: string, text: string): Docs {
  let parsed;
  try {
    parsed = parseAllDocuments(text, { merge: true, prettyErrors: true });
  } catch (err) {
    return { ok: false, error: { code: Codes.ParseError, level: "Error", message: `not YAML: ${firstLine(String(err))}`, file: path, doc: 0 } };
  }
  const docs: unknown[] = [];
  let i = 0;
  for (const doc of parsed) {
    const index = i++;
    const fail = (msg: string): Docs => ({ ok: false, error: { code: Codes.ParseError, level: "Error", message: `not YAML: ${firstLine(msg)}`, file: path, doc: index } });
    if (doc.errors.length > 0) return fail(doc.errors[0]!.message);
    try {
      docs.push(doc.toJS({ maxAliasCount: 1000 }));
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
  }
  return { ok: true, docs };
}

/** Inputs larger than this (all files together) are parsed with Bun's native parser first. */
export const FAST_YAML_BYTES = 1 << 20;

/**
 * The documents of a YAML file. The `yaml` package is strict (a duplicate key
 * is an error, as kubectl says) and names the line and column of a problem,
 * but it takes ~0.3 ms per document: for large inputs (`fast`), Bun's native
 * parser goes first, ten times faster, and the `yaml` package only explains
 * what Bun rejects. Bun lets a duplicate key win silently: in a configuration
 * over 1 MiB a duplicate key is not reported.
 */
export function yamlDocuments(path: string, text: string, fast: boolean): Docs {
  if (fast) {
    const docs = fastDocuments(text);
    if (docs !== null) return { ok: true, docs };
  }
  return slowDocuments(path, text);
}

function sha256(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

function decodeYAML(file: SourceFile, out: Resource[], errors: Finding[], warnings: Finding[], fast: boolean): void {
  const digest = sha256(file.text);
  const r = yamlDocuments(file.path, file.text, fast);
  if (!r.ok) {
    errors.push(r.error);
    return;
  }
  r.docs.forEach((value, index) => {
    if (value === null || value === undefined) return; // empty document
    decodeObject(value, { file: file.path, doc: index, path: "", digest }, out, errors, warnings);
  });
}

function decodeJSON(file: SourceFile, out: Resource[], errors: Finding[], warnings: Finding[]): void {
  if (file.text.trim() === "") return;
  // where it goes wrong, as the YAML reader says (Bun's JSON.parse names no position), and a duplicate key refused as in YAML
  const problem = jsonProblem(file.text);
  if (problem !== null) {
    errors.push({ code: Codes.ParseError, level: "Error", message: `not JSON: ${problem.message} at line ${problem.line}, column ${problem.column}`, file: file.path, doc: 0 });
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(file.text);
  } catch (err) {
    errors.push({ code: Codes.ParseError, level: "Error", message: `not JSON: ${err instanceof Error ? err.message : String(err)}`, file: file.path, doc: 0 });
    return;
  }
  decodeObject(value, { file: file.path, doc: 0, path: "", digest: sha256(file.text) }, out, errors, warnings);
}

/** `warnings`: documents skipped with a reason worth telling (a misspelt kind); they never make the configuration unusable. */
export function decodeFiles(files: SourceFile[]): { resources: Resource[]; errors: Finding[]; warnings: Finding[] } {
  const resources: Resource[] = [];
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  let bytes = 0;
  for (const f of files) bytes += f.text.length;
  const fast = bytes > FAST_YAML_BYTES;
  for (const f of files) decodeFileInto(f, fast, resources, errors, warnings);
  return { resources, errors, warnings };
}

/** True when decodeFiles would parse these files with Bun's native YAML parser first (their total size). */
export function fastYamlFor(files: SourceFile[]): boolean {
  let bytes = 0;
  for (const f of files) bytes += f.text.length;
  return bytes > FAST_YAML_BYTES;
}

/** One file, as decodeFiles decodes it (`fast`: fastYamlFor of all the files read together). */
export function decodeFileInto(f: SourceFile, fast: boolean, resources: Resource[], errors: Finding[], warnings: Finding[]): void {
  if (/\.json$/i.test(f.path)) decodeJSON(f, resources, errors, warnings);
  else decodeYAML(f, resources, errors, warnings, fast);
}

/** A Secret from a mounted volume folder (`--secrets-dir DIR/<name>/<key>`). */
export function secretFromFiles(name: string, namespace: string, data: Record<string, string>, path: string): Resource {
  return {
    kind: "Secret",
    apiVersion: "v1",
    metadata: { name, namespace, labels: {}, annotations: {}, creationTimestamp: "" },
    spec: { type: data["tls.crt"] !== undefined && data["tls.key"] !== undefined ? "kubernetes.io/tls" : "Opaque", data: { ...data } },
    source: { file: path, doc: 0, path: "", digest: "" },
  };
}

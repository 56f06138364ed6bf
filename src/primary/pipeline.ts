// load → decode → compile, as one call the primary, analyze and proxy-config share.
import type { Options } from "../model/options.ts";
import { outOfDescriptors } from "../load/descriptors.ts";
import { decodeText, emptyRootFindings, FileTexts, MAX_FILE_BYTES, readInput, type LoadedInput } from "../load/read.ts";
import { Codes } from "../model/codes.ts";
import type { Credential, Finding, Snapshot } from "../snapshot/types.ts";
import { decodeFiles, secretFromFiles } from "../decode/index.ts";
import { compileSnapshot, type CompileOptions } from "../compile/index.ts";
import { certificateFiles, meshFiles } from "../compile/tls.ts";
import { upstreamCertificateFiles } from "../compile/upstream-tls.ts";
import type { Resource } from "../model/index.ts";
import { readFileSync, statSync } from "node:fs";
import { decodeMeshConfig, EMPTY_MESH, type MeshConfig } from "../decode/meshconfig.ts";
import { CompileReuse } from "../compile/reuse.ts";
import { DecodeCache, resourceKey, resourceText } from "./decode-cache.ts";
import { hostListenAddresses } from "./listen-addresses.ts";
import { oneLine } from "../log.ts";

/** What a long-running primary keeps between reloads (serve.ts); one-shot commands pass none. */
export interface ReloadCaches {
  texts: FileTexts;
  decode: DecodeCache;
  reuse: CompileReuse;
  digests: FileDigests;
}

export function newReloadCaches(): ReloadCaches {
  return { texts: new FileTexts(), decode: new DecodeCache(), reuse: new CompileReuse(), digests: new FileDigests() };
}

/**
 * sha256 of each file's text, kept between reloads by path: a file whose text is
 * the same as last time (compared exactly, as the decode cache does) is not
 * hashed again. Hashing every file on every reload cost ~45 ms at 10,000
 * VirtualServices.
 */
export class FileDigests {
  private entries = new Map<string, { text: string; digest: string }>();

  of(files: { path: string; text: string }[]): string[] {
    const next = new Map<string, { text: string; digest: string }>();
    const out = files.map((f) => {
      let e = next.get(f.path) ?? this.entries.get(f.path);
      if (e === undefined || e.text !== f.text) e = { text: f.text, digest: fileDigest(f.text) };
      next.set(f.path, e);
      return e.digest;
    });
    this.entries = next; // files no longer read are forgotten
    return out;
  }
}

function fileDigest(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

export function newPhases(): Phases {
  return { read: 0, decode: 0, compile: 0, filesDecoded: 0, filesCached: 0 };
}

/** Milliseconds per phase of one load (the reload log line's *_ms fields). */
export interface Phases {
  read: number;
  /** YAML parse + schema validation + decode (one pass per document). */
  decode: number;
  compile: number;
  /** Files decoded again / taken from the decode cache. */
  filesDecoded: number;
  filesCached: number;
}

export type BuildResult =
  | { ok: true; snapshot: Snapshot; resources: ResourceKeyed }
  | { ok: false; errors: Finding[] };

/** `Kind/namespace/name` → a canonical text of the resource, for change reports. */
export type ResourceKeyed = Map<string, string>;

export function compileOptions(o: Options): CompileOptions {
  const c: CompileOptions = { namespace: o.namespace, labels: o.labels, portMap: o.portMap, bindAddress: o.bind, meshCerts: o.meshCerts, trustDomain: o.trustDomain, gateways: o.gateways };
  // read at each load: the environment and the interfaces are the edge, compile stays pure
  c.listenAddresses = hostListenAddresses(o.bind);
  if (o.ingressClass !== null) c.ingressClass = o.ingressClass;
  if (o.ingressMode !== null) c.ingressMode = o.ingressMode;
  if (o.trustedProxies !== null) c.trustedProxies = o.trustedProxies;
  if (o.locality !== null) c.locality = o.locality;
  c.accessLog = { target: o.accessLog, targetExplicit: o.accessLogExplicit === true, format: o.logFormat, formatExplicit: o.logFormatExplicit === true };
  return c;
}

/** A digest of everything read, to skip a reload when nothing changed (each file as the sha256 of its text, from `digests` when given). */
export function inputDigest(input: LoadedInput, digests?: FileDigests): string {
  const h = new Bun.CryptoHasher("sha256");
  const files = digests?.of(input.files) ?? input.files.map((f) => fileDigest(f.text));
  input.files.forEach((f, i) => h.update(`F${f.path}\0${files[i]}\0`));
  for (const s of input.secrets) {
    h.update(`S${s.name}\0`);
    for (const k of Object.keys(s.data).sort()) h.update(`${k}\0${s.data[k]}\0`);
  }
  for (const e of input.errors) h.update(`E${e.message}\0`);
  for (const w of input.warnings) h.update(`W${w.message}\0`);
  return h.digest("hex");
}

/**
 * Reads a certificate file named by a Gateway server; null when it cannot be read.
 * Throws when the process is out of descriptors (outOfDescriptors): the file is
 * not missing, and the load fails instead (build) so the server is not compiled
 * without its certificate.
 */
export type FileReader = (path: string) => string | null;

export const readTextFile: FileReader = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (outOfDescriptors(err)) throw err;
    return null;
  }
};

/** A load error for a read that failed for want of descriptors. */
function descriptorError(err: unknown, what: string, file?: string): Finding {
  const f: Finding = { code: "GW0001", level: "Error", message: `cannot read ${what}: ${err instanceof Error ? err.message : String(err)}` };
  if (file !== undefined) f.file = file;
  return f;
}

export function build(
  input: LoadedInput,
  opts: CompileOptions,
  version: number,
  readFile: FileReader = readTextFile,
  caches?: ReloadCaches,
  phases?: Phases,
): BuildResult & { certFiles: Map<string, string | null> } {
  const certFiles = new Map<string, string | null>();
  if (input.errors.length > 0) return { ok: false, errors: input.errors, certFiles };
  let t = performance.now();
  let decoded;
  if (caches !== undefined) {
    decoded = caches.decode.decode(input.files);
    if (phases !== undefined) {
      phases.filesDecoded = caches.decode.last.decoded;
      phases.filesCached = caches.decode.last.hits;
    }
  } else {
    const d = decodeFiles(input.files);
    decoded = { ...d, keyed: () => keyedOf(d.resources) };
  }
  const { errors, warnings } = decoded;
  const resources = [...decoded.resources];
  if (phases !== undefined) phases.decode = performance.now() - t;
  if (errors.length > 0) return { ok: false, errors: [...errors, ...warnings], certFiles };
  t = performance.now();
  const secrets: Resource[] = [];
  for (const s of input.secrets) secrets.push(secretFromFiles(s.name, opts.namespace, s.data, s.path));
  resources.push(...secrets);
  const gateways = resources.filter((r): r is Extract<Resource, { kind: "Gateway" }> => r.kind === "Gateway");
  const rules = resources.filter((r): r is Extract<Resource, { kind: "DestinationRule" }> => r.kind === "DestinationRule");
  const paths = [...certificateFiles(gateways, opts.meshCerts ?? null), ...upstreamCertificateFiles(rules, opts.meshCerts ?? null)];
  // a Gateway API listener may ask for the mesh certificate too (tls-terminate-mode ISTIO_SIMPLE / ISTIO_MUTUAL)
  if (opts.meshCerts) paths.push(...meshFiles(opts.meshCerts));
  for (const p of paths) {
    if (certFiles.has(p)) continue;
    try {
      certFiles.set(p, readFile(p));
    } catch (err) {
      if (!outOfDescriptors(err)) throw err;
      return { ok: false, errors: [descriptorError(err, `certificate file ${p}`, p)], certFiles };
    }
  }
  const snapshot = compileSnapshot(resources, { ...opts, certFiles }, version);
  // the folders' own findings (dangling links, a folder that yields nothing) come first, then documents skipped with a warning
  snapshot.findings.unshift(...input.warnings, ...emptyRootFindings(input, resources.map((r) => r.source.file)), ...warnings);
  const keyed: ResourceKeyed = decoded.keyed();
  for (const r of secrets) keyed.set(resourceKey(r), resourceText(r));
  if (phases !== undefined) phases.compile = performance.now() - t;
  return { ok: true, snapshot, resources: keyed, certFiles };
}

function keyedOf(resources: Resource[]): ResourceKeyed {
  const keyed: ResourceKeyed = new Map();
  for (const r of resources) keyed.set(resourceKey(r), resourceText(r));
  return keyed;
}

export function loadAndBuild(
  o: Options,
  version: number,
  lastGood?: Map<string, Credential>,
  caches?: ReloadCaches,
  phases?: Phases,
): BuildResult & { digest: string; certFiles: Map<string, string | null> } {
  const t = performance.now();
  const input = readInput(o.configDirs, o.secretsDir, caches?.texts);
  const mesh = readMeshConfig(o.meshConfig);
  if (phases !== undefined) phases.read = performance.now() - t;
  if (mesh.errors.length > 0) return { ok: false, errors: mesh.errors, certFiles: new Map(), digest: mesh.digest };
  const copts: CompileOptions = { ...compileOptions(o), lastGood, mesh: mesh.mesh };
  if (caches !== undefined) copts.reuse = caches.reuse;
  const built = build(input, copts, version, readTextFile, caches, phases);
  // certificate files are inputs too: a rotated file must not look like "nothing changed"
  let digest = inputDigest(input, caches?.digests) + mesh.digest;
  if (built.certFiles.size > 0) {
    const h = new Bun.CryptoHasher("sha256");
    h.update(digest);
    for (const [p, t] of built.certFiles) h.update(`C${p}\0${t ?? "\u0000unreadable"}\0`);
    digest = h.digest("hex");
  }
  // the mesh config's fields gangway does not read, first with the folders' own findings
  if (built.ok && mesh.notRead.length > 0) built.snapshot.findings.unshift(...mesh.notRead);
  return { ...built, digest };
}

/**
 * `--mesh-config FILE`, read and decoded as configuration files are: an unreadable
 * file (and why), one above MAX_FILE_BYTES, or bytes that are not UTF-8 (or UTF-16
 * with its byte order mark) are an Error.
 */
export function readMeshConfig(path: string | null): { mesh: MeshConfig; errors: Finding[]; notRead: Finding[]; digest: string } {
  if (path === null) return { mesh: EMPTY_MESH, errors: [], notRead: [], digest: "" };
  const failed = (f: Finding) => ({ mesh: EMPTY_MESH, errors: [f], notRead: [], digest: "M\0unreadable" });
  let bytes: Buffer;
  try {
    if (statSync(path).size > MAX_FILE_BYTES) {
      return failed({ code: Codes.FileTooLarge, level: "Error", message: `the mesh config (--mesh-config) ${path} is above the ${MAX_FILE_BYTES / 1048576} MiB limit: not read`, file: path });
    }
    bytes = readFileSync(path);
  } catch (err) {
    if (outOfDescriptors(err)) return failed(descriptorError(err, "the mesh config (--mesh-config)", path));
    return failed({ code: "GW0001", level: "Error", message: `cannot read the mesh config (--mesh-config): ${err instanceof Error ? err.message : String(err)}`, file: path });
  }
  const text = decodeText(bytes);
  if (typeof text !== "string") return failed({ code: Codes.ParseError, level: "Error", message: `the mesh config (--mesh-config) ${path} is not UTF-8 text: ${text.where}: not read`, file: path });
  const { mesh, errors, notRead } = decodeMeshConfig(path, text);
  return { mesh, errors, notRead, digest: new Bun.CryptoHasher("sha256").update(text).digest("hex") };
}

/** What changed between two keyed resource sets. */
export function diffResources(before: ResourceKeyed, after: ResourceKeyed): { added: string[]; removed: string[]; changed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [k, v] of after) {
    const old = before.get(k);
    if (old === undefined) added.push(k);
    else if (old !== v) changed.push(k);
  }
  for (const k of before.keys()) if (!after.has(k)) removed.push(k);
  return { added, removed, changed };
}

/**
 * `file: document N: Kind/ns/name: field: message [CODE]`, on one line: the
 * control characters a file can put in a name, a key or a quoted value (a
 * newline, an ANSI escape, U+2028) are written as escapes, so that a finding
 * never ends its log line early or forges the next one.
 */
export function formatFinding(f: Finding): string {
  const parts: string[] = [];
  if (f.file !== undefined) parts.push(f.file);
  if (f.doc !== undefined) parts.push(`document ${f.doc}`);
  if (f.resource !== undefined) parts.push(f.resource);
  if (f.field !== undefined) parts.push(f.field);
  parts.push(`${f.message} [${f.code}]`);
  return oneLine(`${f.level}: ${parts.join(": ")}`);
}


// Seeded structural mutations of configuration files (test/unit/config-fuzz.test.ts,
// bench/config-fuzz.ts): the shipped examples and the test fixtures are parsed, a
// few nodes of their documents are replaced, deleted, duplicated or pointed at
// names that do not exist, and the documents are written back as YAML (or JSON).
// Deterministic: the same case number gives the same files. No dependency.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { pick, type Rand } from "./config-mutate-pick.ts";

const ROOT = join(import.meta.dir, "..", "..");

export interface SeedGroup {
  name: string;
  files: { path: string; text: string }[];
}

export interface MutatedCase {
  /** The case number that made it (the PRNG's seed). */
  seed: number;
  group: string;
  files: { path: string; text: string }[];
  /** What was done, one line each (for a failing case's report). */
  mutations: string[];
}

/** splitmix32: small, fast, good enough to pick mutations. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}


const read = (p: string) => ({ path: relative(ROOT, p), text: readFileSync(p, "utf8") });
const yamlIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f)) : []);

/**
 * The seeds: each walkthrough step with the backends it routes to, the quickstart,
 * every golden case with the httpbin sample, each test/fuzz-seeds file (kinds the
 * examples lack) with it, each test/fuzz-seeds/mesh file with its --mesh-config
 * file and gateway flags (tracing, locality; config-invariants.ts buildFiles reads
 * them), every Gateway API conformance case with its base.
 */
export function seedGroups(): SeedGroup[] {
  const groups: SeedGroup[] = [];
  const backends = yamlIn(join(ROOT, "config", "backends")).map(read);
  const walk = join(ROOT, "config", "walkthrough");
  for (const step of readdirSync(walk).sort()) groups.push({ name: `config/walkthrough/${step}`, files: [...yamlIn(join(walk, step)).map(read), ...backends] });
  groups.push({ name: "config/quickstart", files: yamlIn(join(ROOT, "config", "quickstart")).map(read) });
  const golden = join(ROOT, "test", "golden");
  for (const c of readdirSync(golden).sort()) {
    const input = join(golden, c, "input.yaml");
    if (existsSync(input)) groups.push({ name: `test/golden/${c}`, files: [read(input), read(join(golden, "httpbin.yaml"))] });
  }
  // the kinds and fields the examples lack (ServiceEntry, WorkloadEntry, tls/tcp routes, Telemetry, Secret formats)
  for (const f of yamlIn(join(ROOT, "test", "fuzz-seeds"))) groups.push({ name: relative(ROOT, f).replace(/\.ya?ml$/, ""), files: [read(f), read(join(golden, "httpbin.yaml"))] });
  // with a --mesh-config file (`<name>.mesh-config.yaml`) and the gateway's flags (`<name>.gateway-flags.yaml`): tracing, locality
  const mesh = join(ROOT, "test", "fuzz-seeds", "mesh");
  for (const f of yamlIn(mesh).filter((x) => !/\.(mesh-config|gateway-flags)\.ya?ml$/.test(x))) {
    const extra = [".mesh-config.yaml", ".gateway-flags.yaml"].map((e) => f.replace(/\.ya?ml$/, e)).filter(existsSync);
    groups.push({ name: relative(ROOT, f).replace(/\.ya?ml$/, ""), files: [read(f), ...extra.map(read), read(join(golden, "httpbin.yaml"))] });
  }
  const gapi = join(ROOT, "test", "gatewayapi");
  for (const c of readdirSync(join(gapi, "cases")).sort()) {
    const input = join(gapi, "cases", c, "input.yaml");
    if (existsSync(input)) groups.push({ name: `test/gatewayapi/cases/${c}`, files: [read(input), read(join(gapi, "base.yaml")), read(join(gapi, "https-base.yaml"))] });
  }
  return groups;
}

// ---- what a node is replaced with -------------------------------------------

const BIG = "x".repeat(100 * 1024);
const GENERIC: readonly unknown[] = [
  0, -1, 1, 65535, 65536, 2 ** 31, 2 ** 53 + 2, 1e21, 1e308 * 10, -(1e308 * 10), Number.NaN, 0.5, -0.0001,
  true, false, null, "", " ", "0", "true", "null", "~", "0x1F", "1e309", "99999999999999999999999",
  BIG, "\u0000\u0001\u0007\u001b[31m\u007f", "\u202e\ufeff\uffff\ud83d\ude00", "ü.example.com", "a\nb: c", "{{x}}", "${HOME}",
  [], [null], ["a", 1, null, {}], [[[[]]]], {}, { a: { b: { c: [1] } } }, { "": "" },
];
const PORTS: readonly unknown[] = [0, -1, 65536, 65535, 1, 80.5, "80", "http", 4294967297, 1e309 * 1, null];
const DURATIONS: readonly unknown[] = ["1x", "-1s", "999999999h", "0s", "0", "1", "s", "", "1.5.5s", "1e3s", "1h1h", "0.0000000001s", "9007199254740993s", "1ms1s", "-0s", "1s ", 5, -5, "PT1S"];
const REGEXES: readonly unknown[] = ["(", "[a-", "(a+)+$", "(a|a)*b", "(?<n>x)", "\\", "a{1000000}", "a{2,1}", "(?=x)y", "\\p{Nope}", "\\1", "*", "[[:foo:]]", ".*".repeat(600), "(((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))", "", "^$", "\u0000"];
const HOSTS: readonly unknown[] = ["*", "*.*", "", "..", ".", "*.", "a..b", "*foo.com", "foo.*", "::1", "[::1]", "fe80::1%eth0", "10.0.0.1", "example.com:80", "Example.COM", "ex ample.com", "-bad-.com", "a".repeat(300) + ".com", "xn--zz", "*/bad", "ns/*", "*/*", "./x", "~/x", "../x", "é.example.com", "localhost", "0.0.0.0"];
const CIDRS: readonly unknown[] = ["10.0.0.0/33", "::/129", "1.2.3", "abc", "10.0.0.1/-1", "fe80::1%eth0/64", "0.0.0.0/0", "::/0", "300.1.1.1", "1.2.3.4/", "/8", "10.0.0.0/8/8", "::ffff:10.0.0.1/120", ""];
const NAMES: readonly unknown[] = ["no-such-thing", "missing", "ns/missing", "istio-system/missing", "Missing", "", "a/b/c", "default/", "/x", "*"];
const KINDS: readonly (readonly [string, string])[] = [
  ["networking.istio.io/v1", "Gateway"], ["networking.istio.io/v1beta1", "VirtualService"], ["networking.istio.io/v1alpha3", "DestinationRule"],
  ["networking.istio.io/v1", "ServiceEntry"], ["networking.istio.io/v1", "WorkloadEntry"], ["networking.istio.io/v1", "Gatway"], ["networking.istio.io/v9", "Gateway"],
  ["networking.k8s.io/v1", "Ingress"], ["networking.k8s.io/v1", "IngressClass"], ["v1", "Secret"], ["v1", "ConfigMap"], ["v1", "Service"], ["v1", "Endpoints"],
  ["discovery.k8s.io/v1", "EndpointSlice"], ["security.istio.io/v1", "AuthorizationPolicy"], ["security.istio.io/v1", "RequestAuthentication"], ["security.istio.io/v1", "PeerAuthentication"],
  ["gateway.networking.k8s.io/v1", "Gateway"], ["gateway.networking.k8s.io/v1", "HTTPRoute"], ["gateway.networking.k8s.io/v1", "GRPCRoute"], ["gateway.networking.k8s.io/v1", "GatewayClass"],
  ["gateway.networking.k8s.io/v1beta1", "ReferenceGrant"], ["gateway.networking.k8s.io/v1alpha2", "TLSRoute"], ["gateway.networking.k8s.io/v1alpha2", "TCPRoute"],
  ["gateway.networking.k8s.io/v1", "BackendTLSPolicy"], ["gateway.networking.k8s.io/v1", "ListenerSet"], ["v1", "Namespace"], ["v1", "List"], ["apps/v1", "Deployment"], ["", ""],
];

const b64 = (s: string) => Buffer.from(s).toString("base64");
const PEM_GARBAGE: readonly string[] = [
  b64("garbage"),
  b64("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
  b64("-----BEGIN CERTIFICATE-----\n" + "QUFB".repeat(200) + "\n-----END CERTIFICATE-----\n"),
  b64("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"),
  b64("-----BEGIN EC PRIVATE KEY-----\n" + b64("x".repeat(100)) + "\n-----END EC PRIVATE KEY-----\n"),
  b64("-----BEGIN CERTIFICATE-----\n"),
  b64("\u0000\u0001\u0002"),
  "not base64 !!",
  "",
];

/** PEM files of the shipped demo PKI (config/certs): another host's key does not match a certificate. */
function demoPem(): string[] {
  const dir = join(ROOT, "config", "certs");
  return readdirSync(dir).filter((f) => /\.(crt|key)$/.test(f)).sort().map((f) => b64(readFileSync(join(dir, f), "utf8")));
}
let pems: string[] | null = null;
/** Extra PEM values (base64) a caller adds once: an expired certificate, say (made asynchronously). */
export const EXTRA_PEMS: string[] = [];

// ---- walking and changing a document ------------------------------------------

type Path = (string | number)[];

/** Every node below `doc` with its path (the root excluded), depth-first, in order. */
function nodes(doc: unknown): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, p: Path) => {
    if (p.length > 30 || out.length > 5000) return;
    if (Array.isArray(v)) v.forEach((x, i) => (out.push([...p, i]), walk(x, [...p, i])));
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push([...p, k]), walk(x, [...p, k]);
  };
  walk(doc, []);
  return out;
}

function parentOf(doc: unknown, p: Path): any {
  let v: any = doc;
  for (const k of p.slice(0, -1)) v = v[k];
  return v;
}

const show = (v: unknown) => {
  const s = typeof v === "string" ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…(${v.length})` : v) : Array.isArray(v) || (v !== null && typeof v === "object") ? JSON.stringify(v).slice(0, 60) : String(v);
  return s;
};
const where = (p: Path) => p.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("");

const isStr = (v: unknown) => typeof v === "string";
const isNum = (v: unknown) => typeof v === "number" && Number.isFinite(v);

/**
 * A value for the node at `p` (now `now`): one fitting its key (a port, a
 * duration, a regex, a host...), or any. Half the time it keeps the type the
 * node had, so that the schema lets it through and compile sees it.
 */
function valueFor(r: Rand, p: Path, now: unknown, sameType = false): unknown {
  if ((sameType || r() < 0.5) && (typeof now === "string" || typeof now === "number" || typeof now === "boolean")) {
    if (typeof now === "boolean") return !now;
    for (let i = 0; i < 8; i++) {
      const v = valueByKey(r, p);
      if (typeof v === typeof now && (typeof v !== "number" || isNum(v))) return v;
    }
    if (typeof now === "number") return pick(r, [0, -1, 1, now + 1, now * 1000, 65535, 2 ** 31 - 1, 0.5].filter(isNum));
    return pick(r, ["", "no-such-thing", now + now, now.toUpperCase(), `${now}.`, `*.${now}`, now.slice(1), ...GENERIC.filter(isStr)]);
  }
  return valueByKey(r, p);
}

function valueByKey(r: Rand, p: Path): unknown {
  const key = String(p.filter((k) => typeof k === "string").at(-1) ?? "");
  if (r() < 0.3) return pick(r, GENERIC);
  if (/^(number|port|targetPort|containerPort|sectionName)$/i.test(key) || /port$/i.test(key)) return pick(r, PORTS);
  if (/timeout|interval|ttl|time$|duration|baseEjection|perTry|maxAge|delay|fixedDelay/i.test(key)) return pick(r, DURATIONS);
  if (/regex|^safe_?regex/i.test(key) || (key === "value" && p.includes("regex"))) return pick(r, REGEXES);
  if (/^(hosts?|hostnames?|authority|sni|sniHosts|domain|serverName)$/i.test(key) || (typeof p.at(-1) === "number" && /host/i.test(String(p.at(-2))))) return pick(r, HOSTS);
  if (/cidr|ipBlocks|address(es)?$|remoteIp/i.test(key)) return pick(r, CIDRS);
  if (/^(name|gateways?|credentialName|secretName|subset|parentRefs|className|ingressClassName|gatewayClassName|serviceName|kind|group)$/i.test(key) || p.includes("parentRefs") || p.includes("backendRefs")) return pick(r, NAMES);
  if (p[0] === "data" || p[0] === "stringData" || /crt|key|cert/i.test(key)) return pick(r, [...PEM_GARBAGE, ...(pems ??= demoPem()), ...EXTRA_PEMS]);
  return pick(r, GENERIC);
}

/**
 * One mutation on `docs` (a file's documents); returns what it did. `gentle`:
 * only changes the schema may let through (a leaf of the same type, a list item
 * removed or repeated, a document repeated), so compile sees them.
 */
function mutateDocs(r: Rand, docs: unknown[], gentle: boolean): string {
  if (docs.length === 0) {
    docs.push(pick(r, GENERIC));
    return "an empty file got a document";
  }
  const d = Math.floor(r() * docs.length);
  const doc = docs[d];
  const all = nodes(doc);
  const op = r();
  if (op < 0.06) {
    docs.push(structuredClone(doc));
    return `document ${d} duplicated (same name)`;
  }
  if (op < 0.1 && !gentle) {
    docs[d] = pick(r, GENERIC);
    return `document ${d} replaced by ${show(docs[d])}`;
  }
  if (op < 0.16 && !gentle && doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    const [apiVersion, kind] = pick(r, KINDS);
    Object.assign(doc, { apiVersion, kind });
    return `document ${d} became ${apiVersion} ${kind}`;
  }
  if (all.length === 0) {
    docs[d] = pick(r, GENERIC);
    return `document ${d} replaced by ${show(docs[d])}`;
  }
  const leaves = all.filter((q) => {
    const v = parentOf(doc, q)[q.at(-1)!];
    return typeof v !== "object" || v === null;
  });
  const p = pick(r, gentle && leaves.length > 0 && op >= 0.4 ? leaves : all);
  const parent = parentOf(doc, p);
  const last = p.at(-1)!;
  if (op < 0.32 && (!gentle || Array.isArray(parent))) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
    return `document ${d}: ${where(p)} deleted`;
  }
  if (op < 0.4) {
    // a list item (a server, a route, a listener) twice: duplicate names, hosts, ports
    const inList = [...p].reverse().findIndex((k) => typeof k === "number");
    if (inList >= 0) {
      const lp = p.slice(0, p.length - inList);
      const list = parentOf(doc, lp);
      list.push(structuredClone(list[lp.at(-1) as number]));
      return `document ${d}: ${where(lp)} duplicated in its list`;
    }
  }
  if (op < 0.46 && !gentle && parent !== null && typeof parent === "object" && !Array.isArray(parent)) {
    // a key the schema does not have, or a misspelling of one it has
    const k = String(last);
    const bad = r() < 0.5 ? `${k.slice(0, -1)}` : `x-${k}`;
    parent[bad] = parent[last];
    return `document ${d}: ${where(p)} also written as ${JSON.stringify(bad)}`;
  }
  if (gentle) {
    const now = parent[last];
    parent[last] = valueFor(r, p, now, true);
    return `document ${d}: ${where(p)} = ${show(parent[last])}`;
  }
  const v = valueFor(r, p, parent[last]);
  parent[last] = r() < 0.1 ? [v] : v;
  return `document ${d}: ${where(p)} = ${show(parent[last])}`;
}

/** A text-level change YAML itself must refuse or read: a duplicated line (a duplicate key), a cut, a stray character. */
function mutateText(r: Rand, text: string): { text: string; what: string } {
  const lines = text.split("\n");
  const i = Math.floor(r() * lines.length);
  const op = r();
  if (op < 0.4) {
    lines.splice(i, 0, lines[i]!);
    return { text: lines.join("\n"), what: `line ${i + 1} duplicated` };
  }
  if (op < 0.6) return { text: text.slice(0, Math.floor(r() * text.length)), what: "truncated" };
  if (op < 0.8) {
    lines.splice(i, 0, "---");
    return { text: lines.join("\n"), what: `--- inserted before line ${i + 1}` };
  }
  const c = pick(r, ["\t", ":", "&a", "*a", "!!binary", "<<: {}", "? ", "- ", "{", "'", "%YAML 1.1", "...", "\u0000"]);
  lines[i] = c + lines[i]!;
  return { text: lines.join("\n"), what: `${JSON.stringify(c)} put at the start of line ${i + 1}` };
}

/** Parsed seed files by text (a case parses one or two files of a group; the seeds repeat). */
const parsed = new Map<string, unknown[] | null>();

/** Lets the parsed seeds go (a test run shares its process with other tests that measure the heap). */
export function forgetParsedSeeds(): void {
  parsed.clear();
}

function parse(text: string): unknown[] | null {
  if (parsed.size > 1000) parsed.clear(); // a text mutated before a second mutation is parsed once, not kept
  if (!parsed.has(text)) parsed.set(text, parseText(text));
  const docs = parsed.get(text)!;
  return docs === null ? null : structuredClone(docs);
}

function parseText(text: string): unknown[] | null {
  try {
    const docs = parseAllDocuments(text);
    if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return null;
    // through JSON: no shared or cyclic nodes (aliases) to mutate in two places at once
    return docs.map((d) => JSON.parse(JSON.stringify(d.toJS({ maxAliasCount: 100 })) ?? "null"));
  } catch {
    return null;
  }
}

/** A group of `from`; one case in five of the Istio half starts from a test/fuzz-seeds file (one group among many, else). */
export function pickGroup(r: Rand, from: SeedGroup[]): SeedGroup {
  const kinds = from.filter((x) => x.name.startsWith("test/fuzz-seeds/"));
  if (kinds.length > 0 && r() < 0.2) return kinds[Math.floor(r() * kinds.length)]!;
  return from[Math.floor(r() * from.length)]!;
}

/** Case `seed` of `groups`: one group, one to four mutations on one or two of its files. */
export function mutatedCase(groups: SeedGroup[], seed: number): MutatedCase {
  const r = prng(seed);
  // half the cases on the Istio and Ingress seeds, which the many Gateway API conformance cases would outnumber
  const istio = groups.filter((x) => !x.name.startsWith("test/gatewayapi/"));
  const gapi = groups.filter((x) => x.name.startsWith("test/gatewayapi/"));
  const from = istio.length > 0 && (gapi.length === 0 || r() < 0.5) ? istio : gapi;
  const g = pickGroup(r, from);
  const files = g.files.map((f) => ({ ...f }));
  const mutations: string[] = [];
  const touched = 1 + (r() < 0.2 ? 1 : 0);
  for (let t = 0; t < touched; t++) {
    const fi = Math.floor(r() * files.length);
    const f = files[fi]!;
    if (r() < 0.1) {
      const m = mutateText(r, f.text);
      f.text = m.text;
      mutations.push(`${f.path}: ${m.what}`);
      continue;
    }
    const docs = parse(f.text);
    if (docs === null) continue;
    const n = 1 + Math.floor(r() * r() * 4);
    const gentle = r() < 0.5;
    for (let i = 0; i < n; i++) mutations.push(`${f.path}: ${mutateDocs(r, docs, gentle)}`);
    if (r() < 0.1) {
      // JSON holds one object: the documents as a List
      f.path = f.path.replace(/\.ya?ml$/, ".json");
      f.text = JSON.stringify(docs.length === 1 ? docs[0] : { apiVersion: "v1", kind: "List", items: docs });
      mutations.push(`${f.path}: written as JSON`);
    } else {
      f.text = docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
    }
  }
  return { seed, group: g.name, files, mutations };
}

// What must hold for ANY configuration input (test/unit/config-fuzz.test.ts,
// bench/config-fuzz.ts): the pipeline returns findings and never throws; each
// finding names where it is; the snapshot survives postMessage and a delta from
// the last good one; the pure readers of a snapshot (trace, explain, the config
// dump, proxy-config's tables, status) answer; the same input gives the same
// findings; a rejected input leaves the reload caches serving what they served.
import { deserialize, serialize } from "bun:jsc";
import { stringify } from "yaml";
import { render } from "../../src/cli/proxy-config.ts";
import { reviveRegexes } from "../../src/decode/regex.ts";
import type { LoadedInput } from "../../src/load/read.ts";
import { build, formatFinding, newReloadCaches, type ReloadCaches } from "../../src/primary/pipeline.ts";
import { explainSecurity } from "../../src/security/explain.ts";
import { applyDelta, makeDelta } from "../../src/snapshot/delta.ts";
import { snapshotToJSON } from "../../src/snapshot/dump.ts";
import type { Credential, Finding, Snapshot } from "../../src/snapshot/types.ts";
import { trace, type TraceRequest } from "../../src/trace.ts";
import { Codes } from "../../src/model/codes.ts";
import type { CompileOptions } from "../../src/compile/index.ts";
import { decodeMeshConfig } from "../../src/decode/meshconfig.ts";

export const FUZZ_OPTIONS: CompileOptions = { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map(), bindAddress: "0.0.0.0" };

type Files = { path: string; text: string }[];
type Built = ReturnType<typeof build>;

const input = (files: Files): LoadedInput => ({ files, secrets: [], errors: [], warnings: [], roots: [] });
/** No certificate file exists: a Gateway server naming one gets its finding, never a read. */
const noFile = () => null;

/** A case's `--mesh-config` file (test/fuzz-seeds/mesh/*.mesh-config.yaml), and its gateway flags (`*.gateway-flags.yaml`: `locality`). */
export const isMeshConfigFile = (path: string) => /mesh-config\.(ya?ml|json)$/.test(path);
export const isGatewayFlagsFile = (path: string) => /gateway-flags\.(ya?ml|json)$/.test(path);

/** `--locality` as the command line takes it (src/cli/args.ts); anything else is left out, as the gateway would not start. */
const LOCALITY = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?(\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?){0,2}$/;
function flagLocality(text: string): string | null {
  const m = /^locality:\s*"?([^"\n]*?)"?\s*$/m.exec(text);
  return m !== null && LOCALITY.test(m[1]!) ? m[1]! : null;
}

/**
 * `build` as loadAndBuild calls it (`reuse`: with the caches' compile reuse, as
 * serve.ts): a mesh config file is decoded as readMeshConfig does (its Errors
 * refuse the load, the fields it does not read come first in the findings).
 */
export function buildFiles(files: Files, caches?: ReloadCaches, version = 1, lastGood?: Map<string, Credential>, reuse = true): Built {
  const opts: CompileOptions = { ...FUZZ_OPTIONS };
  if (lastGood !== undefined) opts.lastGood = lastGood;
  if (caches !== undefined && reuse) opts.reuse = caches.reuse;
  const meshFile = files.find((f) => isMeshConfigFile(f.path));
  const flags = files.find((f) => isGatewayFlagsFile(f.path));
  const locality = flags === undefined ? null : flagLocality(flags.text);
  if (locality !== null) opts.locality = locality;
  const config = files.filter((f) => f !== meshFile && f !== flags);
  if (meshFile === undefined) return build(input(config), opts, version, noFile, caches);
  const mesh = decodeMeshConfig(meshFile.path, meshFile.text);
  if (mesh.errors.length > 0) return { ok: false, errors: mesh.errors, certFiles: new Map() };
  opts.mesh = mesh.mesh;
  const built = build(input(config), opts, version, noFile, caches);
  if (built.ok && mesh.notRead.length > 0) built.snapshot.findings.unshift(...mesh.notRead);
  return built;
}

/** Findings about the whole configuration: no file, document or field to name (nothing is listened on). */
const WHOLE_CONFIG = new Set<string>([Codes.NoGatewayApplies]);

/**
 * Findings about a document or an object as a whole, which name no field: the
 * text is not YAML/JSON (the message names line and column), the document is
 * no object, the object is defined again, a Service has no endpoint for a port,
 * endpoints name no Service.
 */
const WHOLE_OBJECT = new Set<string>([Codes.ParseError, Codes.NotAnObject, Codes.DuplicateResource, Codes.NoEndpoints, Codes.OrphanEndpoints]);

/** Where a finding must say it is: file, document and field, or the object as a whole for the codes above. */
export function placeProblems(f: Finding): string | null {
  if (f.level === "Info") return null;
  if (WHOLE_CONFIG.has(f.code)) return null;
  if (f.code === Codes.DuplicateResource && f.resource === undefined) return null; // "N more definitions ... not listed"
  if (f.file === undefined || f.file === "") return "names no file";
  if (f.doc === undefined || !Number.isInteger(f.doc) || f.doc < 0) return "names no document";
  // a quoted key (`["...spec"]`) may hold anything; the path around it may not have an empty part
  const bare = f.field?.replace(/\["(?:[^"\\]|\\.)*"\]/g, "[k]");
  if (bare !== undefined && (bare === "" || /^\.|\.\.|\.$|\.\[|\[\]/.test(bare))) return `a field path with an empty part (${JSON.stringify(f.field)})`;
  if (f.field === undefined && !WHOLE_OBJECT.has(f.code)) return "names no field";
  if (f.field === undefined && f.code !== Codes.ParseError && f.code !== Codes.NotAnObject && f.resource === undefined) return "names neither the object nor a field";
  return null;
}

/** Findings without wall-clock or version: what two runs over the same input must both say. */
const findingsText = (fs: Finding[]) => fs.map(formatFinding).join("\n");

/**
 * A snapshot as the config dump shows it, without creation time, version and
 * findings (compared apart). Not the objects themselves: a route program's
 * conditions list keeps, by design, conditions of earlier compiles
 * (src/compile/conditions.ts), so a reload's program may be longer than a
 * fresh load's and match the same; traces compare what they do.
 */
const comparable = (s: Snapshot) => JSON.stringify(snapshotToJSON({ ...s, findings: [], createdAt: "", version: 0 }));

/** A few requests worth tracing on `s`: each listener's port, the hosts its virtual hosts serve, a TLS server name, odd paths. */
function requests(s: Snapshot): TraceRequest[] {
  const out: TraceRequest[] = [{ port: 80, host: "x.example.com", path: "/" }];
  for (const l of s.listeners.slice(0, 4)) {
    const tables = [l.routeTable, ...(l.tls?.chains.map((c) => c.routeTable) ?? [])].filter((t) => t !== null);
    const names = l.tls?.chains.flatMap((c) => c.serverNames).slice(0, 3) ?? [];
    for (const sni of names) out.push({ port: l.port, host: sni.replace(/^\*/, "w"), sni: sni.replace(/^\*/, "w"), path: "/" });
    for (const t of tables.slice(0, 2)) {
      for (const vh of t!.virtualHosts.slice(0, 3)) {
        const host = (vh.domains[0] ?? "x").replace(/^\*/, "w");
        out.push({ port: l.port, host, path: "/get?x=1", headers: { "x-who": "a", cookie: "a=b" } });
        out.push({ port: l.port, host, path: "/a/../%2e/b//c", method: "POST", headers: { "content-type": "application/grpc" } });
      }
    }
    out.push({ port: l.port, host: "[::1]:80", path: "*" });
  }
  return out;
}

const traceAll = (s: Snapshot, reqs: TraceRequest[]) => reqs.map((q) => JSON.stringify(trace(s, q)));

/** The worker's copy of a snapshot: postMessage's own serialization, regexes revived. */
function asWorkerGetsIt(s: Snapshot): Snapshot {
  const copy = deserialize(serialize(s)) as Snapshot;
  reviveRegexes(copy.listeners);
  return copy;
}

/** Checks on one snapshot: what the primary and the admin do with it. */
async function snapshotProblems(s: Snapshot): Promise<string[]> {
  const out: string[] = [];
  const reqs = requests(s);
  const here = traceAll(s, reqs);
  const there = traceAll(asWorkerGetsIt(s), reqs);
  for (let i = 0; i < reqs.length; i++) if (here[i] !== there[i]) out.push(`trace differs after postMessage for ${JSON.stringify(reqs[i])}: ${here[i]} vs ${there[i]}`);
  const dump = snapshotToJSON(s) as Record<string, unknown>;
  JSON.stringify(dump);
  for (const kind of ["listeners", "routes", "clusters", "endpoints", "secrets"]) render(kind, dump);
  stringify({ items: s.gatewayStatus ?? [] });
  for (const q of reqs.slice(0, 3)) {
    await explainSecurity(s.security, { method: q.method ?? "GET", authority: q.host, path: q.path, headers: q.headers ?? {}, scheme: "http", port: q.port, sourceIp: "10.0.0.1", principal: "", sni: q.sni ?? "" }, 1_700_000_000);
  }
  return out;
}

/** What a long-running primary keeps for one seed: the reload caches, the good snapshot, a worker's copy of it. */
export interface SeedState {
  good: Files;
  caches: ReloadCaches;
  /** Decoded files for the fresh loads (no compile reuse): unchanged files are not parsed again. */
  freshDecode: ReloadCaches;
  first: Snapshot;
  firstFindings: string;
  firstDump: string;
  worker: Snapshot;
  requests: TraceRequest[];
  traces: string;
  version: number;
}

/** The state for seed `good` (its files must load). */
export function seedState(good: Files): SeedState {
  const caches = newReloadCaches();
  const first = buildFiles(good, caches, 1);
  if (!first.ok) throw new Error(`the seed does not load: ${first.errors.map(formatFinding).join("; ")}`);
  const reqs = requests(first.snapshot);
  return { good, caches, freshDecode: newReloadCaches(), first: first.snapshot, firstFindings: findingsText(first.snapshot.findings), firstDump: comparable(first.snapshot), requests: reqs, traces: traceAll(first.snapshot, reqs).join(), worker: asWorkerGetsIt(first.snapshot), version: 1 };
}

/** Counts over a run: cases that passed decode and compiled (with or without Errors), cases that loaded. */
export interface FuzzSeen {
  compiled: number;
  loaded: number;
}

/**
 * Every invariant for `files` (a mutated configuration) against `seed` (the
 * configuration it was made from, serving): returns the broken ones
 * (counted in `seen`). A throw
 * from the pipeline is returned as one.
 */
export async function invariantProblems(files: Files, seed: SeedState, seen?: FuzzSeen): Promise<string[]> {
  try {
    return await problems(files, seed, seen);
  } catch (err) {
    return [`threw: ${err instanceof Error ? (err.stack ?? err.message).split("\n").slice(0, 5).join(" | ") : String(err)}`];
  }
}

async function problems(files: Files, seed: SeedState, seen?: FuzzSeen): Promise<string[]> {
  const out: string[] = [];
  const lastGood = seed.first.credentials;
  // a fresh load (as at start-up), then the reload path: good → this → good, through the seed's caches, as serve.ts keeps them;
  // the files that changed are decoded once by each (the same input twice: the same findings)
  const fresh = buildFiles(files, seed.freshDecode, 1, lastGood, false);
  const findings = fresh.ok ? fresh.snapshot.findings : fresh.errors;
  if (seen !== undefined) {
    if (fresh.ok) seen.loaded++;
    if (fresh.ok || fresh.errors.some((e) => !/^GW0[01]/.test(e.code))) seen.compiled++;
  }
  for (const f of findings) {
    const p = placeProblems(f);
    if (p !== null) out.push(`${p}: ${formatFinding(f)}`);
    // one log line each: a value from the file must not end it or forge the next one
    if (/[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/.test(formatFinding(f))) out.push(`a control character in the log line: ${JSON.stringify(formatFinding(f))}`);
  }
  if (!fresh.ok && fresh.errors.length === 0) out.push("refused without an error");
  if (fresh.ok) out.push(...(await snapshotProblems(fresh.snapshot)));
  const reload = buildFiles(files, seed.caches, ++seed.version, lastGood);
  if (reload.ok !== fresh.ok) out.push(`the reload says ok=${reload.ok}, a fresh load ok=${fresh.ok}`);
  else if (findingsText(reload.ok ? reload.snapshot.findings : reload.errors) !== findingsText(findings)) out.push("not idempotent: the reload's findings differ from a fresh load's");
  if (reload.ok && fresh.ok && (comparable(reload.snapshot) !== comparable(fresh.snapshot) || traceAll(reload.snapshot, requests(fresh.snapshot)).join() !== traceAll(fresh.snapshot, requests(fresh.snapshot)).join())) out.push("not idempotent: the reload's snapshot differs from a fresh load's");
  if (reload.ok) {
    const d = makeDelta(seed.first, reload.snapshot);
    if (d !== null) {
      const { snapshot } = applyDelta(seed.worker, structuredClone(d.delta));
      reviveRegexes(snapshot.listeners);
      const reqs = requests(reload.snapshot);
      const want = traceAll(reload.snapshot, reqs);
      const got = traceAll(snapshot, reqs);
      for (let i = 0; i < reqs.length; i++) if (want[i] !== got[i]) out.push(`trace differs after a delta for ${JSON.stringify(reqs[i])}`);
    }
  }
  const back = buildFiles(seed.good, seed.caches, ++seed.version, lastGood);
  if (!back.ok) out.push("the good configuration does not load again after this one");
  else if (comparable(back.snapshot) !== seed.firstDump || traceAll(back.snapshot, seed.requests).join() !== seed.traces || findingsText(back.snapshot.findings) !== seed.firstFindings) {
    out.push("the good configuration compiles otherwise after this one (a cache kept something of it)");
  }
  return out;
}

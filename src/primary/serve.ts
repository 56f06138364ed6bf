// `gateway --config DIR`: load, compile, start workers and the admin listener,
// watch the files and swap snapshots, drain on SIGTERM/SIGINT.
import type { Options } from "../model/options.ts";
import { log, setLogFormat } from "../log.ts";
import type { Finding, Snapshot } from "../snapshot/types.ts";
import { handleAdmin, handleMetrics, handleStatus, isLoopback, type AdminRole, type AdminState } from "../admin/server.ts";
import { AdminThread } from "../admin/thread.ts";
import type { ListenerSpec } from "../admin/thread-messages.ts";
import { renderPrometheus, sumSamples } from "../admin/prometheus.ts";
import { certGauges } from "../admin/certs.ts";
import { watchDirs, watchPrint } from "../load/watch.ts";
import { outOfDescriptors } from "../load/descriptors.ts";
import { join } from "node:path";
import { WorkerPool } from "./workers.ts";
import { ListenerLog, logCredentialChanges } from "./events.ts";
import { diffResources, formatFinding, loadAndBuild, readMeshConfig, newPhases, newReloadCaches, type ReloadCaches, type ResourceKeyed } from "./pipeline.ts";
import { lowerPrimaryPriority } from "./priority.ts";
import { JwksCache } from "../security/jwks-cache.ts";
import { JWKS_RETRY_MS, JwksSchedule, type JwksNext } from "../security/jwks-schedule.ts";
import { DEBUG_HEAP, HeapProbe } from "../debug-heap.ts";
import { HeapTrim } from "./heap-trim.ts";
import { Watchdog } from "./watchdog.ts";

/** How often listeners that failed to bind are tried again. */
const REBIND_MS = 3000;

interface State {
  snapshot: Snapshot;
  resources: ResourceKeyed;
  digest: string;
  /** Certificate files Gateway servers name (polled for rotation). */
  certFiles: Map<string, string | null>;
  reloadsOk: number;
  reloadsFailed: number;
  /** Times the files were read again (a watch event, the poll, SIGHUP). */
  reads: number;
  stopping: boolean;
}

/** Findings logged one line each per load; past these, one line counts the rest (`analyze` lists them all). */
const LOGGED_FINDINGS = 1000;

/** Logs findings, one line each, up to LOGGED_FINDINGS; `seen`: lines already reported (left out). */
function logFindings(findings: Finding[], seen: Set<string> = new Set()): void {
  let logged = 0;
  let more = 0;
  for (const f of findings) {
    const line = formatFinding(f);
    if (seen.has(line)) continue; // reported when it first appeared
    if (logged++ >= LOGGED_FINDINGS) {
      more++;
      continue;
    }
    log(f.level === "Error" ? "error" : f.level === "Warning" ? "warn" : "info", line);
  }
  if (more > 0) log("warn", `${more} more findings not logged (bun run gateway analyze --config DIR lists them all)`);
}

function reportFindings(snapshot: Snapshot, previous: Snapshot | null): void {
  logFindings(snapshot.findings, new Set(previous?.findings.map(formatFinding) ?? []));
}

/** Resources named in a reload's log line: the first LOGGED_NAMES, then how many more. */
const LOGGED_NAMES = 50;

export function nameList(names: string[]): string {
  if (names.length === 0) return "-";
  if (names.length <= LOGGED_NAMES) return names.join(",");
  return `${names.slice(0, LOGGED_NAMES).join(",")} and ${names.length - LOGGED_NAMES} more`;
}

async function metrics(state: State, pool: WorkerPool, o: Options, watchdog: Watchdog): Promise<string> {
  const sum = sumSamples(await pool.stats());
  Object.assign(sum, watchdog.gauges());
  sum["gangway_config_reloads_total{result=\"ok\"}"] = state.reloadsOk;
  sum["gangway_config_reloads_total{result=\"failed\"}"] = state.reloadsFailed;
  sum["gangway_config_version"] = state.snapshot.version;
  sum["gangway_config_reads_total"] = state.reads;
  sum["gangway_worker_restarts_total"] = pool.restarts;
  sum["gangway_workers"] = o.workers;
  sum["gangway_ready"] = !state.stopping && pool.serving() ? 1 : 0;
  Object.assign(sum, certGauges(state.snapshot));
  return renderPrometheus(sum);
}

const HANDLERS = { admin: handleAdmin, status: handleStatus, metrics: handleMetrics } as const;

/**
 * The admin thread with the listeners of --admin, --status-port and --metrics-port;
 * null when all three are off; "failed" when one cannot listen (reported).
 */
async function startAdminThread(o: Options, adminState: AdminState): Promise<AdminThread | null | "failed"> {
  const specs: ListenerSpec[] = [];
  const roles: [AdminRole, { host: string; port: number } | null][] = [
    ["admin", o.admin],
    ["status", o.statusPort],
    ["metrics", o.metricsPort],
  ];
  for (const [role, addr] of roles) if (addr !== null) specs.push({ role, host: addr.host, port: addr.port });
  if (specs.length === 0) return null;
  let started;
  try {
    started = await AdminThread.start(specs, (role, req) => HANDLERS[role](req, adminState), o.livenessTimeoutMs);
  } catch (err) {
    log("error", "cannot start the admin thread", { error: String(err) });
    return "failed";
  }
  for (const [i, l] of started.listeners.entries()) {
    const addr = `${specs[i]!.host}:${"port" in l ? l.port : specs[i]!.port}`;
    if ("error" in l) {
      log("error", `cannot start the ${l.role} listener`, { address: addr, error: l.error });
      started.thread.stop();
      return "failed";
    }
    log("info", `${l.role} listening`, { address: addr });
  }
  if (o.admin !== null && !isLoopback(o.admin.host)) {
    log("warn", "the admin listener is not on loopback: /config_dump, /certs and /stats are reachable from the network; publish --status-port and --metrics-port instead", {
      address: `${o.admin.host}:${o.admin.port}`,
    });
  }
  return started.thread;
}

export async function serve(o: Options): Promise<number> {
  setLogFormat(o.logFormat);
  const t0 = performance.now();
  // the admin, and the two listeners safe to publish (Istio's 15021 and 15090), on a thread of
  // their own and before the first load: probes answer (503 until the first snapshot is applied)
  // while this thread decodes and compiles, which takes seconds for a large configuration
  let state: State | null = null;
  let pool: WorkerPool | null = null;
  // ready only once SIGTERM drains: a signal before its handler is installed ends the process at once
  let signalsHandled = false;
  let watchdog: Watchdog | null = null;
  const adminState = {
    ready: () => signalsHandled && state !== null && !state.stopping && pool !== null && pool.serving(),
    snapshot: () => state?.snapshot ?? null,
    metrics: () => (state !== null && pool !== null && watchdog !== null ? metrics(state, pool, o, watchdog) : Promise.resolve(renderPrometheus({ gangway_ready: 0, gangway_workers: o.workers }))),
  };
  const admin = await startAdminThread(o, adminState);
  if (admin === "failed") return 1;
  const syncReady = (): void => admin?.setReady(adminState.ready());
  // heartbeats (src/admin/heartbeat.ts) from before the first load: a start-up load that never ends is not live
  const dog: Watchdog = (watchdog = new Watchdog(admin, o.livenessTimeoutMs));
  dog.start();

  // decoded files (and compiled parts) kept between reloads: a change re-reads everything but re-decodes only what changed
  const caches: ReloadCaches = newReloadCaches();
  const watched = [...o.configDirs];
  if (o.secretsDir !== null) watched.push(o.secretsDir);
  // the files as they were read: one written before the watch starts (workers, ports, JWKS take a while) is a change too
  const baseFiles = o.meshConfig === null ? [] : [o.meshConfig];
  const baseline = { print: watchPrint(watched, baseFiles), files: baseFiles };
  const first = loadAndBuild(o, 1, undefined, caches);
  if (!first.ok) {
    logFindings(first.errors);
    log("error", "the configuration is unusable; not starting");
    dog.stop();
    admin?.stop();
    return 1;
  }
  const st: State = (state = {
    snapshot: first.snapshot,
    resources: first.resources,
    digest: first.digest,
    certFiles: first.certFiles,
    reloadsOk: 0,
    reloadsFailed: 0,
    reads: 0,
    stopping: false,
  });
  // jwksUri keys are fetched before a snapshot is published (istiod inlines them too)
  const jwks = new JwksCache(undefined, (level, msg, fields) => log(level, msg, fields));
  await jwks.fill(st.snapshot.security);
  reportFindings(st.snapshot, null);
  logCredentialChanges(null, st.snapshot);
  log("info", "configuration loaded", {
    version: st.snapshot.version,
    resources: st.resources.size,
    listeners: st.snapshot.listeners.map((l) => `${l.name}->${l.bindPort}`).join(","),
    took_ms: Math.round(performance.now() - t0),
  });

  const listenerLog = new ListenerLog();
  const workers: WorkerPool = (pool = new WorkerPool(
    o.workers,
    {
      accessLog: o.accessLog,
      logFormat: o.logFormat,
      serverHeader: o.serverHeader,
      requestHeadersTimeoutMs: o.requestHeadersTimeoutMs,
      streamIdleTimeoutMs: o.streamIdleTimeoutMs,
      maxConnectionDurationMs: o.maxConnectionDurationMs,
      drainTimeoutMs: o.drainTimeoutMs,
      // the flag, or the mesh config's gatewayTopology.proxyProtocol (read once: listeners keep it until a restart)
      proxyProtocol: o.proxyProtocol || readMeshConfig(o.meshConfig).mesh.proxyProtocol,
      pathNormalization: o.pathNormalization,
    },
    { onApplied: () => listenerLog.update(workers.listenerStates()[0] ?? [], o.bind), onChange: syncReady },
  ));

  dog.pool = workers;
  await workers.start(st.snapshot);
  syncReady();
  // the workers (threads of this process) keep their priority; reloads in this thread yield to them
  const nice = lowerPrimaryPriority();
  if (nice > 0) log("debug", "primary thread lowered in priority", { nice });
  // logged once /ready answers 200 (the signal handlers are installed below), not before
  const boundAtStart = workers.allBound();

  // a listener that could not bind (its port held by another process) is tried again
  // every few seconds; the workers keep what is bound and bind what is missing
  let rebinding = false;
  const rebind = setInterval(() => {
    if (st.stopping || rebinding || !workers.bindFailed()) return;
    rebinding = true;
    pool
      .publish(st.snapshot)
      .then(() => {
        if (workers.allBound()) log("info", "ready", { version: st.snapshot.version });
      })
      .finally(() => (rebinding = false));
  }, REBIND_MS);

  // keys of jwksUri are fetched again (when: src/security/jwks-schedule.ts); a change is published as a new version
  const jwksNext = new JwksSchedule(o.jwksRefreshMs);
  let jwksTimer: ReturnType<typeof setTimeout> | null = null;
  let refreshing = false;
  const jwksAt = (next: JwksNext): void => {
    if (st.stopping) return;
    if (jwksTimer !== null) clearTimeout(jwksTimer);
    jwksTimer = setTimeout(() => refreshJwks(next.missingOnly), next.ms);
  };
  const refreshJwks = (missingOnly: boolean): void => {
    jwksTimer = null;
    if (st.stopping) return;
    if (refreshing) return jwksAt({ ms: JWKS_RETRY_MS, missingOnly });
    refreshing = true;
    jwks
      .refresh(st.snapshot.security, missingOnly)
      .then(async (changed) => {
        if (!changed || st.stopping) return;
        st.snapshot = jwks.withKeys(st.snapshot, st.snapshot.version + 1);
        await workers.publish(st.snapshot);
        log("info", "JWKS changed; configuration republished", { version: st.snapshot.version });
      })
      .finally(() => {
        refreshing = false;
        const sec = st.snapshot.security;
        jwksAt(jwksNext.next(jwks.missing(sec), jwks.failing(sec)));
      });
  };
  // a URI the start-up load could not fetch is tried again soon, else at the refresh interval
  jwksAt(jwks.missing(st.snapshot.security) ? jwksNext.missing() : { ms: o.jwksRefreshMs, missingOnly: false });

  const probe = DEBUG_HEAP === "" ? null : new HeapProbe();
  const trim = new HeapTrim();
  /** false: the load failed for want of descriptors (EMFILE, ENFILE), to be tried again (watchDirs). */
  const reload = async (why: string): Promise<boolean> => {
    if (st.stopping) return true;
    const t = performance.now();
    st.reads++;
    let next;
    const phases = newPhases();
    log("debug", "reading the configuration", { why });
    try {
      next = loadAndBuild(o, st.snapshot.version + 1, st.snapshot.credentials, caches, phases);
      log("debug", "configuration read and compiled", { ok: next.ok, took_ms: Math.round(performance.now() - t) });
    } catch (err) {
      st.reloadsFailed++;
      log("error", "reload failed; the last good configuration keeps serving", { error: String(err) });
      return !outOfDescriptors(err);
    }
    // out of descriptors: files could not be read; tried again until they can (reported once)
    const retry = !next.ok && next.errors.some((e) => outOfDescriptors(e.message));
    if (next.digest === st.digest) return !retry; // nothing changed on disk
    if (!next.ok) {
      st.digest = next.digest; // report a broken state once, not on every poll
      st.reloadsFailed++;
      logFindings(next.errors);
      log("error", "configuration rejected; the last good configuration keeps serving", { version: st.snapshot.version });
      return !retry;
    }
    st.digest = next.digest;
    st.certFiles = next.certFiles;
    if (next.snapshot.hash === st.snapshot.hash) {
      // load warnings (a dangling link, an emptied folder, a file flat in --secrets-dir) change findings, not the compiled configuration
      reportFindings(next.snapshot, st.snapshot);
      st.snapshot.findings = next.snapshot.findings;
      if (why === "SIGHUP") log("info", "reload requested: no change", { version: st.snapshot.version });
      else log("debug", "files changed but the compiled configuration did not");
      return true;
    }
    await jwks.fill(next.snapshot.security);
    if (st.stopping) return true;
    if (jwks.missing(next.snapshot.security)) jwksAt(jwksNext.missing()); // a provider this load added could not be fetched: retried soon
    const td = performance.now();
    const diff = diffResources(st.resources, next.resources);
    const diffMs = performance.now() - td;
    const previous = st.snapshot;
    st.snapshot = next.snapshot;
    st.resources = next.resources;
    reportFindings(next.snapshot, previous);
    logCredentialChanges(previous, next.snapshot);
    const sent = await workers.publish(next.snapshot);
    st.reloadsOk++;
    const ms = (n: number) => Math.round(n * 10) / 10;
    const most = (k: "receiveMs" | "applyMs") => ms(Math.max(0, ...sent.workers.map((w) => w[k])));
    log("info", "configuration reloaded", {
      why,
      version: next.snapshot.version,
      added: nameList(diff.added),
      removed: nameList(diff.removed),
      changed: nameList(diff.changed),
      took_ms: Math.round(performance.now() - t),
      // where the time went (read → every worker applied); worker_* are the slowest worker's
      read_ms: ms(phases.read),
      decode_ms: ms(phases.decode), // YAML parse + schema validation + decode, one pass per document
      compile_ms: ms(phases.compile),
      diff_ms: ms(diffMs + sent.diffMs),
      send_ms: ms(sent.sendMs),
      worker_receive_ms: most("receiveMs"),
      worker_apply_ms: most("applyMs"),
      files_decoded: phases.filesDecoded,
      files_cached: phases.filesCached,
      routes_reused: caches.reuse.stats.reused,
      routes_built: caches.reuse.stats.built,
      workers_delta: sent.deltas,
      workers_full: sent.fulls,
      vhosts_sent: sent.vhostsSent,
    });
    const gcMs = trim.afterReload();
    if (gcMs > 0) log("debug", "primary heap collected after reload", { version: next.snapshot.version, gc_ms: Math.round(gcMs) });
    if (probe !== null) log("info", `primary ${probe.line(next.snapshot.version, next.snapshot, "snapshots")}`);
    return true;
  };


  const watcher = watchDirs(watched, () => reload("files changed"), {
    baseline,
    // the mesh config (--mesh-config) is polled like the certificate files
    files: () => (o.meshConfig === null ? [...st.certFiles.keys()] : [...st.certFiles.keys(), o.meshConfig]),
    onIgnored: (parent, name) => log("debug", "watch: not a configuration change", { path: join(parent, name ?? "") }),
  });

  return await new Promise<number>((resolve) => {
    const stop = async (signal: string): Promise<void> => {
      if (st.stopping) return;
      st.stopping = true;
      syncReady(); // /ready answers 503 from now on
      log("info", "draining", { signal, drain_seconds: o.drainSeconds });
      watcher.close();
      clearInterval(rebind);
      if (jwksTimer !== null) clearTimeout(jwksTimer);
      await workers.drain(o.drainSeconds * 1000);
      workers.terminate();
      dog.stop();
      admin?.stop();
      log("info", "stopped");
      resolve(0);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGHUP", () => {
      st.digest = ""; // force: a rejected configuration is reported again
      void reload("SIGHUP");
    });
    signalsHandled = true;
    syncReady();
    if (boundAtStart) log("info", "ready", { version: st.snapshot.version });
  });
}

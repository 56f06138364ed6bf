// Data-plane worker entry (a Bun worker thread started by the primary).
// Messages in: init, snapshot, snapshot-delta, stats, drain (src/snapshot/messages.ts).
// Messages out: applied (with receive/apply timing), resync, stats, drained, log.
// Never throws on bad input.
import type { ToWorker } from "../src/snapshot/messages.ts";
import type { RouteTable, Snapshot } from "../src/snapshot/types.ts";
import { applyDelta, type SnapshotDelta } from "../src/snapshot/delta.ts";
import { deserialize } from "bun:jsc";
import { reviveConditions, reviveRegexes } from "../src/decode/regex.ts";
import { accessLog } from "./access-log.ts";
import { coarseNow, options, reportError, send, setPost, startClock, workerLog } from "./context.ts";
import { applyClusters, sweepUpstreams, upstreamGauges } from "./http/clusters.ts";
import { abortAll, applyListeners, connectionCount, stopAll, sweepDownstreams } from "./listeners.ts";
import { stats } from "./stats.ts";
import { tracer } from "./tracing.ts";
import { relayStop } from "./tcp/native-relay.ts";
import { sweepInterval } from "./http/timeouts.ts";
import { DEBUG_HEAP, HeapProbe } from "../src/debug-heap.ts";
import { Beater, BEAT_MS } from "../src/admin/heartbeat.ts";
import { spin, takeFault } from "../src/test-fault.ts";

declare const self: Worker;

/** An idle pooled upstream connection is closed after this long (Envoy's default is 1 h; upstreams often close sooner). */
export const UPSTREAM_IDLE_MS = 60_000;

let draining = false;
let sweepTimer: ReturnType<typeof setInterval> | null = null;
let beatTimer: ReturnType<typeof setInterval> | null = null;

/** Beats while this thread's event loop turns: the primary restarts a worker that stops (src/admin/heartbeat.ts). */
function startBeating(beater: Beater): void {
  if (beatTimer !== null) clearInterval(beatTimer);
  beater.beat();
  beatTimer = setInterval(() => {
    beater.beat();
    if (takeFault("worker") !== null) spin(Infinity); // tests only (src/test-fault.ts)
  }, BEAT_MS);
}

setPost((msg) => self.postMessage(msg));
stats.gauges = upstreamGauges;

function sweep(): void {
  try {
    sweepDownstreams(coarseNow);
    sweepUpstreams(coarseNow - UPSTREAM_IDLE_MS, coarseNow);
  } catch (err) {
    reportError("sweep", err);
  }
}

/** The snapshot this worker serves (the base a delta applies to). */
let current: Snapshot | null = null;

const wallNow = (): number => performance.timeOrigin + performance.now();

/** Debug only: GANGWAY_DEBUG_HEAP (src/debug-heap.ts). */
const probe = DEBUG_HEAP === "" ? null : new HeapProbe();

function applySnapshot(s: Snapshot, sentAt: number | undefined): void {
  if (draining) return;
  const t = wallNow();
  reviveRegexes(s.listeners); // compiled regexes lose their engine in postMessage
  accessLog.apply(s.accessLog);
  tracer.beforeClusters(s);
  const gen = applyClusters(s);
  tracer.apply(s);
  const listeners = applyListeners(gen);
  current = s;
  const timing = { receiveMs: sentAt === undefined ? 0 : Math.max(0, t - sentAt), applyMs: wallNow() - t, delta: false };
  send({ type: "applied", workerId: options.workerId, version: s.version, listeners, timing });
  if (probe !== null) workerLog("info", probe.line(s.version, gen, "generations"));
}

function applySnapshotDelta(d: SnapshotDelta, sentAt: number | undefined): void {
  if (draining) return;
  const t = wallNow();
  if (current === null || current.version !== d.base) {
    send({ type: "resync", workerId: options.workerId, version: current?.version ?? 0, reason: `at version ${current?.version ?? 0}, delta from ${d.base}` });
    return;
  }
  let s: Snapshot;
  try {
    const r = applyDelta(current, d);
    s = r.snapshot;
    // only the virtual hosts and program conditions that came with the delta have dead regexes
    reviveRegexes([{ routeTable: { name: "", virtualHosts: r.fresh, exactHosts: new Map(), wildcardHosts: [], catchAll: -1 } as RouteTable, tls: null }]);
    reviveConditions(r.freshConditions);
  } catch (err) {
    reportError("snapshot-delta", err);
    send({ type: "resync", workerId: options.workerId, version: current.version, reason: String(err) });
    return;
  }
  accessLog.apply(s.accessLog);
  tracer.beforeClusters(s);
  const gen = applyClusters(s);
  tracer.apply(s);
  const listeners = applyListeners(gen);
  current = s;
  const timing = { receiveMs: sentAt === undefined ? 0 : Math.max(0, t - sentAt), applyMs: wallNow() - t, delta: true };
  send({ type: "applied", workerId: options.workerId, version: s.version, listeners, timing });
  if (probe !== null) workerLog("info", probe.line(s.version, gen, "generations"));
}

function drain(graceMs: number): void {
  if (draining) return;
  draining = true;
  stopAll();
  const deadline = Date.now() + Math.max(0, graceMs);
  const check = (): void => {
    try {
      sweepDownstreams(Date.now());
      if (connectionCount() > 0 && Date.now() < deadline) {
        setTimeout(check, 50);
        return;
      }
      abortAll();
      relayStop(); // the native relay's thread calls back no more: the worker goes away
      sweepUpstreams(Infinity);
      accessLog.flush();
      tracer.flush();
      if (sweepTimer !== null) clearInterval(sweepTimer);
      if (beatTimer !== null) clearInterval(beatTimer);
    } catch (err) {
      reportError("drain", err);
    }
    send({ type: "drained", workerId: options.workerId });
  };
  check();
}

function handle(msg: ToWorker): void {
  switch (msg.type) {
    case "init":
      Object.assign(options, msg.options);
      accessLog.configure(options.accessLog, options.logFormat);
      startClock();
      if (sweepTimer !== null) clearInterval(sweepTimer);
      sweepTimer = setInterval(sweep, sweepInterval());
      if (msg.beat !== undefined) startBeating(new Beater(new Int32Array(msg.beat.cells), msg.beat.beatCell, msg.beat.gapCell));
      return;
    case "snapshot":
      applySnapshot(msg.snapshot, msg.sentAt);
      return;
    case "snapshot-bytes":
      if (draining) return;
      applySnapshot(deserialize(msg.bytes) as Snapshot, msg.sentAt);
      return;
    case "snapshot-delta":
      applySnapshotDelta(msg.delta, msg.sentAt);
      return;
    case "stats":
      send({ type: "stats", id: msg.id, workerId: options.workerId, counters: stats.sample() });
      return;
    case "drain":
      drain(msg.graceMs);
      return;
    default:
      workerLog("warn", `unknown message ${JSON.stringify((msg as { type?: unknown }).type)}`);
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  try {
    handle(e.data);
  } catch (err) {
    reportError(`message ${e.data?.type}`, err);
    if (e.data?.type === "snapshot" || e.data?.type === "snapshot-bytes") {
      const version = e.data.type === "snapshot" ? e.data.snapshot?.version : e.data.version;
      send({ type: "applied", workerId: options.workerId, version: version ?? 0, listeners: [] });
    } else if (e.data?.type === "snapshot-delta") {
      // applying it failed half-way: the full snapshot puts every part back in step
      send({ type: "resync", workerId: options.workerId, version: -1, reason: `apply failed: ${String(err)}` });
    }
  }
};

process.on("uncaughtException", (err) => reportError("uncaught", err));
process.on("unhandledRejection", (err) => reportError("unhandled rejection", err));

// Data-plane worker entry (a Bun worker thread started by the primary).
// Messages in: init, snapshot, stats, drain (src/snapshot/messages.ts).
// Messages out: applied, stats, drained, log. Never throws on bad input.
import type { ToWorker } from "../src/snapshot/messages.ts";
import type { Snapshot } from "../src/snapshot/types.ts";
import { reviveRegexes } from "../src/decode/regex.ts";
import { accessLog } from "./access-log.ts";
import { coarseNow, options, reportError, send, setPost, startClock, workerLog } from "./context.ts";
import { applyClusters, sweepUpstreams, upstreamGauges } from "./http/clusters.ts";
import { abortAll, applyListeners, connectionCount, stopAll, sweepDownstreams } from "./listeners.ts";
import { stats } from "./stats.ts";
import { sweepInterval } from "./http/timeouts.ts";

declare const self: Worker;

/** An idle pooled upstream connection is closed after this long (Envoy's default is 1 h; upstreams often close sooner). */
export const UPSTREAM_IDLE_MS = 60_000;

let draining = false;
let sweepTimer: ReturnType<typeof setInterval> | null = null;

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

function applySnapshot(s: Snapshot): void {
  if (draining) return;
  reviveRegexes(s.listeners); // compiled regexes lose their engine in postMessage
  const listeners = applyListeners(applyClusters(s));
  send({ type: "applied", workerId: options.workerId, version: s.version, listeners });
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
      sweepUpstreams(Infinity);
      accessLog.flush();
      if (sweepTimer !== null) clearInterval(sweepTimer);
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
      return;
    case "snapshot":
      applySnapshot(msg.snapshot);
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
    if (e.data?.type === "snapshot") {
      const s = e.data.snapshot;
      send({ type: "applied", workerId: options.workerId, version: s?.version ?? 0, listeners: [] });
    }
  }
};

process.on("uncaughtException", (err) => reportError("uncaught", err));
process.on("unhandledRejection", (err) => reportError("unhandled rejection", err));

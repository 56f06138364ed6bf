// Worker-wide state every connection reads: options from `init`, a coarse
// clock, the cached `date` header value, and the way back to the primary.
import type { FromWorker, WorkerOptions } from "../src/snapshot/messages.ts";

/** Defaults of the edge limits (README "Timeouts and limits"; the CLI has the same). */
export const EDGE_DEFAULTS = {
  /** nginx's client_header_timeout; Envoy's request_headers_timeout is off by default. */
  requestHeadersTimeoutMs: 60_000,
  /** Envoy's stream_idle_timeout default. */
  streamIdleTimeoutMs: 300_000,
  /** Off, as Envoy's max_connection_duration. */
  maxConnectionDurationMs: 0,
  /** Envoy's drain_timeout default. */
  drainTimeoutMs: 5_000,
  proxyProtocol: false,
} as const;

export const options: Required<WorkerOptions> = {
  workerId: 0,
  accessLog: "off",
  logFormat: "text",
  serverHeader: "istio-envoy",
  pathNormalization: "BASE",
  ...EDGE_DEFAULTS,
};

/** Milliseconds since the epoch, refreshed every 250 ms (idle bookkeeping, not durations). */
export let coarseNow = Date.now();
/** RFC 9110 IMF-fixdate, refreshed every second. */
export let httpDate = new Date(coarseNow).toUTCString();

let clockTimer: ReturnType<typeof setInterval> | null = null;

/** Start the clock (idempotent); it keeps the worker alive only while something else does. */
export function startClock(): void {
  if (clockTimer !== null) return;
  let lastSecond = Math.floor(coarseNow / 1000);
  clockTimer = setInterval(() => {
    coarseNow = Date.now();
    const s = Math.floor(coarseNow / 1000);
    if (s !== lastSecond) {
      lastSecond = s;
      httpDate = new Date(coarseNow).toUTCString();
    }
  }, 250);
  clockTimer.unref?.();
}

type Post = (msg: FromWorker) => void;
let post: Post = () => {};

export function setPost(p: Post): void {
  post = p;
}

export function send(msg: FromWorker): void {
  try {
    post(msg);
  } catch {
    // the primary is gone; nothing to tell
  }
}

/** A log line for the primary to print (never throws). */
export function workerLog(level: "info" | "warn" | "error", message: string): void {
  send({ type: "log", level, message: `worker ${options.workerId}: ${message}` });
}

/** Report an unexpected exception from a handler; the worker keeps serving. */
export function reportError(where: string, err: unknown): void {
  const e = err as Error;
  workerLog("error", `${where}: ${e?.stack ?? String(err)}`);
}

// Open an upstream TCP connection under a connect timeout: one copy for the
// HTTP pool's connections and TCP sessions. Failures (refused, unreachable,
// the timer) arrive as onConnectError(errno, code) with a reply-table code.
// The timeouts are DeadlineQueues (deadline-queue.ts), one per timeout length
// (a cluster's connectTimeout: a few lengths per worker), not a setTimeout per
// connection.
import type { SocketHandler } from "bun";
import { errCode } from "../src/dispatch/replies.ts";
import { reportError } from "./context.ts";
import { DeadlineQueue, NO_TICKET } from "./deadline-queue.ts";

export interface Connecting {
  /** The running connect timeout: its queue (null: none) and ticket there. Stop it with connectDone(). */
  connectQueue: DeadlineQueue<Connecting> | null;
  connectTicket: number;
  /** The connection did not open: `errno` (ECONNREFUSED…, or "connection timeout") and its reply code. */
  onConnectError(errno: string, code: "connect_failure" | "connect_timeout"): void;
}

function ignore(): void {}

function onConnectTimeout(who: Connecting): void {
  who.connectQueue = null;
  who.connectTicket = NO_TICKET;
  who.onConnectError("connection timeout", "connect_timeout");
}

function onTimeoutError(err: unknown): void {
  reportError("connect timeout", err);
}

/** The deadline queue of each connect timeout length (ms) used so far. */
const queues = new Map<number, DeadlineQueue<Connecting>>();
/** The last one asked for (connections mostly repeat the one before's length). */
let lastMs = -1;
let lastQueue: DeadlineQueue<Connecting> | null = null;

function queueOf(ms: number): DeadlineQueue<Connecting> {
  if (ms === lastMs) return lastQueue!;
  let q = queues.get(ms);
  if (q === undefined) queues.set(ms, (q = new DeadlineQueue<Connecting>(ms, onConnectTimeout, onTimeoutError)));
  lastMs = ms;
  lastQueue = q;
  return q;
}

/**
 * A connectError handler's report for `who`, a microtask later: Bun calls the
 * handler synchronously inside Bun.connect when socket() itself fails (EMFILE
 * when the worker is out of file descriptors, reported as ECONNREFUSED), before
 * the caller holds the connection it was making; a caller that has not
 * stored it yet would ignore the failure and wait for ever.
 */
export function connectFailed(who: Connecting, err: Error): void {
  const errno = errCode(err);
  queueMicrotask(() => who.onConnectError(errno, "connect_failure"));
}

/** Stop `who`'s connect timeout (it opened, failed or was given up); nothing when none runs. */
export function connectDone(who: Connecting): void {
  const q = who.connectQueue;
  if (q === null) return;
  q.cancel(who.connectTicket);
  who.connectQueue = null;
  who.connectTicket = NO_TICKET;
}

/** Bun.connect to hostname:port with `who` as the socket's data; `timeoutMs` 0: no timeout. The caller calls connectDone on open. */
export function connectWithTimeout<T extends Connecting>(
  who: T,
  hostname: string,
  port: number,
  timeoutMs: number,
  socket: SocketHandler<T>,
  allowHalfOpen = false,
  /** TLS to the upstream (DestinationRule tls): Bun.connect's `tls` options; the timer then also covers the handshake. */
  tls: object | null = null,
): void {
  if (timeoutMs > 0) {
    const q = queueOf(timeoutMs);
    who.connectQueue = q;
    who.connectTicket = q.add(who);
  }
  try {
    // failures arrive in the connectError handler; the promise's rejection is not needed
    const o = { hostname, port, allowHalfOpen, socket, data: who };
    (tls === null ? Bun.connect<T>(o) : Bun.connect<T>({ ...o, tls })).catch(ignore);
  } catch (err) {
    queueMicrotask(() => who.onConnectError(errCode(err), "connect_failure"));
  }
}

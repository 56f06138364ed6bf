// Open an upstream TCP connection under a connect timeout: one copy for the
// HTTP pool's connections and TCP sessions. Failures (refused, unreachable,
// the timer) arrive as onConnectError(errno, code) with a reply-table code.
// The timeouts are DeadlineQueues (deadline-queue.ts), one per timeout length
// (a cluster's connectTimeout: a few lengths per worker), not a setTimeout per
// connection.
import type { Socket, SocketHandler } from "bun";
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

function noop(): void {}

/** Write the PROXY header as the connection's first bytes; false (the caller hears connectError, the socket is closed) when the kernel did not take it whole. */
function writeHeader<T>(s: Socket<T>, header: Buffer, socket: SocketHandler<T>): boolean {
  if (s.write(header) === header.length) return true;
  socket.connectError?.(s, new Error("proxy_protocol_header_not_written"));
  s.terminate();
  return false;
}

/**
 * Bun.connect with `data` and handlers `socket`; `tls`: Bun's tls options;
 * `proxyHeader` (DestinationRule proxyProtocol): these bytes go first on the
 * TCP connection, then (with `tls`) the TLS handshake, on the connection
 * upgraded to TLS once the header is written (as Envoy's proxy_protocol
 * transport socket wraps the TLS one). Failures come to the handlers'
 * connectError; the returned promise's rejection is not needed.
 */
export function bunConnect<T>(
  o: { hostname: string; port: number; allowHalfOpen?: boolean; data: T; socket: SocketHandler<T> },
  tls: object | null,
  proxyHeader: Buffer | null,
): Promise<unknown> {
  if (proxyHeader === null) return tls === null ? Bun.connect<T>(o) : Bun.connect<T>({ ...o, tls });
  const socket = o.socket;
  if (tls === null) {
    const first: SocketHandler<T> = {
      ...socket,
      open(s: Socket<T>): void {
        if (writeHeader(s, proxyHeader, socket)) void socket.open?.(s);
      },
    };
    return Bun.connect<T>({ ...o, socket: first });
  }
  // the plain connection carries the header, then only the TLS records: its own events are the TLS socket's business
  const raw: SocketHandler<T> = {
    open(s: Socket<T>): void {
      if (!writeHeader(s, proxyHeader, socket)) return;
      try {
        s.upgradeTLS<T>({ data: o.data, tls, socket });
      } catch (err) {
        socket.connectError?.(s, err as Error);
        s.terminate();
      }
    },
    connectError(s: Socket<T>, err: Error): void {
      void socket.connectError?.(s, err);
    },
    data: noop,
    drain: noop,
    end: noop,
    close: noop,
    error: noop,
  };
  return Bun.connect<T>({ ...o, socket: raw });
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
  /** A PROXY protocol header to send first (DestinationRule proxyProtocol), before any TLS. */
  proxyHeader: Buffer | null = null,
): void {
  if (timeoutMs > 0) {
    const q = queueOf(timeoutMs);
    who.connectQueue = q;
    who.connectTicket = q.add(who);
  }
  try {
    // failures arrive in the connectError handler; the promise's rejection is not needed
    bunConnect<T>({ hostname, port, allowHalfOpen, socket, data: who }, tls, proxyHeader).catch(ignore);
  } catch (err) {
    queueMicrotask(() => who.onConnectError(errCode(err), "connect_failure"));
  }
}

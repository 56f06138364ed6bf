// Open an upstream TCP connection under a connect timeout: one copy for the
// HTTP pool's connections and TCP sessions. Failures (refused, unreachable,
// the timer) arrive as onConnectError(errno, code) with a reply-table code.
import type { SocketHandler } from "bun";
import { errCode } from "../src/dispatch/replies.ts";
import { reportError } from "./context.ts";

export interface Connecting {
  connectTimer: ReturnType<typeof setTimeout> | null;
  /** The connection did not open: `errno` (ECONNREFUSED…, or "connection timeout") and its reply code. */
  onConnectError(errno: string, code: "connect_failure" | "connect_timeout"): void;
}

function ignore(): void {}

function onConnectTimeout(who: Connecting): void {
  who.connectTimer = null;
  try {
    who.onConnectError("connection timeout", "connect_timeout");
  } catch (err) {
    reportError("connect timeout", err);
  }
}

/** Bun.connect to hostname:port with `who` as the socket's data; `timeoutMs` 0: no timeout. The caller clears connectTimer on open. */
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
  if (timeoutMs > 0) who.connectTimer = setTimeout(onConnectTimeout, timeoutMs, who);
  try {
    // failures arrive in the connectError handler; the promise's rejection is not needed
    const o = { hostname, port, allowHalfOpen, socket, data: who };
    (tls === null ? Bun.connect<T>(o) : Bun.connect<T>({ ...o, tls })).catch(ignore);
  } catch (err) {
    queueMicrotask(() => who.onConnectError(errCode(err), "connect_failure"));
  }
}

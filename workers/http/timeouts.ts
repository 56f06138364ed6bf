// The edge timeouts of HTTP client connections (Envoy's HTTP connection
// manager: request_headers_timeout, stream_idle_timeout,
// max_connection_duration, drain_timeout), checked by the worker's sweep on
// the coarse clock: no timer per request or per connection.
import { REPLIES } from "../../src/dispatch/replies.ts";
import { options } from "../context.ts";
import { PROXY_HEADER_TIMEOUT_MS } from "../proxy-protocol.ts";
import type { Downstream } from "./downstream.ts";

/** How often the sweep runs: a quarter of the shortest timeout set, within [50 ms, 1 s]. */
export function sweepInterval(): number {
  let min = 4000;
  for (const ms of [options.requestHeadersTimeoutMs, options.streamIdleTimeoutMs, options.maxConnectionDurationMs, options.drainTimeoutMs]) {
    if (ms > 0 && ms < min) min = ms;
  }
  return Math.max(50, Math.min(1000, Math.floor(min / 4)));
}

/** Apply the timeouts to one client connection (HTTP/1.1, or HTTP/2 with its streams) at coarse time `now`. */
export function checkTimeouts(d: Downstream, now: number): void {
  if (d.closed) return;
  if (d.proxy !== null) {
    if (now - d.born >= PROXY_HEADER_TIMEOUT_MS) d.abort(); // no PROXY header in time
    return;
  }
  const maxDuration = options.maxConnectionDurationMs;
  if (maxDuration > 0 && d.drainStart === 0 && now - d.born >= maxDuration) d.requestDrain(now);
  if (d.drainStart !== 0 && options.drainTimeoutMs > 0 && now - d.drainStart >= options.drainTimeoutMs && !d.ending) {
    // the drain timeout passed with work still running: reset it
    if (d.ex !== null) d.ex.reset(REPLIES.max_connection_duration);
    else d.abort();
    return;
  }
  const streams = d.streams;
  if (streams !== null) {
    for (const s of streams) streamIdle(s, now);
    return;
  }
  const headMs = options.requestHeadersTimeoutMs;
  if (headMs > 0 && d.partialHead && now - d.headStart >= headMs) return d.headTimeout();
  streamIdle(d, now);
}

/** What the stream idle timeout reads of a connection (a Downstream) or an HTTP/2 stream (H2Stream). */
interface IdleCheck {
  readonly lastActive: number;
  readonly ex: { readonly tunnel: boolean; streamIdle(): void } | null;
  readonly congested: boolean;
  readonly ending: boolean;
  abort(): void;
}

function streamIdle(d: IdleCheck, now: number): void {
  const idleMs = options.streamIdleTimeoutMs;
  if (idleMs <= 0 || now - d.lastActive < idleMs) return;
  const ex = d.ex;
  if (ex !== null) {
    if (!ex.tunnel) ex.streamIdle();
  } else if (d.congested && !d.ending) {
    d.abort(); // the last response never left: a client that does not read
  }
}

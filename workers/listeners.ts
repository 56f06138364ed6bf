// Traffic listeners of this worker: one Bun.listen (reusePort) per bound
// address:port. A snapshot updates the route table of ports that stay (no
// rebind), binds new ports, and stops ports that left; their open connections
// finish their current exchange and close.
import type { TCPSocketListener, TCPSocketListenOptions } from "bun";
import type { ListenerStatus } from "../src/snapshot/messages.ts";
import type { Listener } from "../src/snapshot/types.ts";
import { isHTTPProtocol } from "../src/snapshot/protocols.ts";
import { coarseNow, workerLog } from "./context.ts";
import { buildContexts } from "./tls/contexts.ts";
import { setContexts, tlsHandlers } from "./tls/listener.ts";
import type { Generation } from "./http/clusters.ts";
import { Downstream, httpHandlers } from "./http/downstream.ts";
import { PortState, type PortConnection } from "./port-state.ts";
import { checkTimeouts } from "./http/timeouts.ts";
import { isPassthrough, tcpHandlers } from "./tcp/handoff.ts";
import { relayWarm } from "./tcp/native-relay.ts";
import { sessions } from "./tcp/session.ts";
import { foreignListeners, socketOwner } from "./port-holders.ts";

/** Who holds a socket, by inode (the /proc scan runs once per holder, not on every retry). */
const owners = new Map<number, string>();

/** "pid 123 (node server.js)" of another process listening where we would bind, or null. */
function heldByOthers(address: string, port: number): string | null {
  const others = foreignListeners(address, port);
  if (others.length === 0) return null;
  const s = others[0]!;
  let who = owners.get(s.inode);
  if (who === undefined) {
    who = `${socketOwner(s.inode) ?? `uid ${s.uid}`}, listening on ${s.address.includes(":") ? `[${s.address}]` : s.address}:${s.port}`;
    if (owners.size > 64) owners.clear();
    owners.set(s.inode, who);
  }
  return who;
}

/** A client connection with nothing in flight is closed after this long (Envoy's default is 1 h). */
export const DOWNSTREAM_IDLE_MS = 300_000;
/** A connection we ended is closed outright if the client has not closed it after this long. */
export const CLOSING_MS = 10_000;
/** An upgraded (WebSocket) connection silent in both directions this long is closed. */
export const TUNNEL_IDLE_MS = 3_600_000;

export { PortState };

/** Bound ports by `address:port`. */
const ports = new Map<string, PortState>();
/** Every port with connections, including stopped ones still finishing work. */
const all = new Set<PortState>();

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code) return e.message?.includes(e.code) ? e.message : `${e.code}: ${e.message}`;
  return String(e?.message ?? err);
}

/** Bind, update and stop listeners for `snapshot`; the status of each of its listeners. */
export function applyListeners(gen: Generation): ListenerStatus[] {
  const snapshot = gen.snapshot;
  const statuses: ListenerStatus[] = [];
  const seen = new Set<string>();
  const contextErrors: string[] = [];
  setContexts(buildContexts(snapshot, contextErrors));
  for (const e of contextErrors) workerLog("error", `TLS context not built: ${e}`);
  for (const l of snapshot.listeners) {
    const st: ListenerStatus = { name: l.name, port: l.port, bindPort: l.bindPort, error: "" };
    statuses.push(st);
    const kind = l.tls !== null ? "tls" : l.tcpRoutes !== null ? "tcp" : "http";
    if (kind === "http" && !isHTTPProtocol(l.protocol)) {
      st.error = `protocol ${l.protocol} not served yet`;
      continue;
    }
    if (kind === "http" && l.routeTable === null) {
      st.error = "listener has no route table";
      continue;
    }
    const key = `${l.bindAddress}:${l.bindPort}`;
    if (seen.has(key)) {
      st.error = `${key} is already bound by another listener of this snapshot`;
      continue;
    }
    seen.add(key);
    // half-close passes through spliced connections; TLS terminated here ends both ways on the
    // client's close_notify anyway (Bun's TLSSocket does, even with allowHalfOpen)
    const halfOpen = kind === "tcp" || (kind === "tls" && l.tls!.chains.some(isPassthrough));
    const existing = ports.get(key);
    if (existing !== undefined && existing.kind === kind && existing.halfOpen === halfOpen) {
      existing.listener = l;
      existing.gen = gen;
      continue;
    }
    // (a port this worker already listens on is ours: its rebind to another kind is not checked)
    const held = existing === undefined ? heldByOthers(l.bindAddress, l.bindPort) : null;
    if (held !== null) {
      // SO_REUSEPORT would let us bind beside it and split its traffic silently
      st.error = `${key} is in use by another process (${held}): not bound`;
      st.bindFailed = true;
      continue;
    }
    const ps = new PortState(key, l, gen, kind, halfOpen);
    try {
      // reusePort works for Bun.listen (BUN-NOTES) though bun-types lists it only for Bun.serve;
      // a port changing between HTTP and TLS binds the new listener before the old one stops
      if (kind !== "http") relayWarm(); // TCP sessions may start here: the native relay compiled now, not mid-traffic
      const socket = kind === "tls" ? tlsHandlers(ps) : kind === "tcp" ? tcpHandlers(ps) : httpHandlers(ps);
      // ports that splice pass a client's FIN on alone (half-close) and handle `end` themselves;
      // only they pay for it (measured: ~15 % more CPU per TLS handshake on a half-open listener)
      const opts = { hostname: l.bindAddress, port: l.bindPort, reusePort: true, allowHalfOpen: halfOpen, socket };
      ps.server = Bun.listen<Downstream>(opts as unknown as TCPSocketListenOptions<Downstream>);
      if (existing !== undefined) existing.stop();
      ports.set(key, ps);
      all.add(ps);
    } catch (err) {
      st.error = describe(err);
      st.bindFailed = true;
    }
  }
  for (const [key, ps] of ports) {
    if (seen.has(key)) continue;
    ports.delete(key);
    ps.stop();
  }
  return statuses;
}

/** Stop every listener (drain). */
export function stopAll(): void {
  for (const ps of ports.values()) ps.stop();
  ports.clear();
}

/** Open client connections across all ports. */
export function connectionCount(): number {
  let n = 0;
  for (const ps of all) n += ps.conns.size;
  return n + sessions.size;
}

/** The open client connections of every port (tests, benchmarks). */
export function openConnections(): PortConnection[] {
  const out: PortConnection[] = [];
  for (const ps of all) for (const d of ps.conns) out.push(d);
  return out;
}

/** Close every client connection now. */
export function abortAll(): void {
  for (const ps of all) for (const d of ps.conns) d.abort();
  for (const t of [...sessions]) t.abort("drain deadline");
}

/** Close connections idle too long; forget stopped ports with no connections left. */
export function sweepDownstreams(now: number): void {
  for (const t of [...sessions]) t.sweep(now);
  for (const ps of all) {
    for (const d of ps.conns) {
      const quiet = now - d.lastActive;
      if (d instanceof Downstream) checkTimeouts(d, now);
      if (d.ending) {
        if (quiet > CLOSING_MS) d.abort(); // we sent FIN; the client never closed its side
      } else if (d.idle) {
        if (quiet > DOWNSTREAM_IDLE_MS || ps.draining) d.end();
      } else if (d.tunnelled && quiet > TUNNEL_IDLE_MS) d.abort();
    }
    if (ps.draining && ps.conns.size === 0) all.delete(ps);
  }
}

export { coarseNow };

// One proxied TCP connection (Envoy's tcp_proxy): the client side (a raw Bun
// socket, or the decrypted side of TLS terminated here) spliced to a new
// upstream connection, bytes both ways in order, the first bytes (a peeked
// ClientHello) written first.
// - Backpressure: a write the other side does not take whole is queued and its
//   source paused until `drain`.
// - Half-close: a FIN from one side is passed on (shutdown) once what came
//   before it is written; the other direction keeps flowing.
// - A side that closes (both directions) ends the other after what is queued
//   for it; one that does not close in CLOSING_MS is cut, as is a session idle
//   for IDLE_MS (the sweep).
// An access-log line and the istio_tcp_* counters when both sides are gone.
// Bun calls `close` handlers synchronously from end()/terminate(): every step
// here re-checks state after closing something.
import type { Socket } from "bun";
import type { TcpDecision } from "../../src/dispatch/decision.ts";
import { errCode, REPLIES } from "../../src/dispatch/replies.ts";
import type { TcpRoute } from "../../src/snapshot/types.ts";
import type { OutlierResult } from "../../src/upstream/outlier.ts";
import { accessLog, type AccessRecord } from "../access-log.ts";
import { connectWithTimeout } from "../connect.ts";
import { coarseNow, reportError } from "../context.ts";
import type { Generation } from "../http/clusters.ts";
import type { EndpointPool } from "../http/upstream-pool.ts";
import type { UpstreamTlsRuntime } from "../http/upstream-tls.ts";
import { stats } from "../stats.ts";
import { Pending, type ClientSide } from "./sides.ts";
import { connectionsFull, plainHandlers, tcpHash, tcpTlsOptions, tlsHandlers, type UpstreamSide } from "./upstream.ts";

/** Idle in both directions this long: closed (Envoy's tcp_proxy idle_timeout default). */
export const IDLE_MS = 3_600_000;
/** One side closed and the other does not close this long after its FIN: closed. */
export const CLOSING_MS = 10_000;
/** Bytes queued while connecting before the client is paused. */
const CONNECT_BUFFER = 256 * 1024;

/** Who the client is, for the access log and the cluster's hash. */
export interface SessionInfo {
  sni: string;
  /** "" unless the access log is on (each costs a getsockname/getpeername). */
  downstreamRemote: string;
  downstreamLocal: string;
  /** The client's IP (behind PROXY protocol: the one it names), for consistentHash useSourceIp: asked only when a hash needs it (getpeername). */
  sourceIp(): string;
}

/**
 * Open sessions of this worker (drain, sweep, byte counters): an array with
 * each session's slot in it, removed by moving the last one into the slot.
 * A Set costed a hash-table insert and delete per connection, and rehashing
 * (a native allocation) as the count of open sessions went up and down.
 */
class SessionList {
  private list: TcpSession[] = [];
  get size(): number {
    return this.list.length;
  }
  add(t: TcpSession): void {
    t.slot = this.list.length;
    this.list.push(t);
  }
  delete(t: TcpSession): void {
    const i = t.slot;
    if (i < 0) return;
    const last = this.list.pop()!;
    if (last !== t) {
      this.list[i] = last;
      last.slot = i;
    }
    t.slot = -1;
  }
  has(t: TcpSession): boolean {
    return t.slot >= 0;
  }
  [Symbol.iterator](): IterableIterator<TcpSession> {
    return this.list[Symbol.iterator]();
  }
}

export const sessions = new SessionList();

// bytes of open connections count in the metrics as they flow (sampled), not only at close
stats.beforeSample.push(() => {
  for (const t of sessions) if (t.destService !== "") stats.tcpBytes(t);
});

const CONNECTED: OutlierResult = { kind: "connected" };

export class TcpSession implements UpstreamSide {
  /** Its place in `sessions` (-1: not there). */
  slot = -1;
  private up: Socket<UpstreamSide> | null = null;
  /** The client's TLS goes through untouched (PASSTHROUGH chains): no TLS is originated. */
  passthrough = false;
  /** TLS originated to the upstream (the cluster's DestinationRule tls), null: plaintext. */
  upTls: UpstreamTlsRuntime | null = null;
  private transportFailure = "";
  private readonly toUp = new Pending();
  private readonly toClient = new Pending();
  private upOpen = false;
  /** FIN (or close) seen from that side. */
  private clientEof = false;
  private upEof = false;
  /** FIN sent to that side (or it is gone). */
  private clientShut = false;
  private upShut = false;
  private clientGone = false;
  private upGone = true; // until a connection is attempted
  private clientPaused = false;
  private upPaused = false;
  private finished = false;
  connectTimer: ReturnType<typeof setTimeout> | null = null;
  lastActive = coarseNow;
  /** When one side closed (coarse clock), 0 while both are open. */
  closingSince = 0;
  /** Wall clock and monotonic start, read only for the access log (0: it was off when the session began). */
  private readonly startMs = accessLog.enabled ? Date.now() : 0;
  private readonly t0 = this.startMs === 0 ? 0 : performance.now();
  /** Bytes from the client / to the client. */
  received = 0;
  sent = 0;
  /** Already counted into the stats (sampled while the session runs). */
  countedReceived = 0;
  countedSent = 0;
  private pool: EndpointPool | null = null;
  cluster = "";
  destService = "";
  private upstreamHost = "";
  private upstreamLocal = "";
  private flags = "";
  private details = "";
  private termination = "";

  constructor(
    private readonly client: ClientSide,
    private readonly info: SessionInfo,
    /** Where the connection goes, decided (src/dispatch) in `gen`. */
    private readonly decision: TcpDecision,
    private readonly gen: Generation,
  ) {
    sessions.add(this);
  }

  get route(): TcpRoute | null {
    return this.decision.route;
  }

  /** Choose the destination and connect; `first`: bytes already read from the client. */
  start(first: Uint8Array | null): void {
    if (first !== null && first.length > 0) {
      this.received += first.length;
      this.toUp.push(first);
    }
    const dec = this.decision;
    if (dec.route === null) return this.refuse(dec.reply!.flag, "no_route", "no route for this connection");
    const d = dec.destination;
    if (d === null) return this.refuse(dec.reply!.flag, "no_healthy_upstream", "route has no destination");
    this.cluster = d.cluster;
    this.destService = dec.cluster?.serviceHost ?? d.host;
    stats.tcpOpened(this.destService);
    // the decision's generation: a runtime with a pool per endpoint exists for a forward decision
    const rt = dec.kind === "forward" ? this.gen.clusters.get(d.cluster) : undefined;
    const pool = rt?.pick(tcpHash(rt.cluster, this.info)) ?? null;
    if (rt === undefined || pool === null) {
      const flag = (dec.reply ?? REPLIES.no_healthy_upstream).flag;
      stats.upstreamError(d.cluster, flag);
      return this.refuse(flag, "no_healthy_upstream", dec.reply === null || dec.reply.code === "no_healthy_upstream" ? "cluster has no endpoint" : "cluster not found");
    }
    if (connectionsFull(rt)) {
      const flag = REPLIES.upstream_overflow.flag;
      stats.upstreamError(d.cluster, flag);
      return this.refuse(flag, "upstream_overflow", "cluster maxConnections reached");
    }
    this.pool = pool;
    pool.active++;
    pool.connections++; // the cluster's maxConnections counts TCP sessions too, as Envoy's tcp_proxy connections
    this.upstreamHost = pool.hostPort;
    stats.upstreamConnection(d.cluster);
    this.upGone = false;
    const tls = this.passthrough ? null : pool.tls;
    this.upTls = tls;
    if (tls === null) connectWithTimeout<UpstreamSide>(this, pool.address, pool.port, pool.connectTimeoutMs, plainHandlers, true);
    else if (tls.problem !== "") return this.onConnectError(`TLS_error:_${tls.problem.replace(/ /g, "_")}`, "connect_failure");
    else connectWithTimeout<UpstreamSide>(this, pool.address, pool.port, pool.connectTimeoutMs, tlsHandlers, true, tcpTlsOptions(tls, d.host));
    if (this.toUp.bytes > CONNECT_BUFFER) this.pauseClient();
  }

  // ---- client → upstream ------------------------------------------------------

  onClientData(b: Uint8Array): void {
    this.received += b.length;
    this.lastActive = coarseNow;
    if (this.upShut) return; // upstream gone or closing: nowhere to go
    if (!this.upOpen || this.toUp.bytes > 0) {
      this.toUp.push(b);
      if (this.upOpen || this.toUp.bytes > CONNECT_BUFFER) this.pauseClient();
      return;
    }
    const n = this.up!.write(b);
    if (n < b.length) {
      this.toUp.push(n > 0 ? b.subarray(n) : b);
      this.pauseClient();
    }
  }

  onUpDrain(): void {
    this.lastActive = coarseNow;
    const up = this.up;
    if (up === null || this.upShut || !this.toUp.flush((b) => up.write(b))) return;
    if (this.clientEof) this.shutUp();
    else if (this.clientPaused) {
      this.clientPaused = false;
      this.client.resume();
    }
  }

  /** The client sent FIN. */
  onClientEnd(): void {
    if (this.clientEof) return;
    this.clientEof = true;
    if (this.upOpen && this.toUp.bytes === 0) this.shutUp();
    else if (this.upGone) this.shutClient();
  }

  onClientClose(err?: unknown): void {
    if (this.clientGone) return;
    this.clientGone = true;
    this.clientShut = true;
    this.toClient.clear();
    if (!this.upGone) {
      const reset = err !== undefined && !this.clientEof; // an error after its FIN is only about our late writes
      if (this.termination === "") this.termination = reset ? `downstream_reset:${errCode(err)}` : "downstream_remote_close";
      if (reset || !this.upOpen) this.abortUp();
      else {
        this.clientEof = true;
        if (this.closingSince === 0) this.closingSince = coarseNow;
        if (this.toUp.bytes === 0) this.shutUp();
        if (this.upPaused) this.resumeUp(); // read and drop until it closes
      }
    }
    this.maybeFinish();
  }

  // ---- upstream → client ------------------------------------------------------

  onUpOpen(s: Socket<UpstreamSide>): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    if (this.upGone || this.finished) {
      s.terminate(); // gave up already (connect timeout, client gone)
      return;
    }
    this.up = s;
    this.upOpen = true;
    const pool = this.pool!;
    pool.outcome(CONNECTED);
    if (pool.keepaliveMs > 0) s.setKeepAlive(true, pool.keepaliveMs);
    // no setNoDelay: Bun sets TCP_NODELAY on accepted and connected sockets itself (strace)
    if (accessLog.enabled) this.upstreamLocal = `${s.localAddress}:${s.localPort}`;
    this.onUpDrain();
    if (this.clientEof && this.toUp.bytes === 0) this.shutUp();
  }

  onUpData(b: Uint8Array): void {
    this.sent += b.length;
    this.lastActive = coarseNow;
    if (this.clientShut) return;
    if (this.toClient.bytes > 0) {
      this.toClient.push(b);
      return;
    }
    const n = this.client.write(b);
    if (n < b.length) {
      this.toClient.push(n > 0 ? b.subarray(n) : b);
      if (!this.upPaused) {
        this.upPaused = true;
        this.up?.pause();
      }
    }
  }

  onClientDrain(): void {
    this.lastActive = coarseNow;
    if (this.clientShut || !this.toClient.flush((b) => this.client.write(b))) return;
    if (this.upEof) this.shutClient();
    else if (this.upPaused) this.resumeUp();
  }

  /** The upstream sent FIN. */
  onUpEnd(): void {
    if (this.upEof) return;
    this.upEof = true;
    if (this.toClient.bytes === 0) this.shutClient();
  }

  onUpClose(err?: Error): void {
    if (this.upGone) return;
    this.upGone = true;
    this.upOpen = false;
    this.upShut = true;
    this.toUp.clear();
    if (!this.clientGone) {
      const reset = err !== undefined && !this.upEof; // an error after its FIN is only about our late writes
      if (this.termination === "") this.termination = reset ? `upstream_reset:${errCode(err)}` : "upstream_remote_close";
      if (reset) this.abortClient();
      else {
        this.upEof = true;
        if (this.closingSince === 0) this.closingSince = coarseNow;
        if (this.toClient.bytes === 0) this.shutClient();
        if (this.clientPaused) {
          this.clientPaused = false;
          this.client.resume(); // read and drop until it closes
        }
      }
    }
    this.maybeFinish();
  }

  onConnectError(reason: string, code: "connect_failure" | "connect_timeout"): void {
    if (this.upOpen || this.upGone) return;
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    this.upGone = true;
    this.upShut = true;
    this.pool?.outcome({ kind: code === "connect_timeout" ? "timeout" : "connectFailed" });
    if (reason.startsWith("TLS_error")) this.transportFailure = reason;
    const flag = REPLIES[code].flag;
    stats.upstreamError(this.cluster, flag);
    this.refuse(flag, "upstream_connect_failure", `upstream_connect_error:${reason}`);
  }

  // ---- closing ------------------------------------------------------------------

  private pauseClient(): void {
    if (this.clientPaused || this.clientGone) return;
    this.clientPaused = true;
    this.client.pause();
  }

  private resumeUp(): void {
    this.upPaused = false;
    this.up?.resume();
  }

  /** FIN to the upstream; a full close when it has sent its FIN already (one syscall, and done). */
  private shutUp(): void {
    if (this.upShut || this.up === null) return;
    this.upShut = true;
    if (this.upEof) this.up.end(); // runs onUpClose
    else this.up.shutdown();
  }

  private shutClient(): void {
    if (this.clientShut) return;
    this.clientShut = true;
    if (this.clientEof) this.client.close(); // runs onClientClose (the owner's close handler)
    else this.client.shutdown();
  }

  private abortUp(): void {
    if (this.upGone) return;
    const up = this.up;
    this.upShut = true;
    this.toUp.clear();
    if (up !== null) {
      up.terminate(); // Bun runs onUpClose now or soon; done here either way
      this.onUpClose();
    } else this.upGone = true; // still connecting: onUpOpen closes it
  }

  private abortClient(): void {
    if (this.clientGone) return;
    this.clientShut = true;
    this.toClient.clear();
    this.client.terminate(); // runs onClientClose (the owner's close handler)
    this.onClientClose();
  }

  /** Close the client (FIN), nothing sent upstream: no route, no endpoint, connect failure. */
  refuse(flags: string, details: string, termination: string): void {
    this.flags = flags;
    this.details = details;
    this.termination = termination;
    this.toUp.clear();
    if (!this.clientGone) {
      this.clientShut = true;
      this.toClient.clear();
      this.client.close(); // runs onClientClose (the owner's close handler)
      this.onClientClose();
    }
  }

  /** Idle timeout, closing deadline, drain deadline: close both sides now. */
  abort(reason: string): void {
    this.termination = reason;
    this.abortUp();
    this.abortClient();
    this.maybeFinish();
  }

  /** Sweep: idle too long, or one side closed and the other not closing. */
  sweep(now: number): void {
    if (now - this.lastActive > IDLE_MS) this.abort("idle_timeout");
    else if (this.closingSince > 0 && now - this.closingSince > CLOSING_MS) this.abort(`${this.termination || "closing"} (other side did not close)`);
  }

  private maybeFinish(): void {
    if (this.finished || !this.upGone || !this.clientGone) return;
    this.finished = true;
    sessions.delete(this);
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.pool !== null) {
      this.pool.active--;
      this.pool.onConnClosed(null); // its connection slot is free (a session or request waiting for one may go)
    }
    if (this.destService !== "") stats.tcpClosed(this);
    if (accessLog.enabled) accessLog.log(this.record());
  }

  private record(): AccessRecord {
    const i = this.info;
    return {
      startMs: this.startMs || Date.now(),
      method: "",
      logPath: "",
      protocol: "-",
      status: 0,
      flags: this.flags,
      details: this.details,
      termination: this.termination.replace(/\s+/g, "_"),
      transportFailure: this.transportFailure,
      bytesReceived: this.received,
      bytesSent: this.sent,
      durationMs: this.t0 === 0 ? 0 : Math.round(performance.now() - this.t0),
      upstreamServiceTime: -1,
      xff: "",
      userAgent: "",
      requestId: "",
      authority: "",
      upstreamHost: this.upstreamHost,
      upstreamCluster: this.cluster,
      upstreamLocal: this.upstreamLocal,
      downstreamLocal: i.downstreamLocal,
      downstreamRemote: i.downstreamRemote,
      sni: i.sni,
      routeName: this.route?.name ?? "",
    };
  }
}

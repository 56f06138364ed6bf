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
//   for its cluster's tcp.idleTimeout, else IDLE_MS (the sweep).
// An access-log line and the istio_tcp_* counters when both sides are gone.
// Once both ends are raw sockets (plain TCP, passthrough) and RELAY_HANDOFF bytes
// went through here, the native relay (native-relay.ts) moves the bytes on its
// thread: the sockets stay paused, their events are ignored until it reports the
// pair over (or the session aborts it), then they are closed here as above.
// Bun calls `close` handlers synchronously from end()/terminate(): every step
// here re-checks state after closing something.
import type { Socket } from "bun";
import type { TcpDecision } from "../../src/dispatch/decision.ts";
import { errCode, REPLIES } from "../../src/dispatch/replies.ts";
import type { TcpRoute } from "../../src/snapshot/types.ts";
import type { OutlierResult } from "../../src/upstream/outlier.ts";
import { accessLog, type AccessRecord } from "../access-log.ts";
import { connectDone, connectWithTimeout, type Connecting } from "../connect.ts";
import { ConnList } from "../conn-list.ts";
import { type DeadlineQueue, NO_TICKET } from "../deadline-queue.ts";
import { coarseNow, reportError } from "../context.ts";
import type { Generation } from "../http/clusters.ts";
import type { EndpointPool } from "../http/upstream-pool.ts";
import type { UpstreamTlsRuntime } from "../http/upstream-tls.ts";
import type { TlsFactsSource } from "../tls/log-facts.ts";
import { stats, type TcpSeries } from "../stats.ts";
import { relayAdd, relayOptions, relayBytes, relayClose, relayFins, relaySideClosed, type RelayOwner } from "./native-relay.ts";
import { finAcked } from "./fin-acked.ts";
import { Pending, RawClient, type ClientSide } from "./sides.ts";
import { connectionsFull, plainHandlers, tcpHash, tcpTlsOptions, tlsHandlers, type UpstreamSide } from "./upstream.ts";
import type { ProxyVersion } from "../proxy-header-out.ts";

/** Idle in both directions this long: closed (Envoy's tcp_proxy idle_timeout default; the cluster's tcp.idleTimeout replaces it). */
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
  /** The PROXY protocol header of this `version` naming the client and the address it reached (DestinationRule proxyProtocol). */
  proxyHeader(version: ProxyVersion): Buffer;
  /** TLS terminated here: what the access log's TLS operators read (set only while the log is on). */
  downstreamTls?: TlsFactsSource | null;
}

/** Open sessions of this worker (drain, sweep, byte counters). */
export const sessions = new ConnList<TcpSession>();

// bytes of open connections count in the metrics as they flow (sampled), not only at close
stats.beforeSample.push(() => {
  for (const t of sessions) {
    t.nativeCounts();
    if (t.tcpCounters !== null) stats.tcpBytes(t);
  }
});

const CONNECTED: OutlierResult = { kind: "connected" };

export class TcpSession implements UpstreamSide, RelayOwner {
  /** Links in `sessions` (ConnList). */
  prevConn: TcpSession | null = null;
  nextConn: TcpSession | null = null;
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
  /** The connect timeout (connect.ts). */
  connectQueue: DeadlineQueue<Connecting> | null = null;
  connectTicket = NO_TICKET;
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
  /** The destination's istio_tcp_* counters, once it has one. */
  tcpCounters: TcpSeries | null = null;
  countedSent = 0;
  private pool: EndpointPool | null = null;
  cluster = "";
  private upstreamHost = "";
  private upstreamLocal = "";
  private flags = "";
  private details = "";
  private termination = "";
  /** The native relay's pair while it moves the bytes, else -1; `received`/`sent` when it began. */
  private relayId = -1;
  private relayReceived = 0;
  private relaySent = 0;
  /** Idle in both directions this long: closed (the destination cluster's tcp.idleTimeout, else IDLE_MS; 0 there: never). */
  private idleMs = IDLE_MS;
  /** Relay bytes seen by the last sweep (activity for the idle timeout). */
  private relaySwept = 0;
  /** Try the native relay once this many bytes went through here (Infinity: never). */
  private handoffAt = relayOptions.handoff;

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
    this.tcpCounters = stats.tcpOpened(dec.cluster?.serviceHost ?? d.host);
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
    const idle = rt.cluster.upstream?.limits.tcpIdleTimeoutMs;
    if (idle !== undefined) this.idleMs = idle === 0 ? Infinity : idle;
    pool.active++;
    pool.connections++; // the cluster's maxConnections counts TCP sessions too, as Envoy's tcp_proxy connections
    this.upstreamHost = pool.hostPort;
    stats.upstreamConnection(d.cluster);
    this.upGone = false;
    const tls = this.passthrough ? null : pool.tls;
    this.upTls = tls;
    // DestinationRule proxyProtocol: the header goes first, also before a passthrough client's own TLS
    const pv = rt.cluster.upstream?.proxyProtocol;
    const header = pv === undefined ? null : this.info.proxyHeader(pv);
    if (tls === null) connectWithTimeout<UpstreamSide>(this, pool.address, pool.port, pool.connectTimeoutMs, plainHandlers, true, null, header);
    else if (tls.problem !== "") return this.onConnectError(`TLS_error:_${tls.problem.replace(/ /g, "_")}`, "connect_failure");
    else connectWithTimeout<UpstreamSide>(this, pool.address, pool.port, pool.connectTimeoutMs, tlsHandlers, true, tcpTlsOptions(tls, d.host), header);
    if (this.toUp.bytes > CONNECT_BUFFER) this.pauseClient();
  }

  // ---- client → upstream ------------------------------------------------------

  onClientData(b: Uint8Array): void {
    if (this.relayId >= 0) return this.lateData();
    this.received += b.length;
    this.lastActive = coarseNow;
    if (this.upShut) {
      if (this.upGone) this.closeClientIfAcked(); // read and dropped: the client may go once it has all
      return; // upstream gone or closing: nowhere to go
    }
    if (!this.upOpen || this.toUp.bytes > 0) {
      this.toUp.push(b);
      if (this.upOpen || this.toUp.bytes > CONNECT_BUFFER) this.pauseClient();
      return;
    }
    const n = this.up!.write(b);
    if (n < b.length) {
      this.toUp.push(n > 0 ? b.subarray(n) : b);
      this.pauseClient();
    } else if (this.received + this.sent >= this.handoffAt) this.toNative();
  }

  onUpDrain(): void {
    if (this.relayId >= 0) return;
    this.lastActive = coarseNow;
    const up = this.up;
    if (up === null || this.upShut || !this.toUp.flush(up)) return;
    if (this.clientEof) this.shutUp();
    else if (this.clientPaused) {
      this.clientPaused = false;
      this.client.resume();
    }
  }

  /** The client sent FIN. */
  onClientEnd(): void {
    if (this.clientEof || this.relayId >= 0) return;
    this.clientEof = true;
    if (this.upOpen && this.toUp.bytes === 0) this.shutUp();
    else if (this.upGone) this.shutClient();
  }

  onClientClose(err?: unknown): void {
    if (this.clientGone || this.relayId >= 0) return; // the relay sees it on its dup and reports
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
        if (this.upPaused) this.resumeUp(); // read and drop until it closes, or until it has all we sent
        this.closeUpIfAcked();
      }
    }
    this.maybeFinish();
  }

  // ---- upstream → client ------------------------------------------------------

  onUpOpen(s: Socket<UpstreamSide>): void {
    connectDone(this);
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
    if (this.relayId >= 0) return this.lateData();
    this.sent += b.length;
    this.lastActive = coarseNow;
    if (this.clientShut) {
      if (this.clientGone) this.closeUpIfAcked(); // read and dropped: the upstream may go once it has all
      return;
    }
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
    } else if (this.received + this.sent >= this.handoffAt) this.toNative();
  }

  onClientDrain(): void {
    if (this.relayId >= 0) return;
    this.lastActive = coarseNow;
    if (this.clientShut || !this.toClient.flush(this.client)) return;
    if (this.upEof) this.shutClient();
    else if (this.upPaused) this.resumeUp();
  }

  /** The upstream sent FIN. */
  onUpEnd(): void {
    if (this.upEof || this.relayId >= 0) return;
    this.upEof = true;
    if (this.toClient.bytes === 0) this.shutClient();
  }

  onUpClose(err?: Error): void {
    if (this.upGone || this.relayId >= 0) return; // the relay sees it on its dup and reports
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
          this.client.resume(); // read and drop until it closes, or until it has all we sent
        }
        this.closeClientIfAcked();
      }
    }
    this.maybeFinish();
  }

  onConnectError(reason: string, code: "connect_failure" | "connect_timeout"): void {
    if (this.upOpen || this.upGone) return;
    connectDone(this);
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

  /**
   * FIN to the upstream; a full close when it has sent its FIN already (one syscall, and done):
   * close(), not end(), on a raw socket (end() first flushes, a setsockopt(TCP_CORK) for nothing:
   * its writes are never held back by Bun); end() on TLS (close_notify first).
   */
  private shutUp(): void {
    if (this.upShut || this.up === null) return;
    this.upShut = true;
    if (!this.upEof) this.up.shutdown();
    else if (this.upTls === null) this.up.close(); // runs onUpClose
    else this.up.end(); // runs onUpClose
  }

  private shutClient(): void {
    if (this.clientShut) return;
    this.clientShut = true;
    if (this.clientEof) this.client.closeAfterFin(); // runs onClientClose (the owner's close handler)
    else this.client.shutdown();
  }

  /**
   * The client is gone for good: close the upstream as soon as its kernel has acknowledged all we
   * sent, our FIN included (finAcked), as Envoy closes the upstream when the downstream closes.
   * Until then (or where that cannot be known) its bytes are read and dropped until it closes, or
   * CLOSING_MS. Closing with its bytes unread sends a reset, which takes back nothing acknowledged.
   */
  private closeUpIfAcked(): void {
    if (this.upGone || !this.upShut || this.up === null || this.toUp.bytes > 0 || this.relayId >= 0) return;
    if (!finAcked(fdOf(this.up))) return;
    this.abortUp();
    this.maybeFinish();
  }

  /** The upstream is gone for good: the same for the client (a raw socket) once it has all we sent it. */
  private closeClientIfAcked(): void {
    if (this.clientGone || !this.clientShut || this.toClient.bytes > 0 || this.relayId >= 0) return;
    const c = this.client;
    if (!(c instanceof RawClient) || !finAcked(fdOf(c.s))) return;
    this.abortClient();
    this.maybeFinish();
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
    this.leaveRelay();
    this.abortUp();
    this.abortClient();
    this.maybeFinish();
  }

  /** Sweep: idle too long, or one side closed and the other not closing. */
  sweep(now: number): void {
    if (this.relayId >= 0) {
      const moved = relayBytes(this.relayId, 0) + relayBytes(this.relayId, 1);
      if (moved !== this.relaySwept) {
        this.relaySwept = moved;
        this.lastActive = coarseNow; // it moved since the last sweep
      }
      // one side closed (both ways) while the other still has bytes to take or send
      if (this.closingSince === 0 && (relaySideClosed(this.relayId, 0) || relaySideClosed(this.relayId, 1))) this.closingSince = coarseNow;
    }
    if (this.closingSince > 0 && this.relayId < 0) {
      // one side gone: a silent other side that has all we sent is closed now, not at CLOSING_MS
      if (this.clientGone) this.closeUpIfAcked();
      else if (this.upGone) this.closeClientIfAcked();
      if (this.finished) return;
    }
    if (now - this.lastActive > this.idleMs) this.abort("idle_timeout");
    else if (this.closingSince > 0 && now - this.closingSince > CLOSING_MS) this.abort(`${this.termination || "closing"} (other side did not close)`);
  }

  // ---- the native relay -----------------------------------------------------------

  /** Hand both sockets to the native relay when both are raw, open, idle here and nothing is queued. */
  private toNative(): void {
    this.handoffAt = Infinity; // one try
    const up = this.up;
    const c = this.client;
    if (!(c instanceof RawClient) || up === null || this.upTls !== null || !this.upOpen) return;
    if (this.toUp.bytes > 0 || this.toClient.bytes > 0 || this.clientPaused || this.upPaused) return;
    if (this.clientEof || this.upEof || this.clientShut || this.upShut || this.clientGone || this.upGone || this.finished) return;
    c.s.pause();
    up.pause();
    const id = relayAdd(fdOf(c.s), fdOf(up), this);
    if (id < 0) {
      c.s.resume();
      up.resume();
      return;
    }
    this.relayId = id;
    this.relayReceived = this.received;
    this.relaySent = this.sent;
  }

  /** Bring `received`/`sent` up to what the relay moved (sampling, sweep, end). */
  nativeCounts(): void {
    if (this.relayId < 0) return;
    this.received = this.relayReceived + relayBytes(this.relayId, 0);
    this.sent = this.relaySent + relayBytes(this.relayId, 1);
  }

  /** Take the sockets back from the relay (abort): the pair ended there (its fds closed), then its final counts. */
  private leaveRelay(): void {
    if (this.relayId < 0) return;
    relayClose(this.relayId);
    this.nativeCounts();
    this.relayId = -1;
  }

  /** The relay ended the pair: both ways ended with FINs (err 0), or an error on one side. */
  onRelayDone(err: number, side: number): void {
    if (this.relayId < 0) return;
    this.nativeCounts();
    const fins = relayFins(this.relayId);
    this.relayId = -1;
    this.lastActive = coarseNow;
    if (err === 0 && side >= 2) {
      // one side closed after its FIN while bytes still went to it; the other may be open:
      // back to the JS relay's state (reads and drops until it closes, or CLOSING_MS)
      this.clientEof = (fins & 1) !== 0;
      this.upEof = (fins & 2) !== 0;
      this.upShut = (fins & 4) !== 0;
      this.clientShut = (fins & 8) !== 0;
      const c = this.client as RawClient;
      if (side === 3) {
        this.upEof = this.upShut = true;
        c.s.resume();
        this.up?.terminate(); // runs onUpClose: the client gets FIN after what is queued, then CLOSING_MS
        this.onUpClose();
      } else {
        this.clientEof = this.clientShut = true;
        this.up?.resume();
        c.s.terminate();
        this.onClientClose();
      }
    } else if (err === 0) {
      // both sides sent FIN and got ours, all bytes written: close both sockets gracefully
      // as the JS relay says it: the side whose FIN came last closes first (Bun closes a socket shut already when its FIN comes)
      if (this.termination === "") this.termination = side === 0 ? "upstream_remote_close" : "downstream_remote_close";
      this.clientEof = this.upEof = this.clientShut = this.upShut = true;
      const c = this.client as RawClient;
      c.s.resume(); // Bun closes it at once when asked (nothing left to read)
      c.s.end();
      this.onClientClose();
      this.up?.resume();
      this.up?.end();
      this.onUpClose();
    } else {
      if (this.termination === "") this.termination = side === 0 ? `downstream_reset:${errnoCode(err)}` : `upstream_reset:${errnoCode(err)}`;
      this.clientShut = this.upShut = true; // no FIN before the reset
      this.abortUp();
      this.abortClient();
    }
    this.maybeFinish();
  }

  private lateData(): void {
    reportError("tcp session", new Error("data from a socket the native relay owns"));
  }

  private maybeFinish(): void {
    if (this.finished || !this.upGone || !this.clientGone || this.relayId >= 0) return;
    this.finished = true;
    sessions.delete(this);
    connectDone(this);
    if (this.pool !== null) {
      this.pool.active--;
      this.pool.onConnClosed(null); // its connection slot is free (a session or request waiting for one may go)
    }
    if (this.tcpCounters !== null) stats.tcpClosed(this);
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
      downstreamTls: i.downstreamTls ?? null,
    };
  }
}

/** errno numbers the relay reports, named as Bun names socket errors. */
const ERRNO: Record<number, string> = { 32: "EPIPE", 104: "ECONNRESET", 110: "ETIMEDOUT", 113: "EHOSTUNREACH", 12: "ENOMEM", 5: "EIO" };
function errnoCode(n: number): string {
  return ERRNO[n] ?? `E${n}`;
}

function fdOf(s: Socket<any>): number {
  return (s as unknown as { fd: number }).fd;
}

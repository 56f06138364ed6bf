// Keep-alive connections to one endpoint of one cluster (Envoy pools per
// cluster × host). Most recently used idle connection first: the one least
// likely to have been closed by the upstream's own idle timeout.
import { stats } from "../stats.ts";
import { UpstreamConn, type UpstreamUser } from "./upstream-conn.ts";
import type { UpstreamTlsRuntime } from "./upstream-tls.ts";
import { H2Sessions } from "./upstream-h2-pool.ts";
import { sameHeader } from "../proxy-header-out.ts";
import type { OutlierResult } from "../../src/upstream/outlier.ts";

export class EndpointPool {
  /** `address:port` (IPv6 in brackets), for logs. */
  readonly hostPort: string;
  private idle: UpstreamConn[] = [];
  /** Connections open or connecting. */
  connections = 0;
  /** Requests in flight (LEAST_REQUEST). */
  active = 0;
  retired = false;
  /** The cluster runtime this pool serves now and its index there (outlier detection); set when a snapshot is applied. */
  owner: { report(index: number, r: OutlierResult): void; connectionClosed(): void } | null = null;
  index = 0;
  /** Requests admitted that wait for a connection (connecting, or queued in `waiters`): Envoy's pending requests. */
  pending = 0;
  /** Requests queued for a connection of this endpoint (the cluster is at its max connections). */
  readonly waiters: { user: UpstreamUser & { onUpstreamGranted(c: UpstreamConn): void }; sni: string; proxy: Buffer | null }[] = [];
  /** connectionPool.http.maxRequestsPerConnection (0: unlimited) and idleTimeout (0: the worker's default). */
  maxRequestsPerConnection = 0;
  idleTimeoutMs = 0;
  /** tcpKeepalive time (ms) to set on new connections; 0: none. */
  keepaliveMs = 0;
  /** TLS to this endpoint (the cluster's, for the snapshot applied last); null: plaintext. */
  tls: UpstreamTlsRuntime | null = null;
  /** HTTP/2 sessions when the cluster's port speaks HTTP/2 (upstream-h2.ts); null: HTTP/1.1 connections. */
  h2: H2Sessions | null = null;
  /**
   * When this endpoint joined its cluster in this worker (performance.now()):
   * the start of its slow start (warmup). The pool, and so this time, stays
   * across reloads that keep the endpoint.
   */
  readonly addedAt = performance.now();

  constructor(
    readonly cluster: string,
    readonly address: string,
    readonly port: number,
    public connectTimeoutMs: number,
  ) {
    this.hostPort = address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  }

  /** Speak HTTP/2 to this endpoint (or back to HTTP/1.1: open sessions finish their streams); `maxStreams`: connectionPool.http.maxConcurrentStreams. */
  setProtocol(http2: boolean, maxStreams: number): void {
    if (http2 && this.h2 === null) this.h2 = new H2Sessions(this);
    else if (!http2 && this.h2 !== null) {
      this.h2.retireAll();
      this.h2 = null;
    }
    if (this.h2 !== null) this.h2.maxStreams = maxStreams;
  }

  /** Count a result of this endpoint for outlier detection (no-op without). */
  outcome(r: OutlierResult): void {
    this.owner?.report(this.index, r);
  }

  /**
   * New TLS settings (a snapshot applied): idle connections made with other
   * settings or credentials are closed, so the next request handshakes with
   * the new ones; busy ones finish their exchange.
   */
  setTls(tls: UpstreamTlsRuntime | null): void {
    if (tls === this.tls) return;
    this.tls = tls;
    this.h2?.retireAll();
    this.closeIdle(Infinity);
  }

  /**
   * An idle connection (to `sni` when TLS; made with the PROXY header `proxy`,
   * so it carries that client only) handed to `user`, or null when there is none.
   */
  takeIdle(user: UpstreamUser, sni = "", proxy: Buffer | null = null): UpstreamConn | null {
    if (this.h2 !== null) return this.h2.take(user, sni, true, proxy);
    const idle = this.idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if (c.closed) {
        idle.splice(i, 1);
        continue;
      }
      if (c.sni !== sni || c.tls !== this.tls || !sameHeader(c.proxy, proxy)) continue;
      // the newest idle connection is the usual pick: pop() (no array made), as splice would
      if (i === idle.length - 1) idle.pop();
      else idle.splice(i, 1);
      c.user = user;
      c.uses++;
      return c;
    }
    return null;
  }

  /** A new connection for `user` (TLS with `sni` when the cluster says so); it calls user.onUpstreamOpen or onUpstreamClose. */
  connect(user: UpstreamUser, sni = "", proxy: Buffer | null = null): UpstreamConn {
    if (this.h2 !== null) return this.h2.take(user, sni, false, proxy)!;
    const c = new UpstreamConn(this, user, this.tls, sni, proxy);
    this.connections++;
    stats.upstreamConnection(this.cluster);
    c.connect();
    return c;
  }

  putIdle(c: UpstreamConn): void {
    if (this.retired || (this.maxRequestsPerConnection > 0 && c.uses >= this.maxRequestsPerConnection)) {
      c.destroy();
      return;
    }
    // a request queued for a connection gets it first
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.sni !== c.sni || c.tls !== this.tls || !sameHeader(w.proxy, c.proxy)) continue;
      this.waiters.splice(i, 1);
      c.user = w.user;
      c.uses++;
      w.user.onUpstreamGranted(c);
      return;
    }
    this.idle.push(c);
  }

  /** An idle connection is at hand (for `sni`)? */
  hasIdle(sni: string, proxy: Buffer | null = null): boolean {
    if (this.h2 !== null) return this.h2.hasRoom(sni, proxy);
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i]!;
      if (!c.closed && c.sni === sni && c.tls === this.tls && sameHeader(c.proxy, proxy)) return true;
    }
    return false;
  }

  /** A queued request gave up (it ended, or its client left). */
  dropWaiter(user: UpstreamUser): void {
    const i = this.waiters.findIndex((w) => w.user === user);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  onConnClosed(c: UpstreamConn | null): void {
    this.connections--;
    const i = c === null ? -1 : this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.owner?.connectionClosed();
  }

  /** Close idle connections unused since `before` (ms epoch). */
  closeIdle(before: number): void {
    this.h2?.closeIdle(before);
    const idle = this.idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if (c.idleSince <= before) c.destroy();
    }
  }

  /** No longer in any cluster: close idle connections now, busy ones when released. */
  retire(): void {
    this.retired = true;
    this.h2?.retireAll();
    this.closeIdle(Infinity);
  }
}

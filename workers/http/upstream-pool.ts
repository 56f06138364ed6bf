// Keep-alive connections to one endpoint of one cluster (Envoy pools per
// cluster × host). Most recently used idle connection first: the one least
// likely to have been closed by the upstream's own idle timeout.
import { stats } from "../stats.ts";
import { UpstreamConn, type UpstreamUser } from "./upstream-conn.ts";

export class EndpointPool {
  /** `address:port` (IPv6 in brackets), for logs. */
  readonly hostPort: string;
  private idle: UpstreamConn[] = [];
  /** Connections open or connecting. */
  connections = 0;
  /** Requests in flight (LEAST_REQUEST). */
  active = 0;
  retired = false;

  constructor(
    readonly cluster: string,
    readonly address: string,
    readonly port: number,
    public connectTimeoutMs: number,
  ) {
    this.hostPort = address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  }

  /** An idle connection handed to `user`, or null when there is none. */
  takeIdle(user: UpstreamUser): UpstreamConn | null {
    const idle = this.idle;
    while (idle.length > 0) {
      const c = idle.pop()!;
      if (c.closed) continue;
      c.user = user;
      c.uses++;
      return c;
    }
    return null;
  }

  /** A new connection for `user`; it calls user.onUpstreamOpen or onUpstreamClose. */
  connect(user: UpstreamUser): UpstreamConn {
    const c = new UpstreamConn(this, user);
    this.connections++;
    stats.upstreamConnection(this.cluster);
    c.connect();
    return c;
  }

  putIdle(c: UpstreamConn): void {
    if (this.retired) {
      c.destroy();
      return;
    }
    this.idle.push(c);
  }

  onConnClosed(c: UpstreamConn): void {
    this.connections--;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Close idle connections unused since `before` (ms epoch). */
  closeIdle(before: number): void {
    const idle = this.idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if (c.idleSince <= before) c.destroy();
    }
  }

  /** No longer in any cluster: close idle connections now, busy ones when released. */
  retire(): void {
    this.retired = true;
    this.closeIdle(Infinity);
  }
}

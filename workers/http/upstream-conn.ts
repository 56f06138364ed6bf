// One keep-alive connection to an upstream endpoint (Bun.connect). It knows
// nothing of HTTP: it hands bytes and events to the exchange using it, and
// goes back to its pool between exchanges.
import type { Socket } from "bun";
import { errCode, type UpstreamFailure } from "../../src/dispatch/replies.ts";
import { connectDone, connectFailed, connectWithTimeout, type Connecting } from "../connect.ts";
import { type DeadlineQueue, NO_TICKET } from "../deadline-queue.ts";
import { coarseNow, reportError } from "../context.ts";
import type { IncomingHttpHeaders } from "node:http2";
import type { H2RequestHead } from "./h2-upstream-heads.ts";
import type { H2Framing } from "./h2-response.ts";
import { Outbox } from "./outbox.ts";
import { connectOptions, verifyUpstream, type UpstreamTlsRuntime } from "./upstream-tls.ts";

/** The errno of a connection the upstream ended cleanly (a FIN, no error). */
export const CLEAN_CLOSE = "connection termination";
/** The errno of an HTTP/2 stream (or connection) that failed for the upstream's protocol error, found by our codec: 502 UPE, as a malformed HTTP/1.1 head. */
export const PROTOCOL_ERROR_ERRNO = "upstream_protocol_error";
/** The errnos of a gRPC-Web request whose grpc-web-text body is not base64, or ends inside a group (upstream-h2.ts): the client's fault, Envoy's grpc_web 400. */
export const GRPC_WEB_BAD_BASE64_ERRNO = "grpc_base_64_decode_failed";
export const GRPC_WEB_BAD_SIZE_ERRNO = "grpc_base_64_decode_failed_bad_size";
/** The errno of an HTTP/2 stream the upstream refused (RST_STREAM REFUSED_STREAM, or above a GOAWAY's last stream id): retried under `refused-stream`. */
export const REFUSED_STREAM_ERRNO = "stream_reset_7";

/** What a connection needs of its pool (EndpointPool): where to connect, and where to go back. */
export interface ConnPool {
  readonly address: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  /** TCP keepalive time to set on open (ms); 0: none. */
  readonly keepaliveMs?: number;
  putIdle(c: UpstreamConn): void;
  onConnClosed(c: UpstreamConn): void;
}

/** What uses a connection: the HTTP exchange. */
export interface UpstreamUser {
  onUpstreamOpen(conn: UpstreamConn): void;
  onUpstreamData(conn: UpstreamConn, data: Buffer): void;
  onUpstreamDrain(conn: UpstreamConn): void;
  /** The connection is gone: it never opened (connect_failure, connect_timeout) or closed (upstream_reset_before_response), with the errno. */
  onUpstreamClose(conn: UpstreamConn, failure: UpstreamFailure): void;
  /**
   * HTTP/2 upstreams (upstream-h2.ts): the response head as the stream's
   * fields (`framing`: h2-response.ts h2ResponseFraming; `head`: a HEAD
   * request; `web`: gRPC-Web, its trailers come as a last message of the
   * body). false: not taken, the response comes as HTTP/1.1 bytes through
   * onUpstreamData. Once taken, DATA comes through onUpstreamData as it is,
   * and the stream's end (with its trailers) through onUpstreamEnd.
   */
  onUpstreamFields?(conn: UpstreamConn, headers: IncomingHttpHeaders, framing: H2Framing, head: boolean, web: boolean): boolean;
  onUpstreamEnd?(conn: UpstreamConn, trailers: IncomingHttpHeaders | null): void;
}

const handlers = {
  open(s: Socket<UpstreamConn>): void {
    if (s.data.tls === null) s.data.onOpen(s); // TLS: open once the handshake is accepted
  },
  handshake(s: Socket<UpstreamConn>, _ok: boolean, err: Error | null): void {
    const c = s.data;
    try {
      const why = verifyUpstream(c.tls!.policy, err as { code?: string } | null, s.getPeerCertificate()?.subjectaltname);
      if (why === "") return c.onOpen(s);
      c.onConnectError(`TLS_error:_${why}`, "connect_failure"); // first: terminating runs the close handler, which must find it failed, not gone
      s.terminate();
    } catch (e) {
      reportError("upstream handshake", e);
      c.onConnectError("TLS_error:_handshake", "connect_failure");
      s.terminate();
    }
  },
  data(s: Socket<UpstreamConn>, d: Buffer): void {
    const c = s.data;
    try {
      if (c.user !== null) c.user.onUpstreamData(c, d);
      else c.destroy(); // bytes while idle: the upstream broke the protocol
    } catch (err) {
      reportError("upstream data", err);
      c.destroy();
    }
  },
  drain(s: Socket<UpstreamConn>): void {
    const c = s.data;
    try {
      if (c.out.flush(s) && c.user !== null) c.user.onUpstreamDrain(c);
    } catch (err) {
      reportError("upstream drain", err);
    }
  },
  end(s: Socket<UpstreamConn>): void {
    s.data.onGone(CLEAN_CLOSE);
  },
  close(s: Socket<UpstreamConn>, err?: Error): void {
    s.data.onGone(err ? errCode(err) : CLEAN_CLOSE);
  },
  connectError(s: Socket<UpstreamConn>, err: Error): void {
    connectFailed(s.data, err);
  },
  error(s: Socket<UpstreamConn>, err: Error): void {
    reportError("upstream socket", err);
  },
};

export class UpstreamConn {
  socket: Socket<UpstreamConn> | null = null;
  user: UpstreamUser | null;
  readonly out = new Outbox();
  isOpen = false;
  closed = false;
  /** Exchanges this connection has carried (> 1 means it came from the idle pool). */
  uses = 1;
  idleSince = 0;
  /** The connect timeout (connect.ts). */
  connectQueue: DeadlineQueue<Connecting> | null = null;
  connectTicket = NO_TICKET;
  private local = "";
  private paused = false;

  constructor(
    readonly pool: ConnPool,
    user: UpstreamUser,
    /** TLS settings this connection is made with (null: plaintext), and its SNI. */
    readonly tls: UpstreamTlsRuntime | null = null,
    readonly sni = "",
    /** The PROXY protocol header this connection started with (it carries only that client's requests); null: none. */
    readonly proxy: Buffer | null = null,
  ) {
    this.user = user;
  }

  connect(): void {
    const p = this.pool;
    const tls = this.tls;
    if (tls !== null && tls.problem !== "") {
      // no credential to connect with: fails as a refused handshake would, without a connection
      queueMicrotask(() => this.onConnectError(`TLS_error:_${tls.problem.replace(/ /g, "_")}`, "connect_failure"));
      return;
    }
    // the connect timeout covers the TLS handshake too (Envoy's connection is connected once its handshake is done)
    connectWithTimeout(this, p.address, p.port, p.connectTimeoutMs, handlers, false, tls === null ? null : connectOptions(tls, this.sni), this.proxy);
  }

  /** `ip:port` of our side, for the access log. */
  get localAddress(): string {
    if (this.local === "" && this.socket !== null) {
      const s = this.socket;
      this.local = s.localFamily === "IPv6" ? `[${s.localAddress}]:${s.localPort}` : `${s.localAddress}:${s.localPort}`;
    }
    return this.local;
  }

  onOpen(s: Socket<UpstreamConn>): void {
    connectDone(this);
    if (this.closed) {
      s.terminate(); // gave up waiting (connect timeout)
      return;
    }
    this.socket = s;
    this.isOpen = true;
    const ka = this.pool.keepaliveMs ?? 0;
    if (ka > 0) s.setKeepAlive(true, ka);
    try {
      this.user?.onUpstreamOpen(this);
    } catch (err) {
      reportError("upstream open", err);
      this.destroy();
    }
  }

  onConnectError(errno: string, code: "connect_failure" | "connect_timeout"): void {
    if (this.closed || this.isOpen) return;
    connectDone(this);
    this.closed = true;
    this.pool.onConnClosed(this);
    const u = this.user;
    this.user = null;
    try {
      u?.onUpstreamClose(this, { code, errno });
    } catch (err) {
      reportError("upstream connect error", err);
    }
  }

  onGone(errno: string): void {
    if (this.closed) return;
    this.closed = true;
    connectDone(this);
    this.isOpen = false;
    this.out.clear();
    this.pool.onConnClosed(this);
    const u = this.user;
    this.user = null;
    try {
      u?.onUpstreamClose(this, { code: "upstream_reset_before_response", errno });
    } catch (err) {
      reportError("upstream close", err);
    }
  }

  /**
   * HTTP/2 streams (upstream-h2.ts): the request head as fields,
   * x-envoy-attempt-count `attempt`; `rawBody`: a body of unknown length
   * follows as data ending with a BodyEnd (upstream-request.ts), not as
   * chunks. false when the stream does not take more now.
   */
  startFields?(h: H2RequestHead, attempt: number, rawBody: boolean): boolean;

  write(b: Uint8Array): boolean {
    if (this.socket === null || this.closed) return false;
    return this.out.write(this.socket, b);
  }

  /** b[from, from + n), which the caller writes over afterwards: what the kernel does not take now is copied. */
  writeCopy(b: Buffer, from: number, n: number): boolean {
    const s = this.socket;
    if (s === null || this.closed) return false;
    const out = this.out;
    if (!out.empty) return out.write(s, Buffer.from(b.subarray(from, from + n)));
    const w = s.write(b, from, n);
    if (w === n) return true;
    out.keep(Buffer.from(b.subarray(from + (w > 0 ? w : 0), from + n)), 0);
    return false;
  }

  pause(): void {
    if (!this.paused && this.socket !== null) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resume(): void {
    if (this.paused && this.socket !== null) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Back to the pool (or closed when it cannot be reused). */
  release(reusable: boolean): void {
    this.user = null;
    if (!reusable || this.closed || !this.out.empty) {
      this.destroy();
      return;
    }
    this.resume();
    this.idleSince = coarseNow;
    this.pool.putIdle(this);
  }

  /** Close now; the user (if any) is detached first and not told. */
  destroy(): void {
    this.user = null;
    if (this.closed) return;
    const s = this.socket;
    this.onGone("local close"); // still connecting: onOpen closes it when it comes
    if (s !== null) s.terminate();
  }
}

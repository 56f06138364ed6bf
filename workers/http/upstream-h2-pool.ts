// HTTP/2 sessions to one upstream endpoint (h2c with prior knowledge, or h2
// over TLS with ALPN), each carrying many streams: gangway's own client
// sessions (h2/client-session.ts), or node:http2's when the worker starts
// with GANGWAY_H2_UPSTREAM=node (kept to compare the two).
// a stream goes on a connected session with room (the upstream's
// SETTINGS_MAX_CONCURRENT_STREAMS and the cluster's maxConcurrentStreams),
// else on one connecting, else on a new session. Each stream is an
// H2StreamConn (upstream-h2.ts), the exchange's view of a connection.
import * as http2 from "node:http2";
import { errCode } from "../../src/dispatch/replies.ts";
import { coarseNow, reportError } from "../context.ts";
import { stats } from "../stats.ts";
import { H2StreamConn, WINDOW } from "./upstream-h2.ts";
import type { ConnPool, UpstreamConn, UpstreamUser } from "./upstream-conn.ts";
import { alpnWire, connectOptions, verifyUpstream, type UpstreamTlsRuntime } from "./upstream-tls.ts";
import { H2Duplex } from "./h2-duplex.ts";
import { H2ClientSession, type ClientSessionHost } from "./h2/client-session.ts";
import type { ClientStreamOwner } from "./h2/client-stream.ts";
import { nodeStream, type UpStream } from "./upstream-h2-node.ts";
import type { Socket, SocketHandler } from "bun";
import { bunConnect } from "../connect.ts";
import { sameHeader } from "../proxy-header-out.ts";

/** Read once at worker start: "node" runs upstream sessions on node:http2 instead of gangway's own codec. */
const NODE_CODEC = process.env.GANGWAY_H2_UPSTREAM === "node";

/** What the sessions need of their endpoint pool (EndpointPool). */
export interface H2Endpoint {
  readonly cluster: string;
  readonly address: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  readonly tls: UpstreamTlsRuntime | null;
  readonly maxRequestsPerConnection: number;
  /** Sessions count as the endpoint's connections (circuit breakers, gauges). */
  connections: number;
  pending: number;
  readonly waiters: { user: UpstreamUser & { onUpstreamGranted(c: UpstreamConn): void }; sni: string; proxy: Buffer | null }[];
  onConnClosed(c: UpstreamConn | null): void;
}

/** Streams a session opens before the upstream's SETTINGS say how many it takes. */
const DEFAULT_STREAMS = 100;

/** One HTTP/2 connection to the endpoint. */
export class H2Session implements ClientSessionHost {
  /** The node:http2 session (GANGWAY_H2_UPSTREAM=node; null while connecting). */
  session: http2.ClientHttp2Session = null as never;
  /** gangway's own session (null while connecting, or with node:http2). */
  own: H2ClientSession | null = null;
  pool: H2Sessions = null as never;
  /** h2c: the Bun socket under the session, and the duplex batching the session's writes. */
  raw: Socket<H2Session> | null = null;
  duplex: H2Duplex | null = null;
  connected = false;
  dead = false;
  streams = 0;
  total = 0;
  idleSince = coarseNow;
  /** Streams waiting for the session to connect. */
  readonly waiting: H2StreamConn[] = [];
  timer: ReturnType<typeof setTimeout> | null = null;
  local = "";

  constructor(
    readonly sni: string,
    readonly tls: UpstreamTlsRuntime | null,
    /** The PROXY protocol header the connection started with: its streams are that client's only; null: none. */
    readonly proxy: Buffer | null = null,
  ) {}

  capacity(maxStreams: number): number {
    const peer = !this.connected ? DEFAULT_STREAMS : this.own !== null ? this.own.maxStreams : (this.session.remoteSettings?.maxConcurrentStreams ?? DEFAULT_STREAMS);
    return Math.min(peer, maxStreams > 0 ? maxStreams : Infinity);
  }

  openStream(owner: ClientStreamOwner, h: http2.OutgoingHttpHeaders, endStream: boolean, trailers: boolean): UpStream | null {
    const own = this.own;
    if (own !== null) return own.request(owner, h, endStream);
    return nodeStream(this.session, owner, h, endStream, trailers);
  }

  onSessionReady(): void {
    try {
      this.pool.connectedSession(this);
    } catch (err) {
      reportError("upstream h2 connect", err);
      this.pool.failed(this, "connect_error", "connect_failure");
    }
  }

  onSessionGoaway(): void {
    this.pool.retire(this);
  }

  onSessionClosed(): void {
    if (!this.connected) this.pool.failed(this, "connection_termination", "connect_failure");
    else this.pool.closed(this);
  }
}

/** The HTTP/2 sessions of one endpoint. */
export class H2Sessions implements ConnPool {
  private sessions: H2Session[] = [];
  /** connectionPool.http.maxConcurrentStreams (0: the upstream's SETTINGS decide). */
  maxStreams = 0;

  constructor(readonly ep: H2Endpoint) {}

  get address(): string {
    return this.ep.address;
  }
  get port(): number {
    return this.ep.port;
  }
  get connectTimeoutMs(): number {
    return this.ep.connectTimeoutMs;
  }

  private usable(s: H2Session, sni: string, connectedOnly: boolean, proxy: Buffer | null): boolean {
    return !s.dead && s.sni === sni && s.tls === this.ep.tls && (s.connected || !connectedOnly) && s.streams < s.capacity(this.maxStreams) && sameHeader(s.proxy, proxy);
  }

  /** A connected session has room for one more stream (to `sni`, made with the PROXY header `proxy`)? */
  hasRoom(sni: string, proxy: Buffer | null = null): boolean {
    return this.sessions.some((s) => this.usable(s, sni, true, proxy));
  }

  /**
   * A stream for `user`: on a connected session with room (open at once), or
   * (`connectedOnly` false) on a connecting one, or a new session. null when
   * `connectedOnly` and none has room.
   */
  take(user: UpstreamUser, sni: string, connectedOnly: boolean, proxy: Buffer | null = null): H2StreamConn | null {
    let s = this.sessions.find((x) => this.usable(x, sni, true, proxy)) ?? null;
    if (s === null && connectedOnly) return null;
    s ??= this.sessions.find((x) => this.usable(x, sni, false, proxy)) ?? this.open(sni, proxy);
    const c = new H2StreamConn(this, s, user);
    s.streams++;
    s.total++;
    const max = this.ep.maxRequestsPerConnection;
    if (max > 0 && s.total >= max) this.retire(s); // no new streams; closes once its last is done
    // open at once: the caller sees isOpen and writes; else it hears onUpstreamOpen when the session connects
    if (s.connected) c.isOpen = true;
    else s.waiting.push(c);
    return c;
  }

  private open(sni: string, proxy: Buffer | null): H2Session {
    const ep = this.ep;
    const tls = ep.tls;
    const s = new H2Session(sni, tls, proxy);
    s.pool = this;
    this.sessions.push(s);
    ep.connections++;
    stats.upstreamConnection(ep.cluster);
    if (tls !== null && tls.problem !== "") {
      queueMicrotask(() => this.failed(s, `TLS_error:_${tls.problem.replace(/ /g, "_")}`, "connect_failure"));
      return s;
    }
    s.timer = setTimeout(() => this.failed(s, "connect_timeout", "connect_timeout"), ep.connectTimeoutMs);
    // the session runs over a Bun socket (TLS with ALPN h2, or h2c) through an H2Duplex, which gathers the
    // frames the session writes in a turn into one write (Bun's native client socket flushes once per stream)
    const o = { hostname: ep.address, port: ep.port, data: s, socket: RAW };
    try {
      bunConnect<H2Session>(o, tls === null ? null : { ...connectOptions(tls, sni), ALPNProtocols: H2_ALPN }, proxy).catch(() => {});
    } catch (err) {
      queueMicrotask(() => this.failed(s, errCode(err), "connect_failure"));
    }
    return s;
  }

  /** TLS: the handshake ended; the upstream's certificate is checked (upstream-tls.ts) and h2 must have been chosen. */
  rawHandshake(s: H2Session, sock: Socket<H2Session>, err: Error | null): void {
    const why = verifyUpstream(s.tls!.policy, err as { code?: string } | null, sock.getPeerCertificate()?.subjectaltname);
    if (why !== "") {
      this.failed(s, `TLS_error:_${why}`, "connect_failure");
      return void sock.terminate();
    }
    if (sock.alpnProtocol !== "h2") {
      this.failed(s, "h2_not_negotiated", "connect_failure");
      return void sock.terminate();
    }
    this.rawOpen(s, sock);
  }

  /** The socket is open (TLS: and verified); the session starts on it. */
  rawOpen(s: H2Session, sock: Socket<H2Session>): void {
    if (s.dead) return void sock.terminate(); // gave up (connect timeout)
    s.raw = sock;
    if (!NODE_CODEC) {
      // the session is ready (streams go out) once the upstream's SETTINGS came: onSessionReady
      s.own = new H2ClientSession(sock, s, WINDOW);
      return;
    }
    const d = new H2Duplex(sock);
    s.duplex = d;
    const ep = this.ep;
    const host = ep.address.includes(":") ? `[${ep.address}]` : ep.address;
    // strictSingleValueFields false: a field the client repeated (two user-agent lines) goes on as it came, as
    // Envoy forwards it, instead of node:http2 refusing the request (which left the exchange waiting)
    s.session = http2.connect(`http://${host}:${ep.port}`, { settings: SETTINGS, strictSingleValueFields: false, createConnection: () => d as never } as http2.ClientSessionOptions);
    this.watch(s);
  }

  private watch(s: H2Session): void {
    const session = s.session;
    session.on("connect", () => {
      try {
        this.connectedSession(s);
      } catch (err) {
        reportError("upstream h2 connect", err);
        this.failed(s, "connect_error", "connect_failure");
      }
    });
    session.on("error", (err: Error) => {
      if (!s.connected) this.failed(s, errCode(err), "connect_failure");
    });
    session.on("goaway", () => this.retire(s));
    session.on("close", () => this.closed(s));
  }

  connectedSession(s: H2Session): void {
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    if (s.dead && s.waiting.length === 0) return void destroySession(s);
    s.connected = true;
    const sock = s.raw;
    s.local = sock === null ? "" : sock.localFamily === "IPv6" ? `[${sock.localAddress}]:${sock.localPort}` : `${sock.localAddress}:${sock.localPort}`;
    const waiting = s.waiting.splice(0);
    for (const c of waiting) if (!c.closed) c.opened();
    this.grantWaiters();
  }

  /** The session never opened: its streams fail as a connection that did not. */
  failed(s: H2Session, errno: string, code: "connect_failure" | "connect_timeout"): void {
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    if (s.connected) return;
    s.dead = true;
    const waiting = s.waiting.splice(0);
    for (const c of waiting) c.onConnectError(errno, code);
    destroySession(s);
    this.closed(s);
  }

  retire(s: H2Session): void {
    s.dead = true;
    if (s.streams === 0) closeSession(s);
  }

  closed(s: H2Session): void {
    const i = this.sessions.indexOf(s);
    if (i < 0) return;
    this.sessions.splice(i, 1);
    s.dead = true;
    if (s.timer !== null) clearTimeout(s.timer);
    // streams still waiting (closed before connecting): failed as a refused connection
    for (const c of s.waiting.splice(0)) c.onConnectError("connection_termination", "connect_failure");
    this.ep.onConnClosed(null);
  }

  /** A stream is over (ConnPool: the stream conn closed). */
  onConnClosed(c: UpstreamConn): void {
    const sc = c as H2StreamConn;
    const s = sc.session as H2Session;
    if (sc.counted) {
      sc.counted = false;
      s.streams--;
    }
    const w = s.waiting.indexOf(sc);
    if (w >= 0) s.waiting.splice(w, 1);
    if (s.streams === 0) {
      s.idleSince = coarseNow;
      if (s.dead) closeSession(s);
    }
    this.grantWaiters();
  }

  /** Streams never go idle: each is used once. */
  putIdle(c: UpstreamConn): void {
    c.destroy();
  }

  /** Requests queued by the circuit breakers get a stream when one has room. */
  private grantWaiters(): void {
    const ws = this.ep.waiters;
    while (ws.length > 0) {
      const w = ws[0]!;
      const s = this.sessions.find((x) => this.usable(x, w.sni, true, w.proxy));
      if (s === undefined) return;
      ws.shift();
      w.user.onUpstreamGranted(this.take(w.user, w.sni, true, w.proxy)!);
    }
  }

  /** Close sessions without streams idle since `before`. */
  closeIdle(before: number): void {
    for (const s of [...this.sessions]) {
      if (s.streams === 0 && s.idleSince <= before) {
        s.dead = true;
        closeSession(s);
      }
    }
  }

  /** No new streams on any session (TLS settings changed, the endpoint left): each closes when done. */
  retireAll(): void {
    for (const s of [...this.sessions]) this.retire(s);
  }
}

const SETTINGS: http2.Settings = { enablePush: false, initialWindowSize: WINDOW };
const H2_ALPN = alpnWire(["h2"]);

/** GOAWAY, then closed once its streams are done; a session still connecting is dropped. */
function closeSession(s: H2Session): void {
  if (s.own !== null) return s.own.close();
  const session = s.session;
  if (session === null) return void s.raw?.terminate();
  if (!session.closed && !session.destroyed) session.close();
}

function destroySession(s: H2Session): void {
  if (s.own !== null) return s.own.destroy();
  const session = s.session;
  if (session !== null && !session.destroyed) session.destroy();
  s.raw?.terminate();
}

/** The Bun socket under an h2c session (H2Session.raw). */
const RAW: SocketHandler<H2Session> = {
  open(sock) {
    const s = sock.data;
    if (s.tls !== null) return; // once the handshake is accepted
    try {
      s.pool.rawOpen(s, sock);
    } catch (err) {
      reportError("upstream h2 open", err);
      s.pool.failed(s, "connect_error", "connect_failure");
    }
  },
  handshake(sock, _ok, err) {
    const s = sock.data;
    if (s.dead) return void sock.terminate();
    try {
      s.pool.rawHandshake(s, sock, err);
    } catch (e) {
      reportError("upstream h2 handshake", e);
      s.pool.failed(s, "TLS_error:_handshake", "connect_failure");
      sock.terminate();
    }
  },
  data(sock, d) {
    const s = sock.data;
    if (s.own !== null) {
      try {
        s.own.feed(d);
      } catch (err) {
        reportError("upstream h2 data", err);
        s.own.destroy();
      }
    } else s.duplex?.feed(d);
  },
  drain(sock) {
    const s = sock.data;
    if (s.own !== null) s.own.drain();
    else s.duplex?.flush();
  },
  end(sock) {
    const s = sock.data;
    if (s.own !== null) s.own.socketClosed();
    else s.duplex?.rawEnded();
  },
  close(sock) {
    const s = sock.data;
    if (s.own !== null) s.own.socketClosed();
    else if (s.duplex !== null) s.duplex.rawEnded();
    else s.pool.failed(s, "connection_termination", "connect_failure");
  },
  connectError(sock, err) {
    const s = sock.data;
    const errno = errCode(err);
    // a microtask later: Bun calls this inside Bun.connect when socket() fails (EMFILE), before take() queues the stream
    queueMicrotask(() => s.pool.failed(s, errno, "connect_failure"));
  },
  error(_sock, err) {
    reportError("upstream h2 socket", err);
  },
};

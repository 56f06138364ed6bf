// HTTP/2 to an upstream endpoint (h2c with prior knowledge, or h2 over TLS
// with ALPN): node:http2 client sessions pooled per endpoint, each carrying
// many streams. An exchange gets an H2StreamConn, shaped like the UpstreamConn
// it uses for HTTP/1.1: it writes an HTTP/1.1 request into it and reads an
// HTTP/1.1 response back (h2-upstream-heads.ts translates), so the exchange's
// state machine stays the one owner of the request's state; this file only
// adapts the codec. Trailers travel as the chunked body's trailer section.
import * as http2 from "node:http2";
import { errCode } from "../../src/dispatch/replies.ts";
import { coarseNow, reportError } from "../context.ts";
import { stats } from "../stats.ts";
import { ChunkedScanner, CHUNKED_BAD, CHUNKED_MORE, trailerFields } from "./chunked.ts";
import { h1ResponseHead, h2RequestHead, lastChunk, REQ_CHUNKED, REQ_LENGTH, REQ_NONE } from "./h2-upstream-heads.ts";
import { UpstreamConn, type ConnPool, type UpstreamUser } from "./upstream-conn.ts";
import { verifyUpstream, type UpstreamTlsRuntime } from "./upstream-tls.ts";

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
  readonly waiters: { user: UpstreamUser & { onUpstreamGranted(c: UpstreamConn): void }; sni: string }[];
  onConnClosed(c: UpstreamConn | null): void;
}

/** Streams a session opens before the upstream's SETTINGS say how many it takes. */
const DEFAULT_STREAMS = 100;
/** Stream flow-control window: what an upstream may send ahead of a paused client. */
const WINDOW = 256 * 1024;
const { NGHTTP2_CANCEL } = http2.constants;

/** One HTTP/2 connection to the endpoint. */
class H2Session {
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
    readonly session: http2.ClientHttp2Session,
    readonly sni: string,
    readonly tls: UpstreamTlsRuntime | null,
  ) {}

  capacity(maxStreams: number): number {
    const peer = this.connected ? (this.session.remoteSettings?.maxConcurrentStreams ?? DEFAULT_STREAMS) : DEFAULT_STREAMS;
    return Math.min(peer, maxStreams > 0 ? maxStreams : Infinity);
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

  private usable(s: H2Session, sni: string, connectedOnly: boolean): boolean {
    return !s.dead && s.sni === sni && s.tls === this.ep.tls && (s.connected || !connectedOnly) && s.streams < s.capacity(this.maxStreams);
  }

  /** A connected session has room for one more stream (to `sni`)? */
  hasRoom(sni: string): boolean {
    return this.sessions.some((s) => this.usable(s, sni, true));
  }

  /**
   * A stream for `user`: on a connected session with room (open at once), or
   * (`connectedOnly` false) on a connecting one, or a new session. null when
   * `connectedOnly` and none has room.
   */
  take(user: UpstreamUser, sni: string, connectedOnly: boolean): H2StreamConn | null {
    let s = this.sessions.find((x) => this.usable(x, sni, true)) ?? null;
    if (s === null && connectedOnly) return null;
    s ??= this.sessions.find((x) => this.usable(x, sni, false)) ?? this.open(sni);
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

  private open(sni: string): H2Session {
    const ep = this.ep;
    const tls = ep.tls;
    const host = ep.address.includes(":") ? `[${ep.address}]` : ep.address;
    const settings: http2.Settings = { enablePush: false, initialWindowSize: WINDOW };
    let session: http2.ClientHttp2Session;
    if (tls === null) session = http2.connect(`http://${host}:${ep.port}`, { settings });
    else {
      const b = tls.base;
      const o: http2.SecureClientSessionOptions = { settings, rejectUnauthorized: false, ALPNProtocols: ["h2"], ca: b.ca, cert: b.cert, key: b.key };
      if (sni !== "") o.servername = sni;
      session = http2.connect(`https://${host}:${ep.port}`, o);
    }
    const s = new H2Session(session, sni, tls);
    this.sessions.push(s);
    ep.connections++;
    stats.upstreamConnection(ep.cluster);
    if (tls !== null && tls.problem !== "") {
      queueMicrotask(() => this.failed(s, `TLS_error:_${tls.problem.replace(/ /g, "_")}`, "connect_failure"));
      return s;
    }
    s.timer = setTimeout(() => this.failed(s, "connect_timeout", "connect_timeout"), ep.connectTimeoutMs);
    session.on("connect", () => {
      try {
        this.connected(s);
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
    return s;
  }

  private connected(s: H2Session): void {
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    if (s.dead && s.waiting.length === 0) return void s.session.destroy();
    const tls = s.tls;
    if (tls !== null) {
      const sock = s.session.socket as unknown as { authorizationError?: string | Error; getPeerCertificate?(): { subjectaltname?: string } };
      const ae = sock.authorizationError;
      const err = ae === undefined || ae === null ? null : { code: typeof ae === "string" ? ae : ((ae as { code?: string }).code ?? String(ae)) };
      const why = verifyUpstream(tls.policy, err, sock.getPeerCertificate?.()?.subjectaltname);
      if (why !== "") return this.failed(s, `TLS_error:_${why}`, "connect_failure");
    }
    s.connected = true;
    try {
      const sock = s.session.socket as unknown as { localAddress?: string; localPort?: number };
      s.local = `${sock.localAddress ?? ""}:${sock.localPort ?? 0}`;
    } catch {
      s.local = "";
    }
    const waiting = s.waiting.splice(0);
    for (const c of waiting) if (!c.closed) c.opened();
    this.grantWaiters();
  }

  /** The session never opened: its streams fail as a connection that did not. */
  private failed(s: H2Session, errno: string, code: "connect_failure" | "connect_timeout"): void {
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    if (s.connected) return;
    s.dead = true;
    const waiting = s.waiting.splice(0);
    for (const c of waiting) c.onConnectError(errno, code);
    if (!s.session.destroyed) s.session.destroy();
    this.closed(s);
  }

  private retire(s: H2Session): void {
    s.dead = true;
    if (s.streams === 0 && !s.session.closed) s.session.close();
  }

  private closed(s: H2Session): void {
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
    const s = sc.session;
    if (sc.counted) {
      sc.counted = false;
      s.streams--;
    }
    const w = s.waiting.indexOf(sc);
    if (w >= 0) s.waiting.splice(w, 1);
    if (s.streams === 0) {
      s.idleSince = coarseNow;
      if (s.dead && !s.session.closed && !s.session.destroyed) s.session.close();
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
      const s = this.sessions.find((x) => this.usable(x, w.sni, true));
      if (s === undefined) return;
      ws.shift();
      w.user.onUpstreamGranted(this.take(w.user, w.sni, true)!);
    }
  }

  /** Close sessions without streams idle since `before`. */
  closeIdle(before: number): void {
    for (const s of [...this.sessions]) {
      if (s.streams === 0 && s.idleSince <= before) {
        s.dead = true;
        s.session.close();
      }
    }
  }

  /** No new streams on any session (TLS settings changed, the endpoint left): each closes when done. */
  retireAll(): void {
    for (const s of [...this.sessions]) this.retire(s);
  }
}

/**
 * One request's stream, as the exchange sees a connection: the request comes
 * in as HTTP/1.1 bytes (head, then a length-delimited or chunked body), the
 * response goes out to the user as HTTP/1.1 bytes.
 */
export class H2StreamConn extends UpstreamConn {
  stream: http2.ClientHttp2Stream | null = null;
  /** Counted in its session's streams. */
  counted = true;
  private headBuf = "";
  private reqBody = -1;
  private reqLeft = 0;
  private reqChunks: ChunkedScanner | null = null;
  private reqTrailers: [string, string][] = [];
  private reqEnded = false;
  private respChunked = false;
  private respTrailers: http2.IncomingHttpHeaders | null = null;
  private respEnded = false;
  private h2paused = false;
  /** A gRPC response whose status must come in trailers. */
  private grpcNeedsStatus = false;

  constructor(
    private readonly sessions: H2Sessions,
    readonly session: H2Session,
    user: UpstreamUser,
  ) {
    super(sessions, user, session.tls, session.sni);
    // the exchange writes the request head through the outbox onto `socket`
    this.socket = { write: (d: string | Uint8Array) => (this.fromExchange(typeof d === "string" ? Buffer.from(d, "latin1") : Buffer.from(d)), d.length) } as never;
  }

  override get localAddress(): string {
    return this.session.local;
  }

  /** The session connected: the exchange waiting for it may write. */
  opened(): void {
    this.isOpen = true;
    const u = this.user;
    if (u === null) return;
    try {
      u.onUpstreamOpen(this);
    } catch (err) {
      reportError("upstream h2 open", err);
      this.destroy();
    }
  }

  override connect(): void {}

  override write(b: Uint8Array): boolean {
    if (this.closed) return false;
    this.fromExchange(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    const s = this.stream;
    return s === null || s.writableLength < WINDOW;
  }

  private fromExchange(b: Buffer): void {
    if (this.closed || this.reqEnded) return;
    if (this.stream === null) {
      this.headBuf += b.toString("latin1");
      const end = this.headBuf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const rest = Buffer.from(this.headBuf.slice(end + 4), "latin1");
      this.startStream(this.headBuf.slice(0, end));
      this.headBuf = "";
      if (rest.length > 0 && !this.closed) this.body(rest);
      return;
    }
    this.body(b);
  }

  private startStream(text: string): void {
    const h = h2RequestHead(text, this.session.tls === null ? "http" : "https");
    if (h === null) return this.onGone("protocol_error");
    this.reqBody = h.body;
    this.reqLeft = h.length;
    if (h.body === REQ_CHUNKED) {
      this.reqChunks = new ChunkedScanner();
      this.reqChunks.trailerBytes = [];
    }
    const ended = h.body === REQ_NONE;
    this.reqEnded = ended;
    const st = this.session.session.request(h.headers, { endStream: ended, waitForTrailers: h.body === REQ_CHUNKED });
    this.stream = st;
    if (this.h2paused) st.pause();
    st.on("wantTrailers", () => {
      const t: http2.OutgoingHttpHeaders = {};
      for (const [n, v] of this.reqTrailers) t[n] = v;
      st.sendTrailers(t);
    });
    st.on("response", (headers, flags) => this.onResponse(headers, (Number(flags) & 1) === 1 || st.endAfterHeaders, String(h.headers[":method"]) === "HEAD"));
    st.on("data", (d: Buffer) => this.onData(d));
    st.on("trailers", (t) => (this.respTrailers = t));
    st.on("end", () => this.onEnd());
    st.on("drain", () => {
      const u = this.user;
      if (u !== null) u.onUpstreamDrain(this);
    });
    st.on("error", () => {});
    st.on("close", () => {
      if (!this.respEnded) this.onGone(st.rstCode !== undefined && st.rstCode !== 0 ? `stream_reset_${st.rstCode}` : "connection termination");
    });
  }

  private body(b: Buffer): void {
    const st = this.stream!;
    if (this.reqBody === REQ_LENGTH) {
      const take = Math.min(this.reqLeft, b.length);
      if (take > 0) st.write(take === b.length ? b : b.subarray(0, take));
      this.reqLeft -= take;
      if (this.reqLeft === 0) {
        this.reqEnded = true;
        st.end();
      }
      return;
    }
    if (this.reqBody !== REQ_CHUNKED) return;
    const sc = this.reqChunks!;
    const r = sc.scan(b, 0, b.length, (buf, s, e) => void st.write(buf.subarray(s, e)));
    if (r === CHUNKED_BAD) return this.destroy();
    if (r !== CHUNKED_MORE) {
      this.reqTrailers = trailerFields(sc.trailerBytes);
      this.reqEnded = true;
      st.end();
    }
  }

  private onResponse(headers: http2.IncomingHttpHeaders, ended: boolean, head: boolean): void {
    const r = h1ResponseHead(headers, ended, head);
    this.respChunked = r.chunked;
    this.grpcNeedsStatus = !ended && headers["grpc-status"] === undefined && String(headers["content-type"] ?? "").startsWith("application/grpc");
    this.toUser(Buffer.from(r.text, "latin1"));
  }

  private onData(d: Buffer): void {
    if (d.length === 0) return;
    if (this.respChunked) this.toUser(Buffer.concat([Buffer.from(d.length.toString(16) + "\r\n", "latin1"), d, CRLF]));
    else this.toUser(d);
  }

  /**
   * The upstream's side of the stream ended. Bun's node:http2 reports an
   * RST_STREAM as a clean end too (rstCode 0, no error), so a gRPC response
   * ending without grpc-status is taken as the reset it is, and a body shorter
   * than its content-length as cut: the client's stream is reset, as Envoy does.
   */
  private onEnd(): void {
    if (this.respEnded) return;
    this.respEnded = true;
    if (this.grpcNeedsStatus && this.respTrailers?.["grpc-status"] === undefined) return this.onGone("stream_reset");
    if (this.respChunked) this.toUser(Buffer.from(lastChunk(this.respTrailers), "latin1"));
    if (this.user !== null && !this.closed) this.onGone("connection termination"); // the response did not complete
  }

  private toUser(b: Buffer): void {
    const u = this.user;
    if (u === null) return;
    try {
      u.onUpstreamData(this, b);
    } catch (err) {
      reportError("upstream h2 data", err);
      this.destroy();
    }
  }

  override pause(): void {
    this.h2paused = true;
    this.stream?.pause();
  }

  override resume(): void {
    this.h2paused = false;
    this.stream?.resume();
  }

  /** The exchange is done with the stream: it is not reused; an unfinished one is cancelled. */
  override release(_reusable: boolean): void {
    this.destroy();
  }

  override destroy(): void {
    this.user = null;
    if (this.closed) return;
    this.closed = true;
    this.isOpen = false;
    const st = this.stream;
    if (st !== null && !st.closed && !st.destroyed && !(this.respEnded && this.reqEnded)) st.close(NGHTTP2_CANCEL);
    this.sessions.onConnClosed(this);
  }
}

const CRLF = Buffer.from("\r\n", "latin1");

// One client connection (Bun.listen socket): reads request heads, runs one
// exchange at a time in order (pipelined requests wait in the buffer), keeps
// the connection alive between exchanges, and splices after an upgrade.
import type { Socket } from "bun";
import type { Listener } from "../../src/snapshot/types.ts";
import { accessLog } from "../access-log.ts";
import { coarseNow, options, reportError } from "../context.ts";
import { PROXY_BAD, ProxyHeaderReader, type ProxiedAddress } from "../proxy-protocol.ts";
import { stats } from "../stats.ts";
import type { PortConnection, PortState } from "../port-state.ts";
import type { DownstreamTls, ExchangeConn } from "./conn.ts";
import { BODY_BAD, BODY_MORE } from "./body.ts";
import { TCHAR } from "./chars.ts";
import { Exchange } from "./exchange.ts";
import { H2Conn, startsWithPreface } from "./h2.ts";
import type { H2Stream } from "./h2-stream.ts";
import { findHeadBytes } from "./fields.ts";
import { borrowScratch, returnScratch, type HeadScratch } from "./head-scratch.ts";
import { Outbox } from "./outbox.ts";
import { MAX_REQUEST_HEAD, parseRequestHead, RequestHead } from "./parse-request.ts";

const HEAD = 0;
const BODY = 1;
const WAIT = 2;
const TUNNEL = 3;

/** Longest method accepted (a request line still without its first space after this is refused). */
const MAX_METHOD = 32;

/**
 * Do the bytes at `off` already rule out a request line? Only tchars may come
 * before the first space (binary garbage, a TLS ClientHello on a plain port).
 */
export function badMethodPrefix(buf: Uint8Array, off: number): boolean {
  const end = Math.min(buf.length, off + MAX_METHOD + 1);
  for (let i = off; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x20) return i === off;
    if (TCHAR[c] === 0) return true;
  }
  return end - off > MAX_METHOD;
}

/** Pipelined bytes buffered while an exchange runs before the client is paused. */
const PIPELINE_LIMIT = 1 << 20;
/** First size of the buffer joined reads are copied into. */
const STORE_MIN = 16 * 1024;

export type { DownstreamTls };

export class Downstream implements ExchangeConn, PortConnection {
  /** Set for TLS-terminated connections (workers/tls/listener.ts). */
  tls: DownstreamTls | null = null;
  /** The connection speaks HTTP/2 (its streams are H2Streams). */
  h2: H2Conn | null = null;
  /** ExchangeConn: a Downstream is never one HTTP/2 stream (h2-stream.ts is). */
  readonly h2Stream = false;
  /** Requests started on this connection. */
  private requests = 0;
  private buf: Buffer | null = null;
  /** The growing copy `buf` lives in when reads had to be joined (see append). */
  private store: Buffer | null = null;
  private off = 0;
  private state = HEAD;
  ex: Exchange | null = null;
  /** What the kernel has not taken yet; made at the first short write, dropped once drained. */
  private out: Outbox | null = null;
  /** Field spans and kinds of the request head being served (see scanFields): borrowed per exchange (head-scratch.ts). */
  private scratch: HeadScratch | null = null;
  lastActive = coarseNow;
  /** Coarse time of accept (--max-connection-duration). */
  readonly born = coarseNow;
  /** Coarse time the first byte of the request head being read arrived (--request-headers-timeout). */
  headStart = coarseNow;
  /** Coarse time the connection was asked to close (max connection duration), 0: not asked. */
  drainStart = 0;
  /** --proxy-protocol: reads the connection's PROXY header before any request (plain-text ports; TLS ports read it before the ClientHello). */
  proxy: ProxyHeaderReader | null = null;
  /** HTTP/2: the open streams, for their idle timeout. */
  streams: Set<H2Stream> | null = null;
  closed = false;
  /** end() was called: no more requests are read; closes once written. */
  ending = false;
  private paused = false;
  private inLoop = false;
  /** The client's address; a PROXY protocol header replaces it with the one it carries. */
  remoteIp: string;
  /** The socket's peer (the load balancer when a PROXY header named the client): AuthorizationPolicy ipBlocks. */
  readonly peerIp: string;
  /** The client's port (-1: not read yet); the socket's own "ip:port" ("": not read yet). Read when
   * first used (each read is a syscall), at accept when the access log is on: a closed socket has
   * none left to read and the log needs them. */
  private rport = -1;
  private local = "";

  constructor(
    readonly socket: Socket<Downstream>,
    readonly port: PortState,
  ) {
    this.remoteIp = socket.remoteAddress ?? "";
    this.peerIp = this.remoteIp;
    if (accessLog.enabled) {
      this.rport = socket.remotePort ?? 0;
      void this.localAddress;
    }
  }

  get remotePort(): number {
    if (this.rport < 0) this.rport = this.socket.remotePort ?? 0;
    return this.rport;
  }

  /** ConnFacts: the port's listener in its current generation. */
  get listener(): Listener {
    return this.port.listener;
  }

  /** ConnFacts: the SNI of the handshake when TLS was terminated here, else null. */
  get sni(): string | null {
    const t = this.tls;
    return t === null ? null : t.sni;
  }

  get remoteAddress(): string {
    const ip = this.remoteIp;
    return (ip.includes(":") ? `[${ip}]` : ip) + ":" + this.remotePort;
  }

  get localAddress(): string {
    if (this.local === "") {
      const ip = this.socket.localAddress ?? "";
      this.local = (ip.includes(":") ? `[${ip}]` : ip) + ":" + (this.socket.localPort ?? 0);
    }
    return this.local;
  }

  /** True while the client is not taking our writes. */
  get congested(): boolean {
    return this.out !== null && this.out.queued > 0;
  }

  /** Bytes of a request head are waiting for the rest (HTTP/1.1, between exchanges). */
  get partialHead(): boolean {
    const b = this.buf;
    return this.ex === null && this.h2 === null && this.state === HEAD && b !== null && this.off < b.length && !this.closed && !this.ending;
  }

  /** --request-headers-timeout passed with a head still incomplete: 408 and close, logged. */
  headTimeout(): void {
    this.buf = null;
    this.store = null;
    const ex = new Exchange(this, new RequestHead());
    this.ex = ex;
    ex.headTimedOut();
  }

  /** Close once the exchange in flight is done (HTTP/2: GOAWAY); `now` starts the drain timeout. */
  requestDrain(now: number): void {
    if (this.drainStart !== 0) return;
    this.drainStart = now;
    if (this.h2 !== null) return this.h2.goaway();
    if (this.ex === null) this.end();
  }

  /** Idle: no exchange (or HTTP/2 stream) in flight and nothing half-read. */
  get idle(): boolean {
    return this.ex === null && (this.h2 === null || this.h2.active === 0);
  }

  /** An upgraded (WebSocket) tunnel is running. */
  get tunnelled(): boolean {
    return this.ex !== null && this.ex.tunnel;
  }

  touch(): void {
    this.lastActive = coarseNow;
  }

  /** Bytes before the PROXY header is complete: the client's address is taken from it, a connection without one is closed. */
  private proxyBytes(data: Buffer): void {
    const rest = this.proxy!.feed(data);
    if (rest === null) return;
    if (rest === PROXY_BAD) {
      stats.proxyProtocolError(this.port.listener.name);
      return this.abort();
    }
    this.takeProxied(this.proxy!.addr);
    this.proxy = null;
    if (rest.length > 0) this.onData(rest);
  }

  /** The client is the one a PROXY header named (when it named one). */
  takeProxied(addr: ProxiedAddress): void {
    if (addr.ip === "") return;
    this.remoteIp = addr.ip;
    this.rport = addr.port;
  }

  onData(data: Buffer): void {
    this.lastActive = coarseNow;
    if (this.proxy !== null) return this.proxyBytes(data);
    if (this.h2 !== null) return this.h2.feed(data);
    const ex = this.ex;
    switch (this.state) {
      case BODY: {
        const r = ex!.feedBody(data, 0, data.length);
        if (r === BODY_MORE) return;
        if (r === BODY_BAD) return ex!.badBody();
        this.state = WAIT;
        if (r < data.length) this.append(data, r);
        ex!.requestComplete();
        return;
      }
      case TUNNEL:
        ex!.tunnelUp(data);
        return;
      default:
        this.append(data, 0);
        if (this.state === HEAD) this.next();
        // still buffered: a pipeline waiting for its turn (or for the client to read): bounded
        if (this.buf !== null && this.buf.length - this.off > PIPELINE_LIMIT) this.pause();
    }
  }

  /**
   * Keep unparsed bytes. A read that finds nothing waiting is kept as is (no
   * copy); otherwise the bytes go into `store`, which doubles when full, so a
   * head or a pipeline arriving in many small reads costs linear time, not a
   * concatenation per read. Bytes already handed out (body slices held for
   * the upstream) are never overwritten: only the free tail is written.
   */
  private append(data: Buffer, from: number): void {
    const b = this.buf;
    if (b === null || this.off >= b.length) {
      this.buf = from === 0 ? data : data.subarray(from);
      this.off = 0;
      this.store = null;
      if (this.state === HEAD) this.headStart = coarseNow; // a new head begins
      return;
    }
    const add = data.length - from;
    const st = this.store;
    const end = b.byteOffset + b.length;
    if (st !== null && b.buffer === st.buffer && end + add <= st.byteOffset + st.length) {
      data.copy(st, end - st.byteOffset, from);
      this.buf = st.subarray(b.byteOffset + this.off - st.byteOffset, end + add - st.byteOffset);
    } else {
      const keep = b.length - this.off;
      const grown = Buffer.allocUnsafe(Math.max(STORE_MIN, (keep + add) * 2));
      b.copy(grown, 0, this.off);
      data.copy(grown, keep, from);
      this.store = grown;
      this.buf = grown.subarray(0, keep + add);
    }
    this.off = 0;
  }

  /** Parse and start the requests waiting in the buffer, one at a time. */
  private next(): void {
    if (this.inLoop) return;
    this.inLoop = true;
    try {
      while (this.state === HEAD && !this.closed && !this.ending && this.buf !== null) {
        if (this.congested) {
          // the client is not reading our responses: start no more of its requests (and read no
          // more of them) until it does; onDrain resumes
          this.pause();
          break;
        }
        const buf = this.buf;
        let off = this.off;
        while (off + 1 < buf.length && buf[off] === 13 && buf[off + 1] === 10) off += 2; // CRLF between requests
        if (off >= buf.length) {
          this.buf = null;
          this.store = null;
          this.off = 0;
          break;
        }
        if (this.requests === 0 && startsWithPreface(buf, off)) {
          this.startH2(off === 0 ? buf : buf.subarray(off));
          break;
        }
        let end = findHeadBytes(buf, off, MAX_REQUEST_HEAD);
        // an incomplete head whose method already cannot be one: 400 now, not after a timeout
        if (end === -1 && badMethodPrefix(buf, off)) end = -400;
        if (end === -1) {
          if (off > 0) this.buf = buf.subarray(off);
          this.off = 0;
          break;
        }
        this.requests++;
        const h = new RequestHead();
        const sc = (this.scratch ??= borrowScratch());
        const status = end < 0 ? -end : parseRequestHead(buf, off, end, h, sc.spans, sc.kinds);
        const ex = new Exchange(this, h);
        this.ex = ex;
        if (status !== 0) {
          this.buf = null;
          ex.badRequest(status);
          break;
        }
        this.off = end;
        ex.start();
        if (this.ex !== ex || this.closed) continue;
        if (ex.reqBody.done) {
          this.state = WAIT;
          ex.requestComplete();
          continue;
        }
        this.state = BODY;
        if (end >= buf.length) {
          this.buf = null;
          this.off = 0;
          break;
        }
        const r = ex.feedBody(buf, end, buf.length);
        if (r === BODY_MORE) {
          this.buf = null;
          this.off = 0;
          break;
        }
        if (r === BODY_BAD) {
          ex.badBody();
          break;
        }
        this.off = r;
        this.state = WAIT;
        ex.requestComplete();
      }
    } finally {
      this.inLoop = false;
    }
  }

  /** The client opened with the HTTP/2 preface (h2c prior knowledge, or h2 by ALPN): hand the connection to node:http2. */
  private startH2(first: Buffer): void {
    this.buf = null;
    this.off = 0;
    this.h2 = new H2Conn(this);
    this.streams = this.h2.streams;
    this.h2.feed(first);
  }

  /** Called by the exchange when it is over; `close` ends the connection. */
  exchangeDone(ex: Exchange, close: boolean): void {
    if (this.ex !== ex) return;
    this.ex = null;
    const sc = this.scratch;
    if (sc !== null) {
      this.scratch = null;
      returnScratch(sc); // nothing reads the finished exchange's head any more
    }
    this.state = HEAD;
    this.lastActive = coarseNow; // idle from now
    this.headStart = coarseNow; // a pipelined head already buffered is timed from here
    if (this.closed) return;
    if (close || this.drainStart !== 0) {
      this.buf = null;
      this.store = null;
      this.end();
      return;
    }
    if (this.congested) return this.pause(); // onDrain goes on
    this.resume();
    this.next();
  }

  startTunnel(ex: Exchange): void {
    this.state = TUNNEL;
    const b = this.buf;
    this.buf = null;
    if (b !== null && this.off < b.length) ex.tunnelUp(b.subarray(this.off));
    this.off = 0;
  }

  write(b: Uint8Array): boolean {
    if (this.closed) return true;
    if (this.out !== null) return this.out.write(this.socket, b);
    const n = this.socket.write(b);
    if (n === b.length) return true;
    (this.out = new Outbox()).keep(b, n);
    return false;
  }

  writeCopy(b: Buffer, n: number): boolean {
    if (this.closed) return true;
    if (this.tls !== null) return this.write(Buffer.from(b.subarray(0, n))); // the TLS bridge keeps what it is given
    if (this.out !== null) return this.out.write(this.socket, Buffer.from(b.subarray(0, n)));
    const w = this.socket.write(b, 0, n);
    if (w === n) return true;
    (this.out = new Outbox()).keep(Buffer.from(b.subarray(w > 0 ? w : 0, n)), 0);
    return false;
  }

  pause(): void {
    if (!this.paused && !this.closed) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resume(): void {
    if (this.paused && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  onDrain(): void {
    this.lastActive = coarseNow; // a slow reader making progress is not idle
    if (this.h2 !== null) return this.h2.duplex.flush();
    if (this.out !== null) {
      if (!this.out.flush(this.socket)) return;
      this.out = null;
    }
    if (this.ending) {
      this.socket.end();
      return;
    }
    const ex = this.ex;
    if (ex !== null) return ex.onDownstreamDrain();
    // between exchanges, held back by a client that did not read: go on with its pipeline
    if (this.state === HEAD) {
      this.resume();
      this.next();
    }
  }

  /** Close after what is queued has been written. */
  end(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.lastActive = coarseNow;
    if (this.h2 !== null) return this.h2.goaway();
    if (!this.congested) this.socket.end();
  }

  /** Close now. */
  abort(): void {
    if (this.closed) return;
    this.socket.terminate();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.out = null;
    this.port.conns.delete(this);
    if (this.h2 !== null) return this.h2.closed();
    const ex = this.ex;
    if (ex !== null) ex.onDownstreamClose();
    else if (this.state === HEAD && this.buf !== null && this.off < this.buf.length) this.abandonHead();
  }

  /** The client left in the middle of a request head: one access-log line for it (0 DC). */
  private abandonHead(): void {
    this.buf = null;
    const ex = new Exchange(this, new RequestHead());
    ex.headAbandoned();
  }
}

/** Bun.listen socket handlers for HTTP listeners of one port. */
export function httpHandlers(port: PortState) {
  return {
    open(s: Socket<Downstream>): void {
      try {
        const d = new Downstream(s, port);
        if (options.proxyProtocol) d.proxy = new ProxyHeaderReader();
        s.data = d; // TCP_NODELAY: Bun sets it on accepted and connected sockets
        port.conns.add(d);
      } catch (err) {
        reportError("accept", err);
        s.terminate();
      }
    },
    data(s: Socket<Downstream>, data: Buffer): void {
      try {
        s.data.onData(data);
      } catch (err) {
        reportError("request", err);
        s.data.abort();
      }
    },
    drain(s: Socket<Downstream>): void {
      try {
        s.data.onDrain();
      } catch (err) {
        reportError("drain", err);
        s.data.abort();
      }
    },
    close(s: Socket<Downstream>): void {
      try {
        s.data?.onClose();
      } catch (err) {
        reportError("close", err);
      }
    },
    error(s: Socket<Downstream>, err: Error): void {
      reportError("client socket", err);
    },
  };
}

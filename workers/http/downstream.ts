// One client connection (Bun.listen socket): reads request heads, runs one
// exchange at a time in order (pipelined requests wait in the buffer), keeps
// the connection alive between exchanges, and splices after an upgrade.
import { endpointOf, proxyHeader, type ProxyVersion } from "../proxy-header-out.ts";
import type { Socket } from "bun";
import type { Listener } from "../../src/snapshot/types.ts";
import { accessLog } from "../access-log.ts";
import { coarseNow, options, reportError } from "../context.ts";
import { PROXY_BAD, ProxyHeaderReader, type ProxiedAddress } from "../proxy-protocol.ts";
import { stats } from "../stats.ts";
import type { PortConnection, PortState } from "../port-state.ts";
import { peerIp } from "../peer-address.ts";
import type { DownstreamTls, ExchangeConn } from "./conn.ts";
import { BODY_BAD, BODY_MORE } from "./body.ts";
import { COLON, CR, FIELD, LF, SP, TARGET, TCHAR } from "./chars.ts";
import { Exchange, recycleRetired } from "./exchange.ts";
import type { H2Conn } from "./h2-conn.ts";
import { makeH2Conn, startsWithPreface } from "./h2.ts";
import type { H2Stream } from "./h2-stream.ts";
import { findHeadBytes } from "./fields.ts";
import { parseHead } from "./head-scratch.ts";
import { Outbox } from "./outbox.ts";
import { MAX_REQUEST_HEAD, RequestHead } from "./parse-request.ts";

// The connection's state and flags, in one number (Downstream.bits).
/** Low two bits: what the next client bytes are. */
const STATE = 3;
const HEAD = 0;
const BODY = 1;
const WAIT = 2;
const TUNNEL = 3;
/** onClose ran. */
const CLOSED = 4;
/** end() was called: no more requests are read; closes once written. */
const ENDING = 8;
/** The socket is paused (pause()). */
const PAUSED = 16;
/** next() is running (it is not re-entered). */
const IN_LOOP = 32;
/** `buf` is a view of a join buffer this connection allocated (see append): its free tail may be written. */
const STORED = 64;
/** A request was started on this connection (the HTTP/2 preface is only looked for before the first). */
const SERVED = 128;
/** The connection speaks HTTP/2 (x.h2 is set). */
const H2 = 256;
/** The PROXY protocol header is still being read (x.proxy is set). */
const PROXYING = 512;
/**
 * The bits from SCAN_SHIFT up: how far the incomplete head being read has been
 * checked (scanHeadPrefix's state, below 2^18 for a head of at most
 * MAX_REQUEST_HEAD; 0: not yet). In `bits`, not a field of its own: a 13th
 * field takes a Downstream from JSC's 112-byte object to 160 bytes, for every
 * idle connection.
 */
const SCAN_SHIFT = 10;
const FLAGS = (1 << SCAN_SHIFT) - 1;

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

/** Bytes of a request line badRequestLinePrefix looks at (a longer line waits for its head's end). */
const LINE_CHECKED = 4096;
/** A digit in VERSION_SHAPE. */
const DIGIT = -1;
/** `HTTP/d.d` CRLF: what follows the request-target's space. */
const VERSION_SHAPE = [72, 84, 84, 80, 47, DIGIT, 46, DIGIT, CR, LF];

/**
 * Does the start of an incomplete head already rule out a request line past its
 * method (that is badMethodPrefix's)? A byte no request-target holds (a CR, a
 * control, obs-text), a second space, a version not shaped `HTTP/d.d`, a CR
 * not followed by LF: 400 now, as nginx answers, not 408 at the request-headers
 * timeout (`GET /` CRLF from an HTTP/0.9 client, or a head cut by bare CRs,
 * waits for its answer and never ends with CRLFCRLF). A well-formed version
 * other than 1.x waits: `PRI * HTTP/2.0` may be the HTTP/2 preface still coming.
 */
export function badRequestLinePrefix(buf: Uint8Array, off: number): boolean {
  const n = Math.min(buf.length, off + LINE_CHECKED);
  let p = off;
  while (p < n && TCHAR[buf[p]!] === 1) p++;
  if (p === off || p >= n || buf[p] !== SP) return false;
  const st = ++p;
  while (p < n && TARGET[buf[p]!] === 1) p++;
  if (p >= n) return false;
  if (p === st || buf[p] !== SP) return true;
  p++;
  for (let i = 0; i < VERSION_SHAPE.length && p + i < n; i++) {
    const c = buf[p + i]!;
    const want = VERSION_SHAPE[i]!;
    if (want === DIGIT ? c < 48 || c > 57 : c !== want) return true;
  }
  return false;
}

/** scanHeadPrefix's phases (the low two bits of its state): in the request line, at a field line's start, in a name, in a value. */
const IN_LINE = 0;
const AT_FIELD = 1;
const IN_NAME = 2;
const IN_VALUE = 3;
/** scanHeadPrefix: the lines seen already rule the head out. */
export const PREFIX_BAD = -1;

/**
 * The field lines of an incomplete head, checked as they come: returns the
 * state to resume from (`(bytes checked from the head's start) * 4 + phase`;
 * 0 for a head not looked at yet), or PREFIX_BAD when a line already cannot be
 * one of parseHead's: a CR not followed by LF, a bare LF, a control or a
 * separator in a name, a space or tab before the colon, a line without a
 * colon, an empty name, obs-fold (a line starting with SP or HTAB), a control
 * other than HTAB (NUL, DEL…) in a value. 400 now, as nginx answers as soon
 * as it reads such a line (Envoy's Balsa parser waits for the head's end), not
 * 408 at the request-headers timeout.
 * Each byte is looked at once over the head's reads (a CR that ends what came
 * is looked at again with its LF), so a head sent byte by byte costs linear
 * time. The request line is only walked to its end here (badRequestLinePrefix
 * checks its shape).
 */
export function scanHeadPrefix(buf: Uint8Array, head: number, state: number): number {
  const n = buf.length;
  let phase = state & 3;
  let p = head + (state >>> 2);
  for (; p < n; p++) {
    const c = buf[p]!;
    if (c === CR) {
      if (p + 1 >= n) break; // its LF may be in the next read
      if (buf[p + 1] !== LF || phase === IN_NAME) return PREFIX_BAD;
      p++;
      phase = AT_FIELD;
    } else if (phase === IN_VALUE) {
      if (FIELD[c] === 0) return PREFIX_BAD;
    } else if (phase === IN_LINE) {
      if (c === LF) return PREFIX_BAD;
    } else if (TCHAR[c] === 1) phase = IN_NAME;
    else if (c === COLON && phase === IN_NAME) phase = IN_VALUE;
    else return PREFIX_BAD;
  }
  return (p - head) * 4 + phase;
}

/** Pipelined bytes buffered while an exchange runs before the client is paused. */
const PIPELINE_LIMIT = 1 << 20;
/** First size of the buffer joined reads are copied into. */
const STORE_MIN = 16 * 1024;

export type { DownstreamTls };

/**
 * What few connections need (TLS, HTTP/2, a PROXY header, a connection
 * duration limit, addresses read for the access log, bytes the client has not
 * taken yet): made when first needed, so an idle plain keep-alive connection
 * is one small Downstream.
 */
export class DownstreamExtras {
  /** What the kernel has not taken yet; made at the first short write, dropped once drained. */
  out: Outbox | null = null;
  /** Set for TLS-terminated connections (workers/tls/listener.ts). */
  tls: DownstreamTls | null = null;
  h2: H2Conn | null = null;
  /** HTTP/2: the open streams, for their idle timeout. */
  streams: Set<H2Stream> | null = null;
  /** --proxy-protocol: reads the connection's PROXY header before any request (plain-text ports; TLS ports read it before the ClientHello). */
  proxy: ProxyHeaderReader | null = null;
  /** Coarse time the connection was asked to close (max connection duration), 0: not asked. */
  drainStart = 0;
  /** Coarse time these extras were made: the accept time when a limit needs it (the Downstream makes them at accept then). */
  readonly born = coarseNow;
  /** The client's port (-1: not read yet). */
  rport = -1;
  /** The socket's own "ip:port" ("": not read yet). */
  local = "";
  /** The client a PROXY protocol header named ("": none; the socket's peer is the client). */
  proxiedIp = "";
  /** The "ip:port" that header says the client reached ("": none). */
  proxiedLocal = "";
  /** The upstream PROXY headers naming this connection, v1 and v2 (proxyHeader), once built. */
  proxyV1: Buffer | null = null;
  proxyV2: Buffer | null = null;
}

/** Side objects seen by tests: `Downstream.extras` made so far (a plain idle connection makes none). */
let extrasMade = 0;
export function downstreamExtrasMade(): number {
  return extrasMade;
}

/** b[from…] holds only CR and LF bytes (empty lines before a request line). */
function onlyLineEnds(b: Buffer, from: number): boolean {
  for (let i = from; i < b.length; i++) if (b[i] !== 13 && b[i] !== 10) return false;
  return true;
}

export class Downstream implements ExchangeConn, PortConnection {
  /** State (low bits) and flags: see STATE and the flag constants above. */
  private bits = HEAD;
  private buf: Buffer | null = null;
  private off = 0;
  ex: Exchange | null = null;
  /** The rarely needed parts (DownstreamExtras), or null. */
  private x: DownstreamExtras | null = null;
  /** The socket's peer IP, read at accept (a closed socket has none to read): one string per IPv4 address, not per connection (peer-address.ts). */
  private readonly ip: string;
  lastActive = coarseNow;
  /** Coarse time the first byte of the request head being read arrived (--request-headers-timeout). */
  headStart = coarseNow;
  /** PortState.conns links. */
  prevConn: PortConnection | null = null;
  nextConn: PortConnection | null = null;

  constructor(
    readonly socket: Socket<Downstream>,
    readonly port: PortState,
  ) {
    this.ip = peerIp(socket);
    if (options.maxConnectionDurationMs > 0) this.extras();
    if (accessLog.enabled) {
      void this.remotePort;
      void this.localAddress;
    }
  }

  /** The side object, made on first use. */
  private extras(): DownstreamExtras {
    let x = this.x;
    if (x === null) {
      x = this.x = new DownstreamExtras();
      extrasMade++;
    }
    return x;
  }

  /** Made on first use (tests: a plain keep-alive exchange makes none). */
  get hasExtras(): boolean {
    return this.x !== null;
  }

  /** Holds nothing of a finished exchange (tests): no exchange, no bytes, no outbox. */
  get holdsNothing(): boolean {
    const x = this.x;
    return this.ex === null && this.buf === null && (x === null || x.out === null);
  }

  /** ExchangeConn: a Downstream is never one HTTP/2 stream (h2-stream.ts is). */
  get h2Stream(): false {
    return false;
  }

  /** Set for TLS-terminated connections (workers/tls/listener.ts). */
  get tls(): DownstreamTls | null {
    const x = this.x;
    return x === null ? null : x.tls;
  }
  set tls(t: DownstreamTls | null) {
    this.extras().tls = t;
  }

  /** The connection speaks HTTP/2 (its streams are H2Streams). */
  get h2(): H2Conn | null {
    const x = this.x;
    return x === null ? null : x.h2;
  }

  /** HTTP/2: the open streams, for their idle timeout. */
  get streams(): Set<H2Stream> | null {
    const x = this.x;
    return x === null ? null : x.streams;
  }

  /** --proxy-protocol: reads the connection's PROXY header before any request. */
  get proxy(): ProxyHeaderReader | null {
    const x = this.x;
    return x === null ? null : x.proxy;
  }
  set proxy(p: ProxyHeaderReader | null) {
    this.extras().proxy = p;
    if (p !== null) this.bits |= PROXYING;
    else this.bits &= ~PROXYING;
  }

  /** Coarse time of accept (--max-connection-duration, the PROXY header timeout; exact when one is set). */
  get born(): number {
    const x = this.x;
    return x === null ? coarseNow : x.born;
  }

  /** Coarse time the connection was asked to close (max connection duration), 0: not asked. */
  get drainStart(): number {
    const x = this.x;
    return x === null ? 0 : x.drainStart;
  }

  get closed(): boolean {
    return (this.bits & CLOSED) !== 0;
  }

  /** end() was called: no more requests are read; closes once written. */
  get ending(): boolean {
    return (this.bits & ENDING) !== 0;
  }

  /** The client's address; a PROXY protocol header replaces it with the one it carries. */
  get remoteIp(): string {
    const x = this.x;
    if (x !== null && x.proxiedIp !== "") return x.proxiedIp;
    return this.ip;
  }

  /** The socket's peer (the load balancer when a PROXY header named the client): AuthorizationPolicy ipBlocks. */
  get peerIp(): string {
    return this.ip;
  }

  /** The client's port. Read when first used (each read is a syscall), at accept when the access log is on: a closed socket has none left to read and the log needs them. */
  get remotePort(): number {
    const x = this.extras();
    if (x.rport < 0) x.rport = this.socket.remotePort ?? 0;
    return x.rport;
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

  /** The "ip:port" the client reached: a PROXY header's destination, else the socket's own (localAddress). */
  get destinationAddress(): string {
    const x = this.x;
    return x !== null && x.proxiedLocal !== "" ? x.proxiedLocal : this.localAddress;
  }

  proxyHeader(version: ProxyVersion): Buffer {
    const x = this.extras();
    const made = version === 1 ? x.proxyV1 : x.proxyV2;
    if (made !== null) return made;
    const h = proxyHeader(version, endpointOf(this.remoteAddress), endpointOf(this.destinationAddress));
    if (version === 1) x.proxyV1 = h;
    else x.proxyV2 = h;
    return h;
  }

  get localAddress(): string {
    const x = this.extras();
    if (x.local === "") {
      const ip = this.socket.localAddress ?? "";
      x.local = (ip.includes(":") ? `[${ip}]` : ip) + ":" + (this.socket.localPort ?? 0);
    }
    return x.local;
  }

  /** True while the client is not taking our writes. */
  get congested(): boolean {
    const x = this.x;
    return x !== null && x.out !== null && x.out.queued > 0;
  }

  get unread(): number {
    const b = this.buf;
    return b === null ? 0 : b.length - this.off;
  }

  /** Bytes of a request head are waiting for the rest (HTTP/1.1, between exchanges). */
  get partialHead(): boolean {
    const b = this.buf;
    return this.ex === null && (this.bits & (STATE | H2 | CLOSED | ENDING)) === HEAD && b !== null && this.off < b.length;
  }

  /** --request-headers-timeout passed with a head still incomplete: 408 and close, logged. */
  headTimeout(): void {
    const b = this.buf;
    this.buf = null;
    if (b !== null && onlyLineEnds(b, this.off)) {
      // empty lines only, no request begun: closed without an answer, as nginx does (an unasked
      // 408 on an idle keep-alive connection could be read as the answer to the client's next request)
      this.off = 0;
      return this.end();
    }
    const ex = new Exchange(this, new RequestHead());
    this.ex = ex;
    ex.headTimedOut();
  }

  /** Close once the exchange in flight is done (HTTP/2: GOAWAY); `now` starts the drain timeout. */
  requestDrain(now: number): void {
    if (this.drainStart !== 0) return;
    this.extras().drainStart = now;
    const h2 = this.h2;
    if (h2 !== null) return h2.goaway();
    if (this.ex === null) this.end();
  }

  /** HTTP/2: GOAWAY now, the streams in flight go on (the port is draining); HTTP/1.1 closes after its exchange instead. */
  goaway(): void {
    const h2 = this.h2;
    if (h2 !== null) h2.goaway();
  }

  /** Idle: no exchange (or HTTP/2 stream) in flight and nothing half-read. */
  get idle(): boolean {
    if (this.ex !== null) return false;
    const h2 = this.h2;
    return h2 === null || h2.active === 0;
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
    const p = this.proxy!;
    const rest = p.feed(data);
    if (rest === null) return;
    if (rest === PROXY_BAD) {
      stats.proxyProtocolError(this.port.listener.name);
      return this.abort();
    }
    this.takeProxied(p.addr);
    this.proxy = null;
    if (rest.length > 0) this.onData(rest);
  }

  /** The client is the one a PROXY header named (when it named one). */
  takeProxied(addr: ProxiedAddress): void {
    if (addr.ip === "") return;
    const x = this.extras();
    x.proxiedIp = addr.ip;
    x.rport = addr.port;
    const d = addr.dstIp ?? "";
    if (d !== "") x.proxiedLocal = (d.includes(":") ? `[${d}]` : d) + ":" + (addr.dstPort ?? 0);
  }

  onData(data: Buffer): void {
    this.lastActive = coarseNow;
    const bits = this.bits;
    if ((bits & (PROXYING | H2)) !== 0) {
      if ((bits & PROXYING) !== 0) return this.proxyBytes(data);
      return this.x!.h2!.feed(data);
    }
    const ex = this.ex;
    switch (bits & STATE) {
      case BODY: {
        const r = ex!.feedBody(data, 0, data.length);
        if (r === BODY_MORE) return;
        if (r === BODY_BAD) return ex!.badBody();
        this.bits = (this.bits & ~STATE) | WAIT;
        if (r < data.length) this.append(data, r);
        ex!.requestComplete();
        return;
      }
      case TUNNEL:
        ex!.tunnelUp(data);
        return;
      default:
        this.append(data, 0);
        if ((this.bits & STATE) === HEAD) this.next();
        // still buffered: a pipeline waiting for its turn (or for the client to read): bounded
        if (this.buf !== null && this.buf.length - this.off > PIPELINE_LIMIT) this.pause();
    }
  }

  /**
   * Keep unparsed bytes. A read that finds nothing waiting is kept as is (no
   * copy); otherwise the bytes go into a join buffer of our own (STORED),
   * which doubles when full, so a head or a pipeline arriving in many small
   * reads costs linear time, not a concatenation per read. Bytes already
   * handed out (body slices held for the upstream) are never overwritten:
   * only the free tail past `buf`'s end (the most ever written) is written.
   */
  private append(data: Buffer, from: number): void {
    const b = this.buf;
    if (b === null || this.off >= b.length) {
      this.buf = from === 0 ? data : data.subarray(from);
      this.off = 0;
      this.bits &= ~STORED;
      if ((this.bits & STATE) === HEAD) this.headStart = coarseNow; // a new head begins
      return;
    }
    const add = data.length - from;
    const keep = b.length - this.off;
    const end = b.byteOffset + b.length;
    if ((this.bits & STORED) !== 0 && end + add <= b.buffer.byteLength) {
      const grown = Buffer.from(b.buffer, b.byteOffset + this.off, keep + add);
      data.copy(grown, keep, from);
      this.buf = grown;
    } else {
      // a buffer of its own (not a pool slice): all of its ArrayBuffer is ours to write
      const grown = Buffer.allocUnsafeSlow(Math.max(STORE_MIN, (keep + add) * 2));
      b.copy(grown, 0, this.off);
      data.copy(grown, keep, from);
      this.buf = grown.subarray(0, keep + add);
      this.bits |= STORED;
    }
    this.off = 0;
  }

  /** Parse and start the requests waiting in the buffer, one at a time. */
  private next(): void {
    if ((this.bits & IN_LOOP) !== 0) return;
    this.bits |= IN_LOOP;
    try {
      while ((this.bits & (STATE | CLOSED | ENDING)) === HEAD && this.buf !== null) {
        if (this.congested) {
          // the client is not reading our responses: start no more of its requests (and read no
          // more of them) until it does; onDrain resumes
          this.pause();
          break;
        }
        const buf = this.buf;
        let off = this.off;
        // TLS: the protocol ALPN agreed decides (Envoy's codec choice); "h2" takes the bytes as
        // they are (not HTTP/2: the codec answers GOAWAY PROTOCOL_ERROR), "http/1.1" never sniffs
        const alpn = (this.bits & SERVED) === 0 ? this.alpn : "";
        if (alpn === "h2") {
          this.startH2(off === 0 ? buf : buf.subarray(off));
          break;
        }
        while (off + 1 < buf.length && buf[off] === 13 && buf[off + 1] === 10) off += 2; // CRLF between requests
        if (off >= buf.length) {
          // only empty lines: the last CRLF is kept, so the head timer runs from the first
          // one and a client that trickles CRLFs and never a request line is ended by
          // --request-headers-timeout as a slow head is (nginx's client_header_timeout does
          // the same); dropped, they started no head and every read kept the connection active
          this.buf = off - 2 >= this.off ? buf.subarray(off - 2) : null;
          this.off = 0;
          break;
        }
        let end: number;
        if (buf[off] === 80 && startsWithPreface(buf, off)) {
          if ((this.bits & SERVED) === 0 && alpn === "") {
            this.startH2(off === 0 ? buf : buf.subarray(off));
            break;
          }
          // the HTTP/2 preface on an HTTP/1.1 connection (ALPN http/1.1, or after a request):
          // 400 as Envoy (no method PRI) and nginx answer, not 505 for its version
          end = -400;
        } else {
          // the bytes scanHeadPrefix checked were searched for the head's end by an earlier read
          end = findHeadBytes(buf, off, MAX_REQUEST_HEAD, off + (this.bits >>> (SCAN_SHIFT + 2)));
        }
        // an incomplete head whose lines already cannot be a request's: 400 now, not after a
        // timeout (a CR alone at the end may be the first half of an empty line split across reads);
        // the request line's shape is looked at until its end has come, the field lines once each
        if (end === -1 && !(buf[off] === 13 && off + 1 === buf.length)) {
          const scan = this.bits >>> SCAN_SHIFT;
          if ((scan & 3) === 0 && (badMethodPrefix(buf, off) || badRequestLinePrefix(buf, off))) end = -400;
          else {
            const next = scanHeadPrefix(buf, off, scan);
            if (next === PREFIX_BAD) end = -400;
            else this.bits = (this.bits & FLAGS) | (next << SCAN_SHIFT);
          }
        }
        if (end === -1) {
          if (off > 0) this.buf = buf.subarray(off);
          this.off = 0;
          break;
        }
        this.bits = (this.bits & FLAGS) | SERVED;
        const h = Exchange.head();
        const status = end >= 0 ? parseHead(buf, off, end, h) : -end;
        const ex = Exchange.make(this, h);
        this.ex = ex;
        if (status !== 0) {
          this.buf = null;
          ex.badRequest(status);
          break;
        }
        this.off = end;
        ex.start();
        if (this.ex !== ex || (this.bits & CLOSED) !== 0) continue;
        if (ex.reqBody.done) {
          this.bits = (this.bits & ~STATE) | WAIT;
          ex.requestComplete();
          continue;
        }
        this.bits = (this.bits & ~STATE) | BODY;
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
        this.bits = (this.bits & ~STATE) | WAIT;
        ex.requestComplete();
      }
    } finally {
      this.bits &= ~IN_LOOP;
    }
  }

  /** The protocol ALPN agreed on a TLS connection ("": none, or not TLS). */
  private get alpn(): string {
    const x = this.x;
    return x === null || x.tls === null ? "" : x.tls.alpn;
  }

  /** The client opened with the HTTP/2 preface (h2c prior knowledge), or agreed h2 by ALPN: hand the connection to the HTTP/2 codec. */
  private startH2(first: Buffer): void {
    this.buf = null;
    this.off = 0;
    const x = this.extras();
    const h2 = (x.h2 = makeH2Conn(this));
    x.streams = h2.streams;
    this.bits |= H2;
    h2.feed(first);
  }

  /** Called by the exchange when it is over; `close` ends the connection. */
  exchangeDone(ex: Exchange, close: boolean): void {
    if (this.ex !== ex) return;
    this.ex = null;
    this.bits &= ~STATE; // HEAD
    this.lastActive = coarseNow; // idle from now
    this.headStart = coarseNow; // a pipelined head already buffered is timed from here
    if ((this.bits & CLOSED) !== 0) return;
    if (close || this.drainStart !== 0) {
      this.buf = null;
      this.end();
      return;
    }
    if (this.congested) return this.pause(); // onDrain goes on
    this.resume();
    this.next();
  }

  startTunnel(ex: Exchange): void {
    this.bits = (this.bits & ~STATE) | TUNNEL;
    const b = this.buf;
    this.buf = null;
    if (b !== null && this.off < b.length) ex.tunnelUp(b.subarray(this.off));
    this.off = 0;
  }

  write(b: Uint8Array): boolean {
    if ((this.bits & CLOSED) !== 0) return true;
    const x = this.x;
    if (x !== null && x.out !== null) return x.out.write(this.socket, b);
    const n = this.socket.write(b);
    if (n === b.length) return true;
    (this.extras().out = new Outbox()).keep(b, n);
    return false;
  }

  writeCopy(b: Buffer, from: number, n: number): boolean {
    if (this.closed) return true;
    const t = this.tls;
    if (t !== null && t.bridged) return this.write(Buffer.from(b.subarray(from, from + n))); // the TLS bridge keeps what it is given
    const x = this.x;
    if (x !== null && x.out !== null) return x.out.write(this.socket, Buffer.from(b.subarray(from, from + n)));
    const w = this.socket.write(b, from, n);
    if (w === n) return true;
    (this.extras().out = new Outbox()).keep(Buffer.from(b.subarray(from + (w > 0 ? w : 0), from + n)), 0);
    return false;
  }

  pause(): void {
    if ((this.bits & (PAUSED | CLOSED)) === 0) {
      this.bits |= PAUSED;
      this.socket.pause();
    }
  }

  resume(): void {
    if ((this.bits & (PAUSED | CLOSED)) === PAUSED) {
      this.bits &= ~PAUSED;
      this.socket.resume();
    }
  }

  onDrain(): void {
    this.lastActive = coarseNow; // a slow reader making progress is not idle
    if ((this.bits & H2) !== 0) return this.x!.h2!.flush();
    const x = this.x;
    if (x !== null && x.out !== null) {
      if (!x.out.flush(this.socket)) return;
      x.out = null;
    }
    if ((this.bits & ENDING) !== 0) {
      this.socket.end();
      return;
    }
    const ex = this.ex;
    if (ex !== null) return ex.onDownstreamDrain();
    // between exchanges, held back by a client that did not read: go on with its pipeline
    if ((this.bits & STATE) === HEAD) {
      this.resume();
      this.next();
    }
  }

  /** Close after what is queued has been written. */
  end(): void {
    if ((this.bits & (ENDING | CLOSED)) !== 0) return;
    this.bits |= ENDING;
    this.lastActive = coarseNow;
    if ((this.bits & H2) !== 0) return this.x!.h2!.goaway();
    if (!this.congested) this.socket.end();
  }

  /** Close now. */
  abort(): void {
    if ((this.bits & CLOSED) !== 0) return;
    this.socket.terminate();
  }

  onClose(): void {
    if ((this.bits & CLOSED) !== 0) return;
    this.bits |= CLOSED;
    if (this.x !== null) this.x.out = null;
    this.port.conns.delete(this);
    if ((this.bits & H2) !== 0) return this.x!.h2!.closed();
    const ex = this.ex;
    if (ex !== null) ex.onDownstreamClose();
    else if ((this.bits & STATE) === HEAD && this.buf !== null && this.off < this.buf.length) this.abandonHead();
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
      recycleRetired(); // no exchange code on the stack here
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

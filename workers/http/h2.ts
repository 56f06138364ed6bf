// HTTP/2 from clients: h2 chosen by ALPN on a TLS port, or h2c with prior
// knowledge on a plain port (the connection's first bytes are the preface).
// node:http2 runs the session over the connection; each stream becomes a
// one-request HTTP/1.1 exchange on a child Downstream (the same routing,
// forwarding, logging and limits as HTTP/1.1), whose response is read back
// and answered as HTTP/2 headers and DATA; a chunked body's trailers become
// HTTP/2 trailers, and request trailers travel in the last chunk. The
// upstream side speaks HTTP/1.1 or HTTP/2 (upstream-h2.ts) as the cluster says.
import * as http2 from "node:http2";
import { reportError } from "../context.ts";
import { RawDuplex } from "../tls/bridge.ts";
import { CHUNKED_BAD, CHUNKED_MORE, ChunkedScanner, trailerFields } from "./chunked.ts";
import { lastChunk } from "./h2-upstream-heads.ts";
import { HOP_BY_HOP } from "./fields.ts";
/** A stream's child connection (a Downstream): request bytes in, told of drain and close. */
export interface StreamChild {
  onData(b: Buffer): void;
  onDrain(): void;
  onClose(): void;
}

/** The client connection HTTP/2 runs over (a Downstream): its raw socket. */
export interface H2Parent {
  readonly socket: unknown;
}

/** What a request line looks like to an HTTP/1.1 parser when a client starts HTTP/2 ("PRI * HTTP/2.0" + empty head). */
const PREFACE_HEAD = Buffer.from("PRI * HTTP/2.0\r\n\r\n", "latin1");

/** Does `buf` at `off` start with the HTTP/2 connection preface's head? */
export function startsWithPreface(buf: Uint8Array, off: number): boolean {
  if (buf.length - off < PREFACE_HEAD.length) return false;
  for (let i = 0; i < PREFACE_HEAD.length; i++) if (buf[off + i] !== PREFACE_HEAD[i]) return false;
  return true;
}

/** Stream settings we announce. */
const SETTINGS: http2.Settings = { maxConcurrentStreams: 128, maxHeaderListSize: 64 * 1024, enablePush: false };
/** Response bytes queued on a stream above which the child is told to wait. */
const HIGH_WATER = 256 * 1024;
/** Connection-specific fields: not allowed in HTTP/2 (RFC 9113 §8.2.2), dropped both ways. */
const HOP = new Set<string>([...HOP_BY_HOP, "http2-settings"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2.constants;

/** The HTTP/2 side of one client connection. */
export class H2Conn {
  readonly duplex: RawDuplex;
  readonly session: http2.ServerHttp2Session;
  /** Streams whose exchange is not over. */
  active = 0;

  constructor(
    readonly parent: H2Parent,
    private readonly makeChild: (s: StreamSocket) => StreamChild,
  ) {
    this.duplex = new RawDuplex(parent.socket as never);
    this.session = http2.performServerHandshake(this.duplex, { settings: SETTINGS });
    this.session.on("stream", (stream, headers) => {
      try {
        this.onStream(stream, headers);
      } catch (err) {
        reportError("h2 stream", err);
        if (!stream.destroyed) stream.close(NGHTTP2_INTERNAL_ERROR);
      }
    });
    this.session.on("error", () => this.duplex.destroy());
  }

  feed(b: Buffer): void {
    this.duplex.feed(b);
  }

  /** GOAWAY: no new streams; the connection closes when the open ones are done. */
  goaway(): void {
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const built = requestHead(headers, stream.endAfterHeaders);
    if (typeof built === "number") {
      if (built === 0) return void stream.close(NGHTTP2_PROTOCOL_ERROR);
      stream.respond({ ":status": built, "content-length": "0" }, { endStream: true });
      return;
    }
    const sock = new StreamSocket(this, stream, built.length);
    const child = this.makeChild(sock);
    sock.data = child;
    this.active++;
    stream.on("data", (b: Buffer) => sock.fromClient(b));
    stream.on("trailers", (t: http2.IncomingHttpHeaders) => sock.clientTrailers(t));
    stream.on("end", () => sock.clientEnded());
    stream.on("drain", () => child.onDrain());
    stream.on("close", () => sock.closed());
    stream.on("error", () => {});
    child.onData(Buffer.from(built.head, "latin1"));
    if (built.length === 0) sock.clientEnded();
  }

  closed(): void {
    this.duplex.rawEnded();
  }
}

/**
 * The HTTP/1.1 request head for a stream's headers (`length`: the body length
 * announced, -1 for a body of unknown length sent chunked, 0 for none), or
 * a status to answer at once (0: reset the stream as malformed).
 * `endStream`: the headers ended the stream (no body follows).
 */
export function requestHead(headers: http2.IncomingHttpHeaders, endStream: boolean): { head: string; length: number } | number {
  const method = headers[":method"];
  const path = headers[":path"];
  const authority = headers[":authority"] ?? headers.host;
  if (typeof method !== "string" || method === "") return 0;
  // CONNECT (RFC 9113 §8.5) has no :path: its target is the authority, as on HTTP/1.1; dispatch
  // then answers it as Envoy does on both protocols (no route: 404)
  // with a :path it is an extended CONNECT (RFC 8441), malformed since we do not announce SETTINGS_ENABLE_CONNECT_PROTOCOL
  const connect = method === "CONNECT";
  if (connect && path !== undefined) return 0;
  if (!connect && (typeof path !== "string" || path === "" || (path[0] !== "/" && !(path === "*" && method === "OPTIONS")))) return 0;
  if (typeof authority !== "string" || authority === "") return connect ? 0 : 400;
  const target = connect ? authority : (path as string);
  if (BAD_VALUE.test(target) || target.includes(" ") || BAD_VALUE.test(authority)) return 400;
  let head = `${method} ${target} HTTP/1.1\r\nhost: ${authority}\r\n`;
  let length = -1;
  let lines = 0;
  for (const name in headers) {
    if (name[0] === ":" || name === "host" || HOP.has(name)) continue;
    if (!TOKEN.test(name)) return 400;
    const v = headers[name];
    if (v === undefined) continue;
    const values = Array.isArray(v) ? v : [v];
    if (name === "cookie" && values.length > 1) values.splice(0, values.length, values.join("; ")); // RFC 9113 §8.2.3
    for (const value of values) {
      if (BAD_VALUE.test(value)) return 400;
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value) || (length >= 0 && Number(value) !== length)) return 400;
        length = Number(value);
      }
      head += `${name}: ${value}\r\n`;
      lines++;
    }
  }
  if (lines > 100) return 431;
  if (endStream) {
    if (length > 0) return 400; // a content-length the stream cannot have
    length = 0;
  } else if (length < 0) head += "transfer-encoding: chunked\r\n";
  return { head: head + "connection: close\r\n\r\n", length };
}

const HEAD = 0;
const BODY = 1;
const DONE = 2;

/**
 * One stream, shaped like the part of a Bun socket the child Downstream uses:
 * request bytes go in through `child.onData`; what the child writes back (an
 * HTTP/1.1 response) is read and answered on the stream.
 */
export class StreamSocket {
  data!: StreamChild;
  private resp: Buffer | null = null;
  private state = HEAD;
  private chunked: ChunkedScanner | null = null;
  private received = 0;
  private ended = false;
  private over = false;
  /** Request trailers from the client, sent on in the chunked body's last chunk. */
  private trailers: http2.IncomingHttpHeaders | null = null;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;

  constructor(
    private readonly conn: H2Conn,
    private readonly stream: http2.ServerHttp2Stream,
    /** Request body length announced by the client, or -1 (sent on as chunked). */
    private readonly length: number,
  ) {
    const s = conn.parent.socket as unknown as { remoteAddress: string; remotePort?: number; localAddress?: string; localPort?: number };
    this.remoteAddress = s.remoteAddress;
    this.remotePort = s.remotePort ?? 0;
    this.localAddress = s.localAddress ?? "";
    this.localPort = s.localPort ?? 0;
  }

  // --- request side ---

  fromClient(b: Buffer): void {
    if (this.ended) return;
    this.received += b.length;
    if (this.length >= 0) {
      if (this.received > this.length) return this.reset(NGHTTP2_PROTOCOL_ERROR);
      this.data.onData(b);
    } else if (b.length > 0) {
      this.data.onData(Buffer.concat([Buffer.from(b.length.toString(16) + "\r\n", "latin1"), b, CRLF]));
    }
  }

  clientTrailers(t: http2.IncomingHttpHeaders): void {
    this.trailers = t;
  }

  clientEnded(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.length < 0) this.data.onData(this.trailers === null ? LAST_CHUNK : Buffer.from(lastChunk(this.trailers), "latin1"));
    else if (this.received < this.length) this.reset(NGHTTP2_PROTOCOL_ERROR); // body shorter than its content-length
  }

  // --- the socket surface the child Downstream uses ---

  /** Response bytes from the child: all taken, or 0 while the stream is backed up. */
  write(b: Uint8Array | string): number {
    const n = b.length;
    if (this.over || this.stream.destroyed) return n;
    if (this.stream.writableLength > HIGH_WATER) return 0;
    const buf = typeof b === "string" ? Buffer.from(b, "latin1") : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    try {
      this.fromChild(buf);
    } catch (err) {
      reportError("h2 response", err);
      this.reset(NGHTTP2_INTERNAL_ERROR);
    }
    return n;
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  end(): void {
    if (this.over) return;
    if (this.state === HEAD) return this.reset(NGHTTP2_INTERNAL_ERROR); // no response head came
    // a chunked body cut short (upstream reset, deadline): the client must not take it as complete
    if (this.state === BODY && this.chunked !== null) return this.reset(NGHTTP2_INTERNAL_ERROR);
    this.state = DONE;
    this.over = true;
    if (!this.stream.destroyed) this.stream.end();
    // an early answer (413, 404 ...) to a request whose body is still coming: stop the client sending
    if (!this.ended && !this.stream.destroyed) this.stream.close(NGHTTP2_NO_ERROR);
  }

  terminate(): void {
    this.reset(NGHTTP2_INTERNAL_ERROR);
  }

  setNoDelay(): void {}

  /** The stream is gone (finished, reset by the client, or the connection closed). */
  closed(): void {
    this.over = true;
    this.conn.active--;
    this.data.onClose();
  }

  private reset(code: number): void {
    this.over = true;
    if (this.stream.destroyed) return;
    // Bun's stream.close(code) ends the stream cleanly (END_STREAM) before its RST_STREAM, so a
    // truncated response would look complete; destroy(err) sends RST_STREAM(INTERNAL_ERROR) alone
    if (code === NGHTTP2_NO_ERROR) this.stream.close(code);
    else this.stream.destroy(RESET);
  }

  // --- response side ---

  private fromChild(b: Buffer): void {
    if (this.state === BODY) return this.body(b, 0);
    if (this.state === DONE) return;
    this.resp = this.resp === null ? b : Buffer.concat([this.resp, b]);
    for (;;) {
      const r: Buffer = this.resp!;
      const end = r.indexOf("\r\n\r\n", 0, "latin1");
      if (end < 0) return;
      const lines = r.toString("latin1", 0, end).split("\r\n");
      const status = Number(lines[0]!.slice(9, 12));
      const rest = end + 4;
      this.resp = rest < r.length ? r.subarray(rest) : null;
      if (status >= 100 && status < 200) {
        if (this.resp === null) return; // an interim response (100 Continue): HTTP/2 needs none
        continue;
      }
      this.respond(status, lines);
      const left = this.resp;
      this.resp = null;
      if (left !== null) this.body(left, 0);
      return;
    }
  }

  private respond(status: number, lines: string[]): void {
    const out: http2.OutgoingHttpHeaders = { ":status": status };
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const c = line.indexOf(":");
      if (c <= 0) continue;
      const name = line.slice(0, c).toLowerCase();
      const value = line.slice(c + 1).trim();
      if (name === "transfer-encoding") {
        if (value.toLowerCase() === "chunked") this.chunked = new ChunkedScanner();
        continue;
      }
      if (HOP.has(name)) continue;
      const prev = out[name];
      if (prev === undefined) out[name] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else out[name] = [String(prev), value];
    }
    this.state = BODY;
    if (this.chunked !== null) {
      // a chunked body may end with trailers (grpc-status ...): sent as HTTP/2 trailers
      delete out["content-length"];
      const sc = this.chunked;
      sc.trailerBytes = [];
      const st = this.stream;
      st.on("wantTrailers", () => {
        const t: http2.OutgoingHttpHeaders = {};
        for (const [n, v] of trailerFields(sc.trailerBytes)) if (!HOP.has(n)) t[n] = v;
        st.sendTrailers(t);
      });
      st.respond(out, { waitForTrailers: true });
      return;
    }
    this.stream.respond(out);
  }

  private body(b: Buffer, from: number): void {
    const s = this.stream;
    if (this.chunked !== null) {
      const r = this.chunked.scan(b, from, b.length, (buf, st, en) => void s.write(buf.subarray(st, en)));
      if (r === CHUNKED_BAD) this.reset(NGHTTP2_PROTOCOL_ERROR);
      else if (r !== CHUNKED_MORE) this.state = DONE;
      return;
    }
    if (from < b.length) s.write(from === 0 ? b : b.subarray(from));
  }
}

const CRLF = Buffer.from("\r\n", "latin1");
/** The error a reset stream is destroyed with (its 'error' event is ignored). */
const RESET = new Error("stream reset by the gateway");
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

// HTTP/2 from clients: h2 chosen by ALPN on a TLS port, or h2c with prior
// knowledge on a plain port (the connection's first bytes are the preface).
// node:http2 runs the session over the connection; each stream is the client
// side of one exchange (h2-stream.ts: the same routing, forwarding, logging
// and limits as HTTP/1.1), answered as HTTP/2 headers, DATA and trailers;
// request trailers travel in the last chunk. The upstream side speaks
// HTTP/1.1 or HTTP/2 (upstream-h2.ts) as the cluster says.
import * as http2 from "node:http2";
import { reportError } from "../context.ts";
import { HOP_BY_HOP } from "./fields.ts";
import { H2Duplex, type RawConn } from "./h2-duplex.ts";
import { H2Stream, type H2Parent, type StreamOwner } from "./h2-stream.ts";

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
/** Connection-specific fields: not allowed in HTTP/2 (RFC 9113 §8.2.2), dropped both ways. */
const HOP = new Set<string>([...HOP_BY_HOP, "http2-settings"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2.constants;

/** The HTTP/2 side of one client connection. */
export class H2Conn implements StreamOwner {
  readonly duplex: H2Duplex;
  readonly session: http2.ServerHttp2Session;
  /** Streams not closed yet (the idle timeout checks their exchanges). */
  readonly streams = new Set<H2Stream>();

  constructor(readonly parent: H2Parent) {
    this.duplex = new H2Duplex(parent.socket as RawConn);
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
    const s = new H2Stream(this, stream, built.length);
    this.streams.add(s);
    s.start(built.head);
  }

  /** Streams whose exchange is not over. */
  get active(): number {
    return this.streams.size;
  }

  streamClosed(s: H2Stream): void {
    this.streams.delete(s);
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

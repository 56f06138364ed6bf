// HTTP/2 from clients: h2 chosen by ALPN on a TLS port, or h2c with prior
// knowledge on a plain port (the connection's first bytes are the preface).
// node:http2 runs the session over the connection; each stream is the client
// side of one exchange (h2-stream.ts: the same routing, forwarding, logging
// and limits as HTTP/1.1), answered as HTTP/2 headers, DATA and trailers;
// request trailers travel in the last chunk. The upstream side speaks
// HTTP/1.1 or HTTP/2 (upstream-h2.ts) as the cluster says.
import * as http2 from "node:http2";
import { reportError } from "../context.ts";
import { H2Duplex, type RawConn } from "./h2-duplex.ts";
import { LATE, STREAM_RESET, streamBody, streamRequest } from "./h2-request.ts";
import { H2Stream, type H2Parent, type StreamOwner } from "./h2-stream.ts";
import { RequestHead } from "./parse-request.ts";

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
    const h = new RequestHead();
    const status = streamRequest(headers, stream.endAfterHeaders, h);
    if (status !== 0 && status < LATE) {
      if (status === STREAM_RESET) return void stream.close(NGHTTP2_PROTOCOL_ERROR);
      stream.respond({ ":status": status, "content-length": "0" }, { endStream: true });
      return;
    }
    const s = new H2Stream(this, stream, streamBody.length);
    this.streams.add(s);
    s.start(h, status === 0 ? 0 : status - LATE);
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

// HTTP/2 from clients on node:http2 (GANGWAY_H2=node; gangway's own codec,
// h2/conn.ts, is the default): the session runs over an H2Duplex on the
// connection, and each node stream's events are passed to its H2Stream as
// calls, by shared handlers (no closures per stream).
import * as http2 from "node:http2";
import { reportError } from "../context.ts";
import { H2Duplex, type RawConn } from "./h2-duplex.ts";
import { RepeatedHostFilter } from "./h2-node-hosts.ts";
import { LATE, STREAM_RESET, streamBody, streamRequest } from "./h2-request.ts";
import { H2Stream, type H2Parent, type StreamOwner } from "./h2-stream.ts";
import type { H2Conn } from "./h2-conn.ts";
import { RequestHead } from "./parse-request.ts";
import { rawTrailersOverLimit } from "./h2/trailer-limits.ts";

/** Stream settings we announce. */
const SETTINGS: http2.Settings = { maxConcurrentStreams: 128, maxHeaderListSize: 64 * 1024, enablePush: false };
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2.constants;

/** The HTTP/2 side of one client connection. */
export class NodeH2Conn implements StreamOwner, H2Conn {
  readonly duplex: H2Duplex;
  readonly session: http2.ServerHttp2Session;
  /** Streams not closed yet (the idle timeout checks their exchanges). */
  readonly streams = new Set<H2Stream>();
  /** The client's bytes on their way to the session: a repeated `host` cut first (h2-node-hosts.ts). */
  private readonly hosts: RepeatedHostFilter;

  constructor(readonly parent: H2Parent) {
    this.duplex = new H2Duplex(parent.socket as RawConn);
    const duplex = this.duplex;
    this.hosts = new RepeatedHostFilter((b) => duplex.feed(b));
    this.session = http2.performServerHandshake(this.duplex, { settings: SETTINGS, strictFieldWhitespaceValidation: false } as http2.ServerSessionOptions);
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
    this.hosts.feed(b);
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
    const st = stream as OwnedStream;
    st[OWNER] = s;
    st.on("data", onData);
    st.on("trailers", onTrailers);
    st.on("end", onEnd);
    st.on("drain", onDrain);
    st.on("close", onClose);
    st.on("wantTrailers", onWantTrailers);
    st.on("error", ignore);
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

  flush(): void {
    this.duplex.flush();
  }

  closed(): void {
    this.duplex.rawEnded();
  }
}

/** The H2Stream a node:http2 stream serves. */
const OWNER = Symbol("h2Stream");
type OwnedStream = http2.ServerHttp2Stream & { [OWNER]: H2Stream };

// shared handlers: node calls them with the stream as `this`
function onData(this: OwnedStream, b: Buffer): void {
  this[OWNER].fromClient(b);
}
function onTrailers(this: OwnedStream, t: http2.IncomingHttpHeaders, _flags: number, raw?: string[]): void {
  // Envoy's limits on request trailers (count, bytes), which node:http2 does not apply below its
  // SETTINGS_MAX_HEADER_LIST_SIZE: raw has every field (the object joins repeated names)
  if (rawTrailersOverLimit(raw ?? Object.entries(t).flat().map(String))) return this[OWNER].refuseTrailers();
  this[OWNER].clientTrailers(t);
}
function onEnd(this: OwnedStream): void {
  this[OWNER].clientEnded();
}
function onDrain(this: OwnedStream): void {
  this[OWNER].drained();
}
function onClose(this: OwnedStream): void {
  this[OWNER].closed();
}
function onWantTrailers(this: OwnedStream): void {
  this[OWNER].wantTrailers();
}
function ignore(): void {}

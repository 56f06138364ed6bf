// The HTTP/2 side of one client connection on gangway's own codec: the
// session (session.ts) reads the frames, and each request it passes on
// becomes an H2Stream (the client side of an exchange) over its
// ServerStream, or is answered at once (malformed: reset; a status the
// HTTP/2 rules give before any exchange: headers only).
import { coarseNow, options, reportError } from "../../context.ts";
import type { RawConn } from "../h2-duplex.ts";
import { LATE, STREAM_RESET, streamBody, streamRequestFields } from "../h2-request.ts";
import { H2Stream, type H2Parent, type StreamOwner } from "../h2-stream.ts";
import type { H2Conn } from "../h2-conn.ts";
import { Exchange } from "../exchange.ts";
import { INTERNAL_ERROR, PROTOCOL_ERROR } from "./frames.ts";
import { H2Session, type SessionHandler } from "./session.ts";
import type { ServerStream } from "./stream.ts";

const TOO_LARGE = { ":status": 431, "content-length": "0" };

export class OwnH2Conn implements StreamOwner, H2Conn, SessionHandler {
  readonly session: H2Session;
  readonly streams = new Set<H2Stream>();
  /** When the last stream ended (or the connection began to speak HTTP/2). */
  private idleSince = coarseNow;

  constructor(readonly parent: H2Parent) {
    this.session = new H2Session(parent.socket as RawConn, this, options.requestHeadersTimeoutMs);
  }

  feed(b: Buffer): void {
    try {
      this.session.feed(b);
    } catch (err) {
      // a throw from an exchange while its stream's frames were read: the connection cannot go on in step
      reportError("h2 session", err);
      this.session.fail(INTERNAL_ERROR);
    }
    // no stream open: the read (PING, SETTINGS, WINDOW_UPDATE...) does not make the connection active, its
    // idle time counts from its last stream, as Envoy's idle_timeout (a client pinging cannot keep it for ever)
    if (this.streams.size === 0) this.parent.lastActive = this.idleSince;
  }

  goaway(): void {
    this.session.goaway();
  }

  flush(): void {
    this.session.flush();
  }

  closed(): void {
    this.session.closed();
  }

  get active(): number {
    return this.streams.size;
  }

  streamClosed(s: H2Stream): void {
    this.streams.delete(s);
    if (this.streams.size === 0) this.idleSince = coarseNow;
  }

  onRequest(st: ServerStream, names: readonly string[], values: readonly string[], n: number, endStream: boolean): void {
    try {
      const h = Exchange.head(); // a spare exchange's head, reset (start() then takes that exchange)
      const status = streamRequestFields(names, values, n, endStream, h);
      if (status !== 0 && status < LATE) {
        if (status === STREAM_RESET) return st.close(PROTOCOL_ERROR);
        return st.respond({ ":status": status, "content-length": "0" }, { endStream: true });
      }
      const s = new H2Stream(this, st, streamBody.length);
      st.sink = s;
      this.streams.add(s);
      s.start(h, status === 0 ? 0 : status - LATE);
    } catch (err) {
      reportError("h2 stream", err);
      st.close(INTERNAL_ERROR);
    }
  }

  onTooLarge(st: ServerStream): void {
    st.respond(TOO_LARGE, { endStream: true });
  }
}

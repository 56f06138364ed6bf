// One stream of gangway's own HTTP/2 client session (client-session.ts): the
// request's body goes out as DATA within the upstream's windows (what does not
// fit waits here, and the owner hears drained() once it is all sent), the
// response comes back to the owner as fields, DATA, trailers and the end.
// While the owner is paused, DATA is held and the stream's window is not
// given back, so the upstream stops at WINDOW bytes ahead of a slow client.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";

/** What a stream asks of its session (client-send.ts H2ClientSend). */
export interface ClientStreamSession {
  sendData(s: H2ClientStream, b: Uint8Array): void;
  endStream(s: H2ClientStream): void;
  /** The stream's reader took what was held: its window may be given back. */
  giveBack(s: H2ClientStream): void;
  reset(s: H2ClientStream, code: number): void;
  forget(s: H2ClientStream): void;
}

/** What a stream reports to (upstream-h2.ts H2StreamConn). */
export interface ClientStreamOwner {
  onResponse(headers: IncomingHttpHeaders, ended: boolean): void;
  onData(d: Buffer): void;
  onTrailers(t: IncomingHttpHeaders): void;
  onEnd(): void;
  /** The body written while write() said full has all gone out. */
  drained(): void;
  /** The stream closed before its response ended: `code` the RST_STREAM error code (0: the connection went; MALFORMED: the upstream broke the protocol, we reset it). */
  streamClosed(code: number): void;
}

/** streamClosed's code when the stream (or its connection) failed for a protocol error of the upstream's, found here: not an HTTP/2 error code (those are 32-bit). */
export const MALFORMED = 2 ** 32;

export class H2ClientStream {
  /** Bytes the upstream lets us send (its stream window). */
  sendWindow: number;
  /** Bytes we let the upstream send (our stream window), and what it sent that we have not given back. */
  recvWindow: number;
  unacked = 0;
  /** Body not yet sent (windows full), in order. */
  pending: Buffer[] = [];
  pendingBytes = 0;
  /** The owner was told the stream is full: it hears drained() when pending empties. */
  wantDrain = false;
  /** The request is over: END_STREAM goes (with `trailers` when not null) after pending. */
  endQueued = false;
  trailers: OutgoingHttpHeaders | null = null;
  localEnded = false;
  /** The request is HEAD: its response's content-length describes no DATA. */
  headRequest = false;
  /**
   * DATA the response may still carry by its content-length, -1 when it has none (or
   * carries no body: HEAD, 204, 304). More is malformed (RFC 9113 §8.1.1).
   */
  bodyLeft = -1;
  /** A final response head came; the stream's end came. */
  gotResponse = false;
  remoteEnded = false;
  closed = false;
  paused = false;
  /** DATA (and the end) held while paused. */
  held: Buffer[] | null = null;
  heldEnd = false;
  heldTrailers: IncomingHttpHeaders | null = null;
  /** A microtask is to hand on what was held. */
  private handing = false;
  /** In the session's list of streams waiting for window. */
  blocked = false;

  constructor(
    readonly session: ClientStreamSession,
    readonly id: number,
    public owner: ClientStreamOwner | null,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Request body bytes (copied when they must wait). */
  write(b: Uint8Array): void {
    if (this.closed || this.localEnded || this.endQueued || b.length === 0) return;
    this.session.sendData(this, b);
  }

  /** Body bytes not yet sent. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** The request ends, with trailers when `t` has fields. */
  end(t: OutgoingHttpHeaders | null): void {
    if (this.closed || this.localEnded || this.endQueued) return;
    let any = false;
    if (t !== null) for (const _ in t) { any = true; break; }
    this.trailers = any ? t : null;
    this.endQueued = true;
    this.session.endStream(this);
  }

  pause(): void {
    this.paused = true;
  }

  /** Hands on what was held (after this returns, as node:http2 did), then gives the window back. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.held === null && !this.heldEnd) return this.session.giveBack(this);
    if (!this.handing) {
      this.handing = true;
      queueMicrotask(() => this.handOn());
    }
  }

  /** DATA, trailers or the end must wait behind what is held (or the owner paused). */
  get holding(): boolean {
    return this.paused || this.handing || this.held !== null;
  }

  /** What was held goes to the owner in order, until it pauses again; then the end, or the window back. */
  private handOn(): void {
    this.handing = false;
    if (this.paused) return;
    const h = this.held;
    if (h !== null) {
      let i = 0;
      while (i < h.length && !this.paused && this.owner !== null) this.owner.onData(h[i++]!);
      this.held = i < h.length ? h.slice(i) : null;
      if (this.held !== null) return; // paused again (or cancelled): the rest waits
    }
    if (this.heldEnd) {
      this.heldEnd = false;
      this.finish();
      return;
    }
    this.session.giveBack(this);
  }

  /** The upstream ended the stream: trailers (if any), then the end, after anything held. */
  finish(): void {
    const o = this.owner;
    const t = this.heldTrailers;
    this.heldTrailers = null;
    // a request still going keeps the stream open until it ends (or is cancelled)
    if (this.localEnded) this.session.forget(this);
    if (o === null) return;
    if (t !== null) o.onTrailers(t);
    o.onEnd();
  }

  /** The owner is done with an unfinished stream: RST_STREAM CANCEL. */
  cancel(): void {
    this.owner = null;
    if (this.closed) return;
    this.session.reset(this, 8);
  }
}

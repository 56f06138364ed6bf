// One client stream in gangway's own HTTP/2 codec: its state (RFC 9113 §5.1,
// as seen by the server: open → half-closed (remote) on the client's
// END_STREAM, half-closed (local) on ours, closed when both or on a reset),
// its send window and the DATA queued behind it, and its receive side (a
// paused stream keeps what arrives and withholds its WINDOW_UPDATEs). The
// methods are the ones H2Stream (h2-stream.ts) calls on a node:http2 stream
// (respond, write, end, sendTrailers, close, destroy, pause, resume,
// writableLength), and what happens on the stream reaches H2Stream as plain
// method calls (StreamSink), not events.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";

/** What a stream asks of its session (session.ts H2Session, its sending half send.ts). */
export interface StreamSession {
  sendHeaders(st: ServerStream, h: OutgoingHttpHeaders, end: boolean): void;
  localEnd(st: ServerStream): void;
  pump(st: ServerStream): void;
  resetStream(st: ServerStream, code: number): void;
  resumed(st: ServerStream): void;
}

/** What a stream tells the exchange side (H2Stream). */
export interface StreamSink {
  fromClient(b: Buffer): void;
  clientTrailers(t: IncomingHttpHeaders): void;
  clientEnded(): void;
  /** Queued response bytes went out after the stream was congested. */
  drained(): void;
  /** respond() asked for trailers and the body is out: send them now. */
  wantTrailers(): void;
  /** The stream is over (ended both ways, reset by either side, or the connection closed). */
  closed(): void;
}

export interface RespondOptions {
  endStream?: boolean;
  waitForTrailers?: boolean;
}

/** Queued bytes above which the stream asks for drained() once they are out. */
export const CONGESTED = 256 * 1024;

export class ServerStream {
  sink: StreamSink | null = null;
  /** The peer's window for this stream (may go negative after a SETTINGS shrink). */
  sendWindow: number;
  /** Bytes received and handed on whose WINDOW_UPDATE is not sent yet. */
  unacked = 0;
  /** Bytes the client may still send before a WINDOW_UPDATE. */
  recvWindow: number;
  remoteEnded = false;
  /** END_STREAM sent (or queued behind the DATA: endQueued). */
  localEnded = false;
  endQueued = false;
  isClosed = false;
  headersSent = false;
  /** respond() asked for trailers: the last DATA goes without END_STREAM, then wantTrailers(). */
  waitTrailers = false;
  trailers: OutgoingHttpHeaders | null = null;
  /** RST_STREAM code to send once the queued response is out (close(NO_ERROR) with DATA still queued), or -1. */
  rstAfter = -1;
  // the send queue: DATA not sent yet (no window, or the connection backed up)
  queue: Buffer[] = [];
  queueHead = 0;
  /** Bytes of queue[queueHead] already sent. */
  headOff = 0;
  queued = 0;
  needDrain = false;
  /** Waiting in the session's list of streams with DATA to send. */
  inSendList = false;
  // receive side
  paused = false;
  inbox: Buffer[] | null = null;
  /** Bytes kept in the inbox whose connection window is withheld until they are handed on. */
  connHeld = 0;
  inboxEnd = false;
  inboxTrailers: IncomingHttpHeaders | null = null;
  /** The response was answered before the request ended (the client's remaining DATA is dropped). */
  ignoreBody = false;
  /** wantTrailers() was called. */
  askedTrailers = false;

  constructor(
    readonly session: StreamSession,
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  readonly exactClose = true;

  get destroyed(): boolean {
    return this.isClosed;
  }

  get writableLength(): number {
    return this.queued;
  }

  respond(h: OutgoingHttpHeaders, opts?: RespondOptions): void {
    if (this.isClosed || this.headersSent) return;
    this.headersSent = true;
    const end = opts !== undefined && opts.endStream === true;
    if (opts !== undefined && opts.waitForTrailers === true) this.waitTrailers = true;
    this.session.sendHeaders(this, h, end);
    if (end) this.session.localEnd(this);
  }

  /** An interim (1xx) head: HEADERS without END_STREAM before the response's own (node:http2's additionalHeaders). */
  additionalHeaders(h: OutgoingHttpHeaders): void {
    if (this.isClosed || this.headersSent) return;
    this.session.sendHeaders(this, h, false);
  }

  write(b: Uint8Array): void {
    if (this.isClosed || this.endQueued || b.length === 0) return;
    this.push(b);
    this.session.pump(this);
    if (this.queued > CONGESTED) this.needDrain = true;
  }

  end(b?: Uint8Array): void {
    if (this.isClosed || this.endQueued) return;
    if (b !== undefined && b.length > 0) this.push(b);
    this.endQueued = true;
    this.session.pump(this);
  }

  sendTrailers(t: OutgoingHttpHeaders): void {
    if (this.isClosed || this.localEnded) return;
    this.trailers = t;
    this.session.pump(this);
  }

  /** Reset with `code`; NO_ERROR waits for the queued response to go out first (an early answer, then the rest of the request refused). */
  close(code = 0): void {
    if (this.isClosed) return;
    if (code === 0 && this.queued > 0) {
      this.rstAfter = 0;
      this.ignoreBody = true;
      return;
    }
    this.session.resetStream(this, code);
  }

  /** Reset at once with INTERNAL_ERROR, dropping what is queued. */
  destroy(_err?: Error): void {
    if (this.isClosed) return;
    this.session.resetStream(this, 2);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.session.resumed(this);
  }

  private push(b: Uint8Array): void {
    this.queue.push(b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    this.queued += b.length;
  }
}

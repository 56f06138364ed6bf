// The node:http2 upstream codec, kept behind GANGWAY_H2_UPSTREAM=node to
// compare with gangway's own (h2/client-session.ts): a node:http2 client
// stream dressed as the UpStream an H2StreamConn drives (upstream-h2.ts),
// its events handed to the conn by shared handlers (no closure per stream).
import * as http2 from "node:http2";
import { fieldMap } from "./field-map.ts";
import type { ClientStreamOwner } from "./h2/client-stream.ts";

/** What an H2StreamConn drives, whichever codec carries the stream. */
export interface UpStream {
  /** Request body bytes. */
  write(b: Uint8Array): void;
  /** The request ends (with trailers when `t` has fields). */
  end(t: http2.OutgoingHttpHeaders | null): void;
  /** Body bytes not yet sent. */
  readonly buffered: number;
  /** Set when write() found the stream full: the owner hears drained(). */
  wantDrain: boolean;
  pause(): void;
  resume(): void;
  /** The owner is done with an unfinished stream. */
  cancel(): void;
}

const { NGHTTP2_CANCEL } = http2.constants;

/** A node:http2 stream as an UpStream. */
class NodeUpStream implements UpStream {
  private trailers = fieldMap<http2.OutgoingHttpHeaders>();
  private drainHeard = false;

  constructor(
    readonly st: http2.ClientHttp2Stream,
    readonly owner: ClientStreamOwner,
  ) {}

  write(b: Uint8Array): void {
    this.st.write(b);
  }

  end(t: http2.OutgoingHttpHeaders | null): void {
    if (t !== null) this.trailers = t; // sent on wantTrailers (asked for when the request was opened with a chunked body)
    this.st.end();
  }

  get buffered(): number {
    return this.st.writableLength;
  }

  get wantDrain(): boolean {
    return this.drainHeard;
  }
  set wantDrain(v: boolean) {
    if (!v || this.drainHeard) return;
    this.drainHeard = true;
    this.st.on("drain", onDrain);
  }

  pause(): void {
    this.st.pause();
  }

  resume(): void {
    this.st.resume();
  }

  cancel(): void {
    const st = this.st;
    if (!st.closed && !st.destroyed) st.close(NGHTTP2_CANCEL);
  }

  sendTrailers(): void {
    this.st.sendTrailers(this.trailers);
  }
}

/** A request on node:http2 session `session`; throws when node:http2 refuses its fields. */
export function nodeStream(session: http2.ClientHttp2Session, owner: ClientStreamOwner, h: http2.OutgoingHttpHeaders, endStream: boolean, trailers: boolean): UpStream {
  const st = session.request(h, { endStream, waitForTrailers: trailers });
  const up = new NodeUpStream(st, owner);
  (st as OwnedStream)[OWNER] = up;
  if (trailers) st.on("wantTrailers", onWantTrailers);
  st.on("response", onResponse);
  st.on("data", onData);
  st.on("trailers", onTrailers);
  st.on("end", onEnd);
  st.on("error", ignore);
  st.on("close", onClose);
  return up;
}

const OWNER = Symbol("upStream");
type OwnedStream = http2.ClientHttp2Stream & { [OWNER]: NodeUpStream };

function onWantTrailers(this: OwnedStream): void {
  this[OWNER].sendTrailers();
}
function onResponse(this: OwnedStream, headers: http2.IncomingHttpHeaders, flags: number): void {
  this[OWNER].owner.onResponse(headers, (Number(flags) & 1) === 1 || this.endAfterHeaders);
}
function onData(this: OwnedStream, d: Buffer): void {
  this[OWNER].owner.onData(d);
}
function onTrailers(this: OwnedStream, t: http2.IncomingHttpHeaders): void {
  this[OWNER].owner.onTrailers(t);
}
function onEnd(this: OwnedStream): void {
  this[OWNER].owner.onEnd();
}
function onDrain(this: OwnedStream): void {
  this[OWNER].owner.drained();
}
function onClose(this: OwnedStream): void {
  this[OWNER].owner.streamClosed(this.rstCode ?? 0);
}
function ignore(): void {}

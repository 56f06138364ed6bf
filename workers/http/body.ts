// Message-body framing (RFC 9112 §6): where a request or response body ends,
// for Content-Length, chunked, or read-until-close bodies. Bytes pass through
// unchanged; this only counts them.
import { CHUNKED_BAD, CHUNKED_MORE, ChunkedScanner, type ChunkSink } from "./chunked.ts";

export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
export const BODY_CLOSE = 3;
/** An HTTP/2 upstream stream's DATA without a length: it ends with the stream (response.ts onResponseEnd). */
export const BODY_STREAM = 4;

export const BODY_MORE = CHUNKED_MORE;
export const BODY_BAD = CHUNKED_BAD;

export class BodyReader {
  kind = BODY_NONE;
  remaining = 0;
  chunked: ChunkedScanner | null = null;
  /** Body bytes on the wire so far (framing included for chunked). */
  bytes = 0;
  done = true;

  /** As a new reader is. */
  reset(): void {
    this.kind = BODY_NONE;
    this.remaining = 0;
    this.chunked = null;
    this.bytes = 0;
    this.done = true;
  }

  init(contentLength: number, chunked: boolean, untilClose: boolean): void {
    this.bytes = 0;
    if (chunked) {
      this.kind = BODY_CHUNKED;
      this.chunked = new ChunkedScanner();
      this.done = false;
    } else if (contentLength > 0) {
      this.kind = BODY_LENGTH;
      this.remaining = contentLength;
      this.done = false;
    } else if (contentLength < 0 && untilClose) {
      this.kind = BODY_CLOSE;
      this.done = false;
    } else {
      this.kind = BODY_NONE;
      this.done = true;
    }
  }

  /** A body that ends with its HTTP/2 stream. */
  initStream(): void {
    this.bytes = 0;
    this.kind = BODY_STREAM;
    this.done = false;
  }

  /**
   * Account for buf[start, end). Returns the index where the body ends inside
   * the range (bytes after it belong to the next message), BODY_MORE when all of
   * it is body, BODY_BAD on broken chunk framing.
   */
  consume(buf: Buffer, start: number, end: number, sink: ChunkSink | null): number {
    switch (this.kind) {
      case BODY_LENGTH: {
        const take = Math.min(this.remaining, end - start);
        this.remaining -= take;
        this.bytes += take;
        if (this.remaining > 0) return BODY_MORE;
        this.done = true;
        return start + take;
      }
      case BODY_CHUNKED: {
        const r = this.chunked!.scan(buf, start, end, sink);
        if (r === BODY_BAD) return r;
        this.bytes += (r === BODY_MORE ? end : r) - start;
        if (r >= 0) this.done = true;
        return r;
      }
      case BODY_CLOSE:
      case BODY_STREAM:
        this.bytes += end - start;
        return BODY_MORE;
      default:
        return start;
    }
  }
}

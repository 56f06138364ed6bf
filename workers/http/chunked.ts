// Chunked transfer-coding (RFC 9112 §7.1) scanner. The gateway passes chunked
// response bodies through byte for byte; it only has to know, strictly, where
// a body ends. With a sink it also decodes: responses for HTTP/1.0 clients,
// which cannot read chunked, and request bodies, framed again without their
// extensions and trailers (exchange.ts feedChunked).
import { COLON, CR, FIELD, HEX, LF, TCHAR } from "./chars.ts";
import { fieldMap } from "./field-map.ts";

const SIZE_START = 0;
const SIZE = 1;
const EXT = 2;
const SIZE_LF = 3;
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER_START = 7;
const TRAILER_NAME = 8;
const TRAILER_VALUE = 9;
const TRAILER_LF = 10;
const FINAL_LF = 11;
const DONE = 12;

/** More bytes are needed. */
export const CHUNKED_MORE = -1;
/** The framing is malformed. */
export const CHUNKED_BAD = -2;

/** 13 significant hex digits: sizes stay exact doubles. Leading zeros are not counted here (`000…05` is 5, as Envoy's and nginx's parsers read it) but as extension bytes (MAX_EXT), so a size line is never endless. */
const MAX_SIZE_DIGITS = 13;
/** Chunk extensions (and leading zeros of chunk sizes) a body may carry, in bytes. */
const MAX_EXT = 16 * 1024;
/**
 * The trailer section's bytes (its lines, CRLFs included): Envoy's Balsa parser, when it reads
 * trailers, holds them to the headers' limit (max_request_headers_kb / max_response_headers_kb,
 * 60 KiB; istiod sets neither) and past it fails the message ("trailers size exceeds limit", 400).
 */
const MAX_TRAILER_SECTION = 60 * 1024;
/** Trailer fields a body may carry: Envoy's max_headers_count (100) counts trailers as it counts headers. */
const MAX_TRAILERS = 100;

export type ChunkSink = (buf: Buffer, start: number, end: number) => void;

export class ChunkedScanner {
  private state = SIZE_START;
  private remaining = 0;
  private digits = 0;
  private ext = 0;
  private section = 0;
  private trailers = 0;
  /** scan() gave CHUNKED_BAD for more than MAX_TRAILERS trailer fields (a 431, not a 400). */
  tooManyTrailers = false;
  /** Data bytes seen so far (decoded length). */
  dataBytes = 0;
  /** Set to [] to keep the trailer section's bytes (HTTP/2 bridges send them as trailers). */
  trailerBytes: number[] | null = null;

  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Scan buf[start, end). Returns the index just past the body's final CRLF when
   * the body ends inside the range, CHUNKED_MORE when all of it belongs to the
   * body, CHUNKED_BAD when the framing is invalid. `sink` gets each data span.
   */
  scan(buf: Buffer, start: number, end: number, sink: ChunkSink | null): number {
    let i = start;
    let state = this.state;
    while (i < end) {
      if (state === DATA) {
        const take = Math.min(this.remaining, end - i);
        if (sink !== null) sink(buf, i, i + take);
        i += take;
        this.dataBytes += take;
        this.remaining -= take;
        if (this.remaining === 0) state = DATA_CR;
        continue;
      }
      const c = buf[i]!;
      switch (state) {
        case SIZE_START:
        case SIZE: {
          const h = HEX[c]!;
          if (h !== 0) {
            if (h === 1 && this.digits === 0) {
              if (++this.ext > MAX_EXT) return this.bad(); // a leading zero
            } else if (++this.digits > MAX_SIZE_DIGITS) return this.bad();
            this.remaining = this.remaining * 16 + (h - 1);
            state = SIZE;
          } else if (state === SIZE && c === 59 /* ; */) state = EXT;
          else if (state === SIZE && c === CR) state = SIZE_LF;
          else return this.bad();
          break;
        }
        case EXT:
          if (c === CR) state = SIZE_LF;
          else if (FIELD[c] !== 1 || ++this.ext > MAX_EXT) return this.bad();
          break;
        case SIZE_LF:
          if (c !== LF) return this.bad();
          this.digits = 0;
          state = this.remaining === 0 ? TRAILER_START : DATA;
          break;
        case DATA_CR:
          if (c !== CR) return this.bad();
          state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== LF) return this.bad();
          state = SIZE_START;
          break;
        case TRAILER_START:
          if (this.trailerBytes !== null && c !== CR) this.trailerBytes.push(c);
          if (++this.section > MAX_TRAILER_SECTION) return this.bad();
          if (c === CR) state = FINAL_LF;
          else if (TCHAR[c] === 1) {
            if (++this.trailers > MAX_TRAILERS) {
              this.tooManyTrailers = true;
              return this.bad();
            }
            state = TRAILER_NAME;
          } else return this.bad();
          break;
        case TRAILER_NAME:
          this.trailerBytes?.push(c);
          if (c === COLON) state = TRAILER_VALUE;
          else if (TCHAR[c] !== 1) return this.bad();
          if (++this.section > MAX_TRAILER_SECTION) return this.bad();
          break;
        case TRAILER_VALUE:
          this.trailerBytes?.push(c);
          if (++this.section > MAX_TRAILER_SECTION) return this.bad();
          if (c === CR) state = TRAILER_LF;
          else if (FIELD[c] !== 1) return this.bad();
          break;
        case TRAILER_LF:
          if (c !== LF || ++this.section > MAX_TRAILER_SECTION) return this.bad();
          this.trailerBytes?.push(c);
          state = TRAILER_START;
          break;
        case FINAL_LF:
          if (c !== LF || ++this.section > MAX_TRAILER_SECTION) return this.bad();
          this.state = DONE;
          return i + 1;
        default:
          return this.bad();
      }
      i++;
    }
    this.state = state;
    return CHUNKED_MORE;
  }

  private bad(): number {
    this.state = -1;
    return CHUNKED_BAD;
  }
}

/** The trailer fields kept by a scanner (`name: value` lines), names lowercased; connection-specific and framing fields dropped. */
export function trailerFields(bytes: number[] | null): [string, string][] {
  if (bytes === null || bytes.length === 0) return [];
  const out: [string, string][] = [];
  for (const line of Buffer.from(bytes).toString("latin1").split("\r\n")) {
    const c = line.indexOf(":");
    if (c <= 0) continue;
    const name = line.slice(0, c).toLowerCase();
    if (TRAILER_FORBIDDEN.has(name)) continue;
    out.push([name, line.slice(c + 1).trim()]);
  }
  return out;
}

/** Fields that may not travel as trailers (RFC 9110 §6.5.1: framing, routing, connection). */
/** trailerFields as an object (a repeated name: the last value), as an HTTP/2 stream sends them. */
export function trailerObject(bytes: number[] | null): Record<string, string> | null {
  const pairs = trailerFields(bytes);
  if (pairs.length === 0) return null;
  const out = fieldMap<Record<string, string>>();
  for (const [n, v] of pairs) out[n] = v;
  return out;
}

export const TRAILER_FORBIDDEN = new Set(["content-length", "transfer-encoding", "host", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection"]);

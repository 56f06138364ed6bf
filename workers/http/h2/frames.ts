// HTTP/2 frame layout (RFC 9113 §4.1, §6): the 9-byte frame header, the
// frame types and flags, error codes and settings, and the writers that put
// frames into an output buffer. Pure: no sockets, no state beyond the bytes.

export const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
export const PREFACE_LEN = 24;
export const FRAME_HEAD = 9;

export const DATA = 0;
export const HEADERS = 1;
export const PRIORITY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY_FLAG = 0x20;

export const NO_ERROR = 0;
export const PROTOCOL_ERROR = 1;
export const INTERNAL_ERROR = 2;
export const FLOW_CONTROL_ERROR = 3;
export const SETTINGS_TIMEOUT = 4;
export const STREAM_CLOSED = 5;
export const FRAME_SIZE_ERROR = 6;
export const REFUSED_STREAM = 7;
export const CANCEL = 8;
export const COMPRESSION_ERROR = 9;
export const ENHANCE_YOUR_CALM = 11;

export const S_HEADER_TABLE_SIZE = 1;
export const S_ENABLE_PUSH = 2;
export const S_MAX_CONCURRENT_STREAMS = 3;
export const S_INITIAL_WINDOW_SIZE = 4;
export const S_MAX_FRAME_SIZE = 5;
export const S_MAX_HEADER_LIST_SIZE = 6;

export const DEFAULT_WINDOW = 65535;
export const MAX_WINDOW = 0x7fffffff;
export const MIN_MAX_FRAME = 16384;
export const MAX_MAX_FRAME = 16777215;

/** A frame header read from bytes (the caller checked 9 bytes are there). */
export function frameLength(b: Uint8Array, at: number): number {
  return (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
}

/** A 31-bit stream id or window increment at `at` (the reserved bit dropped). */
export function u31(b: Uint8Array, at: number): number {
  return ((b[at]! & 0x7f) * 0x1000000) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** A 32-bit unsigned value at `at`. */
export function u32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** Write a frame header at `at` (the caller made room). */
export function putHead(b: Uint8Array, at: number, length: number, type: number, flags: number, stream: number): void {
  b[at] = length >>> 16;
  b[at + 1] = (length >>> 8) & 0xff;
  b[at + 2] = length & 0xff;
  b[at + 3] = type;
  b[at + 4] = flags;
  putU32(b, at + 5, stream);
}

export function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** The settings of one side, as RFC 9113 §6.5.2 defines them (defaults until a SETTINGS says otherwise). */
export interface Settings {
  headerTableSize: number;
  enablePush: number;
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
}

export function defaultSettings(): Settings {
  return { headerTableSize: 4096, enablePush: 1, maxConcurrentStreams: 0xffffffff, initialWindowSize: DEFAULT_WINDOW, maxFrameSize: MIN_MAX_FRAME, maxHeaderListSize: 0xffffffff };
}

/**
 * Apply a SETTINGS payload b[start, end) to `s`. Returns 0, or the connection
 * error code the payload earns (§6.5.2); unknown identifiers are ignored.
 */
export function readSettings(b: Uint8Array, start: number, end: number, s: Settings): number {
  if ((end - start) % 6 !== 0) return FRAME_SIZE_ERROR;
  for (let p = start; p < end; p += 6) {
    const id = (b[p]! << 8) | b[p + 1]!;
    const v = u32(b, p + 2);
    switch (id) {
      case S_HEADER_TABLE_SIZE:
        s.headerTableSize = v;
        break;
      case S_ENABLE_PUSH:
        if (v > 1) return PROTOCOL_ERROR;
        s.enablePush = v;
        break;
      case S_MAX_CONCURRENT_STREAMS:
        s.maxConcurrentStreams = v;
        break;
      case S_INITIAL_WINDOW_SIZE:
        if (v > MAX_WINDOW) return FLOW_CONTROL_ERROR;
        s.initialWindowSize = v;
        break;
      case S_MAX_FRAME_SIZE:
        if (v < MIN_MAX_FRAME || v > MAX_MAX_FRAME) return PROTOCOL_ERROR;
        s.maxFrameSize = v;
        break;
      case S_MAX_HEADER_LIST_SIZE:
        s.maxHeaderListSize = v;
        break;
    }
  }
  return 0;
}

/** A SETTINGS frame carrying `pairs` ([id, value] ...). */
export function settingsFrame(pairs: readonly (readonly [number, number])[]): Buffer {
  const b = Buffer.alloc(FRAME_HEAD + 6 * pairs.length);
  putHead(b, 0, 6 * pairs.length, SETTINGS, 0, 0);
  for (let i = 0; i < pairs.length; i++) {
    const p = FRAME_HEAD + 6 * i;
    b[p] = pairs[i]![0] >>> 8;
    b[p + 1] = pairs[i]![0] & 0xff;
    putU32(b, p + 2, pairs[i]![1]);
  }
  return b;
}

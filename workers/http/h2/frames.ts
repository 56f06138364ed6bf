// HTTP/2 frame layer constants and the 9-byte frame header (RFC 9113 §4.1,
// §6, §7, §11.2): what the upstream client codec (client-session.ts) needs.
// Written by the h2client branch while the server codec's frame layer was not
// yet committed; one of the two is kept when they meet.

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME_HEADER = 9;

export const T_DATA = 0;
export const T_HEADERS = 1;
export const T_PRIORITY = 2;
export const T_RST_STREAM = 3;
export const T_SETTINGS = 4;
export const T_PUSH_PROMISE = 5;
export const T_PING = 6;
export const T_GOAWAY = 7;
export const T_WINDOW_UPDATE = 8;
export const T_CONTINUATION = 9;

export const F_END_STREAM = 0x1;
export const F_ACK = 0x1;
export const F_END_HEADERS = 0x4;
export const F_PADDED = 0x8;
export const F_PRIORITY = 0x20;

export const S_HEADER_TABLE_SIZE = 1;
export const S_ENABLE_PUSH = 2;
export const S_MAX_CONCURRENT_STREAMS = 3;
export const S_INITIAL_WINDOW_SIZE = 4;
export const S_MAX_FRAME_SIZE = 5;
export const S_MAX_HEADER_LIST_SIZE = 6;

export const E_NO_ERROR = 0;
export const E_PROTOCOL_ERROR = 1;
export const E_INTERNAL_ERROR = 2;
export const E_FLOW_CONTROL_ERROR = 3;
export const E_SETTINGS_TIMEOUT = 4;
export const E_STREAM_CLOSED = 5;
export const E_FRAME_SIZE_ERROR = 6;
export const E_REFUSED_STREAM = 7;
export const E_CANCEL = 8;
export const E_COMPRESSION_ERROR = 9;

/** The protocol's defaults, before a peer's SETTINGS. */
export const DEFAULT_WINDOW = 65535;
export const DEFAULT_MAX_FRAME = 16384;
export const MAX_WINDOW = 0x7fffffff;
export const MAX_FRAME_LIMIT = 0xffffff;

/** Writes a frame header at `off` of `out` (which has room). */
export function writeFrameHeader(out: Uint8Array, off: number, length: number, type: number, flags: number, stream: number): void {
  out[off] = (length >>> 16) & 0xff;
  out[off + 1] = (length >>> 8) & 0xff;
  out[off + 2] = length & 0xff;
  out[off + 3] = type;
  out[off + 4] = flags;
  out[off + 5] = (stream >>> 24) & 0x7f;
  out[off + 6] = (stream >>> 16) & 0xff;
  out[off + 7] = (stream >>> 8) & 0xff;
  out[off + 8] = stream & 0xff;
}

/** A 31-bit big-endian value at `off` (the reserved bit dropped). */
export function read31(b: Uint8Array, off: number): number {
  return ((b[off]! & 0x7f) << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
}

export function read32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

export function write32(out: Uint8Array, off: number, v: number): void {
  out[off] = (v >>> 24) & 0xff;
  out[off + 1] = (v >>> 16) & 0xff;
  out[off + 2] = (v >>> 8) & 0xff;
  out[off + 3] = v & 0xff;
}

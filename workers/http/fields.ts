// The header-field block shared by request and response heads (RFC 9112 §5):
// `name ":" OWS value OWS CRLF` lines ending in an empty line. Names are
// lower-cased (as Envoy emits them). Strict: no obs-fold, no whitespace before
// the colon, no bare CR/LF, no control characters.
import { COLON, CR, FIELD, HTAB, LF, SP, TCHAR } from "./chars.ts";

/** Envoy's default `max_headers_count`. */
export const MAX_HEADERS = 100;

export const FIELDS_BAD = -1;
export const FIELDS_TOO_MANY = -2;

/**
 * Scan the field lines of a head from byte `p` of `b` to the final CRLF, which
 * must end the head at `end`. `s` is the latin1 text of the head starting at
 * byte `base` (strings are cut from it; bytes are checked on `b`, which is faster).
 * Appends to names/values; `starts` (MAX_HEADERS + 1 long), when given, gets the
 * text offset of each field line and, after the last, of the final CRLF, so the
 * lines can be copied as received. Returns 0 (ASCII only), 1 (a value holds bytes ≥ 0x80),
 * FIELDS_BAD or FIELDS_TOO_MANY.
 */
export function scanFields(
  b: Uint8Array,
  p: number,
  end: number,
  s: string,
  base: number,
  names: string[],
  values: string[],
  starts: Int32Array | null,
): number {
  let c = 0;
  let high = 0;
  for (;;) {
    if (p >= end) return FIELDS_BAD;
    c = b[p]!;
    if (starts !== null) starts[names.length] = p - base;
    if (c === CR) {
      if (p + 2 === end && b[p + 1] === LF) return high;
      return FIELDS_BAD;
    }
    if (names.length >= MAX_HEADERS) return FIELDS_TOO_MANY;
    let st = p;
    let upper = false;
    while (p < end) {
      c = b[p]!;
      if (TCHAR[c] !== 1) break;
      if (c >= 65 && c <= 90) upper = true;
      p++;
    }
    if (p === st || p >= end || c !== COLON) return FIELDS_BAD;
    const name = upper ? s.slice(st - base, p - base).toLowerCase() : s.slice(st - base, p - base);
    p++;
    while (p < end && ((c = b[p]!) === SP || c === HTAB)) p++;
    st = p;
    let last = p;
    while (p < end) {
      c = b[p]!;
      if (FIELD[c] !== 1) break;
      if (c !== SP && c !== HTAB) {
        last = p + 1;
        if (c > 127) high = 1;
      }
      p++;
    }
    if (p + 1 >= end || c !== CR || b[p + 1] !== LF) return FIELDS_BAD;
    p += 2;
    names.push(name);
    values.push(s.slice(st - base, last - base));
  }
}

/** Scratch for `scanFields` line offsets (one head at a time per owner). */
export function lineStarts(): Int32Array {
  return new Int32Array(MAX_HEADERS + 1);
}

/** Case-insensitive equality against a lower-case literal. */
export function eqLower(v: string, lower: string): boolean {
  return v.length === lower.length && (v === lower || v.toLowerCase() === lower);
}

/** A Content-Length value: 1–15 digits (safe integer), nothing else. -1 if invalid. */
export function parseLength(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(v);
}

/** Calls back per comma-separated, trimmed, lower-cased token of a Connection value. */
export function connectionTokens(value: string, into: string[]): void {
  let st = 0;
  while (st <= value.length) {
    let comma = value.indexOf(",", st);
    if (comma < 0) comma = value.length;
    const tok = value.slice(st, comma).trim().toLowerCase();
    if (tok.length > 0) into.push(tok);
    st = comma + 1;
  }
}

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");
/** Heads are looked for in a latin1 window this big first (string search is far faster than Buffer.indexOf). */
const WINDOW = 2048;

type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

/** latin1 text of buf[start, end) (Buffer#toString is several times slower). */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1).latin1Slice(start, end);
}

/** The text of the head found by the last successful findHead call. */
export let headText = "";

/**
 * Where the head that starts at `start` ends (index after CRLFCRLF; its text is
 * then in `headText`), -1 when more bytes are needed, -400 when a bare LF
 * already makes it malformed, -431 when it is over `max` bytes.
 */
export function findHead(buf: Buffer, start: number, max: number): number {
  const len = buf.length;
  const winEnd = Math.min(len, start + WINDOW);
  let text = latin1(buf, start, winEnd);
  let at = text.indexOf("\r\n\r\n");
  if (at < 0 && winEnd < len) {
    const abs = buf.indexOf(CRLFCRLF, start);
    if (abs >= 0) {
      at = abs - start;
      text = at + 4 > max ? "" : latin1(buf, start, abs + 4);
    }
  }
  if (at >= 0) {
    if (at + 4 > max) return -431;
    headText = text.length === at + 4 ? text : text.slice(0, at + 4);
    return start + at + 4;
  }
  if (text.indexOf("\n\n") >= 0 || text.indexOf("\n\r\n") >= 0) return -400;
  return len - start > max ? -431 : -1;
}

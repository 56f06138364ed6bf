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
 * Scan the field lines of `s` from `i` to the final CRLF (which must end `s`).
 * Appends to names/values. Returns 0 (ASCII only), 1 (a value holds bytes ≥ 0x80),
 * FIELDS_BAD or FIELDS_TOO_MANY.
 */
export function scanFields(s: string, i: number, names: string[], values: string[]): number {
  const n = s.length;
  let c = 0;
  let high = 0;
  for (;;) {
    if (i >= n) return FIELDS_BAD;
    c = s.charCodeAt(i);
    if (c === CR) {
      if (i + 2 === n && s.charCodeAt(i + 1) === LF) return high;
      return FIELDS_BAD;
    }
    if (names.length >= MAX_HEADERS) return FIELDS_TOO_MANY;
    let st = i;
    let upper = false;
    while (i < n) {
      c = s.charCodeAt(i);
      if (TCHAR[c] !== 1) break;
      if (c >= 65 && c <= 90) upper = true;
      i++;
    }
    if (i === st || i >= n || c !== COLON) return FIELDS_BAD;
    const name = upper ? s.slice(st, i).toLowerCase() : s.slice(st, i);
    i++;
    while (i < n && ((c = s.charCodeAt(i)) === SP || c === HTAB)) i++;
    st = i;
    let end = i;
    while (i < n) {
      c = s.charCodeAt(i);
      if (FIELD[c] !== 1) break;
      if (c !== SP && c !== HTAB) {
        end = i + 1;
        if (c > 127) high = 1;
      }
      i++;
    }
    if (i + 1 >= n || c !== CR || s.charCodeAt(i + 1) !== LF) return FIELDS_BAD;
    i += 2;
    names.push(name);
    values.push(s.slice(st, end));
  }
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

/**
 * Where the head that starts at `start` ends (index after CRLFCRLF), -1 when
 * more bytes are needed, -400 when a bare LF already makes it malformed,
 * -431 when it is over `max` bytes.
 */
export function findHeadEnd(buf: Buffer, start: number, max: number): number {
  const at = buf.indexOf("\r\n\r\n", start, "latin1");
  if (at >= 0) return at - start + 4 > max ? -431 : at + 4;
  if (buf.indexOf("\n\n", start, "latin1") >= 0 || buf.indexOf("\n\r\n", start, "latin1") >= 0) return -400;
  return buf.length - start > max ? -431 : -1;
}

// Strict HTTP/1.1 response-head parser for what upstreams send, on bytes: it
// validates the head, reads the framing headers, and records where each field
// line starts and what kind it is, so the client's head is assembled by copying
// byte ranges (no strings per header). Anything it does not accept makes the
// exchange a 502 (UPE), never a guess.
import { COLON, CR, FIELD, HTAB, LF, SP, TCHAR } from "./chars.ts";
import { bytesEqLower, latin1, lit, MAX_HEADERS, parseLengthBytes } from "./fields.ts";

/** Largest upstream response head accepted (Envoy's default header limit). */
export const MAX_RESPONSE_HEAD = 60 * 1024;

/** Field kinds: passed through, dropped (hop-by-hop, server, service time), Content-Length. */
export const K_PASS = 0;
export const K_DROP = 1;
export const K_LENGTH = 2;
/** Connection / Upgrade: dropped, except on a 101 where they are the handshake. */
export const K_UPGRADE = 3;

export class ResponseHead {
  status = 0;
  minor = 1;
  /** -1: no Content-Length. */
  contentLength = -1;
  chunked = false;
  /** The upstream closes the connection after this response. */
  close = false;
  /** The status line has a reason phrase (else one is written). */
  hasReason = false;
  /** An HTTP/2 upstream's response given as fields (upstream-h2.ts): its grpc-status, or "" (a parsed head has it among its fields). */
  grpcStatus = "";

  /** Every field as a new head has it (an exchange parses each response head into its own, response.ts). */
  reset(): this {
    this.status = 0;
    this.minor = 1;
    this.contentLength = -1;
    this.chunked = false;
    this.close = false;
    this.hasReason = false;
    this.grpcStatus = "";
    return this;
  }
}

/**
 * Where the last parse found things (valid until the next parse; the head is
 * parsed and rewritten in one call): `fieldStarts[k]` is the byte offset of
 * field line k, `fieldStarts[fieldCount]` that of the final CRLF; `fieldNameEnds[k]`
 * the offset of its colon; `fieldKinds[k]` its kind.
 */
export const fieldStarts = new Int32Array(MAX_HEADERS + 1);
export const fieldNameEnds = new Int32Array(MAX_HEADERS);
export const fieldKinds = new Uint8Array(MAX_HEADERS);
export let fieldCount = 0;

const N_TE = lit("te");
const N_SERVER = lit("server");
const N_UPGRADE = lit("upgrade");
const N_CONNECTION = lit("connection");
const N_KEEP_ALIVE = lit("keep-alive");
const N_CONTENT_LENGTH = lit("content-length");
const N_PROXY_CONNECTION = lit("proxy-connection");
const N_TRANSFER_ENCODING = lit("transfer-encoding");
const N_SERVICE_TIME = lit("x-envoy-upstream-service-time");
const V_CHUNKED = lit("chunked");
const V_CLOSE = lit("close");


const SEEN_TE = 4;
const SEEN_CONNECTION = 8;

/** b[st, st + name.length) equals the lower-case `name`, ignoring ASCII case (the name's length already matched). */
function nameIs(b: Uint8Array, st: number, name: Uint8Array): boolean {
  const n = name.length;
  for (let i = 0; i < n; i++) if ((b[st + i]! | 0x20) !== name[i]) return false;
  return true;
}

/** Kind of the field named b[st, en), with SEEN_TE or SEEN_CONNECTION for the framing headers. */
function classify(b: Uint8Array, st: number, en: number): number {
  switch (en - st) {
    case 2:
      return nameIs(b, st, N_TE) ? K_DROP : K_PASS;
    case 6:
      return nameIs(b, st, N_SERVER) ? K_DROP : K_PASS;
    case 7:
      return nameIs(b, st, N_UPGRADE) ? K_UPGRADE : K_PASS;
    case 10:
      if (nameIs(b, st, N_CONNECTION)) return K_UPGRADE | SEEN_CONNECTION;
      return nameIs(b, st, N_KEEP_ALIVE) ? K_DROP : K_PASS;
    case 14:
      return nameIs(b, st, N_CONTENT_LENGTH) ? K_LENGTH : K_PASS;
    case 16:
      return nameIs(b, st, N_PROXY_CONNECTION) ? K_DROP : K_PASS;
    case 17:
      return nameIs(b, st, N_TRANSFER_ENCODING) ? K_DROP | SEEN_TE : K_PASS;
    case 29:
      return nameIs(b, st, N_SERVICE_TIME) ? K_DROP : K_PASS;
  }
  return K_PASS;
}

/**
 * Parse the response head b[off, end) (status line through CRLFCRLF) into `h`
 * and the field tables above. Returns true when it is well-formed.
 */
export function parseResponseHead(b: Buffer, off: number, end: number, h: ResponseHead): boolean {
  return parse(b, off, end, h) === end;
}

/**
 * Parse the response head that starts at b[off] into `h` and the field tables
 * above, finding where it ends as it goes (no search for CRLFCRLF first: the
 * first one in a well-formed head is its empty line): the offset after that
 * line, or -1 when the bytes are not a whole well-formed head. -1 decides
 * nothing: the caller then finds the end (findHeadBytes: more bytes to wait
 * for, or a malformed head) and parses with parseResponseHead, as it would
 * without this.
 */
export function parseResponseHeadAt(b: Buffer, off: number, h: ResponseHead): number {
  return parse(b, off, -1, h);
}

/** parseResponseHead over b[off, end), or (`end` -1) parseResponseHeadAt: the end, or -1. */
function parse(b: Buffer, off: number, end: number, h: ResponseHead): number {
  fieldCount = 0;
  // "HTTP/1." DIGIT SP 3DIGIT [SP reason] CRLF
  const lim = end < 0 ? b.length : end;
  if (lim - off < 16 || (end >= 0 && b[end - 1] !== LF)) return -1;
  // with `end`, b[end - 1] is LF, which no loop below takes: none of them runs past it; without,
  // a loop that reaches the buffer's end reads undefined, which no test below takes either
  if (b[off] !== 72 || b[off + 1] !== 84 || b[off + 2] !== 84 || b[off + 3] !== 80 || b[off + 4] !== 47 || b[off + 5] !== 49 || b[off + 6] !== 46)
    return -1;
  const minor = b[off + 7]! - 48;
  if ((minor !== 0 && minor !== 1) || b[off + 8] !== SP) return -1;
  h.minor = minor;
  const d0 = b[off + 9]! - 48;
  const d1 = b[off + 10]! - 48;
  const d2 = b[off + 11]! - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return -1;
  h.status = d0 * 100 + d1 * 10 + d2;
  let p = off + 12;
  let c = b[p]!;
  if (c === SP) {
    const st = ++p;
    while (FIELD[(c = b[p]!)] === 1) p++;
    h.hasReason = p > st;
  }
  if (c !== CR || b[p + 1] !== LF) return -1;
  p += 2;
  let keepAlive = false;
  let n = 0;
  for (;;) {
    if (p >= lim) return -1;
    fieldStarts[n] = p;
    c = b[p]!;
    if (c === CR) {
      if (b[p + 1] !== LF || (end >= 0 && p + 2 !== end)) return -1;
      break;
    }
    if (n >= MAX_HEADERS) return -1;
    const st = p;
    while (TCHAR[(c = b[p]!)] === 1) p++;
    if (p === st || c !== COLON) return -1;
    const cls = classify(b, st, p);
    const kind = cls & 3;
    const seen = cls & 12;
    fieldNameEnds[n] = p;
    p++;
    while ((c = b[p]!) === SP || c === HTAB) p++;
    const vs = p;
    while (FIELD[(c = b[p]!)] === 1) p++;
    if (c !== CR || b[p + 1] !== LF) return -1;
    let ve = p;
    while (ve > vs && ((c = b[ve - 1]!) === SP || c === HTAB)) ve--;
    p += 2;
    if (kind === K_LENGTH) {
      const len = parseLengthBytes(b, vs, ve);
      if (len < 0 || (h.contentLength >= 0 && h.contentLength !== len)) return -1;
      h.contentLength = len;
    } else if (seen === SEEN_TE) {
      if (h.chunked || ve - vs !== 7 || !bytesEqLower(b, vs, V_CHUNKED)) return -1;
      h.chunked = true;
    } else if (seen === SEEN_CONNECTION) {
      // the usual values, compared as bytes (no string, no regex): the same outcome as the lists below
      if (ve - vs === 10 && bytesEqLower(b, vs, N_KEEP_ALIVE)) keepAlive = true;
      else if (ve - vs === 5 && bytesEqLower(b, vs, V_CLOSE)) h.close = true;
      else if (connectionList(latin1(b, vs, ve).toLowerCase(), h)) keepAlive = true;
    }
    fieldKinds[n] = kind;
    n++;
  }
  fieldCount = n;
  if (h.chunked && h.contentLength >= 0) return -1;
  // an HTTP/1.0 response framed by Transfer-Encoding: faulty framing, the connection is not used
  // again even with keep-alive (RFC 9112 §6.1: the sender may have left part of it in a buffer)
  if (h.minor === 0 && (!keepAlive || h.chunked)) h.close = true;
  return p + 2;
}

/** The bytes every status line starts with, "HTTP/1." (the minor version, 0 or 1, follows). */
const STATUS_PREFIX = lit("HTTP/1.");

/**
 * The first bytes of a response head not yet whole (b[0, n)) already cannot
 * start a status line this parser takes ("HTTP/1.0" or "HTTP/1.1", a space, a
 * status 100-599, then a space or CR): true. Only the first 13 bytes are
 * looked at, so a head arriving in many reads costs nothing more. An upstream
 * that answers HTTP/0.9 or garbage without ever ending a head is refused at
 * once (502) instead of at the stream idle timeout; Envoy's codec refuses a
 * response whose first byte is not `H` at once, and the rest at the head's end.
 */
export function statusLineCannotBe(b: Uint8Array, n: number): boolean {
  const lim = n < 13 ? n : 13;
  for (let i = 0; i < lim; i++) {
    const c = b[i]!;
    if (i < 7 ? c !== STATUS_PREFIX[i] : i === 7 ? c !== 48 && c !== 49 : i === 8 ? c !== SP : i === 9 ? c < 49 || c > 53 : i < 12 ? c < 48 || c > 57 : c !== SP && c !== CR)
      return true;
  }
  return false;
}

/**
 * A response head not yet whole, b[0, n), of which b[0, from) was looked at by
 * an earlier call: true when its bytes already cannot be a head the parser
 * takes — its status line cannot be one (statusLineCannotBe), or a byte no
 * head holds came (a control character other than HTAB, DEL), a CR not
 * followed by LF, an LF without its CR, or a line starting with whitespace
 * (obs-fold). Each byte is looked at once over the reads of a head, as the
 * request side checks a head still arriving; nginx refuses such a response
 * as the bytes come, Envoy's codec at the head's end.
 */
export function headCannotBe(b: Uint8Array, from: number, n: number): boolean {
  if (statusLineCannotBe(b, n)) return true;
  for (let i = from > 0 ? from - 1 : 0; i < n; i++) {
    const c = b[i]!;
    if (FIELD[c] === 1) continue;
    if (c === CR) {
      if (i + 1 < n && b[i + 1] !== LF) return true;
    } else if (c === LF) {
      if (i === 0 || b[i - 1] !== CR) return true;
      if (i + 1 < n && (b[i + 1] === SP || b[i + 1] === HTAB)) return true;
    } else return true;
  }
  return false;
}

/** A Connection value (lower-cased) as a list: a close token closes; true when keep-alive is named. */
function connectionList(v: string, h: ResponseHead): boolean {
  if (/(^|,)\s*close\s*(,|$)/.test(v)) h.close = true;
  return /(^|,)\s*keep-alive\s*(,|$)/.test(v);
}

/** Does a response with this status to this method carry no body at all? */
export function bodiless(status: number, method: string): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

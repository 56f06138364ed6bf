// The request view (RequestHead) of an HTTP/2 stream, made from its header
// fields with no HTTP/1.1 text in between: the head bytes are written once,
// byte for byte what the HTTP/1.1 parser would read for the same request
// ("METHOD target HTTP/1.1", host from :authority, the client's fields, the
// framing, "connection: close"), and the field spans and kinds are filled while
// writing them, so routing, header matching and the upstream head
// (request-head-bytes.ts copies runs of these bytes) see the same request as
// before. Statuses are the same as the text path gave: pseudo-header and
// field-name problems are answered at once (no exchange), what the HTTP/1.1
// rules refuse (a byte not allowed in a method, target or value, more than
// 100 fields, a bad path or authority) goes through the exchange. When the
// fields hold anything unusual for the fast path (such bytes, characters above
// 0xFF, too many fields) the bytes written are parsed by parseRequestHead
// itself, so the answer cannot differ from the text path's.
import type * as http2 from "node:http2";
import { FIELD, HTAB, METHOD, SP, TARGET, TCHAR } from "./chars.ts";
import { bytesEqLowerText, HOP_BY_HOP, MAX_HEADERS, parseLength, R_CONNECTION, R_CONTENT_LENGTH, R_EXPECT, R_HOST, R_TRANSFER_ENCODING, requestKind } from "./fields.ts";
import { hasTrailers, hostValue, parseRequestHead, type RequestHead, routeView } from "./parse-request.ts";
import { requestHeaders } from "./h2/request-fields.ts";

/** streamRequest: the stream is malformed (RFC 9113 §8.1.1): reset it. */
export const STREAM_RESET = 1;
/** Added to a status the exchange answers (ex.badRequest), as for an HTTP/1.1 head the parser refused. */
export const LATE = 1000;

/** Connection-specific fields: not allowed in HTTP/2 (RFC 9113 §8.2.2), dropped. */
const HOP = new Set<string>([...HOP_BY_HOP, "http2-settings"]);

/** What streamRequest found besides its status: the body length announced (0: none, -1: unknown, sent on chunked). */
export const streamBody = { length: 0 };

// per-call scratch: the fields that pass, in order (reused; a stream's fields are written before the next stream's)
const names: string[] = [];
const values: string[] = [];

const HTTP11 = " HTTP/1.1\r\n";
const HOST = "host: ";
const CHUNKED = "transfer-encoding: chunked\r\n";
const CLOSE = "connection: close\r\n";

/** A name HTTP/2 allows: lower-case token characters, at least one. */
function lowerToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TCHAR[c] !== 1 || (c >= 65 && c <= 90)) return false;
  }
  return true;
}

/** nameClass: a pseudo-header, host or connection-specific field (not a line of the head). */
const SKIP = 0;
const LINE = 1;
/** Not a lower-case token: 400. */
const BAD = 2;
/** The last stream's field names by position and what they were (a client sends the same names in the same order). */
const prevNames: string[] = [];
const prevNameClasses: number[] = [];

function nameClass(name: string, i: number): number {
  if (name === prevNames[i]) return prevNameClasses[i]!;
  const c = name.charCodeAt(0) === 58 /* : */ || name === "host" || HOP.has(name) ? SKIP : lowerToken(name) ? LINE : BAD;
  prevNames[i] = name;
  prevNameClasses[i] = c;
  return c;
}

/** valueClass: CR, LF or NUL (refused at once); a character the fast path does not take (not a field byte, or above 0xFF). */
const BREAK = 2;
const UNUSUAL = 1;

function valueClass(s: string): number {
  let r = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return BREAK;
    if (c > 255 || FIELD[c] !== 1) r = UNUSUAL;
  }
  return r;
}

/** The values of the last stream's fields by position, and their valueClass: a client repeats most of them. */
const prevValues: string[] = [];
const prevClasses: number[] = [];

/** CR, LF or NUL in `s` (refused at once, as a value cannot carry them). */
function hasBreak(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return true;
  }
  return false;
}

/** Every character of `s` is allowed by `table` (characters above 0xFF never are). */
function allIn(s: string, table: Uint8Array): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || table[c] !== 1) return false;
  }
  return true;
}

/** Write `s` at `pos` as latin1 (one byte per character, the low byte); the position after it. */
function put(b: Buffer, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[pos++] = s.charCodeAt(i);
  return pos;
}

/**
 * Fill `h` from a stream's header fields (`endStream`: the headers ended the
 * stream, no body follows). Returns 0 (h is the request, `streamBody.length`
 * its body length), STREAM_RESET, a status to answer at once without an
 * exchange (400, 431), or LATE + a status for the exchange to answer with.
 */
export function streamRequest(headers: http2.IncomingHttpHeaders, endStream: boolean, h: RequestHead): number {
  const method = headers[":method"];
  const path = headers[":path"];
  const authority = headers[":authority"] ?? headers.host;
  const first = startCheck(method, path, authority);
  if (first !== 0) return first;
  const te = headers.te;
  h.teTrailers = typeof te === "string" && hasTrailers(te);
  const target = method === "CONNECT" ? (authority as string) : (path as string);
  begin(method as string, target, authority as string);

  const keys = Object.keys(headers);
  for (let ki = 0; ki < keys.length; ki++) {
    const name = keys[ki]!;
    const nc = nameClass(name, ki);
    if (nc === SKIP) continue;
    if (nc === BAD) return 400;
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === "string" || v.length === 1 || (name === "cookie" && v.length > 1)) {
      // RFC 9113 §8.2.3: cookie crumbs are joined into one field
      if (!take(name, typeof v === "string" ? v : v.length === 1 ? v[0]! : v.join("; "), true)) return 400;
      continue;
    }
    for (let i = 0; i < v.length; i++) if (!take(name, v[i]!, false)) return 400;
  }
  return writeHead(method as string, target, authority as string, endStream, h);
}

/** The names of the last request whose regular fields held no name twice, and where its regular fields began. */
const uniqueNames: string[] = [];
let uniqueFrom = -1;
let uniqueTo = -1;

/** fn[from, to) holds no name twice and no name an object would put first (an array index): the fields read in order are the header object's. */
function plainOrder(fn: readonly string[], from: number, to: number): boolean {
  if (from === uniqueFrom && to === uniqueTo) {
    let same = true;
    for (let i = from; i < to; i++) {
      if (fn[i] !== uniqueNames[i]) {
        same = false;
        break;
      }
    }
    if (same) return true;
  }
  for (let i = from; i < to; i++) {
    const name = fn[i]!;
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) return false; // "0", "12": an object's keys in index order, before the others
    for (let j = from; j < i; j++) if (fn[j] === name) return false;
  }
  for (let i = from; i < to; i++) uniqueNames[i] = fn[i]!;
  uniqueFrom = from;
  uniqueTo = to;
  return true;
}

/**
 * streamRequest for the fields fn/fv [0, count) as the own codec decoded
 * them (request-fields.ts requestFieldsOk passed them: pseudo-headers first,
 * each at most once), with no header object between: the same status, request
 * and bytes as streamRequest(requestHeaders(...)) (h2-request-head.test.ts
 * compares them). Fields whose order an object would change (a name twice, a
 * name that is an array index) go through that object.
 */
export function streamRequestFields(fn: readonly string[], fv: readonly string[], count: number, endStream: boolean, h: RequestHead): number {
  let method: string | undefined;
  let path: string | undefined;
  let authority: string | undefined;
  let p = 0;
  for (; p < count; p++) {
    const name = fn[p]!;
    if (name.charCodeAt(0) !== 58 /* : */) break;
    if (name === ":method") method = fv[p];
    else if (name === ":path") path = fv[p];
    else if (name === ":authority") authority = fv[p];
  }
  if (!plainOrder(fn, p, count)) return streamRequest(requestHeaders(fn, fv, count, false)!, endStream, h);
  let te: string | undefined;
  for (let i = p; i < count; i++) {
    const name = fn[i]!;
    if (name === "host") {
      if (authority === undefined) authority = fv[i];
    } else if (name === "te") te = fv[i];
  }
  const first = startCheck(method, path, authority);
  if (first !== 0) return first;
  h.teTrailers = te !== undefined && hasTrailers(te);
  const target = method === "CONNECT" ? authority! : path!;
  begin(method!, target, authority!);
  for (let i = p; i < count; i++) {
    const name = fn[i]!;
    const nc = nameClass(name, i);
    if (nc === SKIP) continue;
    if (nc === BAD) return 400;
    if (!take(name, fv[i]!, true)) return 400;
  }
  return writeHead(method!, target, authority!, endStream, h);
}

/** The request's pseudo-headers (and host) checked: 0, STREAM_RESET or 400. */
function startCheck(method: unknown, path: unknown, authority: unknown): number {
  if (typeof method !== "string" || method === "") return STREAM_RESET;
  // CONNECT (RFC 9113 §8.5) has no :path: its target is the authority, as on HTTP/1.1; dispatch
  // then answers it as Envoy does on both protocols (no route: 404)
  // with a :path it is an extended CONNECT (RFC 8441), malformed since we do not announce SETTINGS_ENABLE_CONNECT_PROTOCOL
  const connect = method === "CONNECT";
  if (connect && path !== undefined) return STREAM_RESET;
  if (!connect && (typeof path !== "string" || path === "" || (path[0] !== "/" && !(path === "*" && method === "OPTIONS")))) return STREAM_RESET;
  if (typeof authority !== "string" || authority === "") return connect ? STREAM_RESET : 400;
  const target = connect ? authority : (path as string);
  if (hasBreak(target) || target.includes(" ") || hasBreak(authority)) return 400;
  return 0;
}

// the fields taken so far (take(), into names/values), their size as latin1 bytes, the content-length
// seen (-1: none), all plain: module scratch for begin / take / writeHead, which no caller re-enters
let n = 0;
let length = -1;
let size = 0;
let plain = true;

/** Start taking a request's fields. */
function begin(method: string, target: string, authority: string): void {
  n = 0;
  length = -1;
  size = method.length + 1 + target.length + HTTP11.length + HOST.length + authority.length + 2 + CLOSE.length + 2;
  plain = allIn(method, METHOD) && allIn(target, TARGET) && allIn(authority, FIELD); // a method with lower case: parseRequestHead refuses it
}

/** Take a field, checked as the text path checked it (`cached`: its value class may be the last request's at this place); false: 400. */
function take(name: string, value: string, cached: boolean): boolean {
  const vc = cached && value === prevValues[n] ? prevClasses[n]! : valueClass(value);
  if (vc === BREAK) return false;
  if (name === "content-length") {
    const l = contentLength(value, length);
    if (l < 0) return false;
    length = l;
  }
  if (vc === UNUSUAL) plain = false;
  if (cached) {
    prevValues[n] = value;
    prevClasses[n] = vc;
  }
  names[n] = name;
  values[n++] = value;
  size += name.length + value.length + 4;
  return true;
}

/** The head of the fields taken, into `h` (see streamRequest). */
function writeHead(method: string, target: string, authority: string, endStream: boolean, h: RequestHead): number {
  if (n > 100) return 431;
  const sawLength = length >= 0;
  if (endStream) {
    if (length > 0) return 400; // a content-length the stream cannot have
    length = 0;
  }
  streamBody.length = length;
  const chunked = length < 0;
  if (chunked) size += CHUNKED.length;
  const count = n + (chunked ? 3 : 2); // host, the client's fields, transfer-encoding, connection
  if (count > MAX_HEADERS) plain = false;

  // the head's bytes, and where its fields are
  const b = Buffer.allocUnsafe(size);
  // a made-again exchange's head (Exchange.head) keeps the arrays of its last request as room, as
  // head-scratch.ts does for HTTP/1.1 (readers go by count): when long enough no arrays are made
  let spans: Int32Array;
  let kinds: Uint8Array;
  if (!plain) {
    spans = new Int32Array(4 * MAX_HEADERS + 1);
    kinds = new Uint8Array(MAX_HEADERS);
  } else if (h.roomSpans.length >= 4 * count + 1 && h.roomKinds.length >= count) {
    spans = h.roomSpans;
    kinds = h.roomKinds;
  } else {
    spans = h.roomSpans = new Int32Array(4 * count + 1);
    kinds = h.roomKinds = new Uint8Array(count);
  }
  let pos = put(b, 0, method);
  b[pos++] = SP;
  pos = put(b, pos, target);
  pos = put(b, pos, HTTP11);
  let k = 0;
  let high = false;
  pos = field(b, pos, spans, k++, HOST.length, authority);
  kinds[0] = R_HOST;
  high = fieldHigh;
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    const st = pos;
    pos = put(b, pos, name);
    if (plain) kinds[k] = requestKind(b, st, pos);
    b[pos++] = 58; // :
    pos = field(b, pos - name.length - 1, spans, k++, name.length + 2, values[i]!);
    high ||= fieldHigh;
  }
  if (chunked) {
    pos = put(b, pos, CHUNKED);
    spans.set(LINE_CHUNKED, 4 * k);
    for (let q = 4 * k; q < 4 * k + 4; q++) spans[q]! += pos - CHUNKED.length;
    kinds[k++] = R_TRANSFER_ENCODING;
  }
  const closeAt = pos;
  pos = put(b, pos, CLOSE);
  b[pos++] = 13;
  b[pos++] = 10;
  if (!plain) {
    const status = parseRequestHead(b, 0, size, h, spans, kinds);
    return status === 0 ? 0 : LATE + status;
  }
  spans.set(LINE_CLOSE, 4 * k);
  for (let q = 4 * k; q < 4 * k + 4; q++) spans[q]! += closeAt;
  kinds[k++] = R_CONNECTION;
  spans[4 * k] = size - 2;

  h.buf = b;
  h.base = 0;
  h.end = size;
  h.spans = spans;
  h.kinds = kinds;
  h.count = count;
  h.highBytes = high;
  h.method = method;
  h.target = target;
  h.minor = 1;
  const v = hostValue(b, spans[2]!, spans[3]!);
  h.authority = v;
  h.hostHeader = v;
  h.contentLength = sawLength ? length : -1;
  h.chunked = chunked;
  h.close = true;
  for (let i = 1; i <= n; i++) {
    if (kinds[i] === R_EXPECT && bytesEqLowerText(b, spans[4 * i + 2]!, spans[4 * i + 3]!, "100-continue")) h.expectContinue = true;
  }
  const status = routeView(h);
  return status === 0 ? 0 : LATE + status;
}

/** A content-length value (fields.ts parseLength) agreeing with the one before (`prev`, -1: none); -1 when not. */
function contentLength(value: string, prev: number): number {
  const l = parseLength(value);
  return prev >= 0 && l !== prev ? -1 : l;
}

/** Spans of the framing lines the head ends with, relative to the line's start. */
const LINE_CHUNKED = new Int32Array([0, 17, 19, 26]);
const LINE_CLOSE = new Int32Array([0, 10, 12, 17]);

/** Set by field(): the value written holds bytes ≥ 0x80. */
let fieldHigh = false;

/**
 * Write the field line whose name (and ": ") is already at [line, line + nameLen)
 * — or, for Host, write "host: " too — then `value` and CRLF; record field k's
 * spans (value without leading and trailing SP / HTAB). The position after it.
 */
function field(b: Buffer, line: number, spans: Int32Array, k: number, prefix: number, value: string): number {
  let pos = line;
  if (k === 0) pos = put(b, pos, HOST);
  else {
    pos = line + prefix - 1; // after the name and the colon
    b[pos++] = SP;
  }
  const vs = pos;
  let first = -1;
  let last = vs;
  let high = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    b[pos] = c;
    if (c !== SP && c !== HTAB) {
      if (first < 0) first = pos;
      last = pos + 1;
      if (c > 127) high = true;
    }
    pos++;
  }
  b[pos++] = 13;
  b[pos++] = 10;
  fieldHigh = high;
  const q = 4 * k;
  spans[q] = line;
  spans[q + 1] = line + prefix - 2;
  // an empty value (or only SP / HTAB) is an empty span where the value ends, as scanFields records it
  spans[q + 2] = first < 0 ? pos - 2 : first;
  spans[q + 3] = first < 0 ? pos - 2 : last;
  return pos;
}

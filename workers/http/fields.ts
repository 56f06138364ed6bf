// Request header fields (RFC 9112 §5): `name ":" OWS value OWS CRLF` lines
// ending in an empty line, classified by name bytes (no lower-cased copies);
// plus helpers shared by the head parsers. Strict: no obs-fold, no whitespace
// before the colon, no bare CR/LF, no control characters.
import { COLON, CR, FIELD, HTAB, LF, SP, TCHAR } from "./chars.ts";

/** Envoy's default `max_headers_count`. */
export const MAX_HEADERS = 100;

export const FIELDS_BAD = -1;
export const FIELDS_TOO_MANY = -2;

/** Request header kinds (`scanFields` fills them from the name's bytes, case-insensitively). */
export const R_OTHER = 0;
export const R_HOST = 1;
export const R_CONTENT_LENGTH = 2;
export const R_TRANSFER_ENCODING = 3;
export const R_CONNECTION = 4;
export const R_UPGRADE = 5;
export const R_EXPECT = 6;
/** Not forwarded: hop-by-hop, replaced by the gateway (x-forwarded-proto, x-envoy-original-path, x-envoy-attempt-count, XFCC), or Envoy's internal ones (ENVOY_INTERNAL). */
export const R_DROP = 7;
export const R_XFF = 8;
export const R_REQUEST_ID = 9;
/** te: forwarded as `te: trailers` when one of its elements is trailers (Envoy since 1.29.2), else dropped. */
export const R_TE = 10;
/**
 * Trace context fields (workers/tracing.ts reads them; the gateway's span replaces some): forwarded
 * as R_OTHER is unless the request's trace drops them (ForwardIds.traceDrop: bit kind − R_TRACE).
 */
export const R_TRACE = 11;
export const R_B3 = 11;
export const R_B3_TRACEID = 12;
export const R_B3_SPANID = 13;
export const R_B3_PARENTSPANID = 14;
export const R_B3_SAMPLED = 15;
export const R_TRACEPARENT = 16;
export const R_TRACESTATE = 17;
export const R_CLIENT_TRACE_ID = 18;
/** Lower-case names of the trace kinds, by kind − R_TRACE. */
export const TRACE_NAMES = ["b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "traceparent", "tracestate", "x-client-trace-id"] as const;

/** A lower-case field name as bytes, to compare received names against. */
export function lit(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "latin1"));
}

/**
 * Connection-specific (hop-by-hop) fields: consumed here, never forwarded
 * either way (RFC 9110 §7.6.1), and not allowed in HTTP/2 (RFC 9113 §8.2.2).
 * The byte classifiers below (requestKind) and parse-response.ts drop these;
 * h2.ts drops them from streams' headers (with http2-settings).
 */
export const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"] as const;

const N = {
  te: lit("te"),
  host: lit("host"),
  expect: lit("expect"),
  upgrade: lit("upgrade"),
  trailer: lit("trailer"),
  connection: lit("connection"),
  keepAlive: lit("keep-alive"),
  requestId: lit("x-request-id"),
  contentLength: lit("content-length"),
  xff: lit("x-forwarded-for"),
  proxyConnection: lit("proxy-connection"),
  transferEncoding: lit("transfer-encoding"),
  xfp: lit("x-forwarded-proto"),
  originalPath: lit("x-envoy-original-path"),
  attemptCount: lit("x-envoy-attempt-count"),
  xfcc: lit("x-forwarded-client-cert"),
  b3: lit("b3"),
  b3TraceId: lit("x-b3-traceid"),
  b3SpanId: lit("x-b3-spanid"),
  b3Parent: lit("x-b3-parentspanid"),
  b3Sampled: lit("x-b3-sampled"),
  traceparent: lit("traceparent"),
  tracestate: lit("tracestate"),
  clientTraceId: lit("x-client-trace-id"),
};

/**
 * Envoy's own request headers a client may not set: the connection manager removes a client's
 * `x-envoy-internal` always and, for a request from outside (gangway has no notion of an
 * internal client: every one is outside), these (ConnectionManagerUtility::cleanInternalHeaders;
 * the router consumes the retry ones too). Forwarded, they reached an upstream's sidecar, which
 * takes a request from the gateway's pod address as internal and acts on them: a client's
 * `x-envoy-retry-on: 5xx` + `x-envoy-max-retries` retried its POST there, `x-envoy-internal: true`
 * claimed to be internal. By name length, as requestKind switches.
 */
const ENVOY_INTERNAL: (Uint8Array[] | undefined)[] = [];
for (const name of [
  "x-envoy-internal",
  "x-envoy-decorator-operation",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-force-trace",
  "x-envoy-ip-tags",
  "x-envoy-original-url",
  "x-envoy-hedge-on-per-try-timeout",
]) (ENVOY_INTERNAL[name.length] ??= []).push(lit(name));

/** The name b[st, en) is one of ENVOY_INTERNAL's: R_DROP, else R_OTHER. */
function envoyInternal(b: Uint8Array, st: number, en: number): number {
  const names = ENVOY_INTERNAL[en - st];
  if (names === undefined || (b[st]! | 0x20) !== 120 /* x */ || b[st + 7] !== 45 /* - */) return R_OTHER;
  for (let i = 0; i < names.length; i++) if (bytesEqLower(b, st, names[i]!)) return R_DROP;
  return R_OTHER;
}

/** b[st, st + name.length) equals the lower-case `name` (letters, digits, '-'), ignoring ASCII case. */
export function bytesEqLower(b: Uint8Array, st: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) if ((b[st + i]! | 0x20) !== name[i]) return false;
  return true;
}

/** Kind of the request header named b[st, en) (a token: no byte there maps onto a letter or '-' but its own case). */
export function requestKind(b: Uint8Array, st: number, en: number): number {
  switch (en - st) {
    case 2:
      return bytesEqLower(b, st, N.te) ? R_TE : bytesEqLower(b, st, N.b3) ? R_B3 : R_OTHER;
    case 4:
      return bytesEqLower(b, st, N.host) ? R_HOST : R_OTHER;
    case 6:
      return bytesEqLower(b, st, N.expect) ? R_EXPECT : R_OTHER;
    case 7:
      return bytesEqLower(b, st, N.upgrade) ? R_UPGRADE : bytesEqLower(b, st, N.trailer) ? R_DROP : R_OTHER;
    case 10:
      return bytesEqLower(b, st, N.connection) ? R_CONNECTION : bytesEqLower(b, st, N.keepAlive) ? R_DROP : bytesEqLower(b, st, N.tracestate) ? R_TRACESTATE : R_OTHER;
    case 11:
      return bytesEqLower(b, st, N.b3SpanId) ? R_B3_SPANID : bytesEqLower(b, st, N.traceparent) ? R_TRACEPARENT : R_OTHER;
    case 12:
      return bytesEqLower(b, st, N.requestId) ? R_REQUEST_ID : bytesEqLower(b, st, N.b3TraceId) ? R_B3_TRACEID : bytesEqLower(b, st, N.b3Sampled) ? R_B3_SAMPLED : R_OTHER;
    case 14:
      return bytesEqLower(b, st, N.contentLength) ? R_CONTENT_LENGTH : R_OTHER;
    case 15:
      return bytesEqLower(b, st, N.xff) ? R_XFF : envoyInternal(b, st, en);
    case 16:
      return bytesEqLower(b, st, N.proxyConnection) ? R_DROP : envoyInternal(b, st, en);
    case 17:
      return bytesEqLower(b, st, N.transferEncoding)
        ? R_TRANSFER_ENCODING
        : bytesEqLower(b, st, N.xfp)
          ? R_DROP
          : bytesEqLower(b, st, N.b3Parent)
            ? R_B3_PARENTSPANID
            : bytesEqLower(b, st, N.clientTraceId)
              ? R_CLIENT_TRACE_ID
              : R_OTHER;
    case 21:
      // the gateway sets x-envoy-attempt-count itself (Istio turns it on for gateway virtual hosts)
      return bytesEqLower(b, st, N.originalPath) || bytesEqLower(b, st, N.attemptCount) ? R_DROP : envoyInternal(b, st, en);
    case 23:
      return bytesEqLower(b, st, N.xfcc) ? R_DROP : R_OTHER;
  }
  return en - st < 15 ? R_OTHER : envoyInternal(b, st, en);
}

/**
 * Scan the field lines of a request head from byte `p` of `b` to the final
 * CRLF, which must end the head at `end`. Offsets recorded are text offsets
 * (byte offset − `base`, `base` being where the head starts): per field k,
 * `spans[4k..4k+3]` = name start, name end, value start, value end (OWS
 * trimmed), and `spans[4·count]` = offset of the final CRLF, so lines can be
 * copied as received and strings are cut only when asked for; `kinds[k]` is the
 * field's kind. Returns the field count, or FIELDS_BAD / FIELDS_TOO_MANY;
 * `fieldsHigh` tells whether a value holds bytes ≥ 0x80.
 */
export function scanFields(b: Uint8Array, p: number, end: number, base: number, spans: Int32Array, kinds: Uint8Array): number {
  // b[end - 1] is LF, which no loop below takes: none of them runs past it (a head that does not
  // end in LF cannot be whole: its lines are bad)
  if (end <= p || b[end - 1] !== LF) return FIELDS_BAD;
  let c = 0;
  let bits = 0;
  let n = 0;
  for (;;) {
    if (p >= end) return FIELDS_BAD;
    c = b[p]!;
    if (c === CR) {
      if (p + 2 !== end || b[p + 1] !== LF) return FIELDS_BAD;
      spans[4 * n] = p - base;
      fieldsHigh = (bits & 0x80) !== 0;
      return n;
    }
    if (n >= MAX_HEADERS) return FIELDS_TOO_MANY;
    let st = p;
    while (TCHAR[(c = b[p]!)] === 1) p++;
    if (p === st || c !== COLON) return FIELDS_BAD;
    kinds[n] = requestKind(b, st, p);
    const q = 4 * n;
    spans[q] = st - base;
    spans[q + 1] = p - base;
    p++;
    while ((c = b[p]!) === SP || c === HTAB) p++;
    st = p;
    while (FIELD[(c = b[p]!)] === 1) {
      bits |= c;
      p++;
    }
    if (c !== CR || b[p + 1] !== LF) return FIELDS_BAD;
    let last = p;
    while (last > st && ((c = b[last - 1]!) === SP || c === HTAB)) last--;
    p += 2;
    spans[q + 2] = st - base;
    spans[q + 3] = last - base;
    n++;
  }
}

/** Set by scanFields: a value of the last head scanned holds bytes ≥ 0x80. */
export let fieldsHigh = false;

/** Per-owner scratch for scanFields spans. */
export function fieldSpansScratch(): Int32Array {
  return new Int32Array(4 * MAX_HEADERS + 1);
}

/** Does raw[st, en) equal the lower-case `lower`, ignoring ASCII case? */
export function spanIsName(raw: string, st: number, en: number, lower: string): boolean {
  if (en - st !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = raw.charCodeAt(st + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Does b[st, en) equal the lower-case `lower`, ignoring ASCII case? (a name given as text) */
export function spanIsNameBytes(b: Uint8Array, st: number, en: number, lower: string): boolean {
  if (en - st !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = b[st + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** b[st, en) equals the lower-case ASCII `lower`, ignoring ASCII case (a value compared on its bytes). */
export const bytesEqLowerText = spanIsNameBytes;

/** Per-owner scratch for request header kinds. */
export function fieldKindsScratch(): Uint8Array {
  return new Uint8Array(MAX_HEADERS);
}

/** Case-insensitive equality against a lower-case literal. */
export function eqLower(v: string, lower: string): boolean {
  return v.length === lower.length && (v === lower || v.toLowerCase() === lower);
}

/**
 * The largest Content-Length taken: 2^53 − 1, the largest integer a double holds exactly.
 * Envoy's codec takes up to 2^64 − 1 (above: 400); no body between the two is ever sent whole.
 */
export const MAX_CONTENT_LENGTH = Number.MAX_SAFE_INTEGER;

/**
 * A Content-Length value: one or more digits, nothing else, at most MAX_CONTENT_LENGTH. Leading
 * zeros count for nothing (`0000000000000000005` is 5, as Envoy's codec and nginx read it); a
 * larger value is refused, never wrapped or rounded. -1 if invalid.
 */
export function parseLength(v: string): number {
  if (v.length === 0) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
    if (n > MAX_CONTENT_LENGTH) return -1; // exact below it, and a rounded value past it stays past it
  }
  return n;
}

/** parseLength for the bytes b[st, en). */
export function parseLengthBytes(b: Uint8Array, st: number, en: number): number {
  if (en <= st) return -1;
  let n = 0;
  for (let i = st; i < en; i++) {
    const c = b[i]!;
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
    if (n > MAX_CONTENT_LENGTH) return -1;
  }
  return n;
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

type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

/** latin1 text of buf[start, end) (Buffer#toString is several times slower). */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1).latin1Slice(start, end);
}

/** Up to this many bytes, findHeadBytes looks for the end of the head by a byte loop. */
const SHORT_HEAD = 80;
const LFLF = Buffer.from("\n\n", "latin1");
const LFCRLF = Buffer.from("\n\r\n", "latin1");

/**
 * Where the head that starts at `start` ends (index after CRLFCRLF), -1 when
 * more bytes are needed, -400 when a bare LF already makes it malformed, -431
 * when it is over `max` bytes. No string is made (heads are parsed on bytes):
 * 0.03 µs for a 40-byte head against 0.09 µs for a latin1 window and a string
 * search (bun 1.4.4). `from`: the bytes before it were searched by an earlier
 * call (an incomplete head read again with more bytes), so the search starts
 * just before it: a head that arrives in many reads is searched once, not once
 * per read (60 KiB one byte per read: 125 ms of searching otherwise).
 */
export function findHeadBytes(buf: Buffer, start: number, max: number, from = start): number {
  const n = buf.length;
  if (n - start <= SHORT_HEAD) {
    // a short head (wrk's GET is 40 bytes, curl's ~80) by a byte loop, no native call: 16 ns against
    // indexOf's 29 for 40 bytes (bun 1.4.4; for 150 bytes indexOf is faster, 40 ns against 60).
    // i is where CRLFCRLF would end; a byte neither CR nor LF cannot be in one: the next 4 ends are out
    let i = start + 3;
    while (i < n) {
      const c = buf[i]!;
      if (c === 10) {
        if (buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1 - start > max ? -431 : i + 1;
        i++;
      } else i += c === 13 ? 1 : 4;
    }
  } else {
    const at = buf.indexOf(CRLFCRLF, from - 3 > start ? from - 3 : start);
    if (at >= 0) return at - start + 4 > max ? -431 : at + 4;
  }
  const f = from - 2 > start ? from - 2 : start;
  if (buf.indexOf(LFLF, f) >= 0 || buf.indexOf(LFCRLF, f) >= 0) return -400;
  return buf.length - start > max ? -431 : -1;
}

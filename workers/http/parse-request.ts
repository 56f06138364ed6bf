// Strict HTTP/1.1 request-head parser (RFC 9112), as strict as Bun's own:
// CL+TE, differing Content-Length, a Transfer-Encoding other than `chunked`,
// obs-fold, whitespace before a colon, bare LF, invalid characters → 400.
// Works on the bytes of one head (request line … CRLFCRLF) where they were
// received: strings are cut only for what routing reads (method, target,
// Host, the values of the framing fields it checks); the upstream head is
// assembled from the same bytes (request-head-bytes.ts).
import { normalizeHost, type RequestView } from "../../src/route/lookup.ts";
import { validAuthority } from "../../src/route/authority.ts";
import { normalizePath } from "../../src/route/normalize-path.ts";
import { options } from "../context.ts";
import { METHOD, SP, TARGET } from "./chars.ts";
import {
  connectionTokens,
  bytesEqLowerText,
  fieldKindsScratch,
  fieldSpansScratch,
  fieldsHigh,
  FIELDS_TOO_MANY,
  lit,
  latin1,
  parseLengthBytes,
  R_CONNECTION,
  R_CONTENT_LENGTH,
  R_EXPECT,
  R_TE,
  R_HOST,
  R_TRANSFER_ENCODING,
  R_UPGRADE,
  scanFields,
  spanIsNameBytes,
} from "./fields.ts";

/** Envoy's default `max_request_headers_kb` is 60 KiB; a longer head gets 431. */
export const MAX_REQUEST_HEAD = 60 * 1024;

const NO_KINDS = new Uint8Array(0);
const NO_SPANS = new Int32Array(1);
/** No room yet (shorter than any head's spans, so never written into). */
const NO_ROOM = new Int32Array(0);
const NO_BYTES = Buffer.alloc(0);

export class RequestHead implements RequestView {
  method = "";
  /** Request-target as received. */
  target = "";
  /** Path without the query, normalized as `--path-normalization` says (what routing sees and the upstream gets). */
  path = "";
  query = "";
  /** HTTP/1.<minor> */
  minor = 1;
  /** Number of header fields (Host included). */
  count = 0;
  /** Host header, or the authority of an absolute-form target; "" when absent. */
  authority = "";
  /** The Host header's value ("" when absent). */
  hostHeader = "";
  /**
   * The bytes the head was received in: the head is buf[base, end), request
   * line through CRLFCRLF. The connection never writes over bytes it handed
   * out (downstream.ts append), so they stay valid while this request is served.
   */
  buf: Buffer = NO_BYTES;
  base = 0;
  end = 0;
  /**
   * Per field: kind (fields.ts R_*) and its spans relative to `base` (name
   * start/end, value start/end; see scanFields). The parser's scratch, owned
   * by the connection and valid while this request is served.
   */
  kinds: Uint8Array = NO_KINDS;
  spans: Int32Array = NO_SPANS;
  /** Lower-case host without port (lookup.ts's RequestView). */
  host = "";
  /** Gateway port the request arrived on; set by the listener. */
  port = 0;
  scheme = "http";
  /** -1: no Content-Length. */
  contentLength = -1;
  chunked = false;
  /** The connection ends after this exchange (Connection: close, or HTTP/1.0 without keep-alive). */
  close = false;
  /** The client asked for keep-alive explicitly (matters for HTTP/1.0). */
  keepAlive = false;
  /** "websocket" when the request asks for a WebSocket upgrade (Connection: upgrade); else "". */
  upgrade = "";
  /**
   * An HTTP/1.1 upgrade to anything but WebSocket or h2c (`Upgrade: foo` with `Connection: upgrade`):
   * Envoy's connection manager refuses it on a routed request (403 upgrade_failed, connection closed).
   */
  upgradeRefused = false;
  expectContinue = false;
  /** Header names listed in `Connection` other than close/keep-alive/upgrade, or null. */
  nominated: string[] | null = null;
  /** The head holds bytes ≥ 0x80 (write it back as latin1, not UTF-8). */
  highBytes = false;
  /** A te field lists trailers: the upstream gets `te: trailers` (the one value forwarded, as Envoy does). */
  teTrailers = false;
  /**
   * Arrays parseHead (head-scratch.ts) copied this head's fields into, kept by
   * reset(): a made-again head parses into them again when they are long
   * enough. Room only, never read as fields (spans/kinds and count are).
   */
  roomSpans: Int32Array = NO_ROOM;
  roomKinds: Uint8Array = NO_KINDS;

  /** Every field as a new head has it (a made-again exchange's head, exchange.ts), but the room (roomSpans, roomKinds). */
  reset(): void {
    this.method = "";
    this.target = "";
    this.path = "";
    this.query = "";
    this.minor = 1;
    this.count = 0;
    this.authority = "";
    this.hostHeader = "";
    this.buf = NO_BYTES;
    this.base = 0;
    this.end = 0;
    this.kinds = NO_KINDS;
    this.spans = NO_SPANS;
    this.host = "";
    this.port = 0;
    this.scheme = "http";
    this.contentLength = -1;
    this.chunked = false;
    this.close = false;
    this.keepAlive = false;
    this.upgrade = "";
    this.upgradeRefused = false;
    this.expectContinue = false;
    this.nominated = null;
    this.highBytes = false;
    this.teTrailers = false;
  }

  /** Every value of the header named `name` (lower-case), one per field line (JWT locations: Envoy reads each). */
  headerValues(name: string): string[] {
    const sp = this.spans;
    const b = this.buf;
    const base = this.base;
    const out: string[] = [];
    for (let q = 0; q < 4 * this.count; q += 4) {
      if (spanIsNameBytes(b, base + sp[q]!, base + sp[q + 1]!, name)) out.push(latin1(b, base + sp[q + 2]!, base + sp[q + 3]!));
    }
    return out;
  }

  /** Value of the header named `name` (lower-case), repeated ones joined with "," as Envoy joins them for matching; or undefined. */
  header(name: string): string | undefined {
    const sp = this.spans;
    const b = this.buf;
    const base = this.base;
    let out: string | undefined;
    for (let q = 0; q < 4 * this.count; q += 4) {
      if (!spanIsNameBytes(b, base + sp[q]!, base + sp[q + 1]!, name)) continue;
      const v = latin1(b, base + sp[q + 2]!, base + sp[q + 3]!);
      out = out === undefined ? v : out + "," + v;
    }
    return out;
  }

  /** Name of field k as received (latin1). */
  name(k: number): string {
    return latin1(this.buf, this.base + this.spans[4 * k]!, this.base + this.spans[4 * k + 1]!);
  }

  /** Value of field k (latin1: one character per byte). */
  value(k: number): string {
    return latin1(this.buf, this.base + this.spans[4 * k + 2]!, this.base + this.spans[4 * k + 3]!);
  }

  /** The whole head as latin1 text (tests, debugging). */
  text(): string {
    return latin1(this.buf, this.base, this.end);
  }
}

function onTarget(h: RequestHead, t: string): number {
  let pathAndQuery = t;
  if (t.charCodeAt(0) !== 47 /* / */) {
    if (t === "*") {
      if (h.method !== "OPTIONS") return 400;
      h.path = "*";
      return 0;
    }
    if (h.method === "CONNECT") {
      h.authority = t;
      h.path = "";
      return 0;
    }
    const lower = t.slice(0, 8).toLowerCase();
    const skip = lower.startsWith("http://") ? 7 : lower.startsWith("https://") ? 8 : -1;
    if (skip < 0) return 400;
    let end = skip;
    while (end < t.length) {
      const c = t.charCodeAt(end);
      if (c === 47 || c === 63) break;
      end++;
    }
    if (end === skip) return 400;
    h.authority = t.slice(skip, end); // absolute-form: the target's authority wins over Host
    pathAndQuery = end === t.length ? "/" : t.charCodeAt(end) === 63 ? "/" + t.slice(end) : t.slice(end);
  }
  // a fragment (never sent by a browser) is dropped before anything looks at the path, as Istio's
  // Envoy does (it sets http_reject_path_with_fragment false; Envoy then strips `#…` from :path,
  // query included, before routing and authorization — the fix for CVE-2021-39156's bypass)
  const hash = pathAndQuery.indexOf("#");
  if (hash >= 0) pathAndQuery = pathAndQuery.slice(0, hash);
  const qm = pathAndQuery.indexOf("?");
  h.query = qm < 0 ? "" : pathAndQuery.slice(qm + 1);
  const path = normalizePath(qm < 0 ? pathAndQuery : pathAndQuery.slice(0, qm), options.pathNormalization);
  if (path === null) return 400; // %00 or a broken escape
  h.path = path;
  return 0;
}

/** The method as a shared string for the common ones (no string made per request). */
function methodOf(b: Buffer, st: number, en: number): string {
  const c = b[st];
  switch (en - st) {
    case 3:
      if (c === 71 && b[st + 1] === 69 && b[st + 2] === 84) return "GET";
      if (c === 80 && b[st + 1] === 85 && b[st + 2] === 84) return "PUT";
      break;
    case 4:
      if (c === 80 && b[st + 1] === 79 && b[st + 2] === 83 && b[st + 3] === 84) return "POST";
      if (c === 72 && b[st + 1] === 69 && b[st + 2] === 65 && b[st + 3] === 68) return "HEAD";
      break;
  }
  return latin1(b, st, en);
}

const HTTP_1_ = lit("HTTP/1.");

/** b[p, p + lit.length) equals `lit` exactly. */
function bytesAt(b: Buffer, p: number, lit: Uint8Array): boolean {
  for (let i = 0; i < lit.length; i++) if (b[p + i] !== lit[i]) return false;
  return true;
}

/**
 * The last Host value parsed (per worker) and what was made of it: a keep-alive
 * client sends the same Host bytes on every request, so the string, its
 * validity and its lower-cased, port-less form are made once, not per request.
 * All three depend only on the bytes.
 */
const HOST_CACHE_MAX = 128;
const lastHost = { bytes: Buffer.alloc(HOST_CACHE_MAX), len: -1, value: "", valid: false, host: "" };

/** The Host value b[vs, ve) as a string: the last one's when the bytes are the same. */
export function hostValue(b: Buffer, vs: number, ve: number): string {
  const n = ve - vs;
  const c = lastHost;
  if (n === c.len) {
    const kb = c.bytes;
    let i = 0;
    while (i < n && kb[i] === b[vs + i]) i++;
    if (i === n) return c.value;
  }
  const v = latin1(b, vs, ve);
  if (n > HOST_CACHE_MAX) return v;
  b.copy(c.bytes, 0, vs, ve);
  c.len = n;
  c.value = v;
  c.valid = validAuthority(v);
  c.host = c.valid ? normalizeHost(v) : "";
  return v;
}

/**
 * The last origin-form request-target parsed (per worker) and its path and
 * query: a keep-alive client asking for the same resource again (polling,
 * health checks, benchmarks) costs a byte comparison, not a string, a split
 * and a normalization. They depend only on the bytes and the path
 * normalization option; only targets that parsed are kept.
 */
const TARGET_CACHE_MAX = 256;
const lastTarget = { bytes: Buffer.alloc(TARGET_CACHE_MAX) as Buffer & { latin1Write(s: string, offset: number, length: number): number }, len: -1, value: "", path: "", query: "", norm: "" };

/** The last targetValue() call found the cached bytes. */
let targetHit = false;

/** The request-target b[st, en) as a string: the last cached one's when the bytes are the same (targetHit). */
function targetValue(b: Buffer, st: number, en: number): string {
  const n = en - st;
  const c = lastTarget;
  if (n === c.len && c.norm === options.pathNormalization) {
    const kb = c.bytes;
    let i = 0;
    while (i < n && kb[i] === b[st + i]) i++;
    if (i === n) {
      targetHit = true;
      return c.value;
    }
  }
  targetHit = false;
  return latin1(b, st, en);
}

/** onTarget for h.target, from the cache when targetValue found it there (an origin-form target that parsed). */
function targetParts(h: RequestHead, hit: boolean): number {
  const c = lastTarget;
  if (hit) {
    h.query = c.query;
    h.path = c.path;
    return 0;
  }
  const t = h.target;
  const status = onTarget(h, t);
  if (status === 0 && t.length <= TARGET_CACHE_MAX && t.charCodeAt(0) === 47 /* origin-form: no method or authority involved */) {
    c.bytes.latin1Write(t, 0, t.length);
    c.len = t.length;
    c.value = t;
    c.path = h.path;
    c.query = h.query;
    c.norm = options.pathNormalization;
  }
  return status;
}

/**
 * A te value lists the trailers element (RFC 9110 §10.1.4: `trailers` or
 * transfer-codings with parameters, comma-separated; compared without case,
 * parameters ignored).
 */
export function hasTrailers(v: string): boolean {
  const parts = v.split(",");
  for (let i = 0; i < parts.length; i++) {
    const semi = parts[i]!.indexOf(";");
    const name = (semi < 0 ? parts[i]! : parts[i]!.slice(0, semi)).trim();
    if (name.length === 8 && name.toLowerCase() === "trailers") return true;
  }
  return false;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/**
 * Parse one request head into `h`: bytes b[off, end), request line through
 * CRLFCRLF. Returns 0, or the status to answer with (400, 431, 505).
 */
export function parseRequestHead(
  b: Buffer,
  off: number,
  end: number,
  h: RequestHead,
  spans: Int32Array = fieldSpansScratch(),
  kinds: Uint8Array = fieldKindsScratch(),
): number {
  h.buf = b;
  h.base = off;
  h.end = end;
  h.kinds = kinds;
  h.spans = spans;
  let p = off;
  // method SP (a token without lower-case letters: Envoy and nginx refuse `get`)
  while (p < end && METHOD[b[p]!] === 1) p++;
  if (p === off || p >= end || b[p] !== SP) return 400;
  h.method = methodOf(b, off, p);
  // request-target SP
  const st = ++p;
  while (p < end && TARGET[b[p]!] === 1) p++;
  if (p === st || p >= end || b[p] !== SP) return 400;
  h.target = targetValue(b, st, p);
  const hit = targetHit;
  p++;
  // HTTP-version CRLF
  const v = b[p + 7];
  // HTTP/1.2 … HTTP/1.9: a minor version above ours is taken as the highest we speak (RFC 9112
  // §2.3 SHOULD; 505 is for a major version, RFC 9110 §15.6.6), as nginx serves it
  if (p + 10 <= end && bytesAt(b, p, HTTP_1_) && v !== undefined && v >= 48 && v <= 57 && b[p + 8] === 13 && b[p + 9] === 10) h.minor = v === 48 ? 0 : 1;
  else {
    // HTTP/d.d CRLF with another version: 505; anything else: 400
    const well = p + 10 <= end && b[p] === 72 && b[p + 1] === 84 && b[p + 2] === 84 && b[p + 3] === 80 && b[p + 4] === 47;
    return well && isDigit(b[p + 5]) && b[p + 6] === 46 && isDigit(b[p + 7]) && b[p + 8] === 13 && b[p + 9] === 10 ? 505 : 400;
  }

  const n = scanFields(b, p + 10, end, off, spans, kinds);
  if (n < 0) return n === FIELDS_TOO_MANY ? 431 : 400;
  h.count = n;
  h.highBytes = fieldsHigh;

  let sawHost = false;
  let upgradeValue = "";
  for (let k = 0; k < n; k++) {
    const kind = kinds[k]!;
    if (kind === 0 || (kind > R_EXPECT && kind !== R_TE)) continue; // R_OTHER, dropped and forwarding headers: nothing to read here
    const vs = off + spans[4 * k + 2]!;
    const ve = off + spans[4 * k + 3]!;
    switch (kind) {
      case R_HOST: {
        if (sawHost) return 400;
        sawHost = true;
        const v = hostValue(b, vs, ve);
        h.authority = v;
        h.hostHeader = v;
        break;
      }
      case R_CONTENT_LENGTH: {
        const len = parseLengthBytes(b, vs, ve);
        if (len < 0 || (h.contentLength >= 0 && h.contentLength !== len)) return 400;
        h.contentLength = len;
        break;
      }
      case R_TRANSFER_ENCODING:
        if (h.chunked || !bytesEqLowerText(b, vs, ve, "chunked")) return 400;
        h.chunked = true;
        break;
      case R_CONNECTION: {
        if (bytesEqLowerText(b, vs, ve, "keep-alive")) {
          h.keepAlive = true;
          break;
        }
        if (bytesEqLowerText(b, vs, ve, "close")) {
          h.close = true;
          break;
        }
        const toks: string[] = [];
        connectionTokens(latin1(b, vs, ve), toks);
        for (let t = 0; t < toks.length; t++) {
          const tok = toks[t]!;
          if (tok === "close") h.close = true;
          else if (tok === "keep-alive") h.keepAlive = true;
          else if (tok === "upgrade") h.upgrade = "?";
          else (h.nominated ??= []).push(tok);
        }
        break;
      }
      case R_UPGRADE:
        upgradeValue = latin1(b, vs, ve);
        break;
      case R_EXPECT:
        // ignored from an HTTP/1.0 client (RFC 9110 10.1.1): it takes any 1xx for its answer
        if (h.minor === 1 && bytesEqLowerText(b, vs, ve, "100-continue")) h.expectContinue = true;
        break;
      case R_TE:
        if (!h.teTrailers) h.teTrailers = hasTrailers(latin1(b, vs, ve));
        break;
    }
  }
  if (h.chunked && (h.contentLength >= 0 || h.minor === 0)) return 400;
  if (h.minor === 1 && !sawHost) return 400;
  if (h.minor === 0 && !h.keepAlive) h.close = true;
  // only WebSocket is upgraded (Istio's default upgrade_configs); other upgrades (h2c…) are plain
  // requests, and so is an HTTP/1.0 one (RFC 9110 §7.8: a server MUST ignore Upgrade from HTTP/1.0)
  if (h.upgrade !== "") {
    const kind = upgradeValue.toLowerCase();
    h.upgrade = h.minor === 1 && kind === "websocket" ? "websocket" : "";
    // h2c is dropped, as Envoy's codec strips it; any other protocol Envoy's upgrade_configs lack
    h.upgradeRefused = h.minor === 1 && kind !== "websocket" && kind !== "h2c" && upgradeValue !== "";
  }
  const t = targetParts(h, hit);
  if (t !== 0) return t;
  // absolute-form: routing takes the target's authority, but a Host field sent beside it must be
  // a valid one too (RFC 9112 §3.2: 400 for an invalid Host value), as in origin-form and as nginx
  // answers; Envoy's codec replaces it unread. Empty stays allowed, as in origin-form.
  if (h.authority !== h.hostHeader && h.hostHeader !== "" && !validAuthority(h.hostHeader)) return 400;
  return hostView(h);
}

/**
 * parseRequestHead's last step, for a head whose fields were read elsewhere
 * (HTTP/2 streams, h2-request.ts): path and query from the target, the host
 * routing sees from the authority. 0, or 400.
 */
export function routeView(h: RequestHead): number {
  const t = onTarget(h, h.target);
  if (t !== 0) return t;
  return hostView(h);
}

/** The host routing sees, from h.authority (the last Host's answer when it is the same text): 0, or 400. */
function hostView(h: RequestHead): number {
  if (lastHost.len >= 0 && h.authority === lastHost.value) {
    if (!lastHost.valid) return 400;
    h.host = lastHost.host;
    return 0;
  }
  if (!validAuthority(h.authority)) return 400; // spaces, `/`, `@`, `h:80:90`, > 255 characters…
  h.host = normalizeHost(h.authority);
  return 0;
}

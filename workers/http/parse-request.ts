// Strict HTTP/1.1 request-head parser (RFC 9112), as strict as Bun's own:
// CL+TE, differing Content-Length, a Transfer-Encoding other than `chunked`,
// obs-fold, whitespace before a colon, bare LF, invalid characters → 400.
// Works on the latin1 string of one head (request line … CRLFCRLF).
import { normalizeHost, type RequestView } from "../../src/route/lookup.ts";
import { validAuthority } from "../../src/route/authority.ts";
import { normalizePath } from "../../src/route/normalize-path.ts";
import { options } from "../context.ts";
import { SP, TARGET, TCHAR } from "./chars.ts";
import {
  connectionTokens,
  eqLower,
  fieldKindsScratch,
  fieldSpansScratch,
  fieldsHigh,
  FIELDS_TOO_MANY,
  parseLength,
  R_CONNECTION,
  R_CONTENT_LENGTH,
  R_EXPECT,
  R_HOST,
  R_TRANSFER_ENCODING,
  R_UPGRADE,
  scanFields,
  spanIsName,
} from "./fields.ts";

/** Envoy's default `max_request_headers_kb` is 60 KiB; a longer head gets 431. */
export const MAX_REQUEST_HEAD = 60 * 1024;

const NO_KINDS = new Uint8Array(0);
const NO_SPANS = new Int32Array(1);

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
  /** The head as received (latin1), request line through CRLFCRLF. */
  raw = "";
  /**
   * Per field: kind (fields.ts R_*) and its spans in `raw` (name start/end,
   * value start/end; see scanFields). The parser's scratch, owned by the
   * connection and valid while this request is served.
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
  expectContinue = false;
  /** Header names listed in `Connection` other than close/keep-alive/upgrade, or null. */
  nominated: string[] | null = null;
  /** The head holds bytes ≥ 0x80 (write it back as latin1, not UTF-8). */
  highBytes = false;

  /** Value of the header named `name` (lower-case), repeated ones joined with "," as Envoy joins them for matching; or undefined. */
  header(name: string): string | undefined {
    const sp = this.spans;
    const raw = this.raw;
    let out: string | undefined;
    for (let q = 0; q < 4 * this.count; q += 4) {
      if (!spanIsName(raw, sp[q]!, sp[q + 1]!, name)) continue;
      const v = raw.slice(sp[q + 2]!, sp[q + 3]!);
      out = out === undefined ? v : out + "," + v;
    }
    return out;
  }

  /** Name of field k as received. */
  name(k: number): string {
    return this.raw.slice(this.spans[4 * k]!, this.spans[4 * k + 1]!);
  }

  /** Value of field k. */
  value(k: number): string {
    return this.raw.slice(this.spans[4 * k + 2]!, this.spans[4 * k + 3]!);
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
  if (pathAndQuery.indexOf("#") >= 0) return 400;
  const qm = pathAndQuery.indexOf("?");
  h.query = qm < 0 ? "" : pathAndQuery.slice(qm + 1);
  const path = normalizePath(qm < 0 ? pathAndQuery : pathAndQuery.slice(0, qm), options.pathNormalization);
  if (path === null) return 400; // %00 or a broken escape
  h.path = path;
  return 0;
}

/** The method as a shared string for the common ones (no string made per request). */
function methodOf(b: Uint8Array, st: number, en: number, s: string): string {
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
  return s.slice(0, en - st);
}

const VERSION_RE = /^HTTP\/\d\.\d\r\n/;

/**
 * Parse one request head into `h`: bytes b[off, end) whose latin1 text is `s`
 * (request line through CRLFCRLF). Returns 0, or the status to answer with
 * (400, 431, 505).
 */
export function parseRequestHead(
  b: Uint8Array,
  off: number,
  end: number,
  s: string,
  h: RequestHead,
  spans: Int32Array = fieldSpansScratch(),
  kinds: Uint8Array = fieldKindsScratch(),
): number {
  h.raw = s;
  h.kinds = kinds;
  h.spans = spans;
  let p = off;
  // method SP
  while (p < end && TCHAR[b[p]!] === 1) p++;
  if (p === off || p >= end || b[p] !== SP) return 400;
  h.method = methodOf(b, off, p, s);
  // request-target SP
  const st = ++p;
  while (p < end && TARGET[b[p]!] === 1) p++;
  if (p === st || p >= end || b[p] !== SP) return 400;
  h.target = s.slice(st - off, p - off);
  p++;
  // HTTP-version CRLF
  const i = p - off;
  if (s.startsWith("HTTP/1.1\r\n", i)) h.minor = 1;
  else if (s.startsWith("HTTP/1.0\r\n", i)) h.minor = 0;
  else return VERSION_RE.test(s.slice(i, i + 10)) ? 505 : 400;

  const n = scanFields(b, p + 10, end, off, spans, kinds);
  if (n < 0) return n === FIELDS_TOO_MANY ? 431 : 400;
  h.count = n;
  h.highBytes = fieldsHigh;

  let sawHost = false;
  let upgradeValue = "";
  for (let k = 0; k < n; k++) {
    const kind = kinds[k]!;
    if (kind === 0 || kind > R_EXPECT) continue; // R_OTHER, dropped and forwarding headers: nothing to read here
    const v = s.slice(spans[4 * k + 2]!, spans[4 * k + 3]!);
    switch (kind) {
      case R_HOST:
        if (sawHost) return 400;
        sawHost = true;
        h.authority = v;
        h.hostHeader = v;
        break;
      case R_CONTENT_LENGTH: {
        const len = parseLength(v);
        if (len < 0 || (h.contentLength >= 0 && h.contentLength !== len)) return 400;
        h.contentLength = len;
        break;
      }
      case R_TRANSFER_ENCODING:
        if (h.chunked || !eqLower(v, "chunked")) return 400;
        h.chunked = true;
        break;
      case R_CONNECTION: {
        if (eqLower(v, "keep-alive")) {
          h.keepAlive = true;
          break;
        }
        if (eqLower(v, "close")) {
          h.close = true;
          break;
        }
        const toks: string[] = [];
        connectionTokens(v, toks);
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
        upgradeValue = v;
        break;
      case R_EXPECT:
        if (eqLower(v, "100-continue")) h.expectContinue = true;
        break;
    }
  }
  if (h.chunked && (h.contentLength >= 0 || h.minor === 0)) return 400;
  if (h.minor === 1 && !sawHost) return 400;
  if (h.minor === 0 && !h.keepAlive) h.close = true;
  // only WebSocket is upgraded (Istio's default upgrade_configs); other upgrades (h2c…) are plain requests
  if (h.upgrade !== "") h.upgrade = upgradeValue.toLowerCase() === "websocket" ? "websocket" : "";
  const t = onTarget(h, h.target);
  if (t !== 0) return t;
  if (!validAuthority(h.authority)) return 400; // spaces, `/`, `@`, `h:80:90`, > 255 characters…
  h.host = normalizeHost(h.authority);
  return 0;
}

// Strict HTTP/1.1 response-head parser for what upstreams send. Anything it
// does not accept makes the exchange a 502 (UPE), never a guess.
import { FIELD } from "./chars.ts";
import { connectionTokens, eqLower, parseLength, scanFields } from "./fields.ts";

/** Largest upstream response head accepted (Envoy's default header limit). */
export const MAX_RESPONSE_HEAD = 60 * 1024;

export class ResponseHead {
  status = 0;
  reason = "";
  minor = 1;
  names: string[] = [];
  values: string[] = [];
  /** -1: no Content-Length. */
  contentLength = -1;
  chunked = false;
  /** The upstream closes the connection after this response. */
  close = false;
  highBytes = false;
  /** The head as received (latin1), status line through CRLFCRLF. */
  raw = "";

  header(name: string): string | undefined {
    const ns = this.names;
    for (let i = 0; i < ns.length; i++) if (ns[i] === name) return this.values[i];
    return undefined;
  }
}

/**
 * Parse one response head into `h`: bytes b[off, end) whose latin1 text is `s`
 * (status line through CRLFCRLF). Returns true when it is well-formed.
 */
export function parseResponseHead(b: Uint8Array, off: number, end: number, s: string, h: ResponseHead, starts: Int32Array | null = null): boolean {
  h.raw = s;
  // "HTTP/1.x" SP 3DIGIT [SP reason] CRLF
  if (end - off < 16) return false;
  if (s.startsWith("HTTP/1.1 ")) h.minor = 1;
  else if (s.startsWith("HTTP/1.0 ")) h.minor = 0;
  else return false;
  const d0 = b[off + 9]! - 48;
  const d1 = b[off + 10]! - 48;
  const d2 = b[off + 11]! - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return false;
  h.status = d0 * 100 + d1 * 10 + d2;
  let p = off + 12;
  let c = b[p]!;
  if (c === 32) {
    const st = ++p;
    while (p < end && FIELD[(c = b[p]!)] === 1) {
      if (c > 127) h.highBytes = true;
      p++;
    }
    h.reason = s.slice(st - off, p - off);
  }
  if (c !== 13 || b[p + 1] !== 10) return false;
  const r = scanFields(b, p + 2, end, s, off, h.names, h.values, starts);
  if (r < 0) return false;
  if (r === 1) h.highBytes = true;

  let keepAlive = false;
  const names = h.names;
  const values = h.values;
  for (let k = 0; k < names.length; k++) {
    const v = values[k]!;
    switch (names[k]) {
      case "content-length": {
        const len = parseLength(v);
        if (len < 0 || (h.contentLength >= 0 && h.contentLength !== len)) return false;
        h.contentLength = len;
        break;
      }
      case "transfer-encoding":
        if (h.chunked || !eqLower(v, "chunked")) return false;
        h.chunked = true;
        break;
      case "connection": {
        const toks: string[] = [];
        connectionTokens(v, toks);
        for (let t = 0; t < toks.length; t++) {
          if (toks[t] === "close") h.close = true;
          else if (toks[t] === "keep-alive") keepAlive = true;
        }
        break;
      }
    }
  }
  if (h.chunked && h.contentLength >= 0) return false;
  if (h.minor === 0 && !keepAlive) h.close = true;
  return true;
}

/** Does a response with this status to this method carry no body at all? */
export function bodiless(status: number, method: string): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

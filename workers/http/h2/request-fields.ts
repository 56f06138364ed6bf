// A client's request header fields, as HPACK decoded them, checked against
// RFC 9113 §8.2–8.3 before they become a request: pseudo-headers first, each
// at most once and only the request ones, lower-case token names, no
// connection-specific fields, te only "trailers", no NUL / CR / LF in a
// value. A request that breaks one of these is malformed: its stream is reset
// with PROTOCOL_ERROR (what node:http2 did, and Envoy's codec). What passes
// becomes the header object streamRequest (h2-request.ts) reads, a repeated
// field as an array in arrival order.
import type { IncomingHttpHeaders } from "node:http2";
import { TCHAR } from "../chars.ts";

/** Fields that are connection-specific (RFC 9113 §8.2.2): a request carrying one is malformed. */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** The names last seen valid by position (a client sends the same names in the same order). */
const okNames: string[] = [];

function validName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] !== 1 || (c >= 65 && c <= 90)) return false;
  }
  return !CONNECTION_SPECIFIC.has(s);
}

function validValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) return false;
  }
  return true;
}

/** te: only "trailers" (RFC 9113 §8.2.2), case-insensitively. */
function teTrailers(v: string): boolean {
  return v.length === 8 && v.toLowerCase() === "trailers";
}

/**
 * The header object for fields names/values [0, n) of a request (`trailers`:
 * a trailer section, which carries no pseudo-headers); null when malformed.
 */
export function requestHeaders(names: readonly string[], values: readonly string[], n: number, trailers: boolean): IncomingHttpHeaders | null {
  const h: IncomingHttpHeaders = {};
  let i = 0;
  let method: string | undefined;
  if (!trailers) {
    for (; i < n; i++) {
      const name = names[i]!;
      if (name.charCodeAt(0) !== 58 /* : */) break;
      const v = values[i]!;
      if (!validValue(v)) return null;
      if (name === ":method") {
        if (method !== undefined) return null;
        method = v;
      } else if (name !== ":path" && name !== ":scheme" && name !== ":authority") return null;
      else if (h[name] !== undefined) return null;
      h[name] = v;
    }
    if (method === undefined || method === "") return null;
    if (method === "CONNECT") {
      if (h[":scheme"] !== undefined || h[":path"] !== undefined || h[":authority"] === undefined) return null;
    } else if (h[":scheme"] === undefined || h[":scheme"] === "" || h[":path"] === undefined || h[":path"] === "") return null;
  }
  for (; i < n; i++) {
    const name = names[i]!;
    if (name !== okNames[i]) {
      if (!validName(name)) return null;
      okNames[i] = name;
    }
    const v = values[i]!;
    if (!validValue(v)) return null;
    if (name === "te" && !teTrailers(v)) return null;
    const prev = h[name];
    if (prev === undefined) h[name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else (h as Record<string, string | string[]>)[name] = [prev, v];
  }
  return h;
}

// A client's request header fields, as HPACK decoded them, checked against
// RFC 9113 §8.2–8.3 before they become a request: pseudo-headers first, each
// at most once and only the request ones, lower-case token names, no
// connection-specific fields, te only "trailers", no NUL / CR / LF in a
// value. A request that breaks one of these is malformed: its stream is reset
// with PROTOCOL_ERROR (what node:http2 did, and Envoy's codec). What passes
// is read by streamRequestFields (h2-request.ts) as it is; requestHeaders makes
// the header object of it (trailers; a request whose field order an object
// changes), a repeated field as an array in arrival order.
import type { IncomingHttpHeaders } from "node:http2";
import { TCHAR } from "../chars.ts";
import { fieldMap } from "../field-map.ts";

/** Fields that are connection-specific (RFC 9113 §8.2.2): a request carrying one is malformed. */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** The names last seen valid by position (a client sends the same names in the same order). */
const okNames: string[] = [];

/** A lower-case token, not connection-specific (RFC 9113 §8.2, §8.2.2): what a request's or a response's field name must be. */
export function validName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] !== 1 || (c >= 65 && c <= 90)) return false;
  }
  return !CONNECTION_SPECIFIC.has(s);
}

/** No NUL, CR or LF (RFC 9113 §8.2.1): what a request's or a response's field value must hold. */
export function validValue(s: string): boolean {
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
 * Fields names/values [0, n) of a request (`trailers`: a trailer section,
 * which carries no pseudo-headers) are well formed: what the session passes on
 * (h2-request.ts streamRequestFields reads them with no object between).
 */
export function requestFieldsOk(names: readonly string[], values: readonly string[], n: number, trailers: boolean): boolean {
  let i = 0;
  if (!trailers) {
    let method: string | undefined;
    let path: string | undefined;
    let scheme: string | undefined;
    let authority: string | undefined;
    for (; i < n; i++) {
      const name = names[i]!;
      if (name.charCodeAt(0) !== 58 /* : */) break;
      const v = values[i]!;
      if (!validValue(v)) return false;
      if (name === ":method") {
        if (method !== undefined) return false;
        method = v;
      } else if (name === ":path") {
        if (path !== undefined) return false;
        path = v;
      } else if (name === ":scheme") {
        if (scheme !== undefined) return false;
        scheme = v;
      } else if (name === ":authority") {
        if (authority !== undefined) return false;
        authority = v;
      } else return false;
    }
    if (method === undefined || method === "") return false;
    if (method === "CONNECT") {
      if (scheme !== undefined || path !== undefined || authority === undefined) return false;
    } else if (scheme === undefined || scheme === "" || path === undefined || path === "") return false;
  }
  for (; i < n; i++) {
    const name = names[i]!;
    if (name !== okNames[i]) {
      if (!validName(name)) return false;
      okNames[i] = name;
    }
    const v = values[i]!;
    if (!validValue(v)) return false;
    if (name === "te" && !teTrailers(v)) return false;
  }
  return true;
}

/**
 * The header object for fields names/values [0, n) of a request (`trailers`:
 * a trailer section, which carries no pseudo-headers); null when malformed.
 */
export function requestHeaders(names: readonly string[], values: readonly string[], n: number, trailers: boolean): IncomingHttpHeaders | null {
  if (!requestFieldsOk(names, values, n, trailers)) return null;
  const h = fieldMap<IncomingHttpHeaders>();
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    const v = values[i]!;
    const prev = h[name];
    if (prev === undefined) h[name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else (h as Record<string, string | string[]>)[name] = [prev, v];
  }
  return h;
}

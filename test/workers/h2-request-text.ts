// The HTTP/1.1 request head text an HTTP/2 stream's headers were turned into
// before h2-request.ts (then parsed by parseRequestHead): the oracle the direct
// path is compared against in h2-request-head.test.ts (not used by the workers).
import type * as http2 from "node:http2";
import { HOP_BY_HOP } from "../../workers/http/fields.ts";

const HOP = new Set<string>([...HOP_BY_HOP, "http2-settings"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/**
 * The HTTP/1.1 request head for a stream's headers (`length`: the body length
 * announced, -1 for a body of unknown length sent chunked, 0 for none), or
 * a status to answer at once (0: reset the stream as malformed).
 * `endStream`: the headers ended the stream (no body follows).
 */
export function requestHeadText(headers: http2.IncomingHttpHeaders, endStream: boolean): { head: string; length: number } | number {
  const method = headers[":method"];
  const path = headers[":path"];
  const authority = headers[":authority"] ?? headers.host;
  if (typeof method !== "string" || method === "") return 0;
  // CONNECT (RFC 9113 §8.5) has no :path: its target is the authority, as on HTTP/1.1; dispatch
  // then answers it as Envoy does on both protocols (no route: 404)
  // with a :path it is an extended CONNECT (RFC 8441), malformed since we do not announce SETTINGS_ENABLE_CONNECT_PROTOCOL
  const connect = method === "CONNECT";
  if (connect && path !== undefined) return 0;
  if (!connect && (typeof path !== "string" || path === "" || (path[0] !== "/" && !(path === "*" && method === "OPTIONS")))) return 0;
  if (typeof authority !== "string" || authority === "") return connect ? 0 : 400;
  const target = connect ? authority : (path as string);
  if (BAD_VALUE.test(target) || target.includes(" ") || BAD_VALUE.test(authority)) return 400;
  let head = `${method} ${target} HTTP/1.1\r\nhost: ${authority}\r\n`;
  let length = -1;
  let lines = 0;
  for (const name in headers) {
    if (name[0] === ":" || name === "host" || HOP.has(name)) continue;
    if (!TOKEN.test(name)) return 400;
    const v = headers[name];
    if (v === undefined) continue;
    const values = Array.isArray(v) ? v : [v];
    if (name === "cookie" && values.length > 1) values.splice(0, values.length, values.join("; ")); // RFC 9113 §8.2.3
    for (const value of values) {
      if (BAD_VALUE.test(value)) return 400;
      if (name === "content-length") {
        if (!/^\d+$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER || (length >= 0 && Number(value) !== length)) return 400;
        length = Number(value);
      }
      head += `${name}: ${value}\r\n`;
      lines++;
    }
  }
  if (lines > 100) return 431;
  if (endStream) {
    if (length > 0) return 400; // a content-length the stream cannot have
    length = 0;
  } else if (length < 0) head += "transfer-encoding: chunked\r\n";
  return { head: head + "connection: close\r\n\r\n", length };
}

// An HTTP/2 upstream's response head for an HTTP/1.1 client, straight from the
// stream's fields: the bytes the text path wrote (h2-upstream-heads.ts
// h1ResponseHead made HTTP/1.1 text, parseResponseHead read it back and
// response-head.ts rewrote it), without that text between them. Anything the
// text path would have judged (a status outside 200–599, a name or value the
// parser refuses, a length that is not digits, a head near the limits) is
// left to it: h1FieldLines says null and the response takes the text path.
import { STATUS_CODES } from "node:http";
import type { IncomingHttpHeaders } from "node:http2";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { MAX_HEADERS } from "./fields.ts";
import { hasOps, opLines, overridden } from "./heads-out.ts";

/** Dropped before the text (h1ResponseHead's connection-specific fields); content-length is written last. */
const NOT_WRITTEN = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings", "expect"]);
/** Written to the text but dropped by the parser / head writer (te, server, service time). */
const NOT_PASSED = new Set(["te", "server", "x-envoy-upstream-service-time"]);
/** Bytes a field value may hold (chars.ts FIELD): anything else the parser refuses. */
const VALUE_BAD = /[^\t\x20-\x7e\x80-\xff]/;
/** A lower-case token (node:http2's names); any other name is left to the text path. */
const NAME_OK = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
const DIGITS = /^[0-9]{1,15}$/;
/** Heads larger than this are left to the text path (its limit is 60 KB, MAX_RESPONSE_HEAD). */
const SIZE_LIMIT = 32 * 1024;

/** Names found good (bounded: names repeat from response to response). */
const goodNames = new Set<string>();
function nameOk(n: string): boolean {
  if (goodNames.has(n)) return true;
  if (!NAME_OK.test(n)) return false;
  if (goodNames.size < 512) goodNames.add(n);
  return true;
}

/**
 * The status line and the field lines that pass, as latin1 text, for fields
 * `h` framed with `length` (h2-response.ts h2ResponseFraming: "" none) and
 * the route's response operations; null: the text path decides.
 */
export function h1FieldLines(h: IncomingHttpHeaders, length: string, ops: HeaderOperations): string | null {
  const status = Number(h[":status"]);
  if (!Number.isInteger(status) || status < 200 || status > 599) return null;
  if (length !== "" && !DIGITS.test(length)) return null;
  let text = "HTTP/1.1 " + status + " " + (STATUS_CODES[status] ?? "Unknown") + "\r\n";
  const withOps = hasOps(ops);
  let lines = length !== "" ? 1 : 0;
  for (const name in h) {
    if (name[0] === ":" || NOT_WRITTEN.has(name) || name === "content-length") continue;
    const v = h[name];
    if (v === undefined) continue;
    if (!nameOk(name)) return null;
    const pass = !NOT_PASSED.has(name) && !(withOps && overridden(ops, name));
    if (typeof v === "string") {
      if (VALUE_BAD.test(v)) return null;
      lines++;
      if (pass) text += name + ": " + v + "\r\n";
    } else {
      for (let i = 0; i < v.length; i++) {
        const x = String(v[i]);
        if (VALUE_BAD.test(x)) return null;
        lines++;
        if (pass) text += name + ": " + x + "\r\n";
      }
    }
    if (lines >= MAX_HEADERS || text.length > SIZE_LIMIT) return null;
  }
  if (length !== "" && !(withOps && overridden(ops, "content-length"))) text += "content-length: " + length + "\r\n";
  return text;
}

/** The gateway's lines after them (its own text: UTF-8), through the blank line. */
export function h1Suffix(ops: HeaderOperations, server: string, serviceTimeMs: number, chunked: boolean, connection: string): string {
  let s = hasOps(ops) ? opLines(ops) : "";
  s += "server: " + server + "\r\nx-envoy-upstream-service-time: " + serviceTimeMs + "\r\n";
  if (chunked) s += "transfer-encoding: chunked\r\n";
  if (connection !== "") s += "connection: " + connection + "\r\n";
  return s + "\r\n";
}

type LatinBuffer = Buffer & { latin1Write(s: string, offset: number, length: number): number; utf8Write(s: string, offset: number, length: number): number };
const NON_ASCII = /[^\x00-\x7f]/;

/** `lines` (latin1) then `suffix` (UTF-8) into `out` from 0: the size, or -1 when it does not fit (nothing written). */
export function writeH1Head(out: Buffer, lines: string, suffix: string): number {
  const o = out as LatinBuffer;
  const su = NON_ASCII.test(suffix) ? Buffer.byteLength(suffix, "utf8") : -1;
  const size = lines.length + (su >= 0 ? su : suffix.length);
  if (size > out.length) return -1;
  let pos = o.latin1Write(lines, 0, lines.length);
  if (su >= 0) pos += o.utf8Write(suffix, pos, su);
  else o.latin1Write(suffix, pos, suffix.length);
  return size;
}

/** The head as a new buffer. */
export function h1Head(lines: string, suffix: string): Buffer {
  return Buffer.concat([Buffer.from(lines, "latin1"), Buffer.from(suffix, "utf8")]);
}

/** An HTTP/2 upstream's DATA as one chunk for an HTTP/1.1 client (what the text path framed and passed on). */
export function chunkFrame(d: Buffer): Buffer {
  const size = d.length.toString(16);
  const out = Buffer.allocUnsafe(size.length + 4 + d.length) as LatinBuffer;
  out.latin1Write(size, 0, size.length);
  out[size.length] = 13;
  out[size.length + 1] = 10;
  d.copy(out, size.length + 2);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

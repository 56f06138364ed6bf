// Pieces of the request head to the upstream (x-request-id, x-forwarded-for,
// route header operations; the head itself is assembled as bytes in
// request-head-bytes.ts) and the gateway's own responses. The client's head of
// a proxied response is assembled in response-head.ts.
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { reasonOf } from "../../src/model/http-reasons.ts";
import { R_REQUEST_ID, R_XFF } from "./fields.ts";
import type { RequestHead } from "./parse-request.ts";

let idPrefix = "";
let idCount = 0;
/** Two hex digits per byte value. */
const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push(i.toString(16).padStart(2, "0"));

/**
 * A fresh x-request-id in UUID v4 form: a random prefix (from crypto.randomUUID,
 * renewed every 65 536 ids) and a counter, so ids are unique per worker and
 * across workers without a random draw per request. The counter's 12 hex
 * digits: the upper 8 are fixed for a prefix's 65 536 ids and kept with it;
 * the lower 4 come from a table (no number formatting per request).
 */
export function requestId(): string {
  const n = idCount++;
  if ((n & 0xffff) === 0) idPrefix = crypto.randomUUID().slice(0, 24) + Math.floor((n % 0x1000000000000) / 0x10000).toString(16).padStart(8, "0");
  // one template: one rope string (a + b + c made two, measured with heapStats)
  return (lastId = `${idPrefix}${HEX2[(n >>> 8) & 0xff]!}${HEX2[n & 0xff]!}`);
}

/** The id the last requestId() call returned. */
let lastId = "";

/** Is `id` the one the last requestId() call returned (compared by reference first)? */
export function isLastRequestId(id: string): boolean {
  return id === lastId;
}

/** The first 32 characters of the last id (the same for 65 536 ids in a row); writeLastIdDigits writes the other 4. */
export function requestIdPrefix(): string {
  return idPrefix;
}

/**
 * Write x-request-id value `id` into `out` at `pos` (returns the end): the
 * last generated id (the same string: compared by reference first, so not
 * flattened) from its parts, any other as latin1.
 */
export function writeRequestId(out: Buffer & { latin1Write(s: string, offset: number, length: number): number }, pos: number, id: string): number {
  return id === lastId ? writeLastRequestId(out, pos) : pos + out.latin1Write(id, pos, id.length);
}

/** ASCII codes of the hex digits. */
const HEX_CODES = Buffer.from("0123456789abcdef", "latin1");

/**
 * Write the id the last requestId() call returned into `out` at `pos` (36
 * bytes; returns the end): the same bytes, without flattening the id string
 * (a rope of prefix and counter digits) into a new one.
 */
export function writeLastRequestId(out: Buffer & { latin1Write(s: string, offset: number, length: number): number }, pos: number): number {
  return writeLastIdDigits(out, pos + out.latin1Write(idPrefix, pos, idPrefix.length));
}

/** The last id's 4 digits after requestIdPrefix(), into `out` at `pos` (returns the end). */
export function writeLastIdDigits(out: Buffer, pos: number): number {
  const n = (idCount - 1) & 0xffff;
  out[pos] = HEX_CODES[n >>> 12]!;
  out[pos + 1] = HEX_CODES[(n >>> 8) & 15]!;
  out[pos + 2] = HEX_CODES[(n >>> 4) & 15]!;
  out[pos + 3] = HEX_CODES[n & 15]!;
  return pos + 4;
}

/** Values the request head produced that the access log reports. */
export interface ForwardIds {
  xff: string;
  requestId: string;
  /** A traced request's lines for the upstream (workers/tracing.ts TraceState); none: untraced. */
  readonly trace?: TraceLines | null;
}

/** The trace header lines a request goes upstream with (Tracer.inject). */
export interface TraceLines {
  /** Whole lines (`name: value\r\n`); "" when none. */
  readonly lines: string;
  /** The client's trace fields the lines replace: bit kind − R_TRACE (fields.ts). */
  readonly drop: number;
  /** The lines hold a character above 0x7f: written as UTF-8. */
  readonly utf8: boolean;
}

/**
 * The x-forwarded-for and x-request-id a request would go upstream with, for
 * the access-log line of a local reply (Envoy sets both before routing).
 */
export function localIds(h: RequestHead, clientIp: string, ids: ForwardIds): void {
  let xff = "";
  let rid = "";
  for (let k = 0; k < h.count; k++) {
    if (h.kinds[k] === R_XFF) xff = xff === "" ? h.value(k) : xff + ", " + h.value(k);
    else if (h.kinds[k] === R_REQUEST_ID && rid === "") rid = h.value(k);
  }
  setIds(ids, xff, rid, clientIp);
}

/** x-forwarded-for with the client appended, and the client's x-request-id or a fresh one. */
function setIds(ids: ForwardIds, xff: string, rid: string, clientIp: string): void {
  ids.xff = xff === "" ? clientIp : xff + ", " + clientIp;
  ids.requestId = rid === "" ? requestId() : rid;
}

export function hasOps(ops: HeaderOperations): boolean {
  return ops.set.length > 0 || ops.add.length > 0 || ops.remove.length > 0;
}

/** True when the route's operations remove or replace header `name`. */
export function overridden(ops: HeaderOperations, name: string): boolean {
  const rm = ops.remove;
  for (let i = 0; i < rm.length; i++) if (rm[i]!.toLowerCase() === name) return true;
  const set = ops.set;
  for (let i = 0; i < set.length; i++) if (set[i]![0].toLowerCase() === name) return true;
  return false;
}

/** `set` then `add` entries as header lines (Host/:authority ones are ignored: authority is rewritten elsewhere). */
export function opLines(ops: HeaderOperations): string {
  let out = "";
  const set = ops.set;
  for (let i = 0; i < set.length; i++) {
    const n = set[i]![0].toLowerCase();
    if (n !== "host" && n[0] !== ":") out += n + ": " + set[i]![1] + "\r\n";
  }
  const add = ops.add;
  for (let i = 0; i < add.length; i++) {
    const n = add[i]![0].toLowerCase();
    if (n !== "host" && n[0] !== ":") out += n + ": " + add[i]![1] + "\r\n";
  }
  return out;
}

export const FRAME_NONE = 0;
export const FRAME_LENGTH = 1;
export const FRAME_CHUNKED = 2;
export const FRAME_CLOSE = 3;

const CONTENT_TYPE_LINE = /(^|\n)content-type:/i;

/**
 * A response the gateway answers itself (404, 503, redirects, direct
 * responses, 400s). A body is text/plain unless `extra` (the route's response
 * headers, a gRPC reply) names its own content-type.
 */
export function localResponseHead(
  status: number,
  bodyBytes: number,
  server: string,
  date: string,
  extra: string,
  connection: string,
): string {
  let out = "HTTP/1.1 " + status + " " + reasonOf(status) + "\r\n" + extra;
  if (bodyBytes > 0 && (extra === "" || !CONTENT_TYPE_LINE.test(extra))) out += "content-type: text/plain\r\n";
  out += "content-length: " + bodyBytes + "\r\ndate: " + date + "\r\nserver: " + server + "\r\n";
  if (connection !== "") out += "connection: " + connection + "\r\n";
  return out + "\r\n";
}

// The request head to the upstream (Host kept or rewritten, x-forwarded-*,
// x-request-id, hop-by-hop removed, route header operations) and the gateway's
// own responses. Header lines that pass are copied as received (names keep
// their case); the ones the gateway adds are lower-case. The client's head of a
// proxied response is assembled in response-head.ts.
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { reasonOf } from "./chars.ts";
import { R_HOST, R_OTHER, R_REQUEST_ID, R_XFF } from "./fields.ts";
import type { RequestHead } from "./parse-request.ts";

let idPrefix = "";
let idCount = 0;

/**
 * A fresh x-request-id in UUID v4 form: a random prefix (from crypto.randomUUID,
 * renewed every 65 536 ids) and a counter, so ids are unique per worker and
 * across workers without a random draw per request.
 */
export function requestId(): string {
  if ((idCount & 0xffff) === 0) idPrefix = crypto.randomUUID().slice(0, 24);
  const n = idCount++;
  return idPrefix + (n % 0x1000000000000).toString(16).padStart(12, "0");
}

/** Values the request head produced that the access log reports. */
export interface ForwardIds {
  xff: string;
  requestId: string;
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

/**
 * The request head for the upstream. `target` is the (possibly rewritten) path
 * with query; `clientIp` is appended to x-forwarded-for. Header lines that pass
 * are copied as received, in runs (spans from the parse); fills `ids`.
 */
export function upstreamRequestHead(
  h: RequestHead,
  target: string,
  authority: string,
  clientIp: string,
  originalPath: string,
  ops: HeaderOperations,
  ids: ForwardIds,
  xfcc = "",
): string {
  let out = h.method + " " + target + " HTTP/1.1\r\n";
  const raw = h.raw;
  const sp = h.spans;
  const kinds = h.kinds;
  const keepHost = h.hostHeader !== "" && authority === h.hostHeader;
  let run = -1;
  let xff = "";
  let rid = "";
  const n = h.count;
  const nominated = h.nominated;
  const withOps = hasOps(ops);
  for (let k = 0; k < n; k++) {
    let keep = false;
    switch (kinds[k]) {
      case R_HOST:
        keep = keepHost;
        break;
      case R_XFF:
        xff = xff === "" ? h.value(k) : xff + ", " + h.value(k);
        break;
      case R_REQUEST_ID:
        if (rid === "") rid = h.value(k);
        break;
      case R_OTHER:
        if (nominated === null && !withOps) keep = true;
        else {
          const name = h.name(k).toLowerCase();
          keep = !(nominated !== null && nominated.includes(name)) && !(withOps && overridden(ops, name));
        }
        break;
      // connection, upgrade, expect, content-length, transfer-encoding, hop-by-hop: re-framed or dropped
    }
    if (keep) {
      if (run < 0) run = sp[4 * k]!;
    } else if (run >= 0) {
      out += raw.slice(run, sp[4 * k]!);
      run = -1;
    }
  }
  if (run >= 0) out += raw.slice(run, sp[4 * n]!);
  if (!keepHost) out += "host: " + authority + "\r\n";
  if (withOps) out += opLines(ops);
  setIds(ids, xff, rid, clientIp);
  out += "x-forwarded-for: " + ids.xff + "\r\nx-forwarded-proto: " + h.scheme + "\r\nx-request-id: " + ids.requestId + "\r\n";
  if (originalPath !== "") out += "x-envoy-original-path: " + originalPath + "\r\n";
  if (xfcc !== "") out += "x-forwarded-client-cert: " + xfcc + "\r\n";
  if (h.chunked) out += "transfer-encoding: chunked\r\n";
  else if (h.contentLength >= 0) out += "content-length: " + h.contentLength + "\r\n";
  if (h.upgrade !== "") out += "connection: upgrade\r\nupgrade: " + h.header("upgrade") + "\r\n";
  return out + "\r\n";
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

// The request head for the upstream, assembled as bytes: the header lines
// that pass are copied from the bytes the client sent, in runs (spans from the
// parse), and only the lines the gateway changes or adds are written: Host
// when rewritten, the route's header operations, x-forwarded-for/-proto,
// x-request-id, x-envoy-original-path, x-forwarded-client-cert, the framing
// (content-length / transfer-encoding), the WebSocket upgrade,
// a traced request's lines (x-envoy-decorator-operation, the span's context;
// the client's trace fields they replace are not copied),
// x-envoy-expected-rq-timeout-ms when a timeout applies (right before the
// attempt count, so that a retry rewrites both at the end) and
// x-envoy-attempt-count. No string of the whole head is made or encoded.
//
// Encoding: the client's bytes go upstream as they came (obs-text 0x80–0xFF
// included); so do values taken from them (x-forwarded-for, x-request-id),
// written one byte per latin1 character. Text from configuration or the
// gateway (a rewritten path or Host, header operations, XFCC) is written as
// UTF-8, as Envoy writes configured values: "café" in a VirtualService goes as
// 63 61 66 C3 A9. (The string head this replaces wrote such text as latin1
// unless a character was above 0xFF, and then encoded the whole head, client
// bytes included, as UTF-8.)
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { EXPECTED_TIMEOUT } from "../../src/upstream/timeout-headers.ts";
import { MAX_HEADERS, R_HOST, R_OTHER, R_REQUEST_ID, R_TRACE, R_XFF } from "./fields.ts";
import { type ForwardIds, hasOps, isLastRequestId, opLines, overridden, requestId, requestIdPrefix, writeLastIdDigits, writeRequestId } from "./heads-out.ts";
import type { RequestHead } from "./parse-request.ts";

type Writable = Buffer & {
  latin1Write(s: string, offset: number, length: number): number;
  utf8Write(s: string, offset: number, length: number): number;
};

/** The line the head ends with (before the blank line) on the first try; upstream-request.ts renumbers it. */
export const ATTEMPT_LINE = "x-envoy-attempt-count: 1\r\n";

/** The x-envoy-expected-rq-timeout-ms line for `ms` (it comes right before ATTEMPT_LINE). */
export function expectedLine(ms: number): string {
  return EXPECTED_TIMEOUT + ": " + ms + "\r\n";
}

// Each head gets a Buffer of its own, of its exact size: not a view of a shared
// slab, since a head lives as long as its exchange (retries, mirrors; a long
// poll or a WebSocket tunnel for hours) and a view would keep the whole slab
// alive; and not a view of a larger Buffer, since the first subarray of a fresh
// Buffer costs more than the head's other writes together (0.18 µs, bun 1.4.4).

const HTTP11 = Buffer.from(" HTTP/1.1\r\n", "latin1");
const END = Buffer.from(ATTEMPT_LINE + "\r\n", "latin1");

/**
 * `x-forwarded-for: <xff>\r\nx-forwarded-proto: <scheme>\r\nx-request-id: ` as
 * bytes, for the last x-forwarded-for and scheme written: the requests of a
 * keep-alive connection (and of most clients) share them.
 */
let prefixXff = "";
let prefixScheme = "";
let prefixBytes = Buffer.alloc(0);
function ownPrefix(xff: string, scheme: string): Buffer {
  if (xff !== prefixXff || scheme !== prefixScheme) {
    prefixBytes = Buffer.from("x-forwarded-for: " + xff + "\r\nx-forwarded-proto: " + scheme + "\r\nx-request-id: ", "latin1");
    prefixXff = xff;
    prefixScheme = scheme;
  }
  return prefixBytes;
}

/**
 * The same prefix followed by the random part of the last generated
 * x-request-id (requestIdPrefix), for the last x-forwarded-for, scheme and id
 * prefix: a head carrying the last generated id then writes its prefix lines
 * and id in one copy and the id's 4 counter digits.
 */
let idXff = "";
let idScheme = "";
let idPrefixSeen = "";
/**
 * The bytes of that prefix (its first idPrefixLen) followed by 4 bytes for the id's last digits
 * and the head's end (CRLF_END): a head with nothing between the id and x-envoy-attempt-count
 * copies it whole (its 4 digits written into the copy), others copy the prefix. One Buffer, no
 * view of it (a first subarray of a fresh Buffer costs ~0.18 µs, see above).
 */
let idTailBytes = Buffer.alloc(0);
let idPrefixLen = 0;
function ownPrefixWithId(xff: string, scheme: string): Buffer {
  const p = requestIdPrefix();
  if (xff !== idXff || scheme !== idScheme || p !== idPrefixSeen) {
    const pre = "x-forwarded-for: " + xff + "\r\nx-forwarded-proto: " + scheme + "\r\nx-request-id: " + p;
    idTailBytes = Buffer.from(pre + "0000\r\n" + ATTEMPT_LINE + "\r\n", "latin1");
    idPrefixLen = pre.length;
    idXff = xff;
    idScheme = scheme;
    idPrefixSeen = p;
  }
  return idTailBytes;
}

/**
 * The request line `method SP target SP HTTP/1.1 CRLF` as bytes, for the last
 * method and target seen twice in a row (a keep-alive client asking for the
 * same resource again); null otherwise (the line is written in pieces, and
 * only remembered, so varied targets make no Buffer per request).
 */
let lineMethod = "";
let lineTarget = "";
let lineBytes: Buffer | null = null;
function requestLine(method: string, target: string): Buffer | null {
  if (target === lineTarget && method === lineMethod) return (lineBytes ??= Buffer.from(method + " " + target + " HTTP/1.1\r\n", "utf8")); // a method is ASCII (tchars), a target UTF-8
  lineMethod = method;
  lineTarget = target;
  lineBytes = null;
  return null;
}

/** The blank line's CRLF after x-request-id, then END: the head's tail when nothing comes between. */
const CRLF_END = Buffer.from("\r\n" + ATTEMPT_LINE + "\r\n", "latin1");

/** Runs of field lines to copy: start, end offsets (a head has at most MAX_HEADERS lines). */
const runs = new Int32Array(2 * MAX_HEADERS + 2);

/** Write text from configuration or the gateway: UTF-8 (ASCII is the common case and the same bytes). */
function writeText(out: Writable, pos: number, s: string): number {
  return pos + out.utf8Write(s, pos, out.length - pos);
}

/**
 * The request head for the upstream, ending in x-envoy-attempt-count: 1 and
 * the blank line. `target` is the (possibly rewritten) path with query;
 * `clientIp` is appended to x-forwarded-for. Fills `ids` (for the access log).
 * `expectedMs` > 0: the x-envoy-expected-rq-timeout-ms the first try carries.
 */
export function upstreamHeadBytes(
  h: RequestHead,
  target: string,
  authority: string,
  clientIp: string,
  originalPath: string,
  ops: HeaderOperations,
  ids: ForwardIds,
  xfcc = "",
  expectedMs = 0,
): Buffer {
  return buildHead(h, target, authority, clientIp, originalPath, ops, ids, xfcc, expectedMs, false, null);
}

/** Bytes upstreamHeadInto wrote last. */
let intoSize = 0;
/** Where upstreamHeadInto wrote its last head: into[intoFrom, intoFrom + its size). */
export let intoFrom = 0;

/**
 * The id tail (ownPrefixWithId's Buffer) last copied to the middle of a
 * scratch, and that scratch: a head ending with the same tail is written to
 * end where the tail starts, which stays in place (its 4 digits written over):
 * one Buffer#copy less per request. A head written from the start past the
 * middle drops it.
 */
let anchorInto: Buffer | null = null;
let anchorTail: Buffer | null = null;

/**
 * The same head written into `into` (a worker's scratch, sent at once and not
 * kept, written by nothing else): its size, at into[intoFrom, intoFrom + size),
 * or -1 when it does not fit (nothing is written then). The ids are `ids`'
 * (forwardIds ran for the request): a head built again (a retry, a mirror) has
 * the same bytes.
 */
export function upstreamHeadInto(
  into: Buffer,
  h: RequestHead,
  target: string,
  authority: string,
  clientIp: string,
  originalPath: string,
  ops: HeaderOperations,
  ids: ForwardIds,
  xfcc: string,
  expectedMs = 0,
): number {
  return buildHead(h, target, authority, clientIp, originalPath, ops, ids, xfcc, expectedMs, true, into) === into ? intoSize : -1;
}

/** upstreamHeadBytes with the ids already set (`known`, as forwardIds set them); see upstreamHeadInto. */
export function upstreamHeadAgain(
  h: RequestHead,
  target: string,
  authority: string,
  clientIp: string,
  originalPath: string,
  ops: HeaderOperations,
  ids: ForwardIds,
  xfcc: string,
  expectedMs = 0,
): Buffer {
  return buildHead(h, target, authority, clientIp, originalPath, ops, ids, xfcc, expectedMs, true, null);
}

/** `into` when the head fits there (intoSize: its size), else a Buffer of its own; null `into`: always one of its own. */
function outFor(into: Buffer | null, size: number): Writable {
  if (into !== null && size <= into.length) {
    intoSize = size;
    intoFrom = 0;
    if (into === anchorInto && size > into.length >>> 1) anchorInto = null;
    return into as Writable;
  }
  return Buffer.allocUnsafe(size) as Writable;
}

function buildHead(
  h: RequestHead,
  target: string,
  authority: string,
  clientIp: string,
  originalPath: string,
  ops: HeaderOperations,
  ids: ForwardIds,
  xfcc: string,
  expectedMs: number,
  known: boolean,
  into: Buffer | null,
): Buffer {
  if (into !== null) intoSize = -1;
  const b = h.buf;
  const base = h.base;
  const sp = h.spans;
  const kinds = h.kinds;
  const n = h.count;
  const keepHost = h.hostHeader !== "" && authority === h.hostHeader;
  const nominated = h.nominated;
  const withOps = hasOps(ops);
  // a traced request's lines (workers/tracing.ts inject) and the client's trace fields they replace
  const trace = ids.trace ?? null;
  const traceLines = trace === null ? "" : trace.lines;
  const drop = traceLines === "" ? 0 : trace!.drop;

  // what the gateway adds: the client's x-forwarded-for values and x-request-id are read first
  const rid = known ? ids.requestId : forwardIds(h, clientIp, ids);

  let config = keepHost ? "" : "host: " + authority + "\r\n";
  if (withOps) config += opLines(ops);
  // the lines between x-request-id and x-envoy-attempt-count (usually none)
  let mid = originalPath === "" ? "" : "x-envoy-original-path: " + originalPath + "\r\n";
  if (xfcc !== "") mid += "x-forwarded-client-cert: " + xfcc + "\r\n";
  if (h.teTrailers && !(withOps && overridden(ops, "te"))) mid += "te: trailers\r\n";
  if (h.chunked) mid += "transfer-encoding: chunked\r\n";
  else if (h.contentLength >= 0) mid += "content-length: " + h.contentLength + "\r\n";
  if (h.upgrade !== "") mid += "connection: upgrade\r\nupgrade: " + h.header("upgrade") + "\r\n";
  if (traceLines !== "") mid += traceLines;
  if (expectedMs > 0) mid += expectedLine(expectedMs);

  // the received field lines that pass, as runs of lines (offsets from base) into `runs`
  const fieldsEnd = sp[4 * n]!; // offset of the final CRLF
  let nruns = 0;
  let copied = 0;
  let run = -1;
  for (let k = 0; k <= n; k++) {
    let keep = false;
    if (k < n) {
      const kind = kinds[k]!;
      // a trace field passes as any other unless the request's trace lines replace it
      if (kind === R_OTHER || (kind >= R_TRACE && (drop & (1 << (kind - R_TRACE))) === 0)) {
        if (nominated === null && !withOps) keep = true;
        else {
          const name = h.name(k).toLowerCase();
          keep = !(nominated !== null && nominated.includes(name)) && !(withOps && overridden(ops, name));
        }
      } else if (kind === R_HOST) keep = keepHost;
      // x-forwarded-for, x-request-id: rewritten below; connection, upgrade, expect, content-length,
      // transfer-encoding, hop-by-hop and the gateway's own: re-framed or dropped
    }
    if (keep) {
      if (run < 0) run = sp[4 * k]!;
    } else if (run >= 0) {
      const to = k < n ? sp[4 * k]! : fieldsEnd;
      runs[nruns++] = run;
      runs[nruns++] = to;
      copied += to - run;
      run = -1;
    }
  }

  // Without client obs-text, configured text (Host rewrite, header operations) or XFCC, every line
  // the gateway writes is ASCII (the request-target is, and so is the normalized path): it goes out
  // in pieces (no string of the lines is made and flattened), each piece's size its length.
  const high = h.highBytes;
  if (!high && config === "" && xfcc === "" && !(traceLines !== "" && trace!.utf8)) {
    const method = h.method;
    // the request line as the client sent it (`method SP target SP HTTP/1.1 CRLF`, the target not
    // rewritten; a target is ASCII): copied from its bytes, with the field lines that follow it when
    // they pass, in one copy; else made (and cached when repeated: requestLine)
    // (an HTTP/1.2 … 1.9 line is made again: the upstream gets HTTP/1.1)
    const asSent = h.minor === 1 && b[base + sp[0]! - 3] === 49 /* 1 */ && target === h.target;
    const line = asSent ? null : requestLine(method, target);
    const targetBytes = asSent || line !== null ? 0 : Buffer.byteLength(target, "utf8"); // a rewritten path is configured text: UTF-8
    // the id is the last one made (just now, or by forwardIds for this request): its prefix is cached with the lines before it,
    // and with the head's end when nothing comes between (the id's 4 last digits written into it)
    const lastId = rid === "" || (known && isLastRequestId(rid));
    const whole = lastId && mid === "";
    const pre = lastId ? ownPrefixWithId(ids.xff, h.scheme) : ownPrefix(ids.xff, h.scheme);
    const preLen = lastId && !whole ? idPrefixLen : pre.length;
    const lineSize = asSent ? sp[0]! : line === null ? method.length + 1 + targetBytes + HTTP11.length : line.length;
    const size = whole ? lineSize + copied + preLen : lineSize + copied + preLen + (lastId ? 4 : ids.requestId.length) + 2 + mid.length + END.length;
    // into a scratch, a head that ends with the id tail: its lines end at the middle, where the tail
    // is (left by an earlier head, else copied)
    const half = into === null ? -1 : into.length >>> 1;
    const anchored = whole && lineSize + copied <= half && half + preLen <= into!.length;
    const out = anchored ? (into as Writable) : outFor(into, size);
    let pos = anchored ? half - lineSize - copied : 0;
    if (anchored) {
      intoSize = size;
      intoFrom = pos;
      if (anchorInto !== into || anchorTail !== pre) {
        pre.copy(out, half);
        anchorInto = into;
        anchorTail = pre;
      }
    }
    let i = 0;
    if (asSent) {
      // the line is the bytes before the first field: one run with the first run of fields when it starts there
      let to = lineSize;
      if (nruns > 0 && runs[0] === lineSize) {
        to = runs[1]!;
        i = 2;
      }
      pos += b.copy(out, pos, base, base + to);
    } else if (line !== null) pos += line.copy(out, pos);
    else {
      pos += out.latin1Write(method, pos, method.length);
      out[pos++] = 32;
      pos += out.utf8Write(target, pos, targetBytes);
      pos += HTTP11.copy(out, pos);
    }
    for (; i < nruns; i += 2) pos += b.copy(out, pos, base + runs[i]!, base + runs[i + 1]!);
    if (anchored) pos += preLen;
    else pos += pre.copy(out, pos, 0, preLen);
    if (whole) {
      writeLastIdDigits(out, pos - CRLF_END.length - 4);
      return out;
    }
    if (lastId) pos = writeLastIdDigits(out, pos);
    else pos = known ? writeRequestId(out, pos, rid) : pos + out.latin1Write(rid, pos, rid.length);
    if (mid === "") {
      CRLF_END.copy(out, pos);
      return out;
    }
    out[pos++] = 13;
    out[pos++] = 10;
    pos += out.latin1Write(mid, pos, mid.length);
    END.copy(out, pos);
    return out;
  }

  // own is ASCII unless the client's x-forwarded-for / x-request-id hold obs-text: then it goes as latin1
  const line = h.method + " " + target + " HTTP/1.1\r\n";
  const own = "x-forwarded-for: " + ids.xff + "\r\nx-forwarded-proto: " + h.scheme + "\r\nx-request-id: " + ids.requestId + "\r\n";
  const tail = mid + ATTEMPT_LINE + "\r\n";
  const lineBytes = Buffer.byteLength(line, "utf8");
  const size = high
    ? lineBytes + copied + Buffer.byteLength(config, "utf8") + own.length + Buffer.byteLength(tail, "utf8")
    : lineBytes + copied + Buffer.byteLength(config + own + tail, "utf8");
  const out = outFor(into, size);
  let pos = writeText(out, 0, line);
  for (let i = 0; i < nruns; i += 2) pos += b.copy(out, pos, base + runs[i]!, base + runs[i + 1]!);
  if (high) {
    if (config !== "") pos = writeText(out, pos, config);
    pos += out.latin1Write(own, pos, own.length);
    pos = writeText(out, pos, tail);
  } else writeText(out, pos, config + own + tail);
  return out;
}

/** ids.xff (the client's x-forwarded-for values, then clientIp) and ids.requestId (the client's first x-request-id, else a new one); returns the client's x-request-id, or "". */
export function forwardIds(h: RequestHead, clientIp: string, ids: ForwardIds): string {
  const kinds = h.kinds;
  const n = h.count;
  let xff = "";
  let rid = "";
  for (let k = 0; k < n; k++) {
    const kind = kinds[k];
    if (kind === R_XFF) xff = xff === "" ? h.value(k) : xff + ", " + h.value(k);
    else if (kind === R_REQUEST_ID && rid === "") rid = h.value(k);
  }
  ids.xff = xff === "" ? clientIp : xff + ", " + clientIp;
  ids.requestId = rid === "" ? requestId() : rid;
  return rid;
}

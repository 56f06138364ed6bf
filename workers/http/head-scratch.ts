// Request-head parse scratch (the field spans and kinds scanFields fills, see
// fields.ts): one per worker. A head is parsed into it and its fields are then
// copied into arrays of their own size, which the head keeps for its exchange;
// the scratch is free again before the next head is parsed. An exchange in
// flight so holds 4 ints and a byte per field (a GET with 3 fields: ~13 ints),
// not the 1.6 KB scratch, and no scratch is made per exchange: lent per
// exchange, a burst of concurrent first requests on new connections made one
// per request beyond a bounded free list, and that garbage kept heap blocks in
// RSS after the connections went idle (bench/idle-inproc.ts; notes/idlepack.md).
// A made-again exchange's head (Exchange.head) keeps the arrays of its last
// parse as room (RequestHead.roomSpans / roomKinds): when they are long enough
// the fields are copied into them, so a keep-alive request makes no arrays
// (two TypedArray slices were ~0.15 µs per request, perf-native).
import { fieldKindsScratch, fieldSpansScratch } from "./fields.ts";
import { parseRequestHead, type RequestHead } from "./parse-request.ts";

export class HeadScratch {
  readonly spans = fieldSpansScratch();
  readonly kinds = fieldKindsScratch();
}

const scratch = new HeadScratch();

/**
 * parseRequestHead of buf[off, end) into `h` (0, or the error status), with
 * `h.spans` / `h.kinds` copies of its fields (spans also keep the
 * end-of-fields offset at 4 × count), so nothing of `h` points into the scratch:
 * into the head's room when it has enough (a made-again head: the arrays may be
 * longer than its fields, readers go by `count`), else new arrays of exactly its size.
 */
export function parseHead(buf: Buffer, off: number, end: number, h: RequestHead): number {
  const ss = scratch.spans;
  const sk = scratch.kinds;
  let status = parseRequestHead(buf, off, end, h, ss, sk);
  // an HTTP/1.1 CONNECT with a body (RFC 9110 §9.3.6: no defined semantics): 400, as Envoy's
  // codec (body_disallowed) and nginx answer; `content-length: 0` passes, as on Envoy. Not in
  // parseRequestHead: an HTTP/2 CONNECT stream's DATA is its tunnel (h2-request.ts frames it chunked)
  if (status === 0 && h.method === "CONNECT" && (h.chunked || h.contentLength > 0)) status = 400;
  const n = h.count;
  const ns = 4 * n + 1;
  let spans = h.roomSpans;
  let kinds = h.roomKinds;
  if (spans.length >= ns && kinds.length >= n) {
    for (let i = 0; i < ns; i++) spans[i] = ss[i]!;
    for (let i = 0; i < n; i++) kinds[i] = sk[i]!;
  } else {
    spans = h.roomSpans = ss.slice(0, ns);
    kinds = h.roomKinds = sk.slice(0, n);
  }
  h.spans = spans;
  h.kinds = kinds;
  return status;
}

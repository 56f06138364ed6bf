// Request-head parse scratch (the field spans and kinds scanFields fills, see
// fields.ts): one per worker. A head is parsed into it and its fields are then
// copied into arrays of their own size, which the head keeps for its exchange;
// the scratch is free again before the next head is parsed. An exchange in
// flight so holds 4 ints and a byte per field (a GET with 3 fields: ~13 ints),
// not the 1.6 KB scratch, and no scratch is made per exchange: lent per
// exchange, a burst of concurrent first requests on new connections made one
// per request beyond a bounded free list, and that garbage kept heap blocks in
// RSS after the connections went idle (bench/idle-inproc.ts; notes/idlepack.md).
import { fieldKindsScratch, fieldSpansScratch } from "./fields.ts";
import { parseRequestHead, type RequestHead } from "./parse-request.ts";

export class HeadScratch {
  readonly spans = fieldSpansScratch();
  readonly kinds = fieldKindsScratch();
}

const scratch = new HeadScratch();

/**
 * parseRequestHead of buf[off, end) into `h` (0, or the error status), with
 * `h.spans` / `h.kinds` copies of exactly its fields (spans also keep the
 * end-of-fields offset at 4 × count), so nothing of `h` points into the scratch.
 */
export function parseHead(buf: Buffer, off: number, end: number, h: RequestHead): number {
  const status = parseRequestHead(buf, off, end, h, scratch.spans, scratch.kinds);
  const n = h.count;
  h.spans = scratch.spans.slice(0, 4 * n + 1);
  h.kinds = scratch.kinds.slice(0, n);
  return status;
}

// Request-head parse scratch (the field spans and kinds scanFields fills, see
// fields.ts) lent per exchange from a per-worker free list: a connection
// borrows one when a head arrives and returns it when its exchange ends, so an
// idle keep-alive connection holds none. The free list is bounded: with more
// exchanges in flight than it keeps, the extra scratch is left to the GC.
import { fieldKindsScratch, fieldSpansScratch } from "./fields.ts";

/** Free scratch kept per worker at most. */
export const SCRATCH_FREE_MAX = 64;

export class HeadScratch {
  readonly spans = fieldSpansScratch();
  readonly kinds = fieldKindsScratch();
}

const free: HeadScratch[] = [];
/** Scratch made so far (tests: reuse means this stays put). */
let made = 0;

export function borrowScratch(): HeadScratch {
  const s = free.pop();
  if (s !== undefined) return s;
  made++;
  return new HeadScratch();
}

/** Give `s` back; the caller must not touch it (nor heads parsed into it) again. */
export function returnScratch(s: HeadScratch): void {
  if (free.length < SCRATCH_FREE_MAX) free.push(s);
}

/** Counters for tests and benchmarks: scratch made, and scratch waiting in the free list. */
export function scratchCounts(): { made: number; free: number } {
  return { made, free: free.length };
}

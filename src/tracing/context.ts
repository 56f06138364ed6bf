// Trace context on the wire, as Envoy reads and writes it (pure):
//
// - the sampling decision from x-request-id (Envoy's UUID request-id extension:
//   the character at 14 says forced `a`, sampled `9`, client `b`, else none; a
//   request not traced yet is sampled when the id's first 8 hex digits, as a
//   number, modulo 10000 fall under the percentage × 100), x-client-trace-id
//   (client sampling, 100 % in Istio), and the decision written back into the id;
// - B3 (Zipkin: `b3` single header first, else x-b3-traceid/-spanid/
//   -parentspanid/-sampled; `1`, `d` or `true` sample, `0` not; an incoming
//   sampled flag wins over the gateway's decision) and W3C traceparent/tracestate
//   (OpenTelemetry: `00-<32 hex>-<16 hex>-<2 hex>`, the parent's sampled flag
//   wins). A context that does not parse: no span (Envoy's null span), the
//   client's headers go on untouched.
// - the headers the upstream gets: the span's context as B3 or traceparent.

export const REASON_NONE = 0;
export const REASON_SAMPLED = 1;
export const REASON_FORCED = 2;
export const REASON_CLIENT = 3;
export type Reason = 0 | 1 | 2 | 3;

const UUID_LENGTH = 36;
const TRACE_BYTE = 14;

/** The trace reason an x-request-id carries (Envoy's getTraceReason). */
export function requestIdReason(id: string): Reason {
  if (id.length !== UUID_LENGTH) return REASON_NONE;
  const c = id.charCodeAt(TRACE_BYTE);
  return c === 0x39 /* 9 */ ? REASON_SAMPLED : c === 0x61 /* a */ ? REASON_FORCED : c === 0x62 /* b */ ? REASON_CLIENT : REASON_NONE;
}

/** `id` with `reason` written in (Envoy's setTraceReason); an id that is not UUID-long is left as it is. */
export function markRequestId(id: string, reason: Reason): string {
  if (id.length !== UUID_LENGTH) return id;
  const ch = reason === REASON_SAMPLED ? "9" : reason === REASON_FORCED ? "a" : reason === REASON_CLIENT ? "b" : "4";
  if (id[TRACE_BYTE] === ch) return id;
  return id.slice(0, TRACE_BYTE) + ch + id.slice(TRACE_BYTE + 1);
}

/** The id's first 8 hex digits as a number (Envoy's getInteger), or -1. */
export function requestIdInteger(id: string): number {
  if (id.length < 8) return -1;
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = id.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Percent (0–100) as Envoy's runtime fraction: a numerator of 10000, rounded. */
export function samplingNumerator(percent: number): number {
  return Math.round(percent * 100);
}

/**
 * Envoy's mutateTracingRequestHeader for a request whose id is `id`: the reason
 * it is traced for. `own`: the gateway made the id (its first digits are shared
 * by many ids, so a random draw stands for them: the same odds). `rand` in [0, 1).
 */
export function decideReason(id: string, own: boolean, clientTraceId: boolean, numerator: number, useRequestId: boolean, rand: number): Reason {
  if (!useRequestId) return rand * 10000 < numerator ? REASON_SAMPLED : REASON_NONE;
  let n: number;
  if (own) n = Math.floor(rand * 10000);
  else {
    const v = requestIdInteger(id);
    if (v < 0) return REASON_NONE; // an id without 8 hex digits first: Envoy decides nothing for it (not even x-client-trace-id)
    n = v % 10000;
  }
  // an id the gateway made carries no reason (a UUID v4: `4` at 14), and it is not read (it is a
  // rope of prefix and counter, written out without being flattened: heads-out.ts)
  const r = own ? REASON_NONE : requestIdReason(id);
  if (r !== REASON_NONE) return r;
  if (clientTraceId) return REASON_CLIENT;
  return n < numerator ? REASON_SAMPLED : REASON_NONE;
}

/** An incoming context: ids as lower-case hex (traceId 16 or 32 digits). */
export interface IncomingContext {
  traceId: string;
  spanId: string;
  sampled: boolean | null;
  tracestate: string;
}

/** What the client sent: a context, none, or one that does not parse. */
export type Extracted = { ok: true; ctx: IncomingContext | null; sampled: boolean | null } | { ok: false };

const HEX = /^[0-9a-fA-F]+$/;

function hexId(s: string, lengths: number[]): string | null {
  if (!lengths.includes(s.length) || !HEX.test(s)) return null;
  return s.toLowerCase();
}

// the answers without a context (read only): none made per request
const NO_CONTEXT: Extracted = { ok: true, ctx: null, sampled: null };
const NO_CONTEXT_SAMPLED: Extracted = { ok: true, ctx: null, sampled: true };
const NO_CONTEXT_UNSAMPLED: Extracted = { ok: true, ctx: null, sampled: false };
const BAD: Extracted = { ok: false };

function noContext(sampled: boolean | null): Extracted {
  return sampled === null ? NO_CONTEXT : sampled ? NO_CONTEXT_SAMPLED : NO_CONTEXT_UNSAMPLED;
}

function sampledFlag(c: string): boolean | null {
  return c === "1" || c === "d" ? true : c === "0" ? false : null;
}

/** B3: the `b3` header (single), else the x-b3-* headers. `get` returns a request header's first value. */
export function extractB3(get: (name: string) => string | undefined): Extracted {
  const b3 = get("b3");
  if (b3 !== undefined) return extractB3Single(b3);
  const s = get("x-b3-sampled");
  const sampled = s === undefined ? null : s === "1" || s === "true";
  const tid = get("x-b3-traceid");
  const sid = get("x-b3-spanid");
  if (tid === undefined || sid === undefined) return noContext(sampled);
  const traceId = hexId(tid, [16, 32]);
  const spanId = hexId(sid, [16]);
  if (traceId === null || spanId === null) return BAD;
  const pid = get("x-b3-parentspanid");
  if (pid !== undefined && pid !== "" && hexId(pid, [16]) === null) return BAD;
  return { ok: true, ctx: { traceId, spanId, sampled, tracestate: "" }, sampled };
}

/** `b3: {traceid}-{spanid}[-{sampled}[-{parentspanid}]]`, or a sampling flag alone. */
function extractB3Single(b3: string): Extracted {
  if (b3.length === 1) {
    const f = sampledFlag(b3);
    return f === null ? BAD : noContext(f);
  }
  const parts = b3.split("-");
  if (parts.length < 2 || parts.length > 4) return BAD;
  const traceId = hexId(parts[0]!, [16, 32]);
  const spanId = hexId(parts[1]!, [16]);
  if (traceId === null || spanId === null) return BAD;
  let sampled: boolean | null = null;
  if (parts.length >= 3) {
    if (parts[2]!.length !== 1) return BAD;
    sampled = sampledFlag(parts[2]!);
    if (sampled === null) return BAD;
  }
  if (parts.length === 4 && hexId(parts[3]!, [16]) === null) return BAD;
  return { ok: true, ctx: { traceId, spanId, sampled, tracestate: "" }, sampled };
}

const ZERO32 = "00000000000000000000000000000000";

/** W3C traceparent `00-<trace id>-<parent id>-<flags>` (and tracestate as received). */
export function extractW3C(traceparent: string | undefined, tracestate: string | undefined): Extracted {
  if (traceparent === undefined) return NO_CONTEXT;
  if (traceparent.length !== 55) return BAD;
  const p = traceparent.split("-");
  if (p.length !== 4 || p[0]!.length !== 2 || p[1]!.length !== 32 || p[2]!.length !== 16 || p[3]!.length !== 2) return BAD;
  if (!HEX.test(p[0]!) || !HEX.test(p[1]!) || !HEX.test(p[2]!) || !HEX.test(p[3]!)) return BAD;
  if (p[0]!.toLowerCase() === "ff" || p[1] === ZERO32 || p[2] === ZERO32.slice(0, 16)) return BAD;
  const sampled = (parseInt(p[3]!, 16) & 1) === 1;
  return { ok: true, ctx: { traceId: p[1]!.toLowerCase(), spanId: p[2]!.toLowerCase(), sampled, tracestate: tracestate ?? "" }, sampled };
}

/**
 * Random ids: 8 bytes as 16 hex digits (never all zero), from a pool of 4096 random bytes and
 * their hex text, refilled 512 ids at a time: an id is a slice of that text (one string, no
 * digits joined per id).
 */
const POOL = new Uint8Array(4096);
let poolHex = "";
let poolAt = POOL.length;

/** `n` (8 or 16) random bytes from the pool as hex, each 8 not all zero. */
function poolId(n: number): string {
  for (;;) {
    if (poolAt + n > POOL.length) {
      crypto.getRandomValues(POOL);
      poolHex = Buffer.from(POOL.buffer, POOL.byteOffset, POOL.length).toString("hex");
      poolAt = 0;
    }
    const i = poolAt;
    poolAt += n;
    if (zero8(i) || (n === 16 && zero8(i + 8))) continue;
    return poolHex.slice(2 * i, 2 * (i + n));
  }
}

function zero8(i: number): boolean {
  const b = POOL;
  return (b[i]! | b[i + 1]! | b[i + 2]! | b[i + 3]! | b[i + 4]! | b[i + 5]! | b[i + 6]! | b[i + 7]!) === 0;
}

/** A random 64-bit id as 16 hex digits, not all zero. */
export function randomId(): string {
  return poolId(8);
}

/** A random 128-bit trace id as 32 hex digits (two 64-bit halves, neither all zero, as two randomId()s). */
export function randomId128(): string {
  return poolId(16);
}

/** The gateway's span: its ids, whether it is reported, and where it hangs. */
export interface SpanIds {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentId: string;
  sampled: boolean;
  tracestate: string;
}

/**
 * The gateway's span for a request (Zipkin's and OpenTelemetry's startSpan): a
 * child of the client's context, or a new root with the gateway's decision;
 * null when the client's context does not parse.
 */
export function startSpan(propagation: "b3" | "w3c" | "b3+w3c", get: (name: string) => string | undefined, traced: boolean, traceId128: boolean): SpanIds | null {
  let ex: Extracted;
  if (propagation === "w3c") ex = extractW3C(get("traceparent"), get("tracestate"));
  else {
    ex = extractB3(get);
    // USE_B3_WITH_W3C_PROPAGATION: traceparent when the client sent no B3 context
    if (propagation === "b3+w3c" && ex.ok && ex.ctx === null && ex.sampled === null) ex = extractW3C(get("traceparent"), get("tracestate"));
  }
  if (!ex.ok) return null;
  const sampled = ex.sampled ?? traced;
  if (ex.ctx === null) {
    return { traceId: traceId128 || propagation === "w3c" ? randomId128() : randomId(), spanId: randomId(), parentId: "", sampled, tracestate: "" };
  }
  return { traceId: ex.ctx.traceId, spanId: randomId(), parentId: ex.ctx.spanId, sampled, tracestate: ex.ctx.tracestate };
}

/** The headers the upstream gets for `s` (Envoy's injectContext), replacing the client's of the same names. */
export function injectHeaders(propagation: "b3" | "w3c" | "b3+w3c", s: SpanIds): [string, string][] {
  const out: [string, string][] = [];
  if (propagation !== "w3c") {
    out.push(["x-b3-traceid", s.traceId], ["x-b3-spanid", s.spanId]);
    if (s.parentId !== "") out.push(["x-b3-parentspanid", s.parentId]);
    out.push(["x-b3-sampled", s.sampled ? "1" : "0"]);
  }
  if (propagation !== "b3") {
    const tid = s.traceId.length === 32 ? s.traceId : ZERO32.slice(16) + s.traceId;
    out.push(["traceparent", `00-${tid}-${s.spanId}-${s.sampled ? "01" : "00"}`]);
    if (s.tracestate !== "") out.push(["tracestate", s.tracestate]);
  }
  return out;
}

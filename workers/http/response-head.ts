// The client's head of a proxied response, assembled from bytes: the upstream's
// status line and the field lines that pass are copied as byte ranges, then the
// gateway's own lines (route operations, server, x-envoy-upstream-service-time,
// framing, connection) and, in the same buffer, the first body bytes, so that
// a small response is one write.
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { reasonOf } from "../../src/model/http-reasons.ts";
import { latin1, MAX_HEADERS } from "./fields.ts";
import { FRAME_CHUNKED, hasOps, opLines, overridden } from "./heads-out.ts";
import { fieldCount, fieldKinds, fieldNameEnds, fieldStarts, K_LENGTH, K_PASS, K_UPGRADE, type ResponseHead } from "./parse-response.ts";

type LatinBuffer = Buffer & { latin1Write(s: string, offset: number, length: number): number; utf8Write(s: string, offset: number, length: number): number };

/** Configured text (route header operations, the server name) beyond ASCII goes out as UTF-8, as on the request side. */
const NON_ASCII = /[^\x00-\x7f]/;

/** Byte ranges to copy, as [start, end) pairs. */
const runs = new Int32Array(2 * (MAX_HEADERS + 2));

/** Encoded `server: …\r\nx-envoy-upstream-service-time: N\r\n\r\n` for small N, per server name. */
let suffixServer = "";
const suffixCache: (Buffer | undefined)[] = [];

function plainSuffix(server: string, ms: number): Buffer {
  if (server !== suffixServer) {
    suffixServer = server;
    suffixCache.length = 0;
  }
  let b = ms < 64 ? suffixCache[ms] : undefined;
  if (b === undefined) {
    b = Buffer.from("server: " + server + "\r\nx-envoy-upstream-service-time: " + ms + "\r\n\r\n", "utf8");
    if (ms < 64) suffixCache[ms] = b;
  }
  return b;
}

let lastServer = "";
let lastServerAscii = true;
function asciiServer(server: string): boolean {
  if (server !== lastServer) {
    lastServer = server;
    lastServerAscii = !NON_ASCII.test(server);
  }
  return lastServerAscii;
}

/** What plan() decided for the head being built: prefix text, cached suffix bytes or suffix text (runs in `runs`). */
let planPrefix = "";
let planRuns = 0;
let planCached: Buffer | null = null;
let planSuffix = "";
/** Bytes of planSuffix: its length, or its UTF-8 size when it is not ASCII (-1: ASCII). */
let planSuffixUtf8 = -1;

/**
 * The client's response head for `r`, whose bytes are b[hs, he) (parsed last by
 * parseResponseHead), followed by body bytes b[bs, be).
 */
export function buildResponseHead(
  r: ResponseHead,
  b: Buffer,
  hs: number,
  ops: HeaderOperations,
  server: string,
  serviceTimeMs: number,
  framing: number,
  connection: string,
  bs: number,
  be: number,
): Buffer {
  const size = plan(r, b, hs, ops, server, serviceTimeMs, framing, connection, bs, be);
  const out = Buffer.allocUnsafe(size);
  emit(out, b, bs, be);
  return out;
}

/** Where writeResponseHead put the head it wrote last: out[headFrom, headFrom + its size). */
export let headFrom = 0;

/**
 * The plain suffix (plainSuffix's Buffer) last copied to the middle of a
 * scratch, and that scratch: a head ending with the same suffix is written to
 * end where it starts and leaves it in place (one Buffer#copy less per
 * response). Any other head written into that scratch past its middle drops it.
 */
let anchorOut: Buffer | null = null;
let anchorSuffix: Buffer | null = null;

/**
 * buildResponseHead into `out` (a buffer the caller reuses and writes from
 * nowhere else): returns the size written, at out[headFrom, headFrom + size),
 * or -1 (nothing written) when it does not fit.
 */
export function writeResponseHead(
  out: Buffer,
  r: ResponseHead,
  b: Buffer,
  hs: number,
  ops: HeaderOperations,
  server: string,
  serviceTimeMs: number,
  framing: number,
  connection: string,
  bs: number,
  be: number,
): number {
  const size = plan(r, b, hs, ops, server, serviceTimeMs, framing, connection, bs, be);
  const cached = planCached;
  const mid = out.length >>> 1;
  if (cached !== null) {
    // the status line and the upstream's lines end at the middle, the suffix (left there by an earlier
    // head, else copied) follows, then the body bytes
    const tail = cached.length + be - bs;
    if (size - tail <= mid && mid + tail <= out.length) {
      if (anchorOut !== out || anchorSuffix !== cached) {
        cached.copy(out, mid);
        anchorOut = out;
        anchorSuffix = cached;
      }
      headFrom = mid - (size - tail);
      emitHead(out as LatinBuffer, headFrom, b);
      if (be > bs) b.copy(out, mid + cached.length, bs, be);
      return size;
    }
  }
  if (size > out.length) return -1;
  if (out === anchorOut && size > mid) anchorOut = null;
  headFrom = 0;
  emit(out, b, bs, be);
  return size;
}

/** Decide the head's pieces (the plan* variables, `runs`); returns its size with the body bytes. */
function plan(
  r: ResponseHead,
  b: Buffer,
  hs: number,
  ops: HeaderOperations,
  server: string,
  serviceTimeMs: number,
  framing: number,
  connection: string,
  bs: number,
  be: number,
): number {
  let prefix = "";
  let nr = 0;
  let run = -1;
  if (r.minor === 1 && r.hasReason) run = hs;
  else if (r.hasReason) {
    prefix = "HTTP/1.1";
    run = hs + 8; // " 200 OK\r\n" as received
  } else prefix = "HTTP/1.1 " + r.status + " " + reasonOf(r.status) + "\r\n";
  const withOps = hasOps(ops);
  const upgrade = r.status === 101;
  let sawLength = false;
  const n = fieldCount;
  for (let k = 0; k < n; k++) {
    const kind = fieldKinds[k]!;
    let keep = kind === K_PASS || (kind === K_UPGRADE && upgrade);
    if (kind === K_LENGTH) {
      keep = !sawLength;
      sawLength = true;
    }
    if (keep && withOps && overridden(ops, latin1(b, fieldStarts[k]!, fieldNameEnds[k]!).toLowerCase())) keep = false;
    if (keep) {
      if (run < 0) run = fieldStarts[k]!;
    } else if (run >= 0) {
      runs[nr++] = run;
      runs[nr++] = fieldStarts[k]!;
      run = -1;
    }
  }
  if (run >= 0) {
    runs[nr++] = run;
    runs[nr++] = fieldStarts[n]!;
  }
  let cached: Buffer | null = null;
  let suffix = "";
  if (!withOps && framing !== FRAME_CHUNKED && connection === "") cached = plainSuffix(server, serviceTimeMs);
  else {
    if (withOps) suffix = opLines(ops);
    suffix += "server: " + server + "\r\nx-envoy-upstream-service-time: " + serviceTimeMs + "\r\n";
    if (framing === FRAME_CHUNKED) suffix += "transfer-encoding: chunked\r\n";
    if (connection !== "" && !upgrade) suffix += "connection: " + connection + "\r\n";
    suffix += "\r\n";
  }
  const utf8 = cached === null && (withOps || !asciiServer(server)) && NON_ASCII.test(suffix) ? Buffer.byteLength(suffix, "utf8") : -1;
  let size = prefix.length + (cached !== null ? cached.length : utf8 >= 0 ? utf8 : suffix.length) + (be - bs);
  for (let i = 0; i < nr; i += 2) size += runs[i + 1]! - runs[i]!;
  planPrefix = prefix;
  planRuns = nr;
  planCached = cached;
  planSuffix = suffix;
  planSuffixUtf8 = utf8;
  return size;
}

/** Write the planned status line and upstream lines into `out` from `pos`; returns where they end. */
function emitHead(out: LatinBuffer, pos: number, b: Buffer): number {
  const prefix = planPrefix;
  const nr = planRuns;
  if (prefix.length > 0) pos += out.latin1Write(prefix, pos, prefix.length);
  for (let i = 0; i < nr; i += 2) pos += b.copy(out, pos, runs[i]!, runs[i + 1]!);
  return pos;
}

/** Write the planned head and the body bytes b[bs, be) into `o` from offset 0. */
function emit(o: Buffer, b: Buffer, bs: number, be: number): void {
  const out = o as LatinBuffer;
  const cached = planCached;
  const suffix = planSuffix;
  let pos = emitHead(out, 0, b);
  if (cached !== null) pos += cached.copy(out, pos);
  else if (planSuffixUtf8 >= 0) pos += out.utf8Write(suffix, pos, planSuffixUtf8);
  else pos += out.latin1Write(suffix, pos, suffix.length);
  if (be > bs) b.copy(out, pos, bs, be);
}

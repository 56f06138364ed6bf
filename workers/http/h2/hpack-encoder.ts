// HPACK encoding (RFC 7541 §6) for the header blocks gangway sends.
//
// Policy, per field:
// - full match in the static table (":status: 200") → indexed;
// - authorization, proxy-authorization, cookie, set-cookie → literal never
//   indexed (§7.1.3: a later hop must not index them either);
// - fields whose values change from response to response (VOLATILE below:
//   content-length, date, etag, x-envoy-upstream-service-time, ...) or any value
//   over 128 octets → literal without indexing: indexing them would only evict
//   the entries that do repeat;
// - everything else (server, content-type, vary, x-powered-by, :status 201 ...)
//   → indexed when the dynamic table has it, else literal with incremental
//   indexing, so the second response on a connection sends these in one octet.
// The name of a literal is sent as a static index when the static table has it.
//
// Huffman: off by default. In bench/hpack.bench.ts a proxied response (steady
// state) costs ~116 ns raw against ~330 ns Huffman-coded, to save 15 of 73
// octets; the repeating fields are one octet either way.
//
// Names and values are latin1 strings, one char per octet (what the codec
// holds); a char above 0xFF would be sent as its low octet.
//
// Atomicity: encode() returns -1 before it changes the table when `out` may be
// too small. Each field is checked against its worst case (name + value + 3
// octets when both are shorter than 127, +5 for each longer one) before it is
// written; at the first insertion, or when size updates are owed (+6), the rest
// of the block is checked at once. The worst case is exact for a literal with a
// literal name, so -1 can come back when an indexed encoding would have fit;
// the caller grows and retries. (A pass over all fields before encoding,
// which this replaced, made the bench's proxied response 133 ns against 116.)
import { huffmanEncode, huffmanLength } from "./hpack-huffman.ts";
import { STATIC_COUNT, STATIC_NAME, STATIC_NAMES, STATIC_VALUES } from "./hpack-static.ts";
import { DynamicTable } from "./hpack-table.ts";

/** Our table size never exceeds this, whatever the peer allows: 4096 covers a response's repeating fields. */
const OWN_TABLE_MAX = 4096;
/** Values longer than this are not indexed: they would crowd out the short repeating ones. */
const INDEX_VALUE_MAX = 128;

// NAME_POLICY: name → its first static index (low 8 bits) and flags.
const HAS_STATIC_VALUES = 0x100;
const VOLATILE = 0x200;
const NEVER = 0x400;
const NAME_POLICY = new Map<string, number>();
for (const [name, index] of STATIC_NAME) {
  const valued = STATIC_VALUES[index] !== "" || STATIC_NAMES[index + 1] === name;
  NAME_POLICY.set(name, index | (valued ? HAS_STATIC_VALUES : 0));
}
const VOLATILE_NAMES = [
  "content-length", "content-range", "date", "expires", "last-modified", "age", "etag", "location",
  "x-envoy-upstream-service-time", "x-request-id", "traceparent", "tracestate", "grpc-message", ":path",
];
for (const name of VOLATILE_NAMES) NAME_POLICY.set(name, (NAME_POLICY.get(name) ?? 0) | VOLATILE);
for (const name of ["authorization", "proxy-authorization", "cookie", "set-cookie"]) NAME_POLICY.set(name, (NAME_POLICY.get(name) ?? 0) | NEVER);

type Latin1Write = (this: Uint8Array, s: string, offset: number, length: number) => number;
const latin1Write = (Buffer.prototype as unknown as { latin1Write: Latin1Write }).latin1Write;

export interface HpackEncoderOptions {
  /** Huffman-code a string when that is shorter. Default false (see the top of this file). */
  huffman?: boolean;
}

/** The encoder's dynamic table, with an index of its entries by name and value. */
class IndexedTable extends DynamicTable {
  /** Insertions so far: entry number k (0-based) is dynamic index inserted - k while it is in the table. */
  inserted = 0;
  /** name → value → insertion number, for the entries in the table. */
  readonly byName = new Map<string, Map<string, number>>();

  add(name: string, value: string): void {
    if (!this.insert(name, value)) return;
    let values = this.byName.get(name);
    if (values === undefined) this.byName.set(name, (values = new Map()));
    values.set(value, this.inserted++);
  }

  protected override evicted(name: string, value: string): void {
    const values = this.byName.get(name)!;
    values.delete(value);
    if (values.size === 0) this.byName.delete(name);
  }
}

export class HpackEncoder {
  private readonly huffman: boolean;
  /** Its capacity is the table size in force (what our last size update announced, or 4096). */
  private readonly table = new IndexedTable(OWN_TABLE_MAX, OWN_TABLE_MAX);
  /** Size updates owed at the start of the next block: the smallest limit since the last block, then the current one (§4.2). */
  private pendingMin = -1;

  constructor(options: HpackEncoderOptions = {}) {
    this.huffman = options.huffman ?? false;
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE changed (initially 4096): the next block starts with a size update. */
  setMaxTableSize(n: number): void {
    const limit = Math.max(0, Math.min(n, OWN_TABLE_MAX));
    if (this.pendingMin < 0 || limit < this.pendingMin) this.pendingMin = limit;
    this.table.capacity = limit;
  }

  /**
   * Encode fields 0..count-1 into out from off; returns the new end, or -1
   * (state unchanged) if out may be too small.
   */
  encode(names: readonly string[], values: readonly string[], count: number, out: Uint8Array, off: number): number {
    // Room: nothing changes the table before the first insertion (or size
    // update) of a block, so until then each field is checked alone, just
    // before it is written, and -1 leaves only octets in `out`. Once the table
    // is about to change, the rest of the block is checked as a whole first.
    let p = off;
    let checked = false;
    if (this.pendingMin >= 0) {
      if (p + 6 + worstCase(names, values, 0, count) > out.length) return -1;
      checked = true;
      const t = this.table;
      const last = t.capacity;
      if (this.pendingMin < last) {
        // The decoder evicts down to the smaller size first: so must we.
        p = writeInt(out, p, 0x20, 0x1f, this.pendingMin);
        t.capacity = this.pendingMin;
        t.evict(0);
        t.capacity = last;
      }
      p = writeInt(out, p, 0x20, 0x1f, last);
      this.pendingMin = -1;
      t.evict(0);
    }
    for (let i = 0; i < count; i++) {
      const name = names[i]!;
      const value = values[i]!;
      if (!checked && p + fieldWorst(name.length, value.length) > out.length) return -1;
      const policy = NAME_POLICY.get(name) ?? 0;
      const staticIndex = policy & 0xff;
      if (policy & HAS_STATIC_VALUES) {
        let j = staticIndex;
        while (j <= STATIC_COUNT && STATIC_NAMES[j] === name && STATIC_VALUES[j] !== value) j++;
        if (j <= STATIC_COUNT && STATIC_NAMES[j] === name) {
          p = writeInt(out, p, 0x80, 0x7f, j);
          continue;
        }
      }
      if (policy & (VOLATILE | NEVER) || value.length > INDEX_VALUE_MAX) {
        // Literal without indexing (0000) or never indexed (0001), 4-bit name index.
        p = writeInt(out, p, policy & NEVER ? 0x10 : 0x00, 0x0f, staticIndex);
        if (staticIndex === 0) p = this.writeString(out, p, name);
        p = this.writeString(out, p, value);
        continue;
      }
      const k = this.table.byName.get(name)?.get(value);
      if (k !== undefined) {
        p = writeInt(out, p, 0x80, 0x7f, STATIC_COUNT + this.table.inserted - k);
        continue;
      }
      if (!checked) {
        if (p + worstCase(names, values, i, count) > out.length) return -1;
        checked = true;
      }
      // Literal with incremental indexing (01), 6-bit name index.
      p = writeInt(out, p, 0x40, 0x3f, staticIndex);
      if (staticIndex === 0) p = this.writeString(out, p, name);
      p = this.writeString(out, p, value);
      this.table.add(name, value);
    }
    return p;
  }

  private writeString(out: Uint8Array, p: number, s: string): number {
    const len = s.length;
    if (this.huffman && len > 2) {
      const h = huffmanLength(s);
      if (h < len) return huffmanEncode(s, out, writeInt(out, p, 0x80, 0x7f, h));
    }
    p = writeInt(out, p, 0, 0x7f, len);
    if (len > 16) return p + latin1Write.call(out, s, p, len);
    for (let k = 0; k < len; k++) out[p + k] = s.charCodeAt(k);
    return p + len;
  }
}

/**
 * The most octets a field can take: the larger of a literal name (first octet,
 * name length, name) and a name index (two octets), then the value's length
 * and octets. A length takes one octet below 127, at most six; Huffman is used
 * only when shorter. Exact for a literal with a literal name.
 */
function fieldWorst(n: number, v: number): number {
  return n + v + (n < 127 ? 2 : 7) + (v < 127 ? 1 : 6);
}

/** fieldWorst summed over fields from..count-1. */
function worstCase(names: readonly string[], values: readonly string[], from: number, count: number): number {
  let worst = 0;
  for (let i = from; i < count; i++) worst += fieldWorst(names[i]!.length, values[i]!.length);
  return worst;
}

/** An integer with an N-bit prefix (§5.1): first octet `flags | ...`. At most 6 octets for values < 2^32. */
function writeInt(out: Uint8Array, p: number, flags: number, prefixMax: number, v: number): number {
  if (v < prefixMax) {
    out[p] = flags | v;
    return p + 1;
  }
  out[p++] = flags | prefixMax;
  v -= prefixMax;
  while (v >= 0x80) {
    out[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[p] = v;
  return p + 1;
}

// HPACK decoding (RFC 7541 §3, §6) for the header blocks a client sends.
//
// Allocation: an indexed field (static or dynamic) emits the strings the
// tables hold, so the steady state of a client that indexes its requests (h2load,
// browsers, curl after the first request) allocates nothing per field. A
// literal string costs one latin1 string: raw strings are sliced straight from
// the block, Huffman strings are decoded into a scratch buffer first.
import { HpackError } from "./hpack-error.ts";
import { huffmanDecode, huffmanDecodedMax } from "./hpack-huffman.ts";
import { STATIC_COUNT, STATIC_NAMES, STATIC_VALUES } from "./hpack-static.ts";
import { DynamicTable, ENTRY_OVERHEAD } from "./hpack-table.ts";

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;
// Bun's Buffer#latin1Slice works on any Uint8Array: one JS char per octet,
// no Buffer wrapper made per block.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Latin1Slice }).latin1Slice;

/** Integers (indices, lengths, sizes) above this are rejected: no header block needs more. */
const INT_MAX = 0x7fffffff;

export class HpackDecoder {
  private readonly max: number;
  /** The dynamic table; its capacity is the last size update, initially max. */
  private readonly table: DynamicTable;
  private scratch: Uint8Array = new Uint8Array(256);
  /** Where readInt / readString stopped (a field, not a module variable: each decoder its own). */
  private p = 0;
  /** The value of the literal field literal() read last. */
  private litValue = "";
  /** Where the field being emitted starts in the block (its representation's first octet), for emit to read. */
  fieldStart = 0;

  /** `maxTableSize`: what we announced as SETTINGS_HEADER_TABLE_SIZE (default 4096); a dynamic table size update above it is an HpackError. */
  constructor(maxTableSize = 4096) {
    if (!(maxTableSize >= 0 && maxTableSize <= INT_MAX)) throw new RangeError(`maxTableSize ${maxTableSize}`);
    this.max = maxTableSize;
    this.table = new DynamicTable(maxTableSize, maxTableSize);
  }

  /**
   * Decode one complete header block from block[start, end), calling
   * emit(name, value) for each field in order; returns the header list size
   * (RFC 9113 §6.5.2). Past maxListSize, emit is no longer called but the
   * block is still decoded so the dynamic table stays in sync.
   * Throws HpackError on malformed input.
   */
  decode(block: Uint8Array, start: number, end: number, emit: (name: string, value: string) => void, maxListSize: number): number {
    let p = start;
    let listSize = 0;
    let fields = false;
    while (p < end) {
      const b = block[p]!;
      this.fieldStart = p;
      let name: string;
      let value: string;
      if (b >= 0x80) {
        // Indexed field (§6.1).
        let index = b & 0x7f;
        p++;
        if (index === 0x7f) {
          index = this.readInt(block, p - 1, end, 0x7f);
          p = this.p;
        } else if (index === 0) throw new HpackError("HPACK: index 0");
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index]!;
          value = STATIC_VALUES[index]!;
        } else {
          const slot = this.slot(index);
          name = this.table.names[slot]!;
          value = this.table.values[slot]!;
        }
      } else if (b >= 0x40) {
        // Literal with incremental indexing (§6.2.1).
        name = this.literal(block, p, end, 0x3f);
        value = this.litValue;
        p = this.p;
        this.table.insert(name, value);
      } else if (b >= 0x20) {
        // Dynamic table size update (§6.3): only before the first field (§4.2).
        if (fields) throw new HpackError("HPACK: table size update after a field");
        const n = this.readInt(block, p, end, 0x1f);
        p = this.p;
        if (n > this.max) throw new HpackError(`HPACK: table size update to ${n} above ${this.max}`);
        this.table.capacity = n;
        this.table.evict(0);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001) (§6.2.2, §6.2.3).
        name = this.literal(block, p, end, 0x0f);
        value = this.litValue;
        p = this.p;
      }
      fields = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize <= maxListSize) emit(name, value);
    }
    return listSize;
  }

  /** The dynamic table's size in octets (RFC 7541 §4.1). For tests and debugging. */
  get tableSize(): number {
    return this.table.size;
  }

  /** The dynamic table, newest first. For tests and debugging (allocates). */
  tableEntries(): [string, string][] {
    const t = this.table;
    const out: [string, string][] = [];
    for (let i = 1; i <= t.count; i++) out.push([t.names[t.slot(i)]!, t.values[t.slot(i)]!]);
    return out;
  }

  /** The slot of dynamic index `index` (above the static table). */
  private slot(index: number): number {
    const d = index - STATIC_COUNT;
    const t = this.table;
    if (d > t.count) throw new HpackError(`HPACK: index ${index} past the table (${STATIC_COUNT + t.count})`);
    return t.slot(d);
  }

  private nameAt(index: number): string {
    return index <= STATIC_COUNT ? STATIC_NAMES[index]! : this.table.names[this.slot(index)]!;
  }

  /**
   * A literal field (§6.2) at block[p], its name index in a prefix of
   * `prefixMax` bits (0: a literal name follows): returns the name, leaves the
   * value in litValue and this.p past the field.
   */
  private literal(block: Uint8Array, p: number, end: number, prefixMax: number): string {
    const index = this.readInt(block, p, end, prefixMax);
    const name = index === 0 ? this.readString(block, this.p, end) : this.nameAt(index);
    this.litValue = this.readString(block, this.p, end);
    return name;
  }

  /** An integer with an N-bit prefix (§5.1) starting at block[p]; sets this.p past it. */
  private readInt(block: Uint8Array, p: number, end: number, prefixMax: number): number {
    let v = block[p++]! & prefixMax;
    if (v < prefixMax) {
      this.p = p;
      return v;
    }
    for (let shift = 0; ; shift += 7) {
      if (p >= end) throw new HpackError("HPACK: truncated integer");
      const b = block[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (v > INT_MAX) throw new HpackError("HPACK: integer overflow");
      if (b < 0x80) break;
      // A fifth continuation octet can only add zeros or overflow.
      if (shift >= 28) throw new HpackError("HPACK: integer overflow");
    }
    this.p = p;
    return v;
  }

  /** A string literal (§5.2) starting at block[p]; sets this.p past it. */
  private readString(block: Uint8Array, p: number, end: number): string {
    if (p >= end) throw new HpackError("HPACK: truncated block");
    const huffman = block[p]! & 0x80;
    let len = block[p]! & 0x7f;
    if (len === 0x7f) {
      len = this.readInt(block, p, end, 0x7f);
      p = this.p;
    } else p++;
    if (len > end - p) throw new HpackError("HPACK: string past the end of the block");
    this.p = p + len;
    if (len === 0) return "";
    if (huffman === 0) return latin1Slice.call(block, p, p + len);
    let out = this.scratch;
    const max = huffmanDecodedMax(len);
    if (out.length < max) out = this.scratch = new Uint8Array(Math.max(max, out.length * 2));
    const n = huffmanDecode(block, p, p + len, out);
    if (n < 0) throw new HpackError("HPACK: bad Huffman string");
    return latin1Slice.call(out, 0, n);
  }
}

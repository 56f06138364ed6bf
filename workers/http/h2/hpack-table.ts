// The HPACK dynamic table (RFC 7541 §2.3.2, §4), kept by the decoder and by
// the encoder alike: a ring of slots, newest at head - 1, so that inserting
// and evicting move two indices, never the entries. `capacity` is the size in
// force (the last size update); an entry larger than it empties the table and
// is not added (§4.4). The encoder hears each eviction (evicted) to keep its
// name → value index in step.

export const ENTRY_OVERHEAD = 32; // RFC 7541 §4.1

export class DynamicTable {
  size = 0;
  count = 0;
  head = 0;
  readonly mask: number;
  readonly names: string[];
  readonly values: string[];

  /** `maxSize`: the largest capacity this table will ever have (every entry takes ≥ 32 octets, so maxSize/32 slots suffice). */
  constructor(
    maxSize: number,
    public capacity: number,
  ) {
    let slots = 1;
    while (slots < maxSize / ENTRY_OVERHEAD) slots *= 2;
    this.mask = slots - 1;
    this.names = new Array<string>(slots).fill("");
    this.values = new Array<string>(slots).fill("");
  }

  /** The slot of dynamic entry `d` (1: the newest; the caller checked d ≤ count). */
  slot(d: number): number {
    return (this.head - d) & this.mask;
  }

  /** Add an entry; false when it is larger than the table (which is then empty). */
  insert(name: string, value: string): boolean {
    const need = name.length + value.length + ENTRY_OVERHEAD;
    if (need > this.capacity) {
      this.evict(this.capacity);
      return false;
    }
    this.evict(need);
    const s = this.head;
    this.names[s] = name;
    this.values[s] = value;
    this.head = (s + 1) & this.mask;
    this.count++;
    this.size += need;
    return true;
  }

  /** Evict the oldest entries until `room` more octets fit within capacity. */
  evict(room: number): void {
    while (this.count > 0 && this.size + room > this.capacity) {
      const s = (this.head - this.count) & this.mask;
      const name = this.names[s]!;
      const value = this.values[s]!;
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
      this.names[s] = "";
      this.values[s] = "";
      this.count--;
      this.evicted(name, value);
    }
  }

  /** An entry left the table. */
  protected evicted(_name: string, _value: string): void {}
}

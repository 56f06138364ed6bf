/**
 * Open TCP sessions of a worker (drain, sweep, byte counters): an array with
 * each session's slot in it, removed by moving the last one into the slot.
 * A Set costed a hash-table insert and delete per connection, and rehashing
 * (a native allocation) as the count of open sessions went up and down.
 */
export class SessionList<T extends { slot: number }> {
  private list: T[] = [];
  get size(): number {
    return this.list.length;
  }
  add(t: T): void {
    t.slot = this.list.length;
    this.list.push(t);
  }
  delete(t: T): void {
    const i = t.slot;
    if (i < 0) return;
    const last = this.list.pop()!;
    if (last !== t) {
      this.list[i] = last;
      last.slot = i;
    }
    t.slot = -1;
  }
  has(t: T): boolean {
    return t.slot >= 0;
  }
  [Symbol.iterator](): IterableIterator<T> {
    return this.list[Symbol.iterator]();
  }
}

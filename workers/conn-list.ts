/** ConnList's links in each member (owned by the list it is in; null when in none). */
export interface Links<T> {
  prevConn: T | null;
  nextConn: T | null;
}

/**
 * Connections (a port's clients, a worker's TCP sessions): a doubly linked list through the
 * connections themselves (two fields each), not a Set (a Set entry costs
 * ~50 bytes of table per idle connection). Iteration reads the next link
 * before handing out a connection, so the connection handed out may leave the
 * list (close) while the loop runs; another one leaving then ends the loop
 * early (sweeps: checked on the next one). Connections added during a loop are
 * not visited (they go first).
 */
export class ConnList<T extends Links<T>> implements Iterable<T> {
  private first: T | null = null;
  size = 0;

  has(c: T): boolean {
    return c.prevConn !== null || this.first === c;
  }

  add(c: T): void {
    if (this.has(c)) return;
    const f = this.first;
    c.prevConn = null;
    c.nextConn = f;
    if (f !== null) f.prevConn = c;
    this.first = c;
    this.size++;
  }

  /** Take `c` out (nothing when it is not in the list). */
  delete(c: T): void {
    if (!this.has(c)) return;
    const p = c.prevConn;
    const n = c.nextConn;
    if (p === null) this.first = n;
    else p.nextConn = n;
    if (n !== null) n.prevConn = p;
    c.prevConn = null;
    c.nextConn = null;
    this.size--;
  }

  [Symbol.iterator](): Iterator<T> {
    let c = this.first;
    return {
      next(): IteratorResult<T> {
        if (c === null) return { done: true, value: undefined };
        const value = c;
        c = c.nextConn;
        return { done: false, value };
      },
    };
  }
}

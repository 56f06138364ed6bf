// The first bytes of a connection, kept until they parse (a TLS ClientHello, a
// PROXY header): appended to a buffer whose capacity doubles, so a client that
// sends them a few bytes per read costs copies linear in their length. Joining
// the bytes so far with each new read (Buffer.concat) cost a copy of all of
// them per read: a 60 KB hello sent 4 bytes at a time was ~450 MB of copying.

export class FirstBytes {
  private store: Buffer | null = null;
  private len = 0;
  /** `store` is ours (not the reader's chunk kept as it came), so bytes may be written after `len`. */
  private owned = false;
  /** Bytes copied so far (tests: stays within a small multiple of the bytes kept). */
  copied = 0;

  /** Append `chunk`; the bytes so far, as a view valid until the next append. */
  append(chunk: Buffer): Buffer {
    if (this.store === null) {
      // the usual case: everything in one read, kept as it came (no copy)
      this.store = chunk;
      this.len = chunk.length;
      return chunk;
    }
    const need = this.len + chunk.length;
    if (!this.owned || need > this.store.length) {
      const next = Buffer.allocUnsafe(Math.max(need, 2 * this.len, 1024));
      this.store.copy(next, 0, 0, this.len);
      this.copied += this.len;
      this.store = next;
      this.owned = true;
    }
    chunk.copy(this.store, this.len);
    this.copied += chunk.length;
    this.len = need;
    return this.store.subarray(0, this.len);
  }

  /** Bytes kept. */
  get length(): number {
    return this.len;
  }

  /** Forget the bytes (they were handed on, or the connection is refused). */
  clear(): void {
    this.store = null;
    this.len = 0;
    this.owned = false;
  }
}

// Bun's socket.write() is unbuffered: it returns how many bytes the kernel
// took. An Outbox keeps the rest, in order, until `drain`; its `write`
// returning false is the backpressure signal (pause the source).
import type { Socket } from "bun";

export class Outbox {
  private q: Uint8Array[] = [];
  private head = 0;
  /** Bytes waiting. */
  queued = 0;

  get empty(): boolean {
    return this.queued === 0;
  }

  /** Write or queue `b` (which must not be reused by the caller). True when the kernel took it all. */
  write(s: Socket<any>, b: Uint8Array): boolean {
    if (this.queued > 0) {
      this.q.push(b);
      this.queued += b.length;
      return false;
    }
    const n = s.write(b);
    if (n === b.length) return true;
    this.keep(b, n);
    return false;
  }

  /** Queue what a short write of `b` left (`n`: what the socket took, ≤ 0 for none). */
  keep(b: Uint8Array, n: number): void {
    const rest = n > 0 ? b.subarray(n) : b;
    this.q.push(rest);
    this.queued += rest.length;
  }

  /**
   * Write a head given as text: written as a string (no Buffer allocation) when
   * it is ASCII, so that a short write can be resumed at the same offset.
   */
  writeText(s: Socket<any>, text: string, ascii: boolean): boolean {
    if (!ascii) return this.write(s, Buffer.from(text, "latin1"));
    if (this.queued > 0) return this.write(s, Buffer.from(text, "latin1"));
    const n = s.write(text);
    if (n === text.length) return true;
    const rest = Buffer.from(n > 0 ? text.slice(n) : text, "latin1");
    this.q.push(rest);
    this.queued += rest.length;
    return false;
  }

  /** On `drain`: write what waits. True when nothing is left. */
  flush(s: Socket<any>): boolean {
    const q = this.q;
    while (this.head < q.length) {
      const b = q[this.head]!;
      const n = s.write(b);
      if (n < 0) return false;
      this.queued -= Math.max(n, 0);
      if (n < b.length) {
        q[this.head] = b.subarray(n);
        return false;
      }
      this.head++;
    }
    q.length = 0;
    this.head = 0;
    this.queued = 0;
    return true;
  }

  clear(): void {
    this.q.length = 0;
    this.head = 0;
    this.queued = 0;
  }
}

// The queue of bytes a TCP session's side has not taken yet (workers/tcp/sides.ts Pending):
// whatever the pushes and partial writes, the bytes come out once each, in order, and
// `bytes` says how many wait.
import { describe, expect, test } from "bun:test";
import { Pending } from "../../workers/tcp/sides.ts";

/** A side taking at most `room` bytes per flush (then 0 or -1 until given more room). */
class Side {
  got: number[] = [];
  room = 0;
  write(b: Uint8Array): number {
    if (this.room <= 0) return this.room < 0 ? -1 : 0;
    const n = Math.min(this.room, b.length);
    this.got.push(...b.subarray(0, n));
    this.room -= n;
    return n;
  }
}

function rng(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) >>> 0) % 1000) / 1000;
}

describe("Pending", () => {
  test("seeded pushes and partial flushes: every byte once, in order; bytes counts what waits", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const q = new Pending();
      const side = new Side();
      const sent: number[] = [];
      let v = 0;
      for (let step = 0; step < 60; step++) {
        if (r() < 0.55) {
          const b = new Uint8Array(1 + Math.floor(r() * 7));
          for (let i = 0; i < b.length; i++) b[i] = v++ & 0xff;
          sent.push(...b);
          q.push(b);
        } else {
          side.room = r() < 0.1 ? -1 : Math.floor(r() * 12);
          const done = q.flush(side);
          expect(done).toBe(side.got.length === sent.length);
        }
        expect(q.bytes).toBe(sent.length - side.got.length);
      }
      side.room = Infinity;
      expect(q.flush(side)).toBe(true);
      expect(side.got).toEqual(sent);
      expect(q.bytes).toBe(0);
    }
  });

  test("clear drops what waits; the queue works after", () => {
    const q = new Pending();
    const side = new Side();
    q.push(Uint8Array.of(1, 2));
    q.push(Uint8Array.of(3));
    q.push(Uint8Array.of(4));
    side.room = 1;
    expect(q.flush(side)).toBe(false);
    q.clear();
    expect(q.bytes).toBe(0);
    side.room = 10;
    expect(q.flush(side)).toBe(true);
    q.push(Uint8Array.of(5));
    q.push(Uint8Array.of(6));
    expect(q.flush(side)).toBe(true);
    expect(side.got).toEqual([1, 5, 6]);
  });
});

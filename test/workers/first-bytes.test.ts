// The first bytes of a connection (ClientHello, PROXY header) kept across reads:
// the bytes come out whole and in order, and a hello sent a few bytes per read
// costs copies linear in its length (before: each read copied all bytes so far).
import { describe, expect, test } from "bun:test";
import { FirstBytes } from "../../workers/first-bytes.ts";

function bytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

describe("FirstBytes", () => {
  test("one read is kept as it came (no copy)", () => {
    const f = new FirstBytes();
    const b = bytes(500);
    expect(f.append(b)).toBe(b);
    expect(f.copied).toBe(0);
  });

  test.each([1, 3, 4, 1000, 20000])("60 KB in %p-byte reads: whole, in order, copies under 4x the length", (step) => {
    const all = bytes(60_000);
    const f = new FirstBytes();
    let view: Buffer = Buffer.alloc(0);
    for (let i = 0; i < all.length; i += step) view = f.append(all.subarray(i, i + step));
    expect(view.equals(all)).toBe(true);
    expect(f.length).toBe(all.length);
    expect(f.copied).toBeLessThan(4 * all.length);
  });

  test("the reader's own first chunk is never written into", () => {
    const first = bytes(10);
    const copy = Buffer.from(first);
    const f = new FirstBytes();
    f.append(first);
    const v = f.append(bytes(5));
    expect(first.equals(copy)).toBe(true);
    expect(v.subarray(0, 10).equals(copy)).toBe(true);
  });

  test("cleared, it starts again", () => {
    const f = new FirstBytes();
    f.append(bytes(10));
    f.append(bytes(10));
    f.clear();
    const b = bytes(3);
    expect(f.append(b)).toBe(b);
    expect(f.length).toBe(3);
  });
});

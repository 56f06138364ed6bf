// Stand-in HPACK encoder until hpack.ts has HpackEncoder: every field a
// literal without indexing, new name, no Huffman (valid HPACK, just larger).
function int(out: Uint8Array, at: number, prefixBits: number, first: number, n: number): number {
  const max = (1 << prefixBits) - 1;
  if (n < max) {
    out[at++] = first | n;
    return at;
  }
  out[at++] = first | max;
  n -= max;
  while (n >= 128) {
    out[at++] = (n % 128) + 128;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

export class HpackEncoder {
  setMaxTableSize(_n: number): void {}
  encode(names: readonly string[], values: readonly string[], count: number, out: Uint8Array, off: number): number {
    let p = off;
    for (let i = 0; i < count; i++) {
      const n = names[i]!;
      const v = values[i]!;
      if (p + n.length + v.length + 12 > out.length) return -1;
      if (n === ":status") out[p++] = 0x08; // static name index 8
      else {
        out[p++] = 0;
        p = int(out, p, 7, 0, n.length);
        for (let j = 0; j < n.length; j++) out[p++] = n.charCodeAt(j);
      }
      p = int(out, p, 7, 0, v.length);
      for (let j = 0; j < v.length; j++) out[p++] = v.charCodeAt(j);
    }
    return p;
  }
}

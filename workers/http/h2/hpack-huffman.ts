// HPACK Huffman coding (RFC 7541 §5.2) with tables built at module load from
// the code in hpack-huffman-code.ts.
//
// Decoding reads a byte at a time. The states are the 256 internal nodes of
// the code tree (257 leaves) and DEAD; DECODE[state * 256 + byte] packs the
// state after those eight bits and the symbols completed on the way (at most
// two: no code is shorter than 5 bits). One table read per input byte, and the
// symbols are written without a branch (two stores, the count added).
// Measured (bench/hpack.bench.ts and a Huffman-only loop over five request
// strings, 149 octets): 425 ns against 700 ns for the 16 KB four-bit table
// this replaced and 676 ns for a 2 KB ten-bit peek table; the price is 263 KB
// of table per worker, built in ~1 ms from the four-bit one.
//
// Errors (§5.2): the EOS code met inside the string; padding longer than 7
// bits, or padding that is not the most significant bits of EOS (all ones).
// Both fall out of the state at the end: it must be a node reached from a
// symbol boundary by at most 7 one-bits (ACCEPT).
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./hpack-huffman-code.ts";

const EOS = 256;
// DEAD: the state after an error; every byte from it fails again.
const DEAD = 256;
const STATE = 0x1ff;
// Four-bit table (the building block): next state in bits 0..8, EMIT, symbol in 16..23.
const EMIT = 0x200;
const FAIL4 = 0x400;
const NIBBLE = new Uint32Array(257 * 16);
// Byte table: next state in bits 0..8, symbol count in 9..10, FAIL, symbols in 16..23 and 24..31.
const FAIL = 0x800;
const DECODE = new Uint32Array(257 * 256);
const ACCEPT = new Uint8Array(257);

{
  // The tree: internal nodes 0..255 (0 the root); a child ≥ 0 is an internal
  // node, a child < 0 is the leaf of symbol -child - 1.
  const child = [new Int16Array(256), new Int16Array(256)];
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    const len = HUFFMAN_LENGTHS[sym]!;
    let node = 0;
    for (let b = len - 1; b > 0; b--) {
      const bit = (code >>> b) & 1;
      if (child[bit]![node] === 0) child[bit]![node] = nodes++;
      node = child[bit]![node]!;
    }
    child[code & 1]![node] = -sym - 1;
  }
  if (nodes !== 256) throw new Error(`HPACK Huffman tree has ${nodes} internal nodes, not 256`);

  // ACCEPT: the nodes on the all-ones path from the root, up to depth 7.
  for (let node = 0, depth = 0; depth <= 7; depth++) {
    ACCEPT[node] = 1;
    node = child[1]![node]!;
  }

  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let b = 3; b >= 0; b--) {
        const next = child[(nibble >>> b) & 1]![node]!;
        if (next >= 0) {
          node = next;
          continue;
        }
        const sym = -next - 1;
        if (sym === EOS) {
          entry = FAIL4;
          node = DEAD;
          break;
        }
        entry = EMIT | (sym << 16);
        node = 0;
      }
      NIBBLE[state * 16 + nibble] = entry | node;
    }
  }
  for (let nibble = 0; nibble < 16; nibble++) NIBBLE[DEAD * 16 + nibble] = FAIL4 | DEAD;

  // Each byte entry is two nibble steps composed.
  for (let state = 0; state <= DEAD; state++) {
    for (let byte = 0; byte < 256; byte++) {
      const hi = NIBBLE[state * 16 + (byte >>> 4)]!;
      const lo = NIBBLE[(hi & STATE) * 16 + (byte & 15)]!;
      if ((hi | lo) & FAIL4) {
        DECODE[state * 256 + byte] = FAIL | DEAD;
        continue;
      }
      let entry = lo & STATE;
      let count = 0;
      if (hi & EMIT) entry |= ((hi >>> 16) & 0xff) << (16 + 8 * count++);
      if (lo & EMIT) entry |= ((lo >>> 16) & 0xff) << (16 + 8 * count++);
      DECODE[state * 256 + byte] = (entry | (count << 9)) >>> 0;
    }
  }
}

/**
 * Decode the Huffman string src[start, end) into out from 0. Returns the
 * decoded length, or -1 if the string is malformed. out must hold
 * huffmanDecodedMax(end - start) bytes.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const e = DECODE[(state << 8) | src[i]!]!;
    // Both stores always, the count decides what was written: out has room.
    out[n] = e >>> 16;
    out[n + 1] = e >>> 24;
    n += (e >>> 9) & 3;
    if (e & FAIL) return -1;
    state = e & STATE;
  }
  return ACCEPT[state] ? n : -1;
}

/** The room huffmanDecode needs for `len` input bytes: codes are ≥ 5 bits, plus two for its unconditional stores. */
export function huffmanDecodedMax(len: number): number {
  return Math.floor((len * 8) / 5) + 2;
}

/** The Huffman-encoded length of the latin1 string s, in bytes (with padding). */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LENGTHS[s.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/** Huffman-encode the latin1 string s into out at p; returns the new end. out must hold huffmanLength(s) bytes. */
export function huffmanEncode(s: string, out: Uint8Array, p: number): number {
  let acc = 0; // only the low `bits` bits are meaningful; the rest shifts out
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    let code = CODES[c]!;
    let len = LENGTHS[c]!;
    if (len > 24) {
      // Keep bits + len ≤ 31 so the shift below loses nothing: send the top first.
      acc = (acc << (len - 8)) | (code >>> 8);
      bits += len - 8;
      while (bits >= 8) {
        bits -= 8;
        out[p++] = acc >>> bits;
      }
      code &= 0xff;
      len = 8;
    }
    acc = (acc << len) | code;
    bits += len;
    while (bits >= 8) {
      bits -= 8;
      out[p++] = acc >>> bits;
    }
  }
  // Pad with the most significant bits of EOS: ones.
  if (bits > 0) out[p++] = (acc << (8 - bits)) | (0xff >>> bits);
  return p;
}

const CODES = Uint32Array.from(HUFFMAN_CODES.slice(0, 256));
const LENGTHS = Uint8Array.from(HUFFMAN_LENGTHS.slice(0, 256));

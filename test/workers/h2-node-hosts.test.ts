// RepeatedHostFilter (workers/http/h2-node-hosts.ts), in front of node:http2
// under GANGWAY_H2=node: a header block with `host` more than once loses the
// later ones (when cutting them leaves the HPACK dynamic table alone), every other
// byte passes as it came, whatever the reads' boundaries.
import { describe, expect, test } from "bun:test";
import { RepeatedHostFilter } from "../../workers/http/h2-node-hosts.ts";
import { HpackDecoder } from "../../workers/http/h2/hpack-decoder.ts";
import { HpackEncoder } from "../../workers/http/h2/hpack-encoder.ts";
import { block, CONTINUATION, DATA, END_HEADERS, END_STREAM, frame, HEADERS, PREFACE, SETTINGS } from "./edge/h2-raw.ts";

type F = [string, string];
const GET: F[] = [[":method", "GET"], [":scheme", "http"], [":path", "/p"]];

/** A literal with incremental indexing, new name, no Huffman (it adds an entry to the dynamic table). */
function indexedLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

/** `input` through a filter, cut into reads of `size` bytes. */
function through(input: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  const f = new RepeatedHostFilter((b) => out.push(Buffer.from(b)));
  for (let i = 0; i < input.length; i += size) f.feed(input.subarray(i, i + size));
  return Buffer.concat(out);
}

/** The header blocks in `bytes` (after the preface) decoded in order with one decoder, and the other frames' types. */
function read(bytes: Buffer): { blocks: F[][]; others: number[] } {
  const dec = new HpackDecoder();
  const blocks: F[][] = [];
  const others: number[] = [];
  let frag: Buffer[] = [];
  for (let p = PREFACE.length; p < bytes.length; ) {
    const len = bytes.readUIntBE(p, 3);
    const type = bytes[p + 3]!;
    const flags = bytes[p + 4]!;
    let s = p + 9;
    let e = s + len;
    if (type === HEADERS) {
      if (flags & 0x8) e -= bytes[s++]!;
      if (flags & 0x20) s += 5;
    }
    if (type === HEADERS || type === CONTINUATION) {
      frag.push(bytes.subarray(s, e));
      if (flags & END_HEADERS) {
        const b = Buffer.concat(frag);
        const fields: F[] = [];
        dec.decode(b, 0, b.length, (n, v) => fields.push([n, v]), Infinity);
        blocks.push(fields);
        frag = [];
      }
    } else others.push(type);
    p += 9 + len;
  }
  return { blocks, others };
}

const start = Buffer.concat([Buffer.from(PREFACE), frame(SETTINGS, 0, 0)]);
const SIZES = [1, 2, 3, 7, 9, 10, 64, 1 << 20];

describe("blocks without a repeated host: every byte as it came", () => {
  const enc = new HpackEncoder();
  const scratch = new Uint8Array(4096);
  const encoded = (fields: F[]) => {
    const n = enc.encode(fields.map((f) => f[0]), fields.map((f) => f[1]), fields.length, scratch, 0);
    return Buffer.from(scratch.subarray(0, n));
  };
  const input = Buffer.concat([
    start,
    frame(HEADERS, END_HEADERS, 1, encoded([...GET, [":authority", "a.example"], ["host", "a.example"], ["x-a", "1"]])),
    frame(HEADERS, END_HEADERS | END_STREAM, 3, encoded([...GET, [":authority", "a.example"], ["x-a", "1"]])),
    frame(HEADERS, 0, 5, encoded([...GET, [":authority", "a.example"]])),
    frame(DATA, 0, 5, Buffer.alloc(5000, 0x61)),
    frame(HEADERS, END_HEADERS | END_STREAM, 5, encoded([["x-trailer", "t"]])),
  ]);
  for (const size of SIZES) test(`reads of ${size} bytes`, () => expect(through(input, size).equals(input)).toBe(true));
});

describe("a repeated host is cut, the rest as it came", () => {
  const twice = block([...GET, [":authority", "public.example"], ["host", "admin.example"], ["x-a", "1"], ["host", "admin.example"]]);
  // the block in a padded HEADERS with a priority and a CONTINUATION; an indexed entry used by the next block
  const pad = 3;
  const first = Buffer.concat([Buffer.from([pad]), Buffer.from([0, 0, 0, 0, 15]), twice.subarray(0, 20), Buffer.alloc(pad)]);
  const input = Buffer.concat([
    start,
    frame(HEADERS, 0x8 | 0x20, 1, first),
    frame(CONTINUATION, END_HEADERS, 1, Buffer.concat([twice.subarray(20), indexedLiteral("x-kept", "k")])),
    frame(DATA, END_STREAM, 1, Buffer.from("body")),
    frame(HEADERS, END_HEADERS | END_STREAM, 3, Buffer.concat([block([...GET, [":authority", "a"]]), Buffer.from([0x80 | 62])])),
  ]);
  for (const size of SIZES) {
    test(`reads of ${size} bytes: the first host kept, the second cut; the dynamic table the same for node:http2`, () => {
      const r = read(through(input, size));
      expect(r.blocks).toEqual([
        [...GET, [":authority", "public.example"], ["host", "admin.example"], ["x-a", "1"], ["x-kept", "k"]],
        [...GET, [":authority", "a"], ["x-kept", "k"]],
      ]);
      expect(r.others).toEqual([SETTINGS, DATA]);
    });
  }

  test("three hosts without :authority: the first stays (gangway's codec takes it as the authority)", () => {
    const input = Buffer.concat([start, frame(HEADERS, END_HEADERS | END_STREAM, 1, block([...GET, ["host", "one"], ["host", "two"], ["host", "three"]]))]);
    expect(read(through(input, 5)).blocks).toEqual([[...GET, ["host", "one"]]]);
  });

  test("a later host added to the table, beside :authority: it stays, the others are cut", () => {
    const b = Buffer.concat([block([...GET, [":authority", "a"], ["host", "x"]]), indexedLiteral("host", "y")]);
    const input = Buffer.concat([start, frame(HEADERS, END_HEADERS | END_STREAM, 1, b), frame(HEADERS, END_HEADERS | END_STREAM, 3, Buffer.concat([block([...GET, [":authority", "a"]]), Buffer.from([0x80 | 62])]))]);
    expect(read(through(input, 4)).blocks).toEqual([
      [...GET, [":authority", "a"], ["host", "y"]],
      [...GET, [":authority", "a"], ["host", "y"]],
    ]);
  });

  test.each([
    ["two hosts added to the table", Buffer.concat([block(GET), indexedLiteral("host", "x"), indexedLiteral("host", "y")])],
    ["a later host added to the table, no :authority", Buffer.concat([block([...GET, ["host", "x"]]), indexedLiteral("host", "y")])],
  ])("%s: the block as it came (node:http2 resets that stream, as before)", (_n, b) => {
    const input = Buffer.concat([start, frame(HEADERS, END_HEADERS | END_STREAM, 1, b)]);
    expect(through(input, 3).equals(input)).toBe(true);
  });
});

describe("what node:http2 must see as it came", () => {
  test.each([
    ["a DATA frame between HEADERS and its CONTINUATION", [frame(HEADERS, 0, 1, block(GET)), frame(DATA, 0, 1, Buffer.from("x")), frame(CONTINUATION, END_HEADERS, 1, block([["host", "a"], ["host", "b"]]))]],
    ["a CONTINUATION with no HEADERS", [frame(CONTINUATION, END_HEADERS, 1, block([["host", "a"], ["host", "b"]]))]],
    ["an HPACK error (index 0)", [frame(HEADERS, END_HEADERS, 1, Buffer.from([0x80])), frame(HEADERS, END_HEADERS, 3, block([...GET, ["host", "a"], ["host", "b"]]))]],
    ["a HEADERS frame past 16 KiB", [frame(HEADERS, END_HEADERS, 1, Buffer.concat([block([...GET, ["host", "a"], ["host", "b"]]), block([["x", "a".repeat(17000)]])]))]],
  ])("%s: every byte, then and after, as it came", (_n, frames) => {
    const input = Buffer.concat([start, ...(frames as Buffer[]), frame(HEADERS, END_HEADERS, 5, block([...GET, ["host", "a"], ["host", "b"]]))]);
    for (const size of [1, 7, 1 << 20]) expect(through(input, size).equals(input)).toBe(true);
  });
});

// HPACK (RFC 7541): the Appendix C examples, the Huffman code, encoder
// round trips, and malformed blocks (workers/http/h2/hpack*.ts).
import { describe, expect, test } from "bun:test";
import { HpackDecoder, HpackEncoder, HpackError } from "../../workers/http/h2/hpack.ts";
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "../../workers/http/h2/hpack-huffman-code.ts";
import { huffmanDecode, huffmanDecodedMax, huffmanEncode, huffmanLength } from "../../workers/http/h2/hpack-huffman.ts";

type Field = [string, string];

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

function decodeAll(d: HpackDecoder, block: Uint8Array, maxListSize = 1 << 30): Field[] {
  const out: Field[] = [];
  d.decode(block, 0, block.length, (n, v) => out.push([n, v]), maxListSize);
  return out;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("latin1");
}

// ---------------------------------------------------------------- Appendix C

const DATE_1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const REQUEST_1: Field[] = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]];
const REQUEST_2: Field[] = [...REQUEST_1, ["cache-control", "no-cache"]];
const REQUEST_3: Field[] = [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], ["custom-key", "custom-value"]];
const REQUEST_TABLES: Field[][] = [
  [[":authority", "www.example.com"]],
  [["cache-control", "no-cache"], [":authority", "www.example.com"]],
  [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]],
];
const RESPONSE_1: Field[] = [[":status", "302"], ["cache-control", "private"], ["date", DATE_1], ["location", "https://www.example.com"]];
const RESPONSE_2: Field[] = [[":status", "307"], ...RESPONSE_1.slice(1)];
const RESPONSE_3: Field[] = [[":status", "200"], ["cache-control", "private"], ["date", DATE_2], ["location", "https://www.example.com"], ["content-encoding", "gzip"], ["set-cookie", COOKIE]];
const RESPONSE_TABLES: Field[][] = [
  [["location", "https://www.example.com"], ["date", DATE_1], ["cache-control", "private"], [":status", "302"]],
  [[":status", "307"], ["location", "https://www.example.com"], ["date", DATE_1], ["cache-control", "private"]],
  [["set-cookie", COOKIE], ["content-encoding", "gzip"], ["date", DATE_2]],
];

const tableSize = (t: Field[]) => t.reduce((s, [n, v]) => s + n.length + v.length + 32, 0);

describe("RFC 7541 Appendix C.2: one representation each", () => {
  const cases: [string, string, Field, Field[]][] = [
    ["C.2.1 literal with indexing", "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", ["custom-key", "custom-header"], [["custom-key", "custom-header"]]],
    ["C.2.2 literal without indexing", "040c 2f73 616d 706c 652f 7061 7468", [":path", "/sample/path"], []],
    ["C.2.3 literal never indexed", "1008 7061 7373 776f 7264 0673 6563 7265 74", ["password", "secret"], []],
    ["C.2.4 indexed", "82", [":method", "GET"], []],
  ];
  for (const [label, block, field, table] of cases) {
    test(label, () => {
      const d = new HpackDecoder();
      expect(decodeAll(d, hex(block))).toEqual([field]);
      expect(d.tableEntries()).toEqual(table);
      expect(d.tableSize).toBe(tableSize(table));
    });
  }
});

describe("RFC 7541 Appendix C.3-C.6: three blocks on one decoder", () => {
  const chains: [string, number, string[], Field[][], Field[][]][] = [
    ["C.3 requests without Huffman", 4096, [
      "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      "8286 84be 5808 6e6f 2d63 6163 6865",
      "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ], [REQUEST_1, REQUEST_2, REQUEST_3], REQUEST_TABLES],
    ["C.4 requests with Huffman", 4096, [
      "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
      "8286 84be 5886 a8eb 1064 9cbf",
      "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ], [REQUEST_1, REQUEST_2, REQUEST_3], REQUEST_TABLES],
    ["C.5 responses without Huffman, 256-octet table (eviction)", 256, [
      "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32" +
        "3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      "4803 3330 37c1 c0bf",
      "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970" +
        "7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61" +
        "6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
    ], [RESPONSE_1, RESPONSE_2, RESPONSE_3], RESPONSE_TABLES],
    ["C.6 responses with Huffman, 256-octet table (eviction)", 256, [
      "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad" +
        "1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
      "4883 640e ffc1 c0bf",
      "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2" +
        "e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ], [RESPONSE_1, RESPONSE_2, RESPONSE_3], RESPONSE_TABLES],
  ];
  for (const [label, size, blocks, lists, tables] of chains) {
    test(label, () => {
      const d = new HpackDecoder(size);
      blocks.forEach((block, i) => {
        expect(decodeAll(d, hex(block))).toEqual(lists[i]!);
        expect(d.tableEntries()).toEqual(tables[i]!);
        expect(d.tableSize).toBe(tableSize(tables[i]!));
      });
    });
  }

  test("decode reads only block[start, end) and returns the list size", () => {
    const inner = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
    const framed = new Uint8Array(inner.length + 7).fill(0xff);
    framed.set(inner, 3);
    const out: Field[] = [];
    const size = new HpackDecoder().decode(framed, 3, 3 + inner.length, (n, v) => out.push([n, v]), 1 << 20);
    expect(out).toEqual(REQUEST_1);
    expect(size).toBe(tableSize(REQUEST_1));
  });
});

// ---------------------------------------------------------------- Huffman

describe("the Huffman code (RFC 7541 Appendix B)", () => {
  test("is a complete canonical code: codes of each length consecutive, in symbol order; EOS is thirty ones", () => {
    expect(HUFFMAN_CODES.length).toBe(257);
    expect(HUFFMAN_LENGTHS.length).toBe(257);
    const order = [...Array(257).keys()].sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
    let code = 0;
    let len = HUFFMAN_LENGTHS[order[0]!]!;
    expect(HUFFMAN_CODES[order[0]!]).toBe(0);
    for (let k = 1; k < order.length; k++) {
      const sym = order[k]!;
      const l = HUFFMAN_LENGTHS[sym]!;
      code = (code + 1) * 2 ** (l - len);
      len = l;
      expect([sym, HUFFMAN_CODES[sym]]).toEqual([sym, code]);
    }
    // The last code is all ones: the code is complete (Kraft sum exactly 1).
    expect(code).toBe(2 ** len - 1);
    expect([HUFFMAN_CODES[256], HUFFMAN_LENGTHS[256]]).toEqual([0x3fffffff, 30]);
  });

  // Encodings computed with the python `hpack` 4.2.0 package (an independent
  // implementation), to cross-check the transcribed table both ways.
  const vectors: [string, string][] = [
    ["www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"],
    ["no-cache", "a8eb10649cbf"],
    ["custom-key", "25a849e95ba97d7f"],
    [DATE_1, "d07abe941054d444a8200595040b8166e082a62d1bff"],
    ["h2load nghttp2/1.59.0", "9c541c722954d3a5358980aedbeb83"],
    ["\xff\xfe\x00\x7f\\^~|", "fffffbbfffff87fe3ffffff3fff87ff9ffdff9"],
    [latin1(Uint8Array.from({ length: 256 }, (_, i) => i)),
  "ffc7fffd8fffffe2fffffe3fffffe4fffffe5fffffe6fffffe7fffffe8ffffeafffffff3fffffa7fffffabffffffdfff" +
  "ffebfffffecfffffedfffffeefffffefffffff0ffffff1ffffff2fffffffbfffffcffffffd3fffffd7fffffdbfffffdf" +
  "fffffe3fffffe7fffffebfffffed4fe3f9ffaffcabf1febfafefe7fdfd2cbb00089969b71d79fb9f7fff20ffbff3ff50" +
  "ddbd7f061c58f265cd9f469d5af66dddbf871e5f9cff7ff7fffc3ff9ffe45fff4719242cb34e6e9d68a6a3d7dac426de" +
  "fe3cfaf7fffbfe7ffbffdffffffcfffe6ffff4bfff9ffffa3fffd3ffff53fffd5ffffb3fffeb7fffdaffffb7ffff73ff" +
  "feeffffdeffffebffffbfffffd9ffffdbfffebffffe0ffffeeffffc3ffff8bffff1ffffe4fffee7fffb1ffff97fffd9f" +
  "fffcdffff9fffffbffffdafffeeffff4ffffb7fffee7fffe8ffffd3fffdeffffd5fffeeffffbdffffe1fffdfffff7fff" +
  "ff5ffffecffff07fff87fffe0ffff17fffedffff87ffff77fffeffffeaffff8bfffe3ffff93ffff87fffcbffff37ffff" +
  "1fffff83ffffe1fffebfffe3ffff3fffff2ffffa3ffffd9fffff17ffffc7fffff27ffffdefffffbffffff2fffff8ffff" +
  "fb7fff97fff8fffffe6fffffc1fffff87ffffe7fffffc5ffffe5fffe4ffff2fffffd1fffff4ffffffefffffe3fffffc9" +
  "fffff97fffb3ffffcffffb7fffcdffff4ffff9ffffd1ffffcffffeaffffafffffddffffeffffff4fffff5fffffabffff" +
  "a7ffffd7fffff9bffffecfffffb7fffff3fffffe8fffffd3fffffabfffff5fffffff7ffffecfffffdbfffffbbfffff7f" +
  "fffff0fffffbbf",
    ],
  ];
  for (const [text, want] of vectors) {
    test(`encodes and decodes ${JSON.stringify(text.slice(0, 24))}`, () => {
      const out = new Uint8Array(huffmanLength(text));
      expect(huffmanEncode(text, out, 0)).toBe(out.length);
      expect(Buffer.from(out).toString("hex")).toBe(want);
      const back = new Uint8Array(huffmanDecodedMax(out.length));
      const n = huffmanDecode(out, 0, out.length, back);
      expect(latin1(back.subarray(0, n))).toBe(text);
    });
  }

  test("decode(encode(s)) is s for every single octet and for random strings", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
    const texts = [...Array(256).keys()].map((c) => String.fromCharCode(c));
    for (let k = 0; k < 200; k++) texts.push(String.fromCharCode(...Array.from({ length: k % 40 }, rnd)));
    for (const text of texts) {
      const out = new Uint8Array(huffmanLength(text));
      huffmanEncode(text, out, 0);
      const back = new Uint8Array(huffmanDecodedMax(out.length) + 1);
      const n = huffmanDecode(out, 0, out.length, back);
      expect(latin1(back.subarray(0, n))).toBe(text);
    }
  });

  test("rejects EOS inside the string, padding of 8 bits or more, padding with a zero", () => {
    const out = new Uint8Array(64);
    const bad = [
      "ffffffff", // EOS (30 ones) then padding
      "1fffffff fc", // '0' (00000) then EOS
      "07ff", // '0' then 11 ones: padding > 7 bits
      "ff", // 8 ones alone
      "00", // '0' then 000: padding not ones
      "f1e3c2e5f23a6ba0ab90f4fe", // www.example.com, last padding bit 0
    ];
    for (const b of bad) expect([b, huffmanDecode(hex(b), 0, hex(b).length, out)]).toEqual([b, -1]);
    // The longest legal padding: seven ones.
    expect(huffmanDecode(hex("07"), 0, 1, out)).toBe(1);
    expect(huffmanDecode(hex("1f"), 0, 1, out)).toBe(1); // '0' then 111
  });
});

// ---------------------------------------------------------------- malformed blocks

describe("malformed blocks throw HpackError", () => {
  const cases: [string, string, number?][] = [
    ["index 0", "80"],
    ["index past the static table on an empty dynamic table", "be"],
    ["index far past the table", "ff 80 01"],
    ["literal name index past the table", "7e 01 61"],
    ["truncated integer", "ff"],
    ["truncated integer after continuation", "ff 80"],
    ["integer overflow (> 2^31)", "ff ff ff ff ff 0f"],
    ["integer with too many continuation octets", "ff 80 80 80 80 80 00"],
    ["truncated: literal with no name string", "40"],
    ["truncated: literal name, no value", "40 01 61"],
    ["string length past the end", "40 0a 63 75"],
    ["huge string length", "40 7f ff ff ff 07"],
    ["Huffman value holding EOS", "40 01 61 84 ff ff ff ff"],
    ["Huffman value padded with 8 ones", "40 01 61 82 07 ff"],
    ["Huffman value padding not all ones", "40 01 61 81 00"],
    ["size update after a field", "82 20"],
    ["size update above the announced maximum", "3f e2 1f"],
    ["size update above a small announced maximum", "3f 02", 16],
  ];
  for (const [label, block, max] of cases) {
    test(label, () => {
      const d = new HpackDecoder(max ?? 4096);
      expect(() => decodeAll(d, hex(block))).toThrow(HpackError);
    });
  }

  test("size updates at the start are applied, and may repeat", () => {
    const d = new HpackDecoder();
    decodeAll(d, hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"));
    expect(d.tableEntries().length).toBe(1);
    expect(decodeAll(d, hex("20 3f e1 1f 82"))).toEqual([[":method", "GET"]]);
    expect(d.tableEntries()).toEqual([]);
    // Size 0 then back to 4096: the entry was evicted for good.
    expect(() => decodeAll(d, hex("be"))).toThrow(HpackError);
  });
});

describe("maxListSize", () => {
  test("past it emit stops but the entries are added: the next block can refer to them", () => {
    const d = new HpackDecoder();
    // x-a: 0123456789 (45 octets counted), x-b: b (36), both with incremental indexing.
    const block = hex("40 03 782d61 0a 30313233343536373839 40 03 782d62 01 62");
    const seen: Field[] = [];
    expect(d.decode(block, 0, block.length, (n, v) => seen.push([n, v]), 50)).toBe(81);
    expect(seen).toEqual([["x-a", "0123456789"]]);
    expect(decodeAll(d, hex("be bf"))).toEqual([["x-b", "b"], ["x-a", "0123456789"]]);
  });

  test("past it emit stops, the size is still counted and the table still updated", () => {
    const d = new HpackDecoder();
    const enc = new HpackEncoder();
    const out = new Uint8Array(4096);
    const long = "v".repeat(100);
    const names = [":status", "x-a", "x-b", "x-c"];
    const values = ["201", long, "b", "c"];
    const end = enc.encode(names, values, 4, out, 0);
    const seen: Field[] = [];
    const size = d.decode(out, 0, end, (n, v) => seen.push([n, v]), 100);
    expect(seen).toEqual([[":status", "201"]]);
    expect(size).toBe(names.reduce((s, n, i) => s + n.length + values[i]!.length + 32, 0));
    // The next block refers to the entries added past the limit: only indexed fields.
    const end2 = enc.encode(names, values, 4, out, 0);
    expect(end2).toBe(4);
    expect(decodeAll(d, out.subarray(0, end2))).toEqual(names.map((n, i) => [n, values[i]!] as Field));
  });
});

// ---------------------------------------------------------------- encoder

/** Encode each list with one encoder and decode with one decoder, as one connection would. */
function roundTrip(lists: Field[][], opts: { huffman?: boolean; sizes?: (number | undefined)[]; decoderMax?: number } = {}): Uint8Array[] {
  const enc = new HpackEncoder({ huffman: opts.huffman });
  const dec = new HpackDecoder(opts.decoderMax ?? 4096);
  const blocks: Uint8Array[] = [];
  lists.forEach((list, i) => {
    const size = opts.sizes?.[i];
    if (size !== undefined) enc.setMaxTableSize(size);
    let out = new Uint8Array(16);
    let end: number;
    while ((end = enc.encode(list.map((f) => f[0]), list.map((f) => f[1]), list.length, out, 2)) < 0) out = new Uint8Array(out.length * 2);
    const block = out.subarray(2, end);
    blocks.push(block);
    expect(decodeAll(dec, block)).toEqual(list);
  });
  return blocks;
}

const RESPONSE: Field[] = [
  [":status", "200"], ["content-type", "application/json"], ["content-length", "1234"], ["server", "istio-envoy"],
  ["date", "Sun, 06 Dec 2026 02:30:00 GMT"], ["x-envoy-upstream-service-time", "3"],
];

describe("HpackEncoder round trips", () => {
  for (const huffman of [false, true]) {
    const mode = huffman ? "Huffman" : "raw";
    test(`${mode}: a repeated response indexes the repeating fields and not the volatile ones`, () => {
      const second: Field[] = RESPONSE.map(([n, v]) => [n, n === "content-length" ? "99" : n === "date" ? "Sun, 06 Dec 2026 02:30:01 GMT" : v]);
      const blocks = roundTrip([RESPONSE, second, RESPONSE], { huffman });
      // content-type and server are indexed (1 octet each) in the second block;
      // :status 200 is static (0x88).
      expect(blocks[1]![0]).toBe(0x88);
      expect(blocks[1]![1]! & 0x80).toBe(0x80);
      expect(blocks[1]!.length).toBeLessThan(blocks[0]!.length);
    });

    test(`${mode}: statuses outside the static table, custom names, empty values`, () => {
      const lists: Field[][] = [];
      for (const status of ["201", "302", "503", "200", "404", "201"]) {
        lists.push([[":status", status], ["x-powered-by", "Express"], ["vary", "Accept-Encoding"], ["x-empty", ""], ["", ""]]);
      }
      roundTrip(lists, { huffman });
    });

    test(`${mode}: never-indexed fields go out as 0001 literals and stay out of the table`, () => {
      const list: Field[] = [["set-cookie", "a=1"], ["authorization", "Bearer x"], ["cookie", "c=2"], ["proxy-authorization", "Basic y"]];
      const enc = new HpackEncoder({ huffman });
      const dec = new HpackDecoder();
      const out = new Uint8Array(512);
      for (let round = 0; round < 2; round++) {
        const end = enc.encode(list.map((f) => f[0]), list.map((f) => f[1]), list.length, out, 0);
        expect(decodeAll(dec, out.subarray(0, end))).toEqual(list);
        // Each field: 0001 1111 and the rest of its static name index (all ≥ 15), then the value.
        let p = 0;
        for (let k = 0; k < list.length; k++) {
          expect(out[p]).toBe(0x1f);
          p += 2;
          p += 1 + (out[p]! & 0x7f);
        }
        expect(p).toBe(end);
      }
      expect(dec.tableEntries()).toEqual([]);
    });

    test(`${mode}: long values (200 and 20000 octets) need multi-octet lengths and are not indexed`, () => {
      const lists: Field[][] = [
        [["x-long", "a".repeat(200)], ["x-longer", "b".repeat(20000)], ["x-short", "c"]],
        [["x-long", "a".repeat(200)], ["x-longer", "b".repeat(20000)], ["x-short", "c"]],
      ];
      roundTrip(lists, { huffman });
    });

    test(`${mode}: every octet value, in values and in names`, () => {
      const all = latin1(Uint8Array.from({ length: 256 }, (_, i) => i));
      const lists: Field[][] = [];
      for (let k = 0; k < 256; k += 16) lists.push([["x-octets", all.slice(k, k + 16)], [`x-${all.slice(k, k + 16)}`, all]]);
      lists.push([["x-all", all]], [["x-all", all]]);
      roundTrip(lists, { huffman });
    });

    test(`${mode}: eviction: many distinct indexable fields cycle through the 4096-octet table`, () => {
      const lists: Field[][] = [];
      for (let k = 0; k < 300; k++) {
        const list: Field[] = [[":status", "200"]];
        for (let j = 0; j < 5; j++) list.push([`x-h${(k * 7 + j) % 97}`, `value-${(k * 13 + j) % 151}-${"z".repeat(j * 20)}`]);
        lists.push(list);
      }
      roundTrip(lists, { huffman });
    });

    test(`${mode}: table size updates: to 0, to 256, several between blocks, back up`, () => {
      const list: Field[] = [[":status", "201"], ["server", "gangway"], ["content-type", "text/plain"], ["x-a", "1".repeat(100)]];
      const sizes = [undefined, 0, undefined, 256, undefined, 8192, 100, undefined, 4096, 50];
      const blocks = roundTrip(sizes.map(() => list), { huffman, sizes, decoderMax: 4096 });
      expect(blocks[1]![0]).toBe(0x20); // size update 0 first
    });

    test(`${mode}: two size changes between blocks send the smaller, then the last; the table is flushed`, () => {
      const enc = new HpackEncoder({ huffman });
      const dec = new HpackDecoder();
      const out = new Uint8Array(1024);
      let end = enc.encode(["server", "vary"], ["gangway", "accept"], 2, out, 0);
      decodeAll(dec, out.subarray(0, end));
      expect(dec.tableEntries().length).toBe(2);
      enc.setMaxTableSize(0);
      enc.setMaxTableSize(65536);
      end = enc.encode(["server"], ["gangway"], 1, out, 0);
      expect([...out.subarray(0, 4)]).toEqual([0x20, 0x3f, 0xe1, 0x1f]); // 0, then 4096 (our cap)
      expect(decodeAll(dec, out.subarray(0, end))).toEqual([["server", "gangway"]]);
      expect(dec.tableEntries()).toEqual([["server", "gangway"]]);
    });

    test(`${mode}: a peer table of 0 makes every field a literal and the table stays empty`, () => {
      const enc = new HpackEncoder({ huffman });
      enc.setMaxTableSize(0);
      const dec = new HpackDecoder();
      const out = new Uint8Array(1024);
      for (let k = 0; k < 3; k++) {
        const end = enc.encode(["server", "content-type"], ["gangway", "text/html"], 2, out, 0);
        expect(decodeAll(dec, out.subarray(0, end))).toEqual([["server", "gangway"], ["content-type", "text/html"]]);
        expect(dec.tableEntries()).toEqual([]);
      }
    });
  }

  test("-1 when out is too small, and the table is unchanged after it", () => {
    const enc = new HpackEncoder();
    const dec = new HpackDecoder();
    const names = RESPONSE.map((f) => f[0]);
    const values = RESPONSE.map((f) => f[1]);
    const small = new Uint8Array(20);
    expect(enc.encode(names, values, names.length, small, 0)).toBe(-1);
    expect(enc.encode(names, values, names.length, new Uint8Array(400), 390)).toBe(-1);
    const out = new Uint8Array(400);
    for (let k = 0; k < 3; k++) {
      const end = enc.encode(names, values, names.length, out, 0);
      expect(decodeAll(dec, out.subarray(0, end))).toEqual(RESPONSE);
    }
  });

  test("the room check: the first size that succeeds gives the same octets as a large buffer, never a truncated block", () => {
    // Two encoders fed the same lists: A into a large buffer, B into the smallest
    // buffer it accepts (writes past a Uint8Array's end are dropped silently, so
    // a bound too small would show here as different octets).
    let seed = 99;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    for (const huffman of [false, true]) {
      const a = new HpackEncoder({ huffman });
      const b = new HpackEncoder({ huffman });
      const big = new Uint8Array(1 << 16);
      for (let k = 0; k < 60; k++) {
        if (k % 17 === 5) {
          // 0; 4096; 200 then 4096 (two 3-octet size updates: the check's +6 exact at k = 56).
          for (const size of k === 5 ? [0] : k === 22 ? [4096] : [200, 4096]) {
            a.setMaxTableSize(size);
            b.setMaxTableSize(size);
          }
        }
        // Single fields with literal names and values (x-..., volatile date) make the bound tightest.
        let count = k % 3 === 0 ? 1 : 1 + rnd(6);
        const names: string[] = [];
        const values: string[] = [];
        for (let i = 0; i < count; i++) {
          names.push(["server", ":status", "content-length", "set-cookie", "x-" + "n".repeat(rnd(3) === 0 ? 130 : 3), "date", "x-request-id"][rnd(7)]!);
          values.push(["", "200", "201", "x".repeat(rnd(200)), "y".repeat(rnd(3) === 0 ? 17000 : 5)][rnd(5)]!);
        }
        // An insertion, then a literal with a literal name: the check made at the
        // insertion for the rest of the block is exact.
        if (k % 5 === 1) {
          names.splice(0, count, `x-new-${k}`, "x-request-id");
          values.splice(0, count, "v", `id-${k}`);
          count = 2;
        }
        const want = big.slice(0, a.encode(names, values, count, big, 0));
        // One octet short of the exact size must be refused; then the first size accepted.
        expect(b.encode(names, values, count, new Uint8Array(want.length - 1), 0)).toBe(-1);
        let got = -1;
        let out = new Uint8Array(0);
        for (let room = want.length; got < 0; room++) got = b.encode(names, values, count, (out = new Uint8Array(room)), 0);
        expect(Buffer.from(out.subarray(0, got)).equals(Buffer.from(want))).toBe(true);
      }
    }
  });

  test("count limits the fields encoded", () => {
    const enc = new HpackEncoder();
    const out = new Uint8Array(256);
    const end = enc.encode([":status", "server", "x-not"], ["200", "s", "n"], 2, out, 0);
    expect(decodeAll(new HpackDecoder(), out.subarray(0, end))).toEqual([[":status", "200"], ["server", "s"]]);
  });
});

// ---------------------------------------------------------------- fuzz

describe("random input", () => {
  test("2000 random blocks: only HpackError is thrown, and decoding ends", () => {
    let seed = 0x2545f491;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    // A valid prefix makes later random octets refer to a non-empty dynamic table.
    const prefix = hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff");
    let errors = 0;
    for (let k = 0; k < 2000; k++) {
      const len = 1 + (rnd() % 64);
      const block = new Uint8Array(len);
      for (let i = 0; i < len; i++) block[i] = rnd();
      const d = new HpackDecoder(k % 3 === 0 ? 256 : 4096);
      if (k % 2 === 0) decodeAll(d, prefix);
      try {
        decodeAll(d, block, 1 + (rnd() % 4000));
      } catch (e) {
        if (!(e instanceof HpackError)) throw e;
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(0);
  });
});

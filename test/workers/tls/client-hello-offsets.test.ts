// parseClientHello reads the hello by offsets, with a bitmap for duplicate extensions
// (2026-12-06, issue 15 target 4): the same answers as the parser before it
// (client-hello-reference.ts) on real hellos, their prefixes, re-cut records, byte
// flips and hand-made extension lists (duplicates, SNI "." then a second name, ALPN
// bytes 0x80-0x9f), and a duplicate found in one hello leaves nothing behind for the next.
// The last server name is remembered (bytes as sent, name made): hellos in a row with the
// same, re-cased, one-byte-off and invalid names of the same length get the reference's answers.
import { describe, expect, test } from "bun:test";
import { parseClientHello } from "../../../workers/tls/client-hello.ts";
import { referenceParseClientHello } from "./client-hello-reference.ts";
import { captureHello, refragment } from "./hello-capture.ts";

/** A one-record ClientHello with the given extensions ([type, bytes]). */
function helloWith(exts: [number, number[]][]): Uint8Array {
  const ext: number[] = [];
  for (const [t, d] of exts) ext.push(t >> 8, t & 0xff, d.length >> 8, d.length & 0xff, ...d);
  const body = [3, 3, ...new Array(32).fill(7), 0, 0, 2, 0x13, 0x01, 1, 0, ext.length >> 8, ext.length & 0xff, ...ext];
  const hs = [1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff, ...body];
  return new Uint8Array([0x16, 3, 1, hs.length >> 8, hs.length & 0xff, ...hs]);
}
const sni = (...names: string[]): number[] => {
  const list: number[] = [];
  for (const n of names) list.push(0, n.length >> 8, n.length & 0xff, ...Buffer.from(n, "latin1"));
  return [list.length >> 8, list.length & 0xff, ...list];
};
const alpn = (...names: number[][]): number[] => {
  const list: number[] = [];
  for (const n of names) list.push(n.length, ...n);
  return [list.length >> 8, list.length & 0xff, ...list];
};

const same = (b: Uint8Array) => expect(parseClientHello(b)).toEqual(referenceParseClientHello(b));

describe("ClientHello parsing by offsets", () => {
  test("the same answers as the reference parser on real, cut, re-cut and flipped hellos", async () => {
    const hellos = [
      await captureHello({ servername: "Fuzz.Example.com", ALPNProtocols: ["h2", "http/1.1"] }),
      await captureHello({}),
      await captureHello({ servername: "a.b", ALPNProtocols: ["x"] }),
    ];
    let seed = 4242;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let n = 0;
    for (const hello of hellos) {
      for (let i = 0; i <= hello.length; i++) same(hello.subarray(0, i));
      for (const size of [1, 3, 64, 200]) same(refragment(hello, size));
      for (let i = 0; i < 4000; i++) {
        const b = hello.slice(0, 5 + Math.floor(rand() * (hello.length - 5 + 1)));
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        same(b);
        same(refragment(b, 1 + Math.floor(rand() * 300)));
        n++;
      }
    }
    expect(n).toBe(12000);
  });

  test("hand-made extension lists", () => {
    const cases = [
      helloWith([[0, sni("one.example")], [0, sni("two.example")]]), // duplicate server_name
      helloWith([[0x1234, [1]], [16, alpn([0x68, 0x32])], [0x1234, []]]), // duplicate other type
      helloWith([[0xffff, []], [0xfffe, []], [0, sni("X.Example.COM.")]]),
      helloWith([[0, sni(".", "second.example")]]), // a "." name, then another
      helloWith([[0, sni("first.example", "second.example")]]), // the first name counts
      helloWith([[0, sni("bad*name")]]),
      helloWith([[16, alpn([0x80, 0x9f, 0x41], [0xff])]]), // ALPN bytes the decoder maps (0x80-0x9f)
      helloWith([[16, alpn([])]]),
      helloWith([]),
    ];
    for (const b of cases) same(b);
    expect(parseClientHello(cases[0]!)).toEqual({ status: "error", reason: "duplicate extension" });
    expect(parseClientHello(cases[3]!)).toMatchObject({ status: "ok", sni: "second.example" });
    expect(parseClientHello(cases[4]!)).toMatchObject({ status: "ok", sni: "first.example" });
  });

  test("a hello refused for a duplicate leaves no extension marked for the next one", () => {
    const dup = helloWith([[0x1234, []], [0, sni("a.example")], [0x1234, []]]);
    const ok = helloWith([[0x1234, []], [0, sni("a.example")]]);
    for (let i = 0; i < 3; i++) {
      expect(parseClientHello(dup)).toEqual({ status: "error", reason: "duplicate extension" });
      expect(parseClientHello(ok)).toEqual({ status: "ok", sni: "a.example", alpn: [], version: 0x0303 });
    }
  });

  test("names in a row: the remembered last name answers only for the same bytes", () => {
    const names = [
      ["bulk.example.com"], ["bulk.example.com"], ["BULK.example.com"], ["BULK.example.com"], ["bulk.example.com"],
      ["bulk.example.con"], ["bulk.example.com."], ["bulk.example.com"], ["bulk.exa*ple.com"], ["bulk.example.com"],
      ["."], [".", "second.example"], ["second.example"], ["x"], ["X"], ["x."], ["x"],
    ];
    for (const n of names) same(helloWith([[0, sni(...n)]]));
    expect(parseClientHello(helloWith([[0, sni("bulk.example.com")]]))).toMatchObject({ sni: "bulk.example.com" });
    expect(parseClientHello(helloWith([[0, sni("bulk.exa*ple.com")]]))).toEqual({ status: "error", reason: "bad server_name extension" });
    expect(parseClientHello(helloWith([[0, sni("BULK.example.com")]]))).toMatchObject({ sni: "bulk.example.com" });
    expect(parseClientHello(helloWith([[0, sni("BULK.example.com")]]))).toMatchObject({ sni: "bulk.example.com" });
    expect(parseClientHello(helloWith([[0, sni("bulk.example.con")]]))).toMatchObject({ sni: "bulk.example.con" });
  });
});

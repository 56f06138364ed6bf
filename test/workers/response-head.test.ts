// buildResponseHead / writeResponseHead: configured text (route header operations,
// the server name) beyond ASCII is written as UTF-8 and the head's size counts its
// bytes, as the request side does (request-head-bytes.test.ts); the upstream's own
// field lines are copied as received.
import { describe, expect, test } from "bun:test";
import { buildResponseHead, headFrom, writeResponseHead } from "../../workers/http/response-head.ts";
import { parseResponseHead, ResponseHead } from "../../workers/http/parse-response.ts";
import { FRAME_CHUNKED, FRAME_NONE } from "../../workers/http/heads-out.ts";
import type { HeaderOperations } from "../../src/snapshot/types.ts";

const NONE: HeaderOperations = { set: [], add: [], remove: [] };

function upstream(raw: string, body = ""): { r: ResponseHead; b: Buffer; end: number } {
  const b = Buffer.concat([Buffer.from(raw, "latin1"), Buffer.from(body, "latin1")]);
  const r = new ResponseHead();
  expect(parseResponseHead(b, 0, raw.length, r)).toBe(true);
  return { r, b, end: raw.length };
}

const RAW = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-up: caf\xe9\r\n\r\n";

describe("response head bytes", () => {
  const cases: [string, HeaderOperations, string, number, string][] = [
    ["ASCII ops", { set: [["x-city", "Zurich"]], add: [], remove: [] }, "istio-envoy", FRAME_NONE, ""],
    ["ops beyond latin1 and in 0x80–0xFF", { set: [["x-city", "Zürich"]], add: [["x-jp", "日本 ✓"]], remove: [] }, "istio-envoy", FRAME_NONE, ""],
    ["a server name beyond ASCII", NONE, "gängway", FRAME_NONE, ""],
    ["ops, chunked, connection close", { set: [["x-jp", "日本"]], add: [], remove: [] }, "istio-envoy", FRAME_CHUNKED, "close"],
  ];
  for (const [name, ops, server, framing, connection] of cases) {
    test(name, () => {
      const { r, b, end } = upstream(RAW, "hi");
      const out = buildResponseHead(r, b, 0, ops, server, 3, framing, connection, end, b.length);
      const text = out.toString("utf8");
      for (const [k, v] of [...ops.set, ...ops.add]) expect(text).toContain(`${k}: ${v}\r\n`);
      expect(text).toContain(`server: ${server}\r\n`);
      expect(out.subarray(out.length - 2).toString("latin1")).toBe("hi"); // the body is where the size says
      // the upstream's obs-text is copied as received (one byte 0xE9), not re-encoded
      expect(out.includes(Buffer.from("x-up: caf\xe9\r\n", "latin1"))).toBe(true);
      const scratch = Buffer.alloc(4096, 0x2a);
      const n = writeResponseHead(scratch, r, b, 0, ops, server, 3, framing, connection, end, b.length);
      expect(n).toBe(out.length);
      expect(scratch.subarray(headFrom, headFrom + n).equals(out)).toBe(true);
    });
  }
});

describe("response heads taking turns in one scratch", () => {
  test("the suffix left in its middle, heads and bodies written over it and other suffixes: each head is its own bytes", () => {
    const scratch = Buffer.alloc(2048, 0x2a);
    const plain = "HTTP/1.1 200 OK\r\nServer: up\r\nDate: x\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n";
    const many = Array.from({ length: 70 }, (_, i) => `x-f${i}: ${"v".repeat(10)}\r\n`).join(""); // > 1024 B: from the start, over the middle
    const turns: [string, string, number, number, string, HeaderOperations][] = [
      [plain, "hi", 0, FRAME_NONE, "", NONE],
      [plain, "hi", 0, FRAME_NONE, "", NONE],
      [plain, "hi", 1, FRAME_NONE, "", NONE],
      [plain, "hi", 0, FRAME_NONE, "", NONE],
      [plain, "b".repeat(1500), 0, FRAME_NONE, "", NONE], // the body does not fit after the middle: from the start
      [plain, "hi", 0, FRAME_NONE, "", NONE],
      [`HTTP/1.1 200 OK\r\n${many}content-length: 2\r\n\r\n`, "hi", 0, FRAME_NONE, "", NONE],
      [plain, "hi", 0, FRAME_NONE, "", NONE],
      [plain, "hi", 0, FRAME_CHUNKED, "close", NONE], // no cached suffix
      [plain, "hi", 2, FRAME_NONE, "", { set: [["x-o", "1"]], add: [], remove: [] }],
      [plain, "hi", 0, FRAME_NONE, "", NONE],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [raw, body, ms, framing, connection, ops] of turns) {
        const { r, b, end } = upstream(raw.replace("Content-Length: 2", `Content-Length: ${body.length}`), body);
        const want = buildResponseHead(r, b, 0, ops, "istio-envoy", ms, framing, connection, end, b.length);
        const n = writeResponseHead(scratch, r, b, 0, ops, "istio-envoy", ms, framing, connection, end, b.length);
        expect(n).toBe(want.length);
        expect(scratch.subarray(headFrom, headFrom + n).toString("latin1")).toBe(want.toString("latin1"));
      }
    }
  });
});

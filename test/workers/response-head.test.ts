// buildResponseHead / writeResponseHead: configured text (route header operations,
// the server name) beyond ASCII is written as UTF-8 and the head's size counts its
// bytes, as the request side does (request-head-bytes.test.ts); the upstream's own
// field lines are copied as received.
import { describe, expect, test } from "bun:test";
import { buildResponseHead, writeResponseHead } from "../../workers/http/response-head.ts";
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
      expect(scratch.subarray(0, n).equals(out)).toBe(true);
    });
  }
});

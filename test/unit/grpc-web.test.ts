// gRPC-Web framing pieces (Envoy's grpc_web filter): content-type flavours,
// the trailers message, streaming base64 for grpc-web-text.
import { describe, expect, test } from "bun:test";
import { Base64Decoder, Base64Encoder, grpcWebMode, trailerMessage, wantsText, WEB_BINARY, WEB_NONE, WEB_TEXT, webLocalReply, webResponseType } from "../../workers/http/grpc-web.ts";

describe("grpcWebMode: the four content-types Envoy's grpc_web filter takes, exactly", () => {
  test.each([
    ["application/grpc-web", WEB_BINARY],
    ["application/grpc-web+proto", WEB_BINARY],
    ["application/grpc-web-text", WEB_TEXT],
    ["application/grpc-web-text+proto", WEB_TEXT],
    // anything else is not gRPC-Web to Envoy: passed on as it came
    ["Application/gRPC-Web", WEB_NONE],
    ["application/grpc-web; charset=utf-8", WEB_NONE],
    ["application/grpc-web+json", WEB_NONE],
    ["application/grpc-web-text+json", WEB_NONE],
    ["application/grpc", WEB_NONE],
    ["application/grpc-webx", WEB_NONE],
    [undefined, WEB_NONE],
  ])("%p → %p", (ct, want) => {
    expect(grpcWebMode(ct) as number).toBe(want);
  });
});

describe("the response's encoding follows the accept header alone (Envoy's is_text_response_)", () => {
  test.each([
    ["application/grpc-web-text", true],
    ["application/grpc-web-text+proto", true],
    ["application/grpc-web", false],
    ["application/grpc-web+proto", false],
    ["*/*", false],
    ["application/grpc-web-text, */*", false],
    [undefined, false],
  ])("accept %p → text %p", (accept, want) => {
    expect(wantsText(accept)).toBe(want);
  });
  test("response content-types", () => {
    expect([webResponseType(false), webResponseType(true)]).toEqual(["application/grpc-web+proto", "application/grpc-web-text+proto"]);
  });
});

describe("webLocalReply: a local reply as the grpc_web filter reshapes it", () => {
  test.each([
    [503, "no healthy upstream", false, "content-type: application/grpc-web+proto\r\ngrpc-status: 14\r\ngrpc-message: no healthy upstream\r\n"],
    [400, "bad", true, "content-type: application/grpc-web-text+proto\r\ngrpc-status: 13\r\ngrpc-message: bad\r\n"],
    [404, "", false, "content-type: application/grpc-web+proto\r\n"],
  ])("%p %p text=%p", (status, body, text, want) => {
    expect(webLocalReply(status, body, text)).toBe(want);
  });
});

test("trailers message: flag 0x80, big-endian length, name:value lines (pseudo-headers left out)", () => {
  const m = trailerMessage({ "grpc-status": "0", "x-m": ["a", "b"], ":status": "200" });
  const payload = "grpc-status:0\r\nx-m:a\r\nx-m:b\r\n";
  expect([...m.subarray(0, 5)]).toEqual([0x80, 0, 0, 0, payload.length]);
  expect(m.subarray(5).toString()).toBe(payload);
  expect([...trailerMessage(null)]).toEqual([0x80, 0, 0, 0, 0]);
});

test("base64 streams split anywhere decode and encode as a whole", () => {
  const data = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37) & 255));
  const text = Buffer.from(data.toString("base64"));
  for (const cut of [1, 2, 3, 5, 7, 64]) {
    const dec = new Base64Decoder();
    const out: Buffer[] = [];
    for (let i = 0; i < text.length; i += cut) out.push(dec.push(text.subarray(i, i + cut))!);
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(dec.clean).toBe(true);
    const enc = new Base64Encoder();
    const parts: Buffer[] = [];
    for (let i = 0; i < data.length; i += cut) parts.push(enc.push(data.subarray(i, i + cut)));
    parts.push(enc.end());
    expect(Buffer.concat(parts).toString()).toBe(data.toString("base64"));
  }
  expect(new Base64Decoder().push(Buffer.from("not*base64"))).toBeNull();
});

test.each([
  ["aGVsbG8=", "hello"],
  ["YQ==YmI=", "abb"],
  ["aGVs\r\nbG8=", "hello"],
  ["YWJj", "abc"],
  ["!!!!", null],
  ["====", null],
  ["A===", null],
  ["AAAA-_-_", null],
  ["AA AA", null],
  ["YQ=Y", null],
])("base64 decoder: %p → %p (groups of four, padding only ending a group)", (text, want) => {
  const r = new Base64Decoder().push(Buffer.from(text));
  expect(r === null ? null : r.toString("latin1")).toBe(want);
});

test("base64 decoder: a body ending inside a group is not clean; padding split across pushes is", () => {
  const d = new Base64Decoder();
  expect(d.push(Buffer.from("YWJ"))!.length).toBe(0);
  expect(d.clean).toBe(false);
  const p = new Base64Decoder();
  const out = [p.push(Buffer.from("YQ")), p.push(Buffer.from("=")), p.push(Buffer.from("=YmI="))];
  expect(Buffer.concat(out as Buffer[]).toString()).toBe("abb");
  expect(p.clean).toBe(true);
});

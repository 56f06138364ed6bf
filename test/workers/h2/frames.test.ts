// The frame layer of gangway's HTTP/2 codec (workers/http/h2/frames.ts), as
// tables: frame headers written and read back, 31-bit fields with the
// reserved bit set, SETTINGS payloads and the error each bad one earns.
import { describe, expect, test } from "bun:test";
import * as F from "../../../workers/http/h2/frames.ts";

describe("frame header", () => {
  test.each([
    [0, F.DATA, 0, 1],
    [16384, F.HEADERS, F.END_HEADERS | F.END_STREAM, 3],
    [0xffffff, F.CONTINUATION, 0, 0x7fffffff],
    [8, F.PING, F.ACK, 0],
  ])("length %d type %d flags %d stream %d round-trips", (len, type, flags, id) => {
    const b = new Uint8Array(9);
    F.putHead(b, 0, len, type, flags, id);
    expect(F.frameLength(b, 0)).toBe(len);
    expect(b[3]).toBe(type);
    expect(b[4]).toBe(flags);
    expect(F.u31(b, 5)).toBe(id);
  });

  test("the reserved bit of a stream id or window increment is ignored", () => {
    expect(F.u31(new Uint8Array([0x80, 0, 0, 5]), 0)).toBe(5);
    expect(F.u31(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0)).toBe(0x7fffffff);
    expect(F.u32(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0)).toBe(0xffffffff);
  });

  test("matches the bytes RFC 9113 §4.1 lays out", () => {
    const b = new Uint8Array(9);
    F.putHead(b, 0, 0x010203, 0x04, 0x05, 0x06070809);
    expect([...b]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe("SETTINGS", () => {
  const payload = (pairs: [number, number][]) => F.settingsFrame(pairs).subarray(9);
  const read = (p: Uint8Array) => {
    const s = F.defaultSettings();
    const err = F.readSettings(p, 0, p.length, s);
    return { err, s };
  };

  test("the frame we write reads back", () => {
    const f = F.settingsFrame([[F.S_MAX_CONCURRENT_STREAMS, 128], [F.S_INITIAL_WINDOW_SIZE, 1 << 20]]);
    expect(F.frameLength(f, 0)).toBe(12);
    expect(f[3]).toBe(F.SETTINGS);
    const { err, s } = read(f.subarray(9));
    expect(err).toBe(0);
    expect(s.maxConcurrentStreams).toBe(128);
    expect(s.initialWindowSize).toBe(1 << 20);
  });

  test.each([
    ["a length not a multiple of 6", new Uint8Array(7), F.FRAME_SIZE_ERROR],
    ["ENABLE_PUSH 2", payload([[F.S_ENABLE_PUSH, 2]]), F.PROTOCOL_ERROR],
    ["INITIAL_WINDOW_SIZE 2^31", payload([[F.S_INITIAL_WINDOW_SIZE, 0x80000000]]), F.FLOW_CONTROL_ERROR],
    ["MAX_FRAME_SIZE 16383", payload([[F.S_MAX_FRAME_SIZE, 16383]]), F.PROTOCOL_ERROR],
    ["MAX_FRAME_SIZE 2^24", payload([[F.S_MAX_FRAME_SIZE, 1 << 24]]), F.PROTOCOL_ERROR],
    ["ENABLE_PUSH 1", payload([[F.S_ENABLE_PUSH, 1]]), 0],
    ["INITIAL_WINDOW_SIZE 2^31-1", payload([[F.S_INITIAL_WINDOW_SIZE, 0x7fffffff]]), 0],
    ["MAX_FRAME_SIZE 2^24-1", payload([[F.S_MAX_FRAME_SIZE, (1 << 24) - 1]]), 0],
    ["an unknown identifier", payload([[0x99, 7]]), 0],
    ["empty", new Uint8Array(0), 0],
  ] as [string, Uint8Array, number][])("%s → %d", (_name, p, code) => {
    expect(read(p).err).toBe(code);
  });

  test("every known identifier lands in its field; the last of a repeated one wins", () => {
    const { s } = read(payload([[1, 100], [2, 0], [3, 7], [4, 1000], [5, 20000], [6, 300], [3, 9]]));
    expect(s).toEqual({ headerTableSize: 100, enablePush: 0, maxConcurrentStreams: 9, initialWindowSize: 1000, maxFrameSize: 20000, maxHeaderListSize: 300 });
  });
});

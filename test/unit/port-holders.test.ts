// Listening sockets of other processes, from /proc/net/tcp{,6}: parsing and the
// address overlap rules (tables); the live check against a real listener.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { canonicalAddress, foreignListeners, overlaps, ownSocketInodes, parseProcNetTcp, type ListeningSocket } from "../../workers/port-holders.ts";

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1135 1 00000000cc4870d1 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 424242 1 0000000000000000 100 0 0 10 0
   2: 0100007F:8A35 0100007F:B56A 06 00000000:00000000 03:00001520 00000000     0        0 0 3 00000000d4c1429c
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 778 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 779 1 0000000000000000 100 0 0 10 0
`;

describe("/proc/net/tcp parsing", () => {
  test("IPv4: LISTEN sockets only, address in host order, port, uid, inode", () => {
    expect(parseProcNetTcp(TCP, 4)).toEqual([
      { address: "0.0.0.0", port: 2024, uid: 0, inode: 1135, family: 4 },
      { address: "127.0.0.1", port: 8080, uid: 1000, inode: 424242, family: 4 },
    ]);
  });
  test("IPv6: the wildcard, ::1 and a v4-mapped address", () => {
    expect(parseProcNetTcp(TCP6, 6).map((s) => [s.address, s.port, s.inode])).toEqual([
      ["::", 8080, 777],
      ["0:0:0:0:0:0:0:1", 8081, 778],
      ["127.0.0.1", 8082, 779],
    ]);
  });
  test("garbage and empty text give nothing", () => {
    expect(parseProcNetTcp("", 4)).toEqual([]);
    expect(parseProcNetTcp("header\nnot a line\n", 6)).toEqual([]);
  });
});

describe("which listeners take a bind's connections", () => {
  test.each([
    ["", "0.0.0.0"],
    ["0.0.0.0", "0.0.0.0"],
    ["127.0.0.1", "127.0.0.1"],
    ["::", "::"],
    ["::1", "0:0:0:0:0:0:0:1"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["fe80::1:2", "fe80:0:0:0:0:0:1:2"],
  ])("canonicalAddress(%p) = %p", (a, want) => {
    expect(canonicalAddress(a)).toBe(want);
  });

  const held = (address: string, family: 4 | 6 = address.includes(":") ? 6 : 4): ListeningSocket => ({ address, port: 1, uid: 0, inode: 1, family });
  test.each([
    ["127.0.0.1", "127.0.0.1", true],
    ["127.0.0.1", "127.0.0.2", false],
    ["127.0.0.1", "0.0.0.0", true],
    ["0.0.0.0", "127.0.0.1", true],
    ["0.0.0.0", "::", true],
    ["127.0.0.1", "::", true],
    ["0.0.0.0", "0:0:0:0:0:0:0:1", false],
    ["::1", "127.0.0.1", false],
    ["::1", "0:0:0:0:0:0:0:1", true],
    ["::", "127.0.0.1", true],
  ] as const)("bind %p, held %p: %p", (bind, address, want) => {
    expect(overlaps(bind, held(address))).toBe(want);
  });
});

describe("on this machine", () => {
  test.skipIf(process.platform !== "linux")("our own listener is ours; it is not reported as another process's", () => {
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const mine = parseProcNetTcp(readFileSync("/proc/net/tcp", "utf8"), 4).find((s) => s.port === l.port);
      expect(mine).toBeDefined();
      expect(ownSocketInodes().has(mine!.inode)).toBe(true);
      expect(foreignListeners("127.0.0.1", l.port)).toEqual([]);
    } finally {
      l.stop(true);
    }
  });

  test.skipIf(process.platform !== "linux")("another process's reusePort listener is found, for the wildcard too", async () => {
    const holder = Bun.spawn([process.execPath, "-e", `const l = Bun.listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket: { data() {} } }); console.log(l.port);`], { stdout: "pipe" });
    try {
      const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
      const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
      expect(foreignListeners("127.0.0.1", port).map((s) => [s.address, s.port])).toEqual([["127.0.0.1", port]]);
      expect(foreignListeners("0.0.0.0", port).length).toBe(1);
      expect(foreignListeners("127.0.0.2", port)).toEqual([]);
    } finally {
      holder.kill();
      await holder.exited;
    }
  });
});

// PROXY protocol v1/v2 header parsing (table tests); the listeners are tested in test/workers/edge/proxy-protocol.test.ts.
import { describe, expect, test } from "bun:test";
import { parseProxyHeader, PROXY_BAD, PROXY_MORE, ProxyHeaderReader, type ProxiedAddress } from "../../workers/proxy-protocol.ts";

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

export function v2(cmd: number, fam: number, addr: number[], tlv: number[] = []): Buffer {
  const body = [...addr, ...tlv];
  return Buffer.from([...SIG, 0x20 | cmd, fam, body.length >> 8, body.length & 255, ...body]);
}

const v4addr = [203, 0, 113, 7, 10, 0, 0, 1, 0x30, 0x39, 0x01, 0xbb]; // 203.0.113.7:12345 → 10.0.0.1:443
const v6addr = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, ...Array(16).fill(0), 0x04, 0xd2, 0, 80];

const cases: [string, Buffer, number | "len", ProxiedAddress?][] = [
  ["v1 TCP4", Buffer.from("PROXY TCP4 203.0.113.7 10.0.0.1 12345 443\r\nGET"), "len", { ip: "203.0.113.7", port: 12345 }],
  ["v1 TCP6", Buffer.from("PROXY TCP6 2001:db8::1 ::1 1234 80\r\n"), "len", { ip: "2001:db8::1", port: 1234 }],
  ["v1 UNKNOWN", Buffer.from("PROXY UNKNOWN ffff::1 ::1 1 2\r\n"), "len", { ip: "", port: 0 }],
  ["v1 partial", Buffer.from("PROXY TCP4 203.0"), PROXY_MORE],
  ["v1 bad family", Buffer.from("PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n"), PROXY_BAD],
  ["v1 v6 address under TCP4", Buffer.from("PROXY TCP4 ::1 ::1 1 2\r\n"), PROXY_BAD],
  ["v1 port out of range", Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n"), PROXY_BAD],
  ["v1 bare LF", Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n"), PROXY_BAD],
  ["v1 too long", Buffer.from("PROXY TCP4 " + "1".repeat(120)), PROXY_BAD],
  ["no header: an HTTP request", Buffer.from("GET / HTTP/1.1\r\n"), PROXY_BAD],
  ["no header: a TLS ClientHello", Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10]), PROXY_BAD],
  ["v2 PROXY TCP4", v2(1, 0x11, v4addr), "len", { ip: "203.0.113.7", port: 12345 }],
  ["v2 PROXY TCP6", v2(1, 0x21, v6addr), "len", { ip: "2001:db8::1", port: 1234 }],
  ["v2 with TLVs", v2(1, 0x11, v4addr, [0x20, 0x00, 0x01, 0x00]), "len", { ip: "203.0.113.7", port: 12345 }],
  ["v2 LOCAL", v2(0, 0x00, []), "len", { ip: "", port: 0 }],
  ["v2 partial", v2(1, 0x11, v4addr).subarray(0, 20), PROXY_MORE],
  ["v2 bad version", Buffer.from([...SIG, 0x11, 0x11, 0, 0]), PROXY_BAD],
  ["v2 bad command", v2(2, 0x11, v4addr), PROXY_BAD],
  ["v2 TCP4 too short", v2(1, 0x11, [1, 2, 3]), PROXY_BAD],
];

describe("parseProxyHeader", () => {
  for (const [name, buf, want, addr] of cases) {
    test(name, () => {
      const out: ProxiedAddress = { ip: "x", port: -1 };
      const r = parseProxyHeader(buf, out);
      if (want === "len") {
        expect(r).toBeGreaterThan(0);
        expect(out).toEqual(addr!);
      } else expect(r).toBe(want);
    });
  }

  test("v1 header length excludes what follows", () => {
    const b = Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET");
    expect(b.subarray(parseProxyHeader(b, { ip: "", port: 0 })).toString()).toBe("GET");
  });
});

describe("ProxyHeaderReader", () => {
  test("a header split over reads, bytes after it handed back", () => {
    const whole = Buffer.concat([v2(1, 0x11, v4addr), Buffer.from("hello")]);
    const r = new ProxyHeaderReader();
    expect(r.feed(whole.subarray(0, 5))).toBeNull();
    expect(r.feed(whole.subarray(5, 18))).toBeNull();
    const rest = r.feed(whole.subarray(18));
    expect(Buffer.isBuffer(rest) && rest.toString()).toBe("hello");
    expect(r.addr).toEqual({ ip: "203.0.113.7", port: 12345, dstIp: "10.0.0.1", dstPort: 443 });
  });

  test("the destination is kept too (what an upstream PROXY header repeats): v1, v2 IPv6; none for LOCAL or UNKNOWN", () => {
    const a = new ProxyHeaderReader();
    a.feed(Buffer.from("PROXY TCP4 203.0.113.7 198.51.100.1 4444 8080\r\n"));
    expect(a.addr).toEqual({ ip: "203.0.113.7", port: 4444, dstIp: "198.51.100.1", dstPort: 8080 });
    const b = new ProxyHeaderReader();
    b.feed(v2(1, 0x21, v6addr));
    expect(b.addr).toEqual({ ip: "2001:db8::1", port: 1234, dstIp: "::", dstPort: 80 });
    const c = new ProxyHeaderReader();
    c.feed(v2(0, 0x00, []));
    expect(c.addr).toEqual({ ip: "", port: 0 });
    const d = new ProxyHeaderReader();
    d.feed(Buffer.from("PROXY UNKNOWN\r\n"));
    expect(d.addr).toEqual({ ip: "", port: 0 });
  });

  test("garbage is refused at once", () => {
    expect(new ProxyHeaderReader().feed(Buffer.from("GET / HTTP/1.1\r\n"))).toBe(PROXY_BAD);
  });
});

describe("mesh config gatewayTopology.proxyProtocol", () => {
  test("{} turns it on; absent is off; a non-object is an Error naming the field", async () => {
    const { decodeMeshConfig } = await import("../../src/decode/meshconfig.ts");
    expect(decodeMeshConfig("m.yaml", "defaultConfig:\n  gatewayTopology: {proxyProtocol: {}}\n").mesh.proxyProtocol).toBe(true);
    expect(decodeMeshConfig("m.yaml", "defaultConfig:\n  gatewayTopology: {numTrustedProxies: 1}\n").mesh.proxyProtocol).toBe(false);
    const bad = decodeMeshConfig("m.yaml", "defaultConfig:\n  gatewayTopology: {proxyProtocol: true}\n");
    expect(bad.errors.length).toBe(1);
    expect(bad.errors[0]!.file).toBe("m.yaml");
    expect(JSON.stringify(bad.errors[0])).toContain("gatewayTopology.proxyProtocol");
  });
});

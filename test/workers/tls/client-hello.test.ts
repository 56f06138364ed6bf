import { describe, expect, test } from "bun:test";
import { MAX_HELLO_BYTES, newHelloWalk, parseClientHello } from "../../../workers/tls/client-hello.ts";
import { captureHello, refragment } from "./hello-capture.ts";


describe("ClientHello parsing", () => {
  test("SNI and ALPN of a real client", async () => {
    const hello = await captureHello({ servername: "HttpBin.Example.com", ALPNProtocols: ["h2", "http/1.1"] });
    const r = parseClientHello(hello);
    expect(r).toEqual({ status: "ok", sni: "httpbin.example.com", alpn: ["h2", "http/1.1"], version: 0x0303 });
  });

  test("no SNI (connecting by IP address) gives an empty name", async () => {
    const hello = await captureHello({});
    const r = parseClientHello(hello);
    expect(r.status).toBe("ok");
    if (r.status === "ok") expect(r.sni).toBe("");
  });

  test("every prefix of a hello asks for more, the whole hello parses", async () => {
    const hello = await captureHello({ servername: "a.example.com" });
    for (let i = 0; i < hello.length; i++) expect(parseClientHello(hello.subarray(0, i)).status).toBe("more");
    expect(parseClientHello(hello).status).toBe("ok");
  });

  test("a hello split over several TLS records", async () => {
    const hello = await captureHello({ servername: "split.example.com", ALPNProtocols: ["http/1.1"] });
    for (const size of [Math.ceil(hello.length / 30), 100, 1000]) {
      const frag = refragment(hello, size);
      const r = parseClientHello(frag);
      expect(r).toMatchObject({ status: "ok", sni: "split.example.com", alpn: ["http/1.1"] });
      for (let i = 0; i < frag.length; i += 13) expect(parseClientHello(frag.subarray(0, i)).status).toBe("more");
    }
  });

  test.each([
    ["plain HTTP", new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "not a TLS handshake"],
    ["alert record", new Uint8Array([0x15, 3, 1, 0, 2, 2, 40]), "not a TLS handshake"],
    ["SSLv2-style version", new Uint8Array([0x16, 2, 0, 0, 4, 1, 0, 0, 0]), "bad record version"],
    ["empty record", new Uint8Array([0x16, 3, 1, 0, 0]), "empty handshake record"],
    ["server hello instead", new Uint8Array([0x16, 3, 1, 0, 4, 2, 0, 0, 0]), "first handshake message is not a client hello"],
    ["truncated body", new Uint8Array([0x16, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3]), "client hello truncated"],
    ["declared 16 MB hello", new Uint8Array([0x16, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff]), "client hello too large"],
    ["record too long", new Uint8Array([0x16, 3, 1, 0xff, 0xff]), "record too long"],
  ])("rejects %s", (_name, bytes, reason) => {
    expect(parseClientHello(bytes)).toEqual({ status: "error", reason });
  });

  // Envoy's tls_inspector (BoringSSL) takes a hello in records of any size; only its bytes read are
  // bounded (64 KiB): so does gangway, the record count bounded by that alone
  test("a real hello cut into 1-byte records (hundreds of them) parses, whole or fed a few bytes at a time through one walk", async () => {
    const hello = await captureHello({ servername: "tiny.example.com", ALPNProtocols: ["h2", "istio"] });
    const frag = refragment(hello, 1);
    expect(frag.length / 6).toBeGreaterThan(200);
    const want = { status: "ok" as const, sni: "tiny.example.com", alpn: ["h2", "istio"], version: 0x0303 };
    expect(parseClientHello(frag)).toEqual(want);
    for (const step of [1, 5, 6, 7, 1000]) {
      const walk = newHelloWalk();
      let r = parseClientHello(frag.subarray(0, 0), walk);
      let end = 0;
      while (r.status === "more") {
        end = Math.min(end + step, frag.length);
        r = parseClientHello(frag.subarray(0, end), walk);
        // resumed: the walk stops at the last whole record, never before the bytes it had walked
        if (r.status === "more") expect(frag.length - walk.off).toBeGreaterThan(0);
        if (r.status === "more") expect(end - walk.off).toBeLessThan(6);
      }
      expect(r).toEqual(want);
      expect(end).toBe(frag.length);
    }
  });

  test("a hello whose records pass 64 KiB on the wire is refused, however it is cut", () => {
    // handshake header 01 00 30 00 (a 12 KB hello), then one byte per record: 6 bytes each on the wire
    const head: number[] = [];
    for (const b of [1, 0, 0x30, 0]) head.push(0x16, 3, 1, 0, 1, b);
    const body = new Uint8Array(MAX_HELLO_BYTES + 12);
    body.set(head);
    for (let o = head.length; o + 6 <= body.length; o += 6) body.set([0x16, 3, 1, 0, 1, 0], o);
    expect(parseClientHello(body)).toEqual({ status: "error", reason: "client hello too large" });
    const walk = newHelloWalk();
    let r = parseClientHello(body.subarray(0, 60_000), walk);
    expect(r.status).toBe("more");
    r = parseClientHello(body, walk);
    expect(r).toEqual({ status: "error", reason: "client hello too large" });
    // under the bound, the same shape only waits for more
    expect(parseClientHello(body.subarray(0, MAX_HELLO_BYTES - 6)).status).toBe("more");
  });

  test("fuzzed hellos never throw and never report a name with invalid characters", async () => {
    const hello = await captureHello({ servername: "fuzz.example.com", ALPNProtocols: ["h2"] });
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const counts = { ok: 0, more: 0, error: 0 };
    for (let i = 0; i < 5000; i++) {
      const b = hello.slice(0, 5 + Math.floor(rand() * (hello.length - 5 + 1)));
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const r = parseClientHello(b);
      counts[r.status]++;
      if (r.status === "ok") expect(r.sni).toMatch(/^[a-z0-9._-]*$/);
    }
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(Math.floor(rand() * 600));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
      if (b.length > 0 && rand() < 0.5) b[0] = 0x16;
      if (b.length > 1 && rand() < 0.5) b[1] = 3;
      counts[parseClientHello(b).status]++;
    }
    expect(counts.error).toBeGreaterThan(0);
    expect(counts.ok + counts.more + counts.error).toBe(7000);
  });
});

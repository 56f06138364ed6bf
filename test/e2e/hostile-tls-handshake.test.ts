// Hostile handshakes on the real process's TLS ports (SIMPLE with two hosts,
// MUTUAL, PASSTHROUGH): each shape ends with a ServerHello, an alert or a close,
// never a hang (probed beside nginx and Envoy: notes/hostiletls.md). Raw bytes
// over node:net; the answers are those of BoringSSL, which Envoy runs too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as net from "node:net";
import * as tls from "node:tls";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { clientHello, craftedHello, inRecords } from "../helpers/client-hello.ts";
import { loopbackServiceEntry } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { rawUpstream } from "../workers/edge/helpers.ts";

const HOST = "httpbin.example.com";
const PT = "nginx.example.com";
const up = rawUpstream((s) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
/** The passthrough destination: records the first bytes of each connection it gets. */
const ptGot: Buffer[] = [];
const ptUp = Bun.listen<{ i: number }>({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(s) {
      s.data = { i: ptGot.push(Buffer.alloc(0)) - 1 };
    },
    data(s, d) {
      ptGot[s.data.i] = Buffer.concat([ptGot[s.data.i]!, d]);
    },
  },
});
let ca: Issued;
let client: Issued;
let expired: Issued;
let other: Issued;
let gw: GatewayProcess;
let simple = 0;
let mutual = 0;
let pass = 0;

beforeAll(async () => {
  ca = await createCA({ cn: "example.com", keyType: "ec" });
  const otherCa = await createCA({ cn: "other.example", keyType: "ec" });
  const [httpbin, hello] = await Promise.all([
    issue(ca, { cn: HOST, usage: "server", keyType: "ec" }),
    issue(ca, { cn: "helloworld.example.com", usage: "server", keyType: "ec" }),
  ]);
  client = await issue(ca, { cn: "client.example.com", usage: "client", keyType: "ec" });
  other = await issue(otherCa, { cn: "client.other.example", usage: "client", keyType: "ec" });
  const day = 86_400_000;
  expired = await issue(ca, { cn: "expired.example.com", usage: "client", keyType: "ec", notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
  const dir = writeTree({
    "s.yaml": secretYaml("httpbin-cred", "istio-system", "tls", httpbin.cert, httpbin.key, ca.cert) + "---\n" + secretYaml("hello-cred", "istio-system", "tls", hello.cert, hello.key),
    "se.yaml": loopbackServiceEntry({ name: "be", host: "be.local", port: 80, targetPort: up.port }) + loopbackServiceEntry({ name: "pt", host: PT, port: 443, targetPort: ptUp.port, portName: "p", protocol: "TLS" }),
    "gw.yaml": `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [${HOST}]
    tls: {mode: SIMPLE, credentialName: httpbin-cred}
  - port: {number: 443, name: https2, protocol: HTTPS}
    hosts: [helloworld.example.com]
    tls: {mode: SIMPLE, credentialName: hello-cred}
  - port: {number: 8443, name: mtls, protocol: HTTPS}
    hosts: [${HOST}]
    tls: {mode: MUTUAL, credentialName: httpbin-cred}
  - port: {number: 9443, name: pt, protocol: TLS}
    hosts: [${PT}]
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [${HOST}, helloworld.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: be.local, port: {number: 80}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: vspt}
spec:
  hosts: [${PT}]
  gateways: [gw]
  tls:
  - match: [{port: 9443, sniHosts: [${PT}]}]
    route: [{destination: {host: ${PT}, port: {number: 443}}}]
`,
  });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [443, 8443, 9443], workers: 1, args: ["--access-log", "stdout"] });
  simple = gw.ports.get(443)!;
  mutual = gw.ports.get(8443)!;
  pass = gw.ports.get(9443)!;
});
afterAll(async () => {
  await gw.stop();
  up.stop(true);
  ptUp.stop(true);
});

interface Answer {
  /** What came back first: "ServerHello", "alert <level> <description>", "none", or the first bytes. */
  first: string;
  /** "closed" (FIN or reset), or "open" when still open after `ms`. */
  end: "closed" | "open";
}

function describeBytes(b: Buffer): string {
  if (b.length === 0) return "none";
  if (b[0] === 0x16 && b[5] === 2) return "ServerHello";
  if (b[0] === 0x15 && b.length >= 7) return `alert ${b[5]} ${b[6]}`;
  return b.subarray(0, 16).toString("latin1");
}

/** Send `parts` (`gapMs` apart), end the write side when `fin`; what came back until closed, `done` holds (of what came back) or `ms`. */
async function probe(port: number, parts: Buffer[], o: { gapMs?: number; fin?: boolean; ms?: number; done?: (got: Buffer) => boolean } = {}): Promise<Answer> {
  const s = net.connect({ host: "127.0.0.1", port, noDelay: true });
  let got = Buffer.alloc(0);
  let closed = false;
  const over = new Promise<void>((r) => {
    s.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
    s.on("close", () => ((closed = true), r()));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => s.once("connect", () => r()));
  for (let i = 0; i < parts.length && !closed; i++) {
    if (i > 0 && o.gapMs) await Bun.sleep(o.gapMs);
    s.write(parts[i]!);
  }
  if (o.fin) s.end();
  const end = Date.now() + (o.ms ?? 3000);
  while (!closed && Date.now() < end && !(o.done?.(got) ?? false)) await Promise.race([over, Bun.sleep(10)]);
  const a: Answer = { first: describeBytes(got), end: closed ? "closed" : "open" };
  s.destroy();
  return a;
}

/** For a probe that expects an answer: until its first 7 bytes came (enough to tell a ServerHello or an alert), 10 s at most (the hello deadline, 5 s, closes one that gets none). */
const answered = { ms: 10_000, done: (got: Buffer) => got.length >= 7 };
/** For a passthrough probe: until the destination's connection `i` got `n` bytes, 10 s at most. */
const forwarded = (i: number, n: number) => ({ ms: 10_000, done: () => (ptGot[i]?.length ?? 0) >= n });

const bytesOf = (b: Buffer, n: number) => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));

describe("ClientHello shapes on a SIMPLE port", () => {
  test("dripped in 1-byte writes, or cut into 30 records each written alone: answered with the ServerHello", async () => {
    const hs = craftedHello();
    expect((await probe(simple, bytesOf(inRecords(hs), 1), { gapMs: 1, ...answered })).first).toBe("ServerHello");
    expect((await probe(simple, bytesOf(inRecords(hs, Math.ceil(hs.length / 30)), 99999).flatMap((b) => bytesOf(b, 7)), { gapMs: 1, ...answered })).first).toBe("ServerHello");
  });

  test("in 40 records, or in 1-byte records (hundreds), in one write or dripped: answered with the ServerHello, as nginx and Envoy", async () => {
    const hs = craftedHello();
    expect((await probe(simple, [inRecords(hs, Math.ceil(hs.length / 40))], answered)).first).toBe("ServerHello");
    expect((await probe(simple, [inRecords(hs, 1)], answered)).first).toBe("ServerHello");
    expect((await probe(simple, bytesOf(inRecords(hs, 1), 97), { gapMs: 1, ...answered })).first).toBe("ServerHello");
  }, 15_000);

  test("records past 64 KiB on the wire before the hello is whole: closed before any answer (Envoy: client_hello_too_large)", async () => {
    const hs = craftedHello({ pad: 12_000 });
    expect(await probe(simple, [inRecords(hs, 1)])).toEqual({ first: "none", end: "closed" });
  });

  test("over 16 KiB: BoringSSL's illegal_parameter alert (47) and a close, as from Envoy", async () => {
    for (const pad of [17_000, 60_000]) expect(await probe(simple, [inRecords(craftedHello({ pad }))])).toEqual({ first: "alert 2 47", end: "closed" });
  });

  test("SNI in upper case or with a trailing dot chooses its server; an IP, none, an unknown name, a zero-length name: closed unanswered", async () => {
    for (const sni of ["HTTPBIN.Example.COM", "httpbin.example.com.", "helloworld.example.com"]) {
      expect((await probe(simple, [inRecords(craftedHello({ sni }))], answered)).first).toBe("ServerHello");
    }
    for (const sni of ["127.0.0.1", null, "x.example.com", ""]) {
      expect(await probe(simple, [inRecords(craftedHello({ sni }))])).toEqual({ first: "none", end: "closed" });
    }
  });

  test("TLS 1.0 and 1.1 hellos: protocol_version alert (70) and a close (minimum TLS 1.2)", async () => {
    for (const version of [0x0301, 0x0302]) {
      expect(await probe(simple, [inRecords(craftedHello({ version }))])).toEqual({ first: "alert 2 70", end: "closed" });
    }
  });

  test("an SSLv2 hello, plain HTTP, application data or a ChangeCipherSpec first: closed unanswered", async () => {
    const shapes = [
      Buffer.from("802e0103010015000000100700c0050080030080010080080080060040040080020080" + "11".repeat(16), "hex"),
      Buffer.from(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`),
      Buffer.from("170303000568656c6c6f", "hex"),
      Buffer.from("140303000101", "hex"),
    ];
    for (const b of shapes) expect(await probe(simple, [b])).toEqual({ first: "none", end: "closed" });
  });

  test("half a hello then the client's FIN: closed at once, not at the hello deadline", async () => {
    expect(await probe(simple, [inRecords(craftedHello()).subarray(0, 60)], { fin: true, ms: 2000 })).toEqual({ first: "none", end: "closed" });
  });
});

/** A TLS client; resolves with what the server answered to one request, or the error that ended it. */
function tlsRequest(port: number, o: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const t = tls.connect({ host: "127.0.0.1", port, ca: ca.cert, servername: HOST, ...o }, () => {
      t.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    });
    const timer = setTimeout(() => (t.destroy(), resolve(`hung: ${text}`)), 5000);
    t.on("data", (d: Buffer) => (text += d.toString("latin1")));
    t.on("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(`error ${e.code ?? e.message}`)));
    t.on("close", () => (clearTimeout(timer), resolve(text.split("\r\n")[0] || "closed")));
  });
}

describe("client certificates", () => {
  test("MUTUAL: a trusted certificate is served; none, another CA's or an expired one ends the connection without an answer", async () => {
    expect(await tlsRequest(mutual, { cert: client.cert, key: client.key })).toBe("HTTP/1.1 200 OK");
    for (const c of [null, other, expired]) {
      for (const maxVersion of ["TLSv1.2", "TLSv1.3"] as const) {
        const r = await tlsRequest(mutual, c === null ? { maxVersion } : { cert: c.cert, key: c.key, maxVersion });
        expect(r).not.toContain("HTTP/1.1");
        expect(r).not.toContain("hung");
      }
    }
  });

  test("SIMPLE: a client offering a certificate is served (none is asked for)", async () => {
    expect(await tlsRequest(simple, { cert: other.cert, key: other.key })).toBe("HTTP/1.1 200 OK");
  });
});

describe("PASSTHROUGH", () => {
  test("a hello dripped in 1-byte writes reaches the destination whole", async () => {
    const hello = clientHello(PT);
    const before = ptGot.length;
    await probe(pass, bytesOf(hello, 1), { gapMs: 1, ...forwarded(before, hello.length) });
    expect(ptGot.length).toBe(before + 1);
    expect(ptGot[before]!.equals(hello)).toBe(true);
  });

  test("a hello in 2-byte records reaches the destination as sent", async () => {
    const hello = inRecords(clientHello(PT).subarray(5), 2);
    const before = ptGot.length;
    await probe(pass, [hello], forwarded(before, hello.length));
    expect(ptGot.length).toBe(before + 1);
    expect(ptGot[before]!.equals(hello)).toBe(true);
  });

  test("a truncated hello then FIN, or a malformed one: closed, nothing reaches any destination", async () => {
    const before = ptGot.length;
    const hello = clientHello(PT);
    const bad = Buffer.from(hello);
    bad[bad.length - 3] = 0xff; // a byte no host name has, inside the SNI
    expect(await probe(pass, [hello.subarray(0, 40)], { fin: true })).toEqual({ first: "none", end: "closed" });
    expect(await probe(pass, [bad])).toEqual({ first: "none", end: "closed" });
    expect(ptGot.length).toBe(before);
  });

  test("clients that reset right after their hello: each logged, no worker error (the socket's addresses are gone by then)", async () => {
    const hello = clientHello(PT);
    const from = gw.output().length;
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 30 }, async () => {
          const s = net.connect({ host: "127.0.0.1", port: pass, noDelay: true });
          s.on("error", () => {});
          await new Promise<void>((r) => s.once("connect", () => r()));
          s.write(hello);
          s.resetAndDestroy();
        }),
      );
    }
    const lines = () => gw.output().slice(from).split("\n");
    const logged = () => lines().filter((l) => l.startsWith("[") && l.includes('"- - -"')).length;
    for (const end = Date.now() + 20_000; logged() < 300 && Date.now() < end; ) await Bun.sleep(100); // 300 sessions for one loaded worker
    expect(logged()).toBeGreaterThanOrEqual(300);
    expect(lines().filter((l) => l.includes("\terror\t")).slice(0, 1)).toEqual([]);
    expect(await tlsRequest(simple, {})).toBe("HTTP/1.1 200 OK");
  });
});

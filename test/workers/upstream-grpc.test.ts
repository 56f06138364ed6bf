// HTTP/2 to upstreams and gRPC end to end, through a real worker: a gRPC
// backend written with node:http2 and gRPC's framing (grpc-backend.ts), h2c
// and h2 over TLS (ALPN), clients speaking h2c (node:http2) and HTTP/1.1.
// Unary, server/client/bidi streaming, trailers both ways, grpc-status from
// the upstream, grpc-timeout, connection failures, stream limits.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import { createCA, issue } from "../../src/certs/generate.ts";
import { gatewayWithRoutes } from "../helpers/config.ts";
import { compileYaml, findingLines } from "../unit/pipeline-helpers.ts";
import { call, frame, grpcBackend, type GrpcBackend } from "./grpc-backend.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

let w: WorkerHarness;
let gw = 0;
let h2c: GrpcBackend;
let tlsB: GrpcBackend;
let limB: GrpcBackend;
let capB: GrpcBackend;
let plain: GrpcBackend;
let wrongCa: GrpcBackend;
let mrpc: GrpcBackend;
let client: http2.ClientHttp2Session;
let findings: string[] = [];

const b64 = (s: string) => Buffer.from(s).toString("base64");

function se(name: string, port: number, portName: string, protocol: string, target: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.internal]
  ports: [{number: ${port}, name: ${portName}, protocol: ${protocol}, targetPort: ${target}}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
`;
}

const route = (backend: string, host: string, port: number, extra = "") =>
  `  - match: [{headers: {x-backend: {exact: ${backend}}}}]\n    route: [{destination: {host: ${host}.internal, port: {number: ${port}}}}]${extra}\n`;

beforeAll(async () => {
  const ca = await createCA({ cn: "grpc-test-ca", keyType: "ec" });
  const cert = await issue(ca, { cn: "tls.internal", names: ["tls.internal"], usage: "server", keyType: "ec" });
  h2c = await grpcBackend();
  tlsB = await grpcBackend({ cert: cert.cert, key: cert.key });
  limB = await grpcBackend();
  capB = await grpcBackend();
  plain = await grpcBackend();
  mrpc = await grpcBackend();
  const otherCa = await createCA({ cn: "other-ca", keyType: "ec" });
  const otherCert = await issue(otherCa, { cn: "tls.internal", names: ["tls.internal"], usage: "server", keyType: "ec" });
  wrongCa = await grpcBackend({ cert: otherCert.cert, key: otherCert.key });
  gw = freePort();
  const routes = [
    route("tls", "tls", 443),
    route("wrongca", "wrongca", 443),
    route("lim", "lim", 50051),
    route("mrpc", "mrpc", 50051),
    route("cap", "cap", 50051),
    route("dead", "dead", 50051),
    route("capped", "grpc", 50051, "\n    timeout: 0.2s"),
    route("plain", "plain", 80),
    route("retry", "grpc", 50051, "\n    retries: {attempts: 2, retryOn: unavailable}"),
    "  - route: [{destination: {host: grpc.internal, port: {number: 50051}}}]",
  ].join("");
  const entries = [
    se("grpc", 50051, "grpc", "GRPC", h2c.port),
    se("tls", 443, "grpc-tls", "GRPC", tlsB.port),
    se("wrongca", 443, "grpc-tls", "GRPC", wrongCa.port),
    se("lim", 50051, "grpc", "GRPC", limB.port),
    se("mrpc", 50051, "grpc", "GRPC", mrpc.port),
    se("cap", 50051, "grpc", "GRPC", capB.port),
    se("dead", 50051, "grpc", "GRPC", freePort()),
    se("plain", 80, "http", "HTTP", plain.port),
  ].join("");
  const yaml = `${gatewayWithRoutes(routes)}${entries}apiVersion: v1
kind: Secret
metadata: {name: tls-ca, namespace: istio-system}
data: {ca.crt: ${b64(ca.cert)}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: tls}
spec:
  host: tls.internal
  trafficPolicy: {tls: {mode: SIMPLE, credentialName: tls-ca, sni: tls.internal}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: wrongca}
spec:
  host: wrongca.internal
  trafficPolicy: {tls: {mode: SIMPLE, credentialName: tls-ca, sni: tls.internal}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mrpc}
spec:
  host: mrpc.internal
  trafficPolicy: {connectionPool: {http: {maxRequestsPerConnection: 2}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: lim}
spec:
  host: lim.internal
  trafficPolicy: {connectionPool: {http: {maxConcurrentStreams: 1}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cap}
spec:
  host: cap.internal
  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 2}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: plain}
spec:
  host: plain.internal
  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}
`;
  const snap = compileYaml(yaml, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" });
  findings = findingLines(snap);
  w = new WorkerHarness();
  await w.apply(snap);
  client = http2.connect(`http://127.0.0.1:${gw}`);
  client.on("error", () => {});
});

afterAll(() => {
  client?.close();
  w?.stop();
  for (const b of [h2c, tlsB, limB, capB, plain, wrongCa, mrpc]) b?.close();
});

describe("gRPC over h2c (client) → h2c (upstream)", () => {
  test("the compiled HTTP/2 clusters are served: no GW0415 'HTTP/1.1' finding", () => {
    expect(findings.filter((f) => f.includes("GW0415"))).toEqual([]);
  });

  test("unary: message back, grpc-status 0 and the upstream's other trailers", async () => {
    const r = await call(client, "/test.Echo/Unary", ["hello"]);
    expect(r.headers[":status"]).toBe(200);
    expect(r.headers["content-type"]).toBe("application/grpc");
    expect(r.messages.map(String)).toEqual(["hello"]);
    expect([r.trailers["grpc-status"], r.trailers["x-trailer"]]).toEqual(["0", "t1"]);
  });

  test("server streaming: 1000 messages in order, then the trailers", async () => {
    const r = await call(client, "/test.Echo/ServerStream", ["1000"]);
    expect(r.messages.length).toBe(1000);
    expect(String(r.messages[0])).toBe("msg 0");
    expect(String(r.messages[999])).toBe("msg 999");
    expect([r.trailers["grpc-status"], r.trailers["x-count"]]).toEqual(["0", "1000"]);
  });

  test("a request body far larger than the upstream's windows goes through whole (the client is held back, then resumed on drain)", async () => {
    const msgs = Array.from({ length: 160 }, () => Buffer.alloc(64 * 1024, 97).toString());
    const r = await call(client, "/test.Echo/ClientStream", msgs);
    expect(r.messages.map(String)).toEqual([`160 ${160 * 64 * 1024}`]);
    expect(r.trailers["grpc-status"]).toBe("0");
  });

  test("client streaming with request trailers: all messages counted, trailers reach the upstream", async () => {
    const msgs = Array.from({ length: 300 }, (_, i) => `m${i}`.padEnd(100, "."));
    const r = await call(client, "/test.Echo/ClientStream", msgs, {}, { "x-req-trailer": "rt" });
    expect(r.messages.map(String)).toEqual(["300 30000"]);
    expect(r.trailers["grpc-status"]).toBe("0");
    expect(r.trailers["echo-x-req-trailer"]).toBe("rt");
  });

  test("bidi: each message is echoed before the next is sent", async () => {
    const st = client.request({ ":method": "POST", ":path": "/test.Echo/Bidi", "content-type": "application/grpc", te: "trailers" });
    const got: string[] = [];
    let trailers: Record<string, unknown> = {};
    let wake: (() => void) | null = null;
    const { Deframer } = await import("./grpc-backend.ts");
    const df = new Deframer();
    st.on("data", (d: Buffer) => {
      got.push(...df.push(d).map(String));
      wake?.();
    });
    st.on("trailers", (t) => (trailers = { ...t }));
    const closed = new Promise<void>((r) => st.on("close", () => r()));
    for (let i = 0; i < 20; i++) {
      const seen = new Promise<void>((r) => (wake = r));
      st.write(frame(`ping ${i}`));
      while (got.length <= i) await seen; // the echo arrives while the request is still open
    }
    st.end();
    await closed;
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `ping ${i}`));
    expect(trailers["grpc-status"]).toBe("0");
  });

  test("a non-zero grpc-status (Trailers-Only) and grpc-message pass through", async () => {
    const r = await call(client, "/test.Echo/Fail", []);
    const all = { ...r.headers, ...r.trailers };
    expect([r.headers[":status"], all["grpc-status"], all["grpc-message"]]).toEqual([200, "5", "no such thing"]);
    expect(r.messages).toEqual([]);
  });

  // Istio's gateway routes carry max_grpc_timeout = the route timeout: Envoy's router takes grpc-timeout
  // as the route timeout (capped by it), starts it at the request's end, and answers its expiry as the
  // route timeout's (504 UT, a gRPC client reads 14); the upstream is sent the time it has
  test("grpc-timeout is the route timeout: UNAVAILABLE (14) 'upstream request timeout'; the upstream is sent it in ms", async () => {
    const r = await call(client, "/test.Echo/Slow", ["x"], { "grpc-timeout": "150000u" });
    expect([r.headers[":status"], r.headers["grpc-status"], r.headers["grpc-message"]]).toEqual([200, "14", "upstream request timeout"]);
    expect(h2c.timeouts).toContain("150m");
  });

  test("the route timeout caps a longer grpc-timeout (Istio's max_grpc_timeout), and that is what the upstream is told", async () => {
    const before = h2c.timeouts.length;
    const r = await call(client, "/test.Echo/Slow", ["x"], { "grpc-timeout": "30S", "x-backend": "capped" });
    expect([r.headers["grpc-status"], r.headers["grpc-message"]]).toEqual(["14", "upstream request timeout"]);
    expect(h2c.timeouts.slice(before)).toEqual(["200m"]);
  });

  test("no grpc-timeout on a route with a timeout: the upstream is sent the route's as grpc-timeout (Envoy's setTimeoutHeaders)", async () => {
    const before = h2c.timeouts.length;
    const r = await call(client, "/test.Echo/Slow", ["x"], { "x-backend": "capped" });
    expect(r.headers["grpc-status"]).toBe("14");
    expect(h2c.timeouts.slice(before)).toEqual(["200m"]);
  });

  test("grpc-timeout 0 (`0m`, `0n`) is no deadline from the header, as Envoy reads it: the call is served", async () => {
    for (const t of ["0m", "0n"]) {
      const r = await call(client, "/test.Echo/Unary", ["zero"], { "grpc-timeout": t });
      expect([r.headers[":status"], r.trailers["grpc-status"]]).toEqual([200, "0"]);
    }
  });

  test("grpc-timeout 0 on a route with a timeout: the route timeout applies (504 UT → UNAVAILABLE)", async () => {
    const r = await call(client, "/test.Echo/Slow", ["x"], { "grpc-timeout": "0S", "x-backend": "capped" });
    expect([r.headers["grpc-status"], r.headers["grpc-message"]]).toEqual(["14", "upstream request timeout"]);
  });

  test("the time counts from the request's end: a client stream open longer than its grpc-timeout is still answered", async () => {
    const st = client.request({ ":method": "POST", ":path": "/test.Echo/ClientStream", "content-type": "application/grpc", te: "trailers", "grpc-timeout": "1S" });
    let trailers: Record<string, unknown> = {};
    const got: Buffer[] = [];
    st.on("trailers", (t) => (trailers = { ...t }));
    st.on("data", (d: Buffer) => got.push(d));
    const closed = new Promise<void>((r) => st.on("close", () => r()));
    st.write(frame("one"));
    await Bun.sleep(1300); // past the 1 s from the request's start (1 s for the answer after the end: a loaded worker's round trip)
    st.end(frame("two"));
    await closed;
    expect(trailers["grpc-status"]).toBe("0");
    expect(Buffer.concat(got).subarray(5).toString()).toBe("2 6");
  });

  test("a bidi stream never half-closed is not cut at its grpc-timeout (no route timer before the request ends)", async () => {
    const st = client.request({ ":method": "POST", ":path": "/test.Echo/Bidi", "content-type": "application/grpc", te: "trailers", "grpc-timeout": "1S" });
    let trailers: Record<string, unknown> = {};
    let n = 0;
    st.on("trailers", (t) => (trailers = { ...t }));
    st.on("data", () => n++);
    const closed = new Promise<void>((r) => st.on("close", () => r()));
    for (let i = 0; i < 5; i++) {
      st.write(frame(`p${i}`));
      await Bun.sleep(260); // 1.3 s in all, past the 1 s (1 s for the answer after the end)
    }
    st.end();
    await closed;
    expect(n).toBeGreaterThan(0);
    expect(trailers["grpc-status"]).toBe("0");
  });

  test("the deadline passing after the response started resets the client's stream (the message before it arrives)", async () => {
    const r = await call(client, "/test.Echo/Stall", ["x"], { "grpc-timeout": "200m" });
    expect(r.headers[":status"]).toBe(200);
    expect(r.messages.map(String)).toEqual(["first"]);
    expect(r.trailers["grpc-status"]).toBeUndefined();
    expect(r.rst).not.toBe(0);
  });

  test("VirtualService retries (retryOn unavailable): a Trailers-Only grpc-status 14 is retried on a new stream", async () => {
    const before = h2c.flaky;
    const r = await call(client, "/test.Echo/Flaky", ["again"], { "x-backend": "retry" });
    expect(r.messages.map(String)).toEqual(["again"]);
    expect(r.trailers["grpc-status"]).toBe("0");
    expect(h2c.flaky - before).toBe(2);
  });

  test("a retry is sent the grpc-timeout left (Envoy's doRetry: setTimeoutHeaders with the time since the request ended)", async () => {
    const before = h2c.timeouts.length;
    const n = h2c.flaky;
    const r = await call(client, "/test.Echo/LateFlaky", ["later"], { "x-backend": "retry", "grpc-timeout": "20S" });
    expect(r.messages.map(String)).toEqual(["later"]);
    expect(r.trailers["grpc-status"]).toBe("0");
    expect(h2c.flaky - n).toBe(2);
    const sent = h2c.timeouts.slice(before);
    expect(sent[0]).toBe("20000m");
    // the first try took 300 ms at least (the upstream's wait) and the whole 20 s at most
    expect(sent[1]).toMatch(/^\d+m$/);
    const left = parseInt(sent[1]!, 10);
    expect(left).toBeLessThanOrEqual(19_750);
    expect(left).toBeGreaterThan(0);
  });

  test("a refused HTTP/2 connection is UNAVAILABLE (14) with Envoy's connection-failure message", async () => {
    const r = await call(client, "/test.Echo/Unary", ["x"], { "x-backend": "dead" });
    expect([r.headers["grpc-status"], r.headers["grpc-message"]]).toEqual(["14", "upstream connect error or disconnect/reset before headers. reset reason: connection failure"]);
  });

  test("an upstream stream reset mid-response resets the client's stream (never a clean end without status)", async () => {
    const r = await call(client, "/test.Echo/Reset", ["x"]);
    expect(r.messages.map(String)).toEqual(["partial"]);
    expect({ ...r.headers, ...r.trailers }["grpc-status"]).toBeUndefined();
    // Bun's HTTP/2 client shows no RST_STREAM code; an HTTP/1.1 client sees the cut: no last chunk, the connection closed
    const body = frame("x");
    const h1 = await raw(gw, `POST /test.Echo/Reset HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc\r\ncontent-length: ${body.length}\r\n\r\n${body.toString("latin1")}`);
    expect(h1.text.startsWith("HTTP/1.1 200")).toBe(true);
    expect(h1.text).toContain("partial");
    expect(h1.closed).toBe(true);
    expect(h1.text.endsWith("\r\n0\r\n\r\n")).toBe(false);
  });

  test("a single-value field the client repeated (user-agent twice) is sent on as it came, not refused by node:http2 (the call used to hang)", async () => {
    const r = await raw(gw, "GET /plain/user-agent HTTP/1.1\r\nhost: a\r\nuser-agent: a\r\nuser-agent: b\r\nconnection: close\r\n\r\n");
    expect(r.text).toStartWith("HTTP/1.1 200");
    expect(r.text).toContain('x-user-agent: "a"\r\n'); // the backend (node:http2 under Bun) keeps the first
  });

  test("a sized response passes with its length; one cut short is not ended cleanly (curl sees the stream reset)", async () => {
    // the backend runs in this process: curl runs beside it, not blocking it
    const curl = async (path: string) => {
      const p = Bun.spawn(["curl", "-sS", "-i", "--http2-prior-knowledge", "--max-time", "5", `http://127.0.0.1:${gw}${path}`], { stdout: "pipe", stderr: "pipe" });
      const out = await new Response(p.stdout).text();
      const err = await new Response(p.stderr).text();
      return { exitCode: await p.exited, text: out, err };
    };
    const ok = await curl("/plain/sized");
    expect(ok.exitCode).toBe(0);
    const text = ok.text;
    expect(text).toMatch(/^HTTP\/2 200/);
    expect(text).toContain("content-length: 10\r\n");
    expect(text).toContain("x-up: 1\r\n");
    expect(text.endsWith("\r\n\r\n0123456789")).toBe(true);
    const cut = await curl("/plain/short");
    expect(cut.exitCode).not.toBe(0);
    expect(cut.err).toContain("INTERNAL_ERROR"); // the gateway's reset (a clean end short of the length would be a PROTOCOL_ERROR)
  });

  test("flow control: a client that stops reading holds the upstream back (bounded buffering)", async () => {
    const before = h2c.written;
    const st = client.request({ ":method": "POST", ":path": "/test.Echo/ServerStream", "content-type": "application/grpc", te: "trailers" });
    st.end(frame("2000:16384")); // 2000 × 16 KiB ≈ 32 MiB
    st.pause();
    // let the pipeline fill until the upstream is held back, bounded in time
    let last = -1;
    for (let i = 0; i < 50 && h2c.written !== last; i++) {
      last = h2c.written;
      await Bun.sleep(100);
    }
    const ahead = h2c.written - before;
    expect(ahead).toBeLessThan(8 * 1024 * 1024);
    let got = 0;
    const done = new Promise<Record<string, unknown>>((r) => {
      let t: Record<string, unknown> = {};
      st.on("trailers", (x) => (t = { ...x }));
      st.on("close", () => r(t));
    });
    st.on("data", (d: Buffer) => (got += d.length));
    st.resume();
    const t = await done;
    expect(got).toBe(2000 * (16384 + 5));
    expect(t["grpc-status"]).toBe("0");
  });
});

describe("HTTP/2 upstream pools", () => {
  test("calls at once share one upstream connection (multiplexed)", async () => {
    const calls = await Promise.all(Array.from({ length: 8 }, (_, i) => call(client, "/test.Echo/Unary", [`c${i}`])));
    expect(calls.map((c) => String(c.messages[0]))).toEqual(Array.from({ length: 8 }, (_, i) => `c${i}`));
    expect(h2c.sessions).toBe(1);
  });

  test("maxConcurrentStreams 1: concurrent calls get a connection each, never two streams on one", async () => {
    const slow = Array.from({ length: 3 }, () => call(client, "/test.Echo/Slow", ["x"], { "x-backend": "lim", "grpc-timeout": "300m" }));
    const rs = await Promise.all(slow);
    expect(rs.map((r) => r.headers["grpc-status"])).toEqual(["14", "14", "14"]);
    expect(limB.sessions).toBe(3);
  });

  test("maxRequestsPerConnection 2: one upstream connection carries two calls, then a new one opens", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await call(client, "/test.Echo/Unary", [`n${i}`], { "x-backend": "mrpc" });
      expect(r.trailers["grpc-status"]).toBe("0");
    }
    expect(mrpc.sessions).toBe(3);
  });

  test("http2MaxRequests 2: a third concurrent call overflows (503 UO → UNAVAILABLE)", async () => {
    // the two held calls last 2 s (their deadline), long enough under a loaded machine for the third to find them open
    const held = [0, 1].map(() => call(client, "/test.Echo/Slow", ["x"], { "x-backend": "cap", "grpc-timeout": "2S" }));
    for (let i = 0; i < 90 && capB.open < 2; i++) await Bun.sleep(20);
    expect(capB.open).toBe(2);
    const third = await call(client, "/test.Echo/Unary", ["x"], { "x-backend": "cap" });
    expect([third.headers["grpc-status"], third.headers["grpc-message"]]).toEqual(["14", "upstream connect error or disconnect/reset before headers. reset reason: overflow"]);
    await Promise.all(held);
    const after = await call(client, "/test.Echo/Unary", ["ok"], { "x-backend": "cap" });
    expect(after.trailers["grpc-status"]).toBe("0");
  }, 10_000);
});

describe("gRPC-Web (Envoy's grpc_web filter)", () => {
  /** Messages of a gRPC-Web body: [flag, payload] each. */
  function webMessages(b: Buffer): [number, string][] {
    const out: [number, string][] = [];
    for (let i = 0; i + 5 <= b.length; ) {
      const n = b.readUInt32BE(i + 1);
      out.push([b[i]!, b.subarray(i + 5, i + 5 + n).toString("latin1")]);
      i += 5 + n;
    }
    return out;
  }
  function dechunk(text: string): Buffer {
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    const parts: Buffer[] = [];
    for (let i = 0; ; ) {
      const eol = body.indexOf("\r\n", i);
      const n = parseInt(body.slice(i, eol), 16);
      if (!(n > 0)) break;
      parts.push(Buffer.from(body.slice(eol + 2, eol + 2 + n), "latin1"));
      i = eol + 2 + n + 2;
    }
    return Buffer.concat(parts);
  }

  test("application/grpc-web+proto from an HTTP/1.1 client: the upstream gets gRPC; the trailers come back as a 0x80 message", async () => {
    const body = frame("from a browser");
    const r = await raw(gw, `POST /test.Echo/Unary HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.toString("latin1")}`);
    expect(r.text.startsWith("HTTP/1.1 200")).toBe(true);
    expect(r.text).toContain("content-type: application/grpc-web+proto");
    expect(r.text.slice(0, r.text.indexOf("\r\n\r\n"))).not.toContain("grpc-status");
    expect(webMessages(dechunk(r.text))).toEqual([
      [0, "from a browser"],
      [0x80, "grpc-status:0\r\nx-trailer:t1\r\n"],
    ]);
  });

  test("application/grpc-web-text over h2: base64 both ways, server streaming included", async () => {
    const st = client.request({ ":method": "POST", ":path": "/test.Echo/ServerStream", "content-type": "application/grpc-web-text", accept: "application/grpc-web-text" });
    let text = "";
    let ct = "";
    st.on("response", (h) => (ct = String(h["content-type"])));
    st.setEncoding("latin1");
    st.on("data", (d: string) => (text += d));
    const done = new Promise<void>((r) => st.on("close", () => r()));
    st.end(frame("3").toString("base64"));
    await done;
    expect(ct).toBe("application/grpc-web-text+proto");
    // the data and the trailer message are base64 each (padding may end the first)
    const pad = text.indexOf("=") >= 0 ? text.lastIndexOf("=", text.length - 2) + 1 : 0;
    const parts = pad > 0 && pad < text.length ? [text.slice(0, pad), text.slice(pad)] : [text];
    const bytes = Buffer.concat(parts.map((p) => Buffer.from(p, "base64")));
    expect(webMessages(bytes)).toEqual([
      [0, "msg 0"],
      [0, "msg 1"],
      [0, "msg 2"],
      [0x80, "grpc-status:0\r\nx-count:3\r\n"],
    ]);
  });
});

describe("gRPC-Web: the response's encoding and the upstream's request (Envoy's grpc_web filter)", () => {
  function webCall(ct: string, accept: string | null, body: Buffer): Promise<{ h: Record<string, unknown>; body: Buffer }> {
    const st = client.request({ ":method": "POST", ":path": "/test.Echo/Unary", "content-type": ct, ...(accept === null ? {} : { accept }) });
    let h: Record<string, unknown> = {};
    const parts: Buffer[] = [];
    st.on("response", (x) => (h = { ...x }));
    st.on("data", (d: Buffer) => parts.push(d));
    st.on("error", () => {});
    const done = new Promise<void>((r) => st.on("close", () => r()));
    st.end(body);
    return done.then(() => ({ h, body: Buffer.concat(parts) }));
  }

  test("grpc-web-text without accept: a binary response (the accept decides, not the request's content-type)", async () => {
    const r = await webCall("application/grpc-web-text", null, Buffer.from(frame("t").toString("base64")));
    expect(r.h["content-type"]).toBe("application/grpc-web+proto");
    expect([r.body[0], r.body.subarray(5, 6).toString()]).toEqual([0, "t"]); // raw bytes, not base64
  });

  test("a binary request whose accept asks for text: a base64 response", async () => {
    const r = await webCall("application/grpc-web+proto", "application/grpc-web-text+proto", frame("b"));
    expect(r.h["content-type"]).toBe("application/grpc-web-text+proto");
    const bytes = Buffer.from(r.body.toString("latin1").split(/(?<==)/).join(""), "base64");
    expect(bytes.subarray(0, 6).equals(frame("b"))).toBe(true);
  });

  test("the upstream sees content-type application/grpc (also for +proto), grpc-accept-encoding identity, no content-length", async () => {
    const r = await webCall("application/grpc-web+proto", null, frame("u"));
    expect([r.h["x-seen-ct"], r.h["x-seen-gae"], r.h["x-seen-cl"]]).toEqual(["application/grpc", "identity", ""]);
  });

  test("a content-type the filter does not take (+json, a parameter) is passed on untranslated", async () => {
    for (const ct of ["application/grpc-web+json", "application/grpc-web; charset=utf-8"]) {
      const r = await webCall(ct, null, frame("j"));
      expect([r.h["x-seen-ct"], r.h["content-type"]]).toEqual([ct, "application/grpc"]);
    }
  });
});

describe("gRPC-Web: bodies that are not base64, answers that are not gRPC (Envoy's grpc_web filter)", () => {
  /** One grpc-web-text call over h2 with `body`: the response head's fields (the call used to hang: no answer at all). */
  async function webText(body: string): Promise<Record<string, unknown>> {
    const st = client.request({ ":method": "POST", ":path": "/test.Echo/Unary", "content-type": "application/grpc-web-text", accept: "application/grpc-web-text" });
    const head = new Promise<Record<string, unknown>>((r) => st.on("response", (h) => r(h as Record<string, unknown>)));
    st.on("error", () => {});
    st.end(body);
    const h = await head;
    st.close();
    return h;
  }
  test.each([
    ["characters outside base64 (`!!!!`)", "!!!!"],
    ["a space inside", "AAAA AAA="],
    ["base64url's `-_`", "AAAA-_-_"],
    ["padding only (`====`)", "===="],
  ])("%s: Envoy's 400 as its grpc_web filter shapes it: status kept, grpc-status 13, its message", async (_name, body) => {
    const h = await webText(body);
    expect([h[":status"], h["grpc-status"], h["grpc-message"], h["content-type"]]).toEqual([400, "13", "Bad gRPC-web request, invalid base64 data.", "application/grpc-web-text+proto"]);
  });
  test("a body ending inside a group (3 characters) over HTTP/1.1: the same answer, the connection goes on (it used to reach the upstream cut short)", async () => {
    const call = "POST /test.Echo/Unary HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc-web-text\r\ncontent-length: 3\r\n\r\nAAA";
    const r = await raw(gw, `${call}POST /test.Echo/Unary HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc-web-text\r\ncontent-length: 8\r\nconnection: close\r\n\r\n${frame("").toString("base64")}`);
    const heads = r.text.split("HTTP/1.1 ").slice(1);
    expect(heads.length).toBe(2);
    expect(heads[0]!.startsWith("400")).toBe(true);
    expect(heads[0]).toContain("grpc-status: 13\r\n");
    expect(heads[0]).toContain("grpc-message: Bad gRPC-web request, invalid base64 data.\r\n");
    expect(heads[1]!.startsWith("200")).toBe(true);
    expect(heads[1]).not.toContain("grpc-status: 13");
  });
  test("an answer that is not gRPC (200 text/plain) to a gRPC-Web call: its status as grpc-status, its body as grpc-message, as Envoy's grpc_web filter (the client's stream was reset)", async () => {
    const st = client.request({ ":method": "POST", ":path": "/not-grpc", "content-type": "application/grpc-web+proto" });
    const head = new Promise<Record<string, unknown>>((r) => st.on("response", (h) => r(h as Record<string, unknown>)));
    let rst = -1;
    const closed = new Promise<void>((r) => st.on("close", () => ((rst = st.rstCode ?? -1), r())));
    let body = "";
    st.on("data", (d: Buffer) => (body += d.toString("latin1")));
    st.on("error", () => {});
    st.end(frame("x"));
    const h = await head;
    await closed;
    expect([h[":status"], h["content-type"], h["grpc-status"], h["content-length"]]).toEqual([200, "application/grpc-web+proto", "2", "0"]);
    expect(String(h["grpc-message"])).toStartWith("hello h2 POST");
    expect([body, rst]).toEqual(["", 0]);
  });

  test("the same over HTTP/1.1: a complete answer, the connection kept for the next call", async () => {
    const call = (path: string, last = "") => `POST ${path} HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc-web-text\r\naccept: application/grpc-web-text\r\ncontent-length: 8\r\n${last}\r\n${frame("").toString("base64")}`;
    const r = await raw(gw, call("/not-grpc") + call("/test.Echo/Unary", "connection: close\r\n"));
    const heads = r.text.split("HTTP/1.1 ").slice(1);
    expect(heads.length).toBe(2);
    expect(heads[0]).toContain("content-type: application/grpc-web-text+proto\r\n");
    expect(heads[0]).toContain("grpc-status: 2\r\n");
    expect(heads[1]!.startsWith("200")).toBe(true);
  });

  test("padding inside the text (messages encoded one by one) is still base64", async () => {
    const h = await webText(frame("a").toString("base64") + frame("bb").toString("base64"));
    expect([h[":status"], h["grpc-status"]]).toEqual([200, undefined]);
  });
});

describe("h2 over TLS and plain HTTP/2 upstreams", () => {
  test("DestinationRule SIMPLE to a GRPC port: h2 by ALPN, verified against the CA", async () => {
    const r = await call(client, "/test.Echo/Unary", ["over tls"], { "x-backend": "tls" });
    expect(r.messages.map(String)).toEqual(["over tls"]);
    expect(r.headers["x-alpn"]).toBe("h2");
    expect(r.trailers["grpc-status"]).toBe("0");
  });

  test("an upstream certificate the CA does not sign: no call reaches it, UNAVAILABLE (503 UF)", async () => {
    const r = await call(client, "/test.Echo/Unary", ["x"], { "x-backend": "wrongca" });
    expect([r.headers["grpc-status"], r.headers["grpc-message"]]).toEqual(["14", "upstream connect error or disconnect/reset before headers. reset reason: connection failure"]);
    expect(wrongCa.open + wrongCa.maxOpen).toBe(0);
  });

  test("h2UpgradePolicy UPGRADE: an HTTP/1.1 client is served by an h2c-only upstream, content-length kept", async () => {
    const r = await raw(gw, "POST /x HTTP/1.1\r\nhost: plain.example\r\nx-backend: plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbody");
    expect(r.text.startsWith("HTTP/1.1 200")).toBe(true);
    expect(r.text).toContain("content-length: 32");
    expect(r.text.endsWith("hello h2 POST plain.example body")).toBe(true);
  });

  test("gRPC from an HTTP/1.1 client: the upstream's trailers arrive in the chunked body's trailer section", async () => {
    const body = frame("hi");
    const r = await raw(gw, `POST /test.Echo/Unary HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc\r\nte: trailers\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.toString("latin1")}`);
    expect(r.text.startsWith("HTTP/1.1 200")).toBe(true);
    expect(r.text).toContain("transfer-encoding: chunked");
    expect(r.text).toMatch(/\r\n0\r\ngrpc-status: 0\r\nx-trailer: t1\r\n\r\n$/);
  });
});

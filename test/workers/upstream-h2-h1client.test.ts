// HTTP/1.1 clients (and gRPC-Web clients) to an HTTP/2 upstream (h2c, a
// GRPC-protocol port), through a real worker: the request goes upstream as
// fields with its body as data (a chunked one with its trailers), the response
// comes back as an HTTP/1.1 head written from the upstream's fields, DATA as
// chunks and the trailers as the chunked body's trailer section (gRPC-Web: as
// a last message of the body). What the client sees is what the HTTP/1.1 text
// conversion produced before (these tests pass on that code too): framing,
// 1xx dropped, 204/304/HEAD without a body, resets as 503 UC before the
// response and a cut body after it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { frame } from "./grpc-backend.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

let w: WorkerHarness;
let gw = 0;
let server: http2.Http2Server;
let hugeWritten = 0;
/** What the upstream saw of the last request per path. */
const seen = new Map<string, { headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders | null }>();

function upstream(): Promise<number> {
  server = http2.createServer();
  server.on("stream", (st: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const path = String(headers[":path"]);
    const chunks: Buffer[] = [];
    let trailers: http2.IncomingHttpHeaders | null = null;
    st.on("trailers", (t) => (trailers = t));
    st.on("data", (d: Buffer) => chunks.push(d));
    st.on("error", () => {});
    const answer = () => {
      const body = Buffer.concat(chunks);
      seen.set(path, { headers, body, trailers });
      switch (path) {
        case "/echo": {
          // unsized: chunked for the client, trailers after the body
          st.respond({ ":status": 200, "content-type": "text/plain", "x-got": String(body.length), "set-cookie": ["a=1", "b=2"] }, { waitForTrailers: true });
          st.on("wantTrailers", () => st.sendTrailers({ "x-t": "1", "x-sum": String(body.length) }));
          st.write(body.subarray(0, 3));
          st.end(body.subarray(3));
          return;
        }
        case "/sized":
          st.respond({ ":status": 200, "content-length": "5", server: "upstream", te: "trailers" });
          return void st.end("hello");
        case "/204":
          st.respond({ ":status": 204, "x-a": "1" }, { endStream: true });
          return;
        case "/304":
          st.respond({ ":status": 304, etag: '"e"', "content-length": "10" }, { endStream: true });
          return;
        case "/head":
          st.respond({ ":status": 200, "content-length": "10", "x-m": String(headers[":method"]) }, { endStream: true });
          return;
        case "/empty":
          st.respond({ ":status": 200, "x-e": "1" }, { endStream: true });
          return;
        case "/early":
          st.additionalHeaders({ ":status": 103, link: "</a.css>; rel=preload" });
          st.respond({ ":status": 200, "content-length": "2" });
          return void st.end("ok");
        case "/reset":
          return void st.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        case "/reset-mid":
          st.respond({ ":status": 200, "content-type": "text/plain" });
          st.write("part");
          setTimeout(() => st.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 20);
          return;
        case "/cut":
          st.respond({ ":status": 200, "content-length": "10" });
          return void st.end("abc");
        case "/big": {
          // 4 MB unsized in 16 KB writes, honouring backpressure
          st.respond({ ":status": 200, "content-type": "application/octet-stream" });
          let left = 256;
          const piece = Buffer.alloc(16 * 1024, 0x61);
          const more = () => {
            while (left > 0) {
              left--;
              if (left === 0) return void st.end(piece);
              if (!st.write(piece)) return void st.once("drain", more);
            }
          };
          return more();
        }
        case "/huge": {
          // 64 MB unsized, honouring backpressure; hugeWritten counts what the upstream got rid of
          st.respond({ ":status": 200 });
          const piece = Buffer.alloc(64 * 1024, 0x62);
          const more = () => {
            while (hugeWritten < 64 * 1024 * 1024 && !st.destroyed) {
              hugeWritten += piece.length;
              if (!st.write(piece)) return void st.once("drain", more);
            }
            if (!st.destroyed) st.end();
          };
          return more();
        }
        case "/grpc":
          st.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          st.on("wantTrailers", () => st.sendTrailers({ "grpc-status": "0", "grpc-message": "fine" }));
          st.write(frame("one"));
          return void st.end(frame("two"));
        default:
          st.respond({ ":status": 404, "content-length": "0" }, { endStream: true });
      }
    };
    if (st.readableEnded || (st as unknown as { endAfterHeaders: boolean }).endAfterHeaders) answer();
    else st.on("end", answer);
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  const port = await upstream();
  gw = freePort();
  const yaml =
    gatewayWithRoutes("  - route: [{destination: {host: up.internal, port: {number: 50051}}}]") +
    loopbackServiceEntry({ name: "up", host: "up.internal", port: 50051, targetPort: port, portName: "grpc", protocol: "GRPC" });
  const snap = compileYaml(yaml, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" });
  w = new WorkerHarness();
  await w.apply(snap);
});

afterAll(() => {
  w?.stop();
  server?.close();
});

/** The response head lines (lower-cased names, the gateway's service time left out) and the body bytes after the head. */
function split(text: string): { status: string; lines: string[]; body: string } {
  const end = text.indexOf("\r\n\r\n");
  const head = text.slice(0, end).split("\r\n");
  return { status: head[0]!, lines: head.slice(1).filter((l) => !l.startsWith("x-envoy-upstream-service-time:") && !l.startsWith("date:")), body: text.slice(end + 4) };
}

const get = (path: string, method = "GET") => raw(gw, `${method} ${path} HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`);

describe("HTTP/1.1 client → h2c upstream", () => {
  test("a sized body goes up with its length; an unsized answer comes back chunked, DATA as chunks, trailers in the trailer section", async () => {
    const r = await raw(gw, "POST /echo HTTP/1.1\r\nhost: a\r\ncontent-length: 11\r\nconnection: close\r\n\r\nhello world");
    const s = split(r.text);
    expect(s.status).toBe("HTTP/1.1 200 OK");
    expect(s.lines).toEqual(["content-type: text/plain", "x-got: 11", "set-cookie: a=1", "set-cookie: b=2", "server: istio-envoy", "transfer-encoding: chunked", "connection: close"]);
    expect(s.body).toBe("3\r\nhel\r\n8\r\nlo world\r\n0\r\nx-t: 1\r\nx-sum: 11\r\n\r\n");
    const up = seen.get("/echo")!;
    expect(up.headers["content-length"]).toBe("11");
    expect(up.headers.te).toBeUndefined();
    expect(up.body.toString()).toBe("hello world");
  });

  test("a chunked body goes up as data with the client's trailers (framing fields left out)", async () => {
    const r = await raw(gw, [
      "POST /echo HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\nte: trailers\r\nconnection: close\r\n\r\n",
      "5;ext=1\r\nhello\r\n",
      "6\r\n world\r\n0\r\nx-client: c1\r\ncontent-length: 99\r\nx-client: c2\r\n\r\n",
    ]);
    const s = split(r.text);
    expect(s.status).toBe("HTTP/1.1 200 OK");
    expect(s.body).toBe("3\r\nhel\r\n8\r\nlo world\r\n0\r\nx-t: 1\r\nx-sum: 11\r\n\r\n");
    const up = seen.get("/echo")!;
    expect(up.body.toString()).toBe("hello world");
    expect(up.headers["content-length"]).toBeUndefined();
    expect(up.headers["transfer-encoding"]).toBeUndefined();
    expect(up.headers.te).toBe("trailers"); // the client's te: trailers goes up (Envoy keeps it)
    expect(up.trailers?.["x-client"]).toBe("c2");
    expect(up.trailers?.["content-length"]).toBeUndefined();
  });

  test("a chunked body without trailers: data, then an empty trailer section upstream", async () => {
    const r = await raw(gw, "POST /echo HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n4\r\nabcd\r\n0\r\n\r\n");
    expect(split(r.text).body).toBe("3\r\nabc\r\n1\r\nd\r\n0\r\nx-t: 1\r\nx-sum: 4\r\n\r\n");
    expect(seen.get("/echo")!.body.toString()).toBe("abcd");
  });

  test("a sized answer keeps its length; the upstream's server and te are dropped", async () => {
    const s = split((await get("/sized")).text);
    expect(s.status).toBe("HTTP/1.1 200 OK");
    expect(s.lines).toEqual(["content-length: 5", "server: istio-envoy", "connection: close"]);
    expect(s.body).toBe("hello");
  });

  test("204 and 304 have no body (304 keeps its length); HEAD keeps the length, no body", async () => {
    let s = split((await get("/204")).text);
    expect(s.status).toBe("HTTP/1.1 204 No Content");
    expect(s.lines).toEqual(["x-a: 1", "server: istio-envoy", "connection: close"]);
    expect(s.body).toBe("");
    s = split((await get("/304")).text);
    expect(s.status).toBe("HTTP/1.1 304 Not Modified");
    expect(s.lines).toEqual(['etag: "e"', "content-length: 10", "server: istio-envoy", "connection: close"]);
    expect(s.body).toBe("");
    s = split((await get("/head", "HEAD")).text);
    expect(s.lines).toEqual(["x-m: HEAD", "content-length: 10", "server: istio-envoy", "connection: close"]);
    expect(s.body).toBe("");
  });

  test("headers that end the stream: content-length 0", async () => {
    const s = split((await get("/empty")).text);
    expect(s.lines).toEqual(["x-e: 1", "content-length: 0", "server: istio-envoy", "connection: close"]);
    expect(s.body).toBe("");
  });

  test("an interim 103 is not passed on; the final answer is", async () => {
    const r = await get("/early");
    expect(r.text.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(r.text).not.toContain("103");
    expect(split(r.text).body).toBe("ok");
  });

  test("keep-alive: two requests on one connection, the second after a chunked answer with trailers", async () => {
    const req = "POST /echo HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\n\r\nabcd";
    const r = await raw(gw, [req, req.replace("abcd", "wxyz")], (b) => b.toString("latin1").split("x-sum: 4\r\n\r\n").length === 3);
    expect(r.text.split("HTTP/1.1 200 OK").length).toBe(3);
    expect(r.text).toContain("3\r\nwxy\r\n1\r\nz\r\n0\r\nx-t: 1\r\n");
  });

  test("a stream Bun's node:http2 server closes before responding: 502 UPE (it sends an empty DATA with END_STREAM before the RST_STREAM: DATA before HEADERS, a protocol error)", async () => {
    const r = await get("/reset");
    expect(r.text.startsWith("HTTP/1.1 502")).toBe(true);
    expect(r.text).toContain("upstream connect error or disconnect/reset before headers. reset reason: protocol error");
  });

  test("a reset after the response started: what came before it reaches the client (Bun reports RST_STREAM as a clean end, so the chunked body ends as before)", async () => {
    const r = await get("/reset-mid");
    expect(r.text.startsWith("HTTP/1.1 200 OK")).toBe(true);
    expect(r.text).toContain("4\r\npart\r\n");
  });

  test("a sized body cut short: fewer bytes than its length, the connection closed", async () => {
    const r = await raw(gw, "GET /cut HTTP/1.1\r\nhost: a\r\n\r\n");
    expect(r.text.startsWith("HTTP/1.1 200 OK")).toBe(true);
    expect(split(r.text).body).toBe("abc");
    expect(r.closed).toBe(true);
  });

  test("HTTP/1.0 client: the chunked answer is decoded and ends with the connection (no trailers)", async () => {
    const r = await raw(gw, "POST /echo HTTP/1.0\r\nhost: a\r\ncontent-length: 4\r\n\r\nabcd");
    const s = split(r.text);
    expect(s.status).toBe("HTTP/1.1 200 OK");
    expect(s.lines).not.toContain("transfer-encoding: chunked");
    expect(s.body).toBe("abcd");
  });

  test("a 4 MB unsized answer arrives whole and in order as chunks (held per turn, written at most 64 KB at a time plus one DATA)", async () => {
    const r = await raw(gw, "GET /big HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n", undefined, 15000);
    let rest = r.bytes.subarray(r.bytes.indexOf("\r\n\r\n") + 4);
    let total = 0;
    let bad = 0;
    for (;;) {
      const nl = rest.indexOf("\r\n");
      const n = parseInt(rest.subarray(0, nl).toString("latin1"), 16);
      if (n === 0) break;
      const d = rest.subarray(nl + 2, nl + 2 + n);
      for (let i = 0; i < d.length; i++) if (d[i] !== 0x61) bad++;
      total += n;
      rest = rest.subarray(nl + 2 + n + 2);
    }
    expect(bad).toBe(0);
    expect(total).toBe(4 * 1024 * 1024);
    expect(rest.toString("latin1")).toBe("0\r\n\r\n");
  });

  test("flow control: an HTTP/1.1 client that stops reading holds the upstream back (bounded buffering)", async () => {
    const sock = net.connect(gw, "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", () => r()));
    sock.write("GET /huge HTTP/1.1\r\nhost: a\r\n\r\n");
    let got = 0;
    sock.on("data", (d: Buffer) => {
      got += d.length;
      if (got > 256 * 1024) sock.pause();
    });
    await Bun.sleep(800);
    const at = hugeWritten;
    await Bun.sleep(400);
    sock.destroy();
    expect(at).toBeLessThan(32 * 1024 * 1024);
    expect(hugeWritten - at).toBeLessThan(4 * 1024 * 1024); // stalled, not streaming on into memory
  });

  test("gRPC from an HTTP/1.1 client: messages as chunks, grpc-status in the trailer section", async () => {
    const body = frame("hi");
    const r = await raw(gw, `POST /grpc HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc\r\nte: trailers\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.toString("latin1")}`);
    const s = split(r.text);
    expect(s.lines).toEqual(["content-type: application/grpc", "server: istio-envoy", "transfer-encoding: chunked", "connection: close"]);
    expect(s.body).toBe(`8\r\n${frame("one").toString("latin1")}\r\n8\r\n${frame("two").toString("latin1")}\r\n0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\n\r\n`);
  });
});

describe("gRPC-Web client (HTTP/1.1) → gRPC upstream", () => {
  const trailerMsg = (s: string) => {
    const p = Buffer.from(s, "latin1");
    const h = Buffer.alloc(5);
    h[0] = 0x80;
    h.writeUInt32BE(p.length, 1);
    return Buffer.concat([h, p]);
  };

  test("grpc-web+proto: the upstream gets application/grpc (Envoy's filter sets it whatever the subtype), te: trailers, no content-length; the trailers come back as a 0x80 message in the last data chunk", async () => {
    const body = frame("hi");
    const r = await raw(gw, `POST /grpc HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.toString("latin1")}`);
    const s = split(r.text);
    expect(s.lines).toEqual(["content-type: application/grpc-web+proto", "server: istio-envoy", "transfer-encoding: chunked", "connection: close"]);
    const tail = trailerMsg("grpc-status:0\r\ngrpc-message:fine\r\n");
    expect(s.body).toBe(`8\r\n${frame("one").toString("latin1")}\r\n8\r\n${frame("two").toString("latin1")}\r\n${tail.length.toString(16)}\r\n${tail.toString("latin1")}\r\n0\r\n\r\n`);
    const up = seen.get("/grpc")!;
    expect(up.headers["content-type"]).toBe("application/grpc");
    expect(up.headers.te).toBe("trailers");
    expect(up.headers["content-length"]).toBeUndefined();
    expect(up.body.equals(body)).toBe(true);
  });

  test("grpc-web-text with accept grpc-web-text: base64 both ways (chunked request body), the trailer message encoded too", async () => {
    const b64 = frame("hi").toString("base64");
    const r = await raw(gw, `POST /grpc HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc-web-text\r\naccept: application/grpc-web-text\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n${b64.length.toString(16)}\r\n${b64}\r\n0\r\n\r\n`);
    const s = split(r.text);
    expect(s.lines[0]).toBe("content-type: application/grpc-web-text+proto");
    // decode the chunked body, then the base64 segments
    let rest = s.body;
    let text = "";
    for (;;) {
      const nl = rest.indexOf("\r\n");
      const n = parseInt(rest.slice(0, nl), 16);
      if (n === 0) break;
      text += rest.slice(nl + 2, nl + 2 + n);
      rest = rest.slice(nl + 2 + n + 2);
    }
    const expected = Buffer.concat([frame("one"), frame("two"), trailerMsg("grpc-status:0\r\ngrpc-message:fine\r\n")]);
    const decoded = Buffer.concat(text.match(/[^=]+=*/g)!.map((seg) => Buffer.from(seg, "base64")));
    expect(decoded.equals(expected)).toBe(true);
    expect(seen.get("/grpc")!.body.equals(frame("hi"))).toBe(true);
    expect(seen.get("/grpc")!.headers["content-type"]).toBe("application/grpc");
  });
});

// gangway's own HTTP/2 client session (workers/http/h2/client-session.ts) on
// real loopback sockets: against node:http2 servers (requests, trailers both
// ways, flow control both ways) and against a raw-frame server that breaks
// the protocol (GOAWAY mid-stream, RST_STREAM, a server ignoring our window,
// a bad header block, PUSH_PROMISE, CONTINUATION, 1xx).
import { afterEach, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import type { IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import type { Socket, TCPSocketListener } from "bun";
import { H2ClientSession, type ClientSessionHost } from "../../workers/http/h2/client-session.ts";
import { MALFORMED, type ClientStreamOwner, type H2ClientStream } from "../../workers/http/h2/client-stream.ts";
import { HpackDecoder } from "../../workers/http/h2/hpack.ts";
import { block, DATA, END_HEADERS, END_STREAM, frame, GOAWAY, HEADERS, PING, rst, SETTINGS, WINDOW_UPDATE, CONTINUATION } from "./edge/h2-raw.ts";

const PUSH_PROMISE = 5;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A stream's owner that records what it hears. */
class Rec implements ClientStreamOwner {
  head: IncomingHttpHeaders | null = null;
  headEnded = false;
  chunks: Buffer[] = [];
  trailers: IncomingHttpHeaders | null = null;
  ended = false;
  closedWith = -1;
  drains = 0;
  stream: H2ClientStream | null = null;
  /** Pause the stream after each DATA (a slow client). */
  pauseOnData = false;
  private done!: () => void;
  readonly finished = new Promise<void>((r) => (this.done = r));

  onResponse(h: IncomingHttpHeaders, ended: boolean): void {
    this.head = h;
    this.headEnded = ended;
  }
  onData(d: Buffer): void {
    this.chunks.push(Buffer.from(d));
    if (this.pauseOnData) this.stream!.pause();
  }
  onTrailers(t: IncomingHttpHeaders): void {
    this.trailers = t;
  }
  onEnd(): void {
    this.ended = true;
    this.done();
  }
  drained(): void {
    this.drains++;
  }
  streamClosed(code: number): void {
    this.closedWith = code;
    this.done();
  }
  get body(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

class Host implements ClientSessionHost {
  readyCount = 0;
  goaways = 0;
  closedCount = 0;
  private onReady!: () => void;
  private onClosed!: () => void;
  readonly ready = new Promise<void>((r) => (this.onReady = r));
  readonly closed = new Promise<void>((r) => (this.onClosed = r));
  onSessionReady(): void {
    this.readyCount++;
    this.onReady();
  }
  onSessionGoaway(): void {
    this.goaways++;
  }
  onSessionClosed(): void {
    this.closedCount++;
    this.onClosed();
  }
}

/** A session to 127.0.0.1:`port` (our stream window `window`). */
async function open(port: number, window = 256 * 1024): Promise<{ s: H2ClientSession; host: Host }> {
  const host = new Host();
  let s: H2ClientSession | null = null;
  const sock = await Bun.connect<undefined>({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_k, d) {
        s?.feed(d);
      },
      drain() {
        s?.drain();
      },
      close() {
        s?.socketClosed();
      },
    },
  });
  s = new H2ClientSession(sock, host, window);
  cleanups.push(() => sock.terminate());
  return { s, host };
}

function req(s: H2ClientSession, port: number, method: string, path: string, end: boolean, extra: Record<string, string> = {}): Rec {
  const r = new Rec();
  r.stream = s.request(r, { ":method": method, ":scheme": "http", ":authority": `127.0.0.1:${port}`, ":path": path, ...extra }, end);
  expect(r.stream).not.toBeNull();
  return r;
}

async function nodeServer(handler: (st: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => void): Promise<number> {
  const server = http2.createServer();
  // our side is torn down after each test: the resets are expected
  server.on("session", (ss) => {
    ss.on("error", () => {});
    ss.socket.on("error", () => {});
  });
  server.on("stream", (st: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
    st.on("error", () => {});
    handler(st, h);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

describe("own HTTP/2 client session against node:http2", () => {
  test("a POST with a body and request trailers; the response's body and trailers come back", async () => {
    const port = await nodeServer((st, h) => {
      const parts: Buffer[] = [];
      st.on("data", (d: Buffer) => parts.push(d));
      st.on("trailers", (t) => {
        st.respond({ ":status": 201, "x-method": String(h[":method"]), "x-got-trailer": String(t["x-req-trailer"]), "set-cookie": ["a=1", "b=2"] }, { waitForTrailers: true });
        st.on("wantTrailers", () => st.sendTrailers({ "grpc-status": "0", "x-t": "done" }));
        st.end(`got ${Buffer.concat(parts).toString()}`);
      });
    });
    const { s, host } = await open(port);
    await host.ready;
    const r = req(s, port, "POST", "/up", false);
    r.stream!.write(Buffer.from("hello "));
    r.stream!.write(Buffer.from("world"));
    r.stream!.end({ "x-req-trailer": "yes" });
    await r.finished;
    expect(Number(r.head![":status"])).toBe(201);
    expect(r.head!["x-method"]).toBe("POST");
    expect(r.head!["x-got-trailer"]).toBe("yes");
    expect(r.head!["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(r.body).toBe("got hello world");
    expect(r.trailers).toEqual({ "grpc-status": "0", "x-t": "done" });
    expect(r.ended).toBe(true);
    expect(s.active).toBe(0);
  });

  test("many streams at once on one connection; a HEADERS-only response ends the stream", async () => {
    const port = await nodeServer((st, h) => {
      if (h[":path"] === "/empty") return void st.respond({ ":status": 204 }, { endStream: true });
      st.respond({ ":status": 200 });
      st.end(String(h[":path"]));
    });
    const { s, host } = await open(port);
    await host.ready;
    const rs = Array.from({ length: 50 }, (_, i) => req(s, port, "GET", `/p${i}`, true));
    const empty = req(s, port, "GET", "/empty", true);
    await Promise.all([...rs, empty].map((r) => r.finished));
    rs.forEach((r, i) => expect(r.body).toBe(`/p${i}`));
    expect(Number(empty.head![":status"])).toBe(204);
    expect(empty.headEnded).toBe(true);
    expect(empty.ended).toBe(true);
  });

  test("a request body far beyond the upstream's windows goes whole, and drained() tells when it has", async () => {
    const size = 3 * 1024 * 1024;
    const port = await nodeServer((st) => {
      let n = 0;
      st.on("data", (d: Buffer) => (n += d.length));
      st.on("end", () => {
        st.respond({ ":status": 200 });
        st.end(String(n));
      });
    });
    const { s, host } = await open(port);
    await host.ready;
    const r = req(s, port, "POST", "/big", false);
    r.stream!.write(Buffer.alloc(size, 7));
    expect(r.stream!.buffered).toBeGreaterThan(0); // more than the 64 KiB windows allow
    r.stream!.wantDrain = true;
    r.stream!.end(null);
    await r.finished;
    expect(r.body).toBe(String(size));
    expect(r.drains).toBe(1);
  });

  test("a paused stream holds the upstream at our window; resumed, everything arrives in order", async () => {
    const size = 2 * 1024 * 1024;
    let written = 0;
    const port = await nodeServer((st) => {
      st.respond({ ":status": 200 });
      const chunk = Buffer.alloc(16384, 1);
      const pump = () => {
        while (written < size) {
          written += chunk.length;
          if (!st.write(chunk)) return void st.once("drain", pump);
        }
        st.end();
      };
      pump();
    });
    const { s, host } = await open(port, 64 * 1024);
    await host.ready;
    const r = req(s, port, "GET", "/down", true);
    r.pauseOnData = true;
    await Bun.sleep(300);
    const got = r.chunks.reduce((n, c) => n + c.length, 0);
    expect(got).toBeLessThan(size);
    // the upstream cannot be more than our window (and its own buffers) ahead of what was taken
    expect(written).toBeLessThan(size);
    r.pauseOnData = false;
    r.stream!.resume();
    await r.finished;
    expect(r.chunks.reduce((n, c) => n + c.length, 0)).toBe(size);
    expect(r.ended).toBe(true);
  });

  test("a reader that pauses and resumes again and again gets every byte in order, then the trailers and the end", async () => {
    const chunks = 400;
    const port = await nodeServer((st) => {
      st.respond({ ":status": 200 }, { waitForTrailers: true });
      st.on("wantTrailers", () => st.sendTrailers({ "x-done": "1" }));
      let i = 0;
      const pump = () => {
        while (i < chunks) {
          const c = Buffer.alloc(4096, i % 251);
          i++;
          if (!st.write(c)) return void st.once("drain", pump);
        }
        st.end();
      };
      pump();
    });
    const { s, host } = await open(port, 64 * 1024);
    await host.ready;
    const r = req(s, port, "GET", "/seq", true);
    let n = 0;
    r.onData = (d: Buffer) => {
      r.chunks.push(Buffer.from(d));
      if (++n % 2 === 0) {
        r.stream!.pause();
        setTimeout(() => r.stream!.resume(), 1);
      }
    };
    await r.finished;
    const all = Buffer.concat(r.chunks);
    expect(all.length).toBe(chunks * 4096);
    for (let i = 0; i < chunks; i++) expect(all[i * 4096]).toBe(i % 251);
    expect(r.trailers).toEqual({ "x-done": "1" });
    expect(r.ended).toBe(true);
  });

  test("a request head larger than a frame goes out as HEADERS and CONTINUATION", async () => {
    const port = await nodeServer((st, h) => {
      st.respond({ ":status": 200 });
      st.end(String(String(h["x-big"]).length));
    });
    const { s, host } = await open(port);
    await host.ready;
    const r = req(s, port, "GET", "/big-head", true, { "x-big": "b".repeat(40000) });
    await r.finished;
    expect(r.body).toBe("40000");
  });

  test("a response ended while the request still goes: the stream stays open until the request ends", async () => {
    const port = await nodeServer((st) => {
      st.respond({ ":status": 200 });
      st.end("early");
    });
    const { s, host } = await open(port);
    await host.ready;
    const r = req(s, port, "POST", "/early", false);
    await r.finished;
    expect(r.body).toBe("early");
    expect(s.active).toBe(1);
    r.stream!.end(null);
    expect(s.active).toBe(0);
  });
});

// ---- a raw-frame upstream ----

interface RawFrame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** A server that hands each frame our client sends (after the preface) to `onFrame`; the test writes frames back. */
async function rawServer(onFrame: (f: RawFrame, send: (...b: Buffer[]) => void, sock: Socket<{ buf: Buffer; pre: boolean }>) => void, settings = frame(SETTINGS, 0, 0)): Promise<{ port: number; got: RawFrame[] }> {
  const got: RawFrame[] = [];
  const listener: TCPSocketListener<{ buf: Buffer; pre: boolean }> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    data: { buf: Buffer.alloc(0), pre: false as boolean },
    socket: {
      open(sock) {
        sock.data = { buf: Buffer.alloc(0), pre: false };
        if (settings.length > 0) sock.write(settings);
      },
      data(sock, d) {
        const st = sock.data;
        st.buf = Buffer.concat([st.buf, d]);
        if (!st.pre) {
          if (st.buf.length < 24) return;
          expect(st.buf.subarray(0, 24).toString("latin1")).toBe("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
          st.buf = st.buf.subarray(24);
          st.pre = true;
        }
        while (st.buf.length >= 9) {
          const len = st.buf.readUIntBE(0, 3);
          if (st.buf.length < 9 + len) break;
          const f = { type: st.buf[3]!, flags: st.buf[4]!, id: st.buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(st.buf.subarray(9, 9 + len)) };
          st.buf = st.buf.subarray(9 + len);
          got.push(f);
          onFrame(f, (...b) => sock.write(Buffer.concat(b)), sock);
        }
      },
    },
  });
  cleanups.push(() => listener.stop(true));
  return { port: listener.port, got };
}

const u32 = (...ns: number[]) => {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => b.writeUInt32BE(n, 4 * i));
  return b;
};
const ok = (id: number, end = false, more: [string, string][] = []) => frame(HEADERS, END_HEADERS | (end ? END_STREAM : 0), id, block([[":status", "200"], ...more]));
const data = (id: number, s: string | Buffer, end = false) => frame(DATA, end ? END_STREAM : 0, id, typeof s === "string" ? Buffer.from(s) : s);
const goawayOf = (got: RawFrame[]) => got.find((f) => f.type === GOAWAY);

describe("own HTTP/2 client session against a raw-frame upstream", () => {
  test("our preface: SETTINGS ENABLE_PUSH 0 and INITIAL_WINDOW_SIZE; ready only on the upstream's SETTINGS, whose MAX_CONCURRENT_STREAMS it keeps; HEADERS decode to the request", async () => {
    let later: ((b: Buffer) => void) | null = null;
    const { port, got } = await rawServer((f, send) => {
      later = send;
      if (f.type === HEADERS) send(ok(f.id, true));
    }, Buffer.alloc(0));
    const { s, host } = await open(port, 100000);
    await Bun.sleep(50);
    expect(host.readyCount).toBe(0);
    const settings = got.find((f) => f.type === SETTINGS)!;
    expect([...settings.payload]).toEqual([0, 2, 0, 0, 0, 0, 0, 4, ...u32(100000)]);
    later!(frame(SETTINGS, 0, 0, Buffer.from([0, 3, ...u32(7)])));
    await host.ready;
    expect(s.maxStreams).toBe(7);
    await Bun.sleep(20);
    expect(got.some((f) => f.type === SETTINGS && f.flags === 1)).toBe(true); // our ACK
    const r = req(s, port, "GET", "/x", true, { "x-a": "1" });
    await r.finished;
    const h = got.find((f) => f.type === HEADERS)!;
    expect(h.flags & (END_HEADERS | END_STREAM)).toBe(END_HEADERS | END_STREAM);
    const fields: [string, string][] = [];
    new HpackDecoder().decode(h.payload, 0, h.payload.length, (n, v) => fields.push([n, v]), 1 << 16);
    expect(fields).toEqual([[":method", "GET"], [":scheme", "http"], [":authority", `127.0.0.1:${port}`], [":path", "/x"], ["x-a", "1"]]);
  });

  test("PING answered with its payload; GOAWAY mid-stream: streams above last-stream-id are refused (7), the one below finishes, then the session closes", async () => {
    let send: ((...b: Buffer[]) => void) | null = null;
    const { port, got } = await rawServer((f, s) => {
      send = s;
    });
    const { s, host } = await open(port);
    await host.ready;
    const a = req(s, port, "GET", "/a", true);
    const b = req(s, port, "GET", "/b", true);
    await Bun.sleep(30);
    send!(frame(PING, 0, 0, Buffer.from("12345678")), frame(GOAWAY, 0, 0, u32(1, 0)), ok(1));
    await b.finished;
    expect(b.closedWith).toBe(7);
    expect(host.goaways).toBe(1);
    expect(s.request(new Rec(), { ":method": "GET", ":path": "/c", ":scheme": "http", ":authority": "x" }, true)).toBeNull();
    send!(data(1, "a-body", true));
    await a.finished;
    expect(a.body).toBe("a-body");
    await host.closed;
    await Bun.sleep(30);
    const pong = got.find((f) => f.type === PING)!;
    expect(pong.flags).toBe(1);
    expect(pong.payload.toString()).toBe("12345678");
    expect(goawayOf(got)!.payload.readUInt32BE(4)).toBe(0); // ours: NO_ERROR
  });

  test("RST_STREAM from the upstream fails that stream with its code; the others go on", async () => {
    const { port } = await rawServer((f, send) => {
      if (f.type !== HEADERS) return;
      if (f.id === 1) send(ok(1), rst(1, 2));
      else send(ok(f.id), data(f.id, "fine", true));
    });
    const { s, host } = await open(port);
    await host.ready;
    const a = req(s, port, "GET", "/a", true);
    const b = req(s, port, "GET", "/b", true);
    await Promise.all([a.finished, b.finished]);
    expect(a.closedWith).toBe(2);
    expect(a.ended).toBe(false);
    expect(b.body).toBe("fine");
    expect(host.closedCount).toBe(0);
  });

  test("an upstream that ignores our stream window: that stream is reset with FLOW_CONTROL_ERROR", async () => {
    const { port, got } = await rawServer((f, send) => {
      if (f.type === HEADERS) send(ok(f.id), data(f.id, Buffer.alloc(1500, 1)));
    });
    const { s, host } = await open(port, 1000);
    await host.ready;
    const a = req(s, port, "GET", "/a", true);
    await a.finished;
    expect(a.closedWith).toBe(MALFORMED); // the owner hears it was the upstream's protocol error (502 UPE)
    await Bun.sleep(30);
    const r = got.find((f) => f.type === 3)!;
    expect(r.id).toBe(1);
    expect(r.payload.readUInt32BE(0)).toBe(3);
  });

  test("a header block that does not decode: GOAWAY COMPRESSION_ERROR, every stream fails", async () => {
    const { port, got } = await rawServer((f, send) => {
      if (f.type === HEADERS && f.id === 3) send(frame(HEADERS, END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])));
    });
    const { s, host } = await open(port);
    await host.ready;
    const a = req(s, port, "GET", "/a", true);
    const b = req(s, port, "GET", "/b", true);
    await Promise.all([a.finished, b.finished, host.closed]);
    expect(a.closedWith).toBe(0);
    expect(b.closedWith).toBe(0);
    await Bun.sleep(30);
    expect(goawayOf(got)!.payload.readUInt32BE(4)).toBe(9);
  });

  test("PUSH_PROMISE (we said ENABLE_PUSH 0): GOAWAY PROTOCOL_ERROR", async () => {
    const { port, got } = await rawServer((f, send) => {
      if (f.type === HEADERS) send(frame(PUSH_PROMISE, END_HEADERS, f.id, Buffer.concat([u32(2), block([[":method", "GET"], [":path", "/p"], [":scheme", "http"], [":authority", "x"]])])));
    });
    const { s, host } = await open(port);
    await host.ready;
    const a = req(s, port, "GET", "/a", true);
    await Promise.all([a.finished, host.closed]);
    expect(a.closedWith).toBe(0);
    await Bun.sleep(30);
    expect(goawayOf(got)!.payload.readUInt32BE(4)).toBe(1);
  });

  test("a 1xx head is skipped; a head split over CONTINUATION frames is whole; the stream window is given back (WINDOW_UPDATE) past half", async () => {
    const { port, got } = await rawServer((f, send) => {
      if (f.type !== HEADERS) return;
      const b = block([[":status", "200"], ["x-long", "v".repeat(300)], ["x-b", "2"]]);
      send(
        frame(HEADERS, END_HEADERS, f.id, block([[":status", "100"]])),
        frame(HEADERS, 0, f.id, b.subarray(0, 100)),
        frame(CONTINUATION, 0, f.id, b.subarray(100, 200)),
        frame(CONTINUATION, END_HEADERS, f.id, b.subarray(200)),
        data(f.id, Buffer.alloc(600, 2)),
        frame(HEADERS, END_HEADERS | END_STREAM, f.id, block([["grpc-status", "0"]])),
      );
    });
    const { s, host } = await open(port, 1000);
    await host.ready;
    const a = req(s, port, "GET", "/a", true);
    await a.finished;
    expect(Number(a.head![":status"])).toBe(200);
    expect(a.head!["x-long"]).toBe("v".repeat(300));
    expect(a.head!["x-b"]).toBe("2");
    expect(a.chunks.reduce((n, c) => n + c.length, 0)).toBe(600);
    expect(a.trailers).toEqual({ "grpc-status": "0" });
    await Bun.sleep(30);
    // 600 of a 1000-byte window is past half: the stream's window is given back
    expect(got.some((f) => f.type === WINDOW_UPDATE && f.id === 1)).toBe(true);
  });

  test("a malformed response head (no :status, an upper-case name) resets the stream with PROTOCOL_ERROR", async () => {
    const { port } = await rawServer((f, send) => {
      if (f.type !== HEADERS) return;
      if (f.id === 1) send(frame(HEADERS, END_HEADERS, 1, block([["x-a", "1"]])));
      else send(frame(HEADERS, END_HEADERS, f.id, block([[":status", "200"], ["X-Up", "1"]])));
    });
    const { s, host } = await open(port);
    await host.ready;
    const a = req(s, port, "GET", "/a", true);
    const b = req(s, port, "GET", "/b", true);
    await Promise.all([a.finished, b.finished]);
    expect(a.closedWith).toBe(MALFORMED);
    expect(b.closedWith).toBe(MALFORMED);
    expect(host.closedCount).toBe(0);
  });
});

// A gRPC backend for tests, written with node:http2 and gRPC's wire framing
// (5-byte length-prefixed messages, content-type application/grpc, status in
// trailers) — no gRPC library. h2c, or h2 over TLS with ALPN. Methods:
//   /test.Echo/Unary         one message in, the same back; trailer x-trailer
//   /test.Echo/ServerStream  message "N[:size]": N messages back ("msg i", or `size` bytes)
//   /test.Echo/ClientStream  messages in; one back: "count bytes", request trailers echoed as trailers
//   /test.Echo/Bidi          each message echoed as it arrives
//   /test.Echo/Fail          Trailers-Only: grpc-status 5, grpc-message "no such thing"
//   /test.Echo/Slow          answers nothing (a deadline test); the grpc-timeout seen is kept
//   /test.Echo/Stall         once the request ended: the response head and one message, then nothing
//   /test.Echo/Flaky         every other call: Trailers-Only grpc-status 14; else as Unary
//   /test.Echo/LateFlaky     as Flaky, the 14 given 300 ms after the request ended; grpc-timeout kept (each call)
//   /test.Echo/Reset         one message, then RST_STREAM INTERNAL_ERROR (no trailers)
// anything else: a plain HTTP/2 response "hello h2" with x-alpn and x-method.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";

export function frame(payload: Buffer | string): Buffer {
  const p: Buffer = typeof payload === "string" ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(5);
  h.writeUInt32BE(p.length, 1);
  return Buffer.concat([h, p]);
}

/** Splits a byte stream into gRPC messages. */
export class Deframer {
  private buf: Buffer = Buffer.alloc(0);
  push(d: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    const out: Buffer[] = [];
    while (this.buf.length >= 5) {
      const n = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + n) break;
      out.push(this.buf.subarray(5, 5 + n));
      this.buf = this.buf.subarray(5 + n);
    }
    return out;
  }
}

export interface GrpcBackend {
  port: number;
  /** Sessions (connections) accepted so far. */
  sessions: number;
  /** Streams open now, and the most open at once. */
  open: number;
  maxOpen: number;
  /** grpc-timeout headers seen by /Slow. */
  timeouts: string[];
  /** /Flaky calls seen. */
  flaky: number;
  /** ServerStream: bytes written so far (backpressure honoured). */
  written: number;
  close(): void;
}

const OK = { "grpc-status": "0" };

export async function grpcBackend(tlsOpts?: { cert: string; key: string }): Promise<GrpcBackend> {
  const server = tlsOpts ? http2.createSecureServer({ ...tlsOpts, allowHTTP1: false }) : http2.createServer();
  const b: GrpcBackend = { port: 0, sessions: 0, open: 0, maxOpen: 0, timeouts: [], flaky: 0, written: 0, close: () => server.close() };
  server.on("session", (s) => {
    b.sessions++;
    s.on("error", () => {});
  });
  server.on("stream", (stream: http2.Http2Stream, h: http2.IncomingHttpHeaders) => {
    const st = stream as http2.ServerHttp2Stream;
    b.open++;
    b.maxOpen = Math.max(b.maxOpen, b.open);
    st.on("close", () => b.open--);
    st.on("error", () => {});
    const path = String(h[":path"]);
    const alpn = (st.session as unknown as { alpnProtocol?: string }).alpnProtocol ?? "";
    // what the request came with, for the gRPC-Web tests: its content-type, grpc-accept-encoding, content-length
    const seen = { "x-seen-ct": String(h["content-type"] ?? ""), "x-seen-gae": String(h["grpc-accept-encoding"] ?? ""), "x-seen-cl": String(h["content-length"] ?? "") };
    const grpcHead = { ":status": 200, "content-type": "application/grpc", "x-alpn": alpn, ...seen };
    const df = new Deframer();
    if (path === "/test.Echo/Fail") {
      st.respond({ ...grpcHead, "grpc-status": "5", "grpc-message": "no such thing" }, { endStream: true });
      return;
    }
    if (path === "/test.Echo/LateFlaky") {
      b.timeouts.push(String(h["grpc-timeout"] ?? ""));
      if (b.flaky++ % 2 === 0) {
        st.on("end", () => setTimeout(() => st.destroyed || st.respond({ ...grpcHead, "grpc-status": "14", "grpc-message": "try again" }, { endStream: true }), 300));
        st.resume();
        return;
      }
    }
    if (path === "/test.Echo/Flaky" && b.flaky++ % 2 === 0) {
      st.respond({ ...grpcHead, "grpc-status": "14", "grpc-message": "try again" }, { endStream: true });
      return;
    }
    if (path === "/plain/user-agent") {
      st.respond({ ":status": 200, "x-user-agent": JSON.stringify(h["user-agent"] ?? null) }, { endStream: true });
      return;
    }
    if (path === "/plain/sized" || path === "/plain/short") {
      // not gRPC: a sized body, whole or cut short (the stream ends after 5 of its 10 bytes)
      st.respond({ ":status": 200, "content-type": "text/plain", "content-length": "10", "x-up": "1" });
      st.end(path === "/plain/sized" ? "0123456789" : "01234");
      return;
    }
    if (path === "/test.Echo/Reset") {
      st.respond(grpcHead);
      st.write(frame("partial"), () => setTimeout(() => st.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 20));
      return;
    }
    if (path === "/test.Echo/Slow") {
      b.timeouts.push(String(h["grpc-timeout"] ?? ""));
      st.resume();
      return;
    }
    if (path === "/test.Echo/Stall") {
      b.timeouts.push(String(h["grpc-timeout"] ?? ""));
      st.on("end", () => {
        if (st.destroyed) return;
        st.respond(grpcHead);
        st.write(frame("first"));
      });
      st.resume();
      return;
    }
    if (path === "/test.Echo/Bidi") {
      st.respond(grpcHead, { waitForTrailers: true });
      st.on("wantTrailers", () => st.sendTrailers(OK));
      st.on("data", (d: Buffer) => {
        for (const m of df.push(d)) st.write(frame(m));
      });
      st.on("end", () => st.end());
      return;
    }
    if (path === "/test.Echo/ServerStream") {
      st.once("data", (d: Buffer) => {
        const [n, size] = df.push(d)[0]!.toString().split(":").map(Number);
        st.respond(grpcHead, { waitForTrailers: true });
        st.on("wantTrailers", () => st.sendTrailers({ ...OK, "x-count": String(n) }));
        let i = 0;
        const pump = (): void => {
          while (i < n!) {
            const f = frame(size ? Buffer.alloc(size, 120) : `msg ${i}`);
            i++;
            b.written += f.length;
            if (!st.write(f)) return void st.once("drain", pump);
          }
          st.end();
        };
        pump();
      });
      st.resume();
      return;
    }
    if (path === "/test.Echo/ClientStream" || path === "/test.Echo/Unary" || path === "/test.Echo/Flaky" || path === "/test.Echo/LateFlaky") {
      let count = 0;
      let bytes = 0;
      let last: Buffer = Buffer.alloc(0);
      let trailers: Record<string, string> = {};
      st.on("data", (d: Buffer) => {
        for (const m of df.push(d)) {
          count++;
          bytes += m.length;
          last = m;
        }
      });
      st.on("trailers", (t) => {
        for (const k of Object.keys(t)) trailers[`echo-${k}`] = String(t[k]);
      });
      st.on("end", () => {
        if (st.destroyed) return;
        st.respond(grpcHead, { waitForTrailers: true });
        st.on("wantTrailers", () => st.sendTrailers({ ...OK, "x-trailer": "t1", ...trailers }));
        st.end(frame(path === "/test.Echo/ClientStream" ? `${count} ${bytes}` : last));
      });
      return;
    }
    let body = "";
    st.on("data", (d: Buffer) => (body += d.toString()));
    st.on("end", () => {
      if (st.destroyed) return;
      const text = `hello h2 ${h[":method"]} ${h[":authority"]} ${body}`;
      st.respond({ ":status": 200, "content-type": "text/plain", "content-length": String(Buffer.byteLength(text)), "x-alpn": alpn, "x-scheme": String(h[":scheme"]) });
      st.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  b.port = (server.address() as AddressInfo).port;
  return b;
}

export interface CallResult {
  headers: Record<string, unknown>;
  messages: Buffer[];
  trailers: Record<string, unknown>;
  /** RST_STREAM code when the stream was reset (-1: reset, code unknown), else 0. */
  rst: number;
}

/** One gRPC call over an HTTP/2 session: send `messages` (then `trailers`, if any), collect everything. */
export function call(
  c: http2.ClientHttp2Session,
  path: string,
  messages: (Buffer | string)[],
  extra: Record<string, string> = {},
  trailers: Record<string, string> | null = null,
): Promise<CallResult> {
  return new Promise((resolve) => {
    const st = c.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extra }, { waitForTrailers: trailers !== null });
    if (trailers !== null) st.on("wantTrailers", () => st.sendTrailers(trailers));
    const r: CallResult = { headers: {}, messages: [], trailers: {}, rst: 0 };
    const df = new Deframer();
    st.on("response", (h) => (r.headers = { ...h }));
    st.on("trailers", (t) => (r.trailers = { ...t }));
    st.on("data", (d: Buffer) => r.messages.push(...df.push(d)));
    let errored = false;
    st.on("error", () => (errored = true));
    st.on("close", () => {
      r.rst = st.rstCode || (errored ? -1 : 0); // Bun leaves rstCode 0 on a reset: its stream 'error' says it
      resolve(r);
    });
    for (const m of messages) st.write(frame(m));
    st.end();
  });
}

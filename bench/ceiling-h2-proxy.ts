// Ceiling for HTTP/2 downstream proxied to an HTTP/1.1 upstream under Bun: node:http2 over
// H2Duplex (as gangway) and one keep-alive Bun socket per request in flight to the upstream,
// with the least a proxy can do (fixed request head, response read by Content-Length only,
// answered as :status 200 + the body). No routing, no header rules, no logging: what any
// h2 -> h1 proxy built from these parts costs per request on one thread.
// Usage: bun bench/ceiling-h2-proxy.ts [port=18391] [upstreamPort=18396] [seconds=30]  (bench/ceiling-h2.sh PROXY=1)
import type { Socket } from "bun";
import * as http2 from "node:http2";
import { H2Duplex } from "../workers/http/h2-duplex.ts";
import { h2DuplexSocket } from "./lib/h2-duplex-socket.ts";

const port = Number(process.argv[2] ?? 18391);
const upstreamPort = Number(process.argv[3] ?? 18396);
const seconds = Number(process.argv[4] ?? 30);
const SETTINGS: http2.Settings = { maxConcurrentStreams: 128, maxHeaderListSize: 64 * 1024, enablePush: false };
const HEAD = Buffer.from(`GET / HTTP/1.1\r\nhost: 127.0.0.1:${upstreamPort}\r\n\r\n`, "latin1");

interface Up {
  stream: http2.ServerHttp2Stream | null;
  buf: Buffer | null;
}
const idle: Socket<Up>[] = [];

function answer(s: Socket<Up>, b: Buffer): void {
  const buf = s.data.buf === null ? b : Buffer.concat([s.data.buf, b]);
  const end = buf.indexOf("\r\n\r\n", 0, "latin1");
  if (end < 0) return void (s.data.buf = buf);
  const m = /content-length: *(\d+)/i.exec(buf.toString("latin1", 0, end));
  const len = m === null ? 0 : Number(m[1]);
  if (buf.length < end + 4 + len) return void (s.data.buf = buf);
  s.data.buf = null;
  const st = s.data.stream!;
  s.data.stream = null;
  idle.push(s);
  if (st.destroyed) return;
  st.respond({ ":status": 200, "content-length": String(len) });
  st.end(buf.subarray(end + 4, end + 4 + len));
}

function send(st: http2.ServerHttp2Stream): void {
  const s = idle.pop();
  if (s !== undefined) {
    s.data.stream = st;
    s.write(HEAD);
    return;
  }
  void Bun.connect<Up>({
    hostname: "127.0.0.1",
    port: upstreamPort,
    data: { stream: st, buf: null },
    socket: {
      open(s) {
        s.write(HEAD);
      },
      data: answer,
      close(s) {
        const i = idle.indexOf(s);
        if (i >= 0) idle.splice(i, 1);
        s.data.stream?.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      },
    },
  });
}

Bun.listen<H2Duplex>({
  hostname: "127.0.0.1",
  port,
  socket: h2DuplexSocket((d) => {
    const session = http2.performServerHandshake(d, { settings: SETTINGS });
    session.on("stream", (st) => {
      st.on("error", () => {});
      send(st);
    });
    session.on("error", () => d.destroy());
  }),
});
console.log(`ceiling-h2-proxy on 127.0.0.1:${port} -> 127.0.0.1:${upstreamPort} for ${seconds}s`);
setTimeout(() => process.exit(0), seconds * 1000);

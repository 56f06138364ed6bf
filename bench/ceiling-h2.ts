// Ceiling for HTTP/2 downstream: node:http2 under Bun over the same bridge gangway uses
// (Bun.listen socket -> H2Duplex -> http2.performServerHandshake), answering "Hello, World!"
// on every stream with no proxying: what node:http2 itself costs per request here.
// Usage: bun bench/ceiling-h2.ts [port=18390] [seconds=30]  (bench/ceiling-h2.sh drives it)
import * as http2 from "node:http2";
import { H2Duplex } from "../workers/http/h2-duplex.ts";
import { h2DuplexSocket } from "./lib/h2-duplex-socket.ts";

const port = Number(process.argv[2] ?? 18390);
const seconds = Number(process.argv[3] ?? 30);
const BODY = Buffer.from("Hello, World!");
const HEADERS = { ":status": 200, "content-type": "text/plain", "content-length": String(BODY.length) };
const SETTINGS: http2.Settings = { maxConcurrentStreams: 128, maxHeaderListSize: 64 * 1024, enablePush: false };

Bun.listen<H2Duplex>({
  hostname: "127.0.0.1",
  port,
  socket: h2DuplexSocket((d) => {
    const session = http2.performServerHandshake(d, { settings: SETTINGS });
    session.on("stream", (st) => {
      st.on("error", () => {});
      st.respond(HEADERS);
      st.end(BODY);
    });
    session.on("error", () => d.destroy());
  }),
});
console.log(`ceiling-h2 on 127.0.0.1:${port} for ${seconds}s`);
setTimeout(() => process.exit(0), seconds * 1000);

// The h2c gRPC backend of the gRPC unary benchmark (grpc-proxy.sh): node:http2
// with gRPC's wire framing, no gRPC library. Every POST is a unary call: the
// request's messages are counted and the last one is echoed back in one
// 5-byte-prefixed message, then trailers grpc-status 0. A body that is not
// whole gRPC messages gets a Trailers-Only grpc-status 13, so a broken proxy
// shows up as failed calls in the sample check, not as speed. Plain JS so that
// node (20 has no TypeScript) and Bun can both run it.
// Usage: node bench/grpc-proxy-backend.mjs [port=18190]
import http2 from "node:http2";

const port = Number(process.argv[2] ?? 18190);
const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on("session", (s) => s.on("error", () => {}));
server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  const chunks = [];
  stream.on("data", (d) => chunks.push(d));
  stream.on("end", () => {
    if (stream.destroyed || stream.closed) return; // reset by the proxy (e.g. at the end of an h2load run)
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    let at = 0;
    let last = null;
    while (body.length - at >= 5) {
      const n = body.readUInt32BE(at + 1);
      if (body.length - at - 5 < n) break;
      last = body.subarray(at, at + 5 + n);
      at += 5 + n;
    }
    const head = { ":status": 200, "content-type": "application/grpc" };
    if (headers[":method"] !== "POST" || last === null || at !== body.length) {
      stream.respond({ ...head, "grpc-status": "13", "grpc-message": "bad request body" }, { endStream: true });
      return;
    }
    stream.respond(head, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(last);
  });
});
server.listen(port, "127.0.0.1", () => console.log(`grpc backend on ${port}`));

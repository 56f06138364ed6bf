// The sample check of the gRPC unary benchmark (grpc-proxy.sh): one unary call
// with node:http2 through a proxy; exits non-zero unless the response is 200,
// application/grpc, echoes the message and ends with trailers grpc-status 0.
// Usage: node bench/grpc-proxy-check.mjs PORT [message=ping]
import http2 from "node:http2";

const port = Number(process.argv[2]);
const msg = Buffer.from(process.argv[3] ?? "ping");
const framed = Buffer.alloc(5 + msg.length);
framed.writeUInt32BE(msg.length, 1);
msg.copy(framed, 5);
const fail = (why) => {
  console.error(`grpc check on ${port}: ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("no answer in 5 s"), 5000);
const session = http2.connect(`http://127.0.0.1:${port}`);
session.on("error", (e) => fail(String(e)));
const req = session.request({ ":method": "POST", ":path": "/bench.Echo/Unary", "content-type": "application/grpc", te: "trailers" });
let head;
let trailers;
const chunks = [];
req.on("response", (h) => (head = h));
req.on("trailers", (t) => (trailers = t));
req.on("data", (d) => chunks.push(d));
req.on("end", () => {
  clearTimeout(timer);
  session.close();
  const body = Buffer.concat(chunks);
  const status = trailers?.["grpc-status"] ?? head?.["grpc-status"];
  if (head?.[":status"] !== 200) fail(`HTTP status ${head?.[":status"]}`);
  if (!String(head["content-type"]).startsWith("application/grpc")) fail(`content-type ${head["content-type"]}`);
  if (status !== "0") fail(`grpc-status ${status} ${trailers?.["grpc-message"] ?? head?.["grpc-message"] ?? ""}`);
  if (!body.equals(framed)) fail(`body ${body.toString("hex")} is not the echo of ${framed.toString("hex")}`);
  console.log(`grpc check on ${port}: grpc-status 0, message echoed`);
});
req.end(framed);

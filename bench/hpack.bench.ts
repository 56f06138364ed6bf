// HPACK (workers/http/h2/hpack.ts) per header block (tinybench). Run:
//   flock /tmp/gangway-bench.lock node_modules/.bin/bun bench/hpack.bench.ts
// Each task runs a batch of BATCH blocks per iteration (a single block is
// ~100 ns, too close to the timer's own cost) and prints ns per block. Figures
// are printed, never asserted; noisy on a shared machine, so compare runs side
// by side.
//
// Decoding: what h2load sends. Its first request on a connection carries
// :authority and user-agent as Huffman literals with incremental indexing;
// every later request is six indexed octets. "first request" decodes the same
// fields as Huffman literals *without* indexing on a warm decoder (the string
// work of a first request, repeatable without a new connection); "first
// request on a new decoder" adds constructing the decoder. A browser-like
// request (13 fields, longer values) is measured both ways too.
// Encoding: a proxied response (:status 200, content-type, content-length,
// server, date, x-envoy-upstream-service-time) on a connection's encoder in
// its steady state (content-type and server already in the table), raw and
// Huffman.
import { Bench } from "tinybench";
import { HpackDecoder, HpackEncoder } from "../workers/http/h2/hpack.ts";

const BATCH = 100;

type Field = [string, string];
const H2LOAD: Field[] = [
  [":method", "GET"], [":path", "/"], [":scheme", "https"], [":authority", "127.0.0.1:8443"],
  ["accept-encoding", "gzip, deflate"], ["user-agent", "h2load nghttp2/1.59.0"],
];
const BROWSER: Field[] = [
  [":method", "GET"], [":authority", "shop.example.com"], [":scheme", "https"], [":path", "/api/v1/cart?id=12345"],
  ["sec-ch-ua", '"Chromium";v="131", "Not_A Brand";v="24"'], ["sec-ch-ua-mobile", "?0"], ["sec-ch-ua-platform", '"Linux"'],
  ["user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"],
  ["accept", "application/json, text/plain, */*"], ["sec-fetch-site", "same-origin"], ["sec-fetch-mode", "cors"],
  ["accept-encoding", "gzip, deflate, br, zstd"], ["accept-language", "en-US,en;q=0.9"],
];

/** A client's blocks for `fields`: Huffman literals with incremental indexing the first time, indexed after. */
function clientBlocks(fields: Field[]): { first: Uint8Array; next: Uint8Array; unindexed: Uint8Array } {
  // Our encoder in Huffman mode indexes these names as nghttp2 and browsers do
  // (none is on its volatile list except :path, which is static "/" for h2load).
  const enc = new HpackEncoder({ huffman: true });
  const names = fields.map((f) => f[0]);
  const values = fields.map((f) => f[1]);
  const out = new Uint8Array(4096);
  const first = out.slice(0, enc.encode(names, values, names.length, out, 0));
  const next = out.slice(0, enc.encode(names, values, names.length, out, 0));
  // The same fields as "literal without indexing" (0000): a table of size 0 on a fresh encoder.
  const plain = new HpackEncoder({ huffman: true });
  plain.setMaxTableSize(0);
  const withUpdate = out.slice(0, plain.encode(names, values, names.length, out, 0));
  const unindexed = withUpdate.slice(1); // drop the size update (0x20)
  return { first, next, unindexed };
}

let sink = 0;
const emit = (n: string, v: string) => {
  sink += n.length + v.length;
};

const bench = new Bench({ time: 1000 });
for (const [label, fields] of [["h2load", H2LOAD], ["browser", BROWSER]] as const) {
  const { first, next, unindexed } = clientBlocks(fields);
  const warm = new HpackDecoder();
  warm.decode(first, 0, first.length, emit, 1 << 20);
  bench.add(`decode ${label} request, indexed (${next.length} octets)`, () => {
    for (let i = 0; i < BATCH; i++) warm.decode(next, 0, next.length, emit, 1 << 20);
  });
  bench.add(`decode ${label} first request, Huffman literals (${unindexed.length} octets)`, () => {
    for (let i = 0; i < BATCH; i++) warm.decode(unindexed, 0, unindexed.length, emit, 1 << 20);
  });
  bench.add(`decode ${label} first request on a new decoder (${first.length} octets)`, () => {
    for (let i = 0; i < BATCH; i++) new HpackDecoder().decode(first, 0, first.length, emit, 1 << 20);
  });
}

const RESPONSE_NAMES = [":status", "content-type", "content-length", "server", "date", "x-envoy-upstream-service-time"];
const LENGTHS = ["1234", "87", "65536", "0", "431"];
const DATES = ["Sun, 06 Dec 2026 02:30:00 GMT", "Sun, 06 Dec 2026 02:30:01 GMT"];
const out = new Uint8Array(4096);
for (const huffman of [false, true]) {
  const enc = new HpackEncoder({ huffman });
  const values = [["200", "application/json", "1234", "istio-envoy", DATES[0]!, "3"]];
  for (let k = 1; k < 10; k++) values.push(["200", "application/json", LENGTHS[k % 5]!, "istio-envoy", DATES[k & 1]!, String(k)]);
  let size = 0;
  let k = 0;
  const warmEnd = enc.encode(RESPONSE_NAMES, values[0]!, 6, out, 0);
  const steady = enc.encode(RESPONSE_NAMES, values[1]!, 6, out, 0);
  bench.add(`encode proxied response, ${huffman ? "Huffman" : "raw"} (${warmEnd} then ${steady} octets)`, () => {
    for (let i = 0; i < BATCH; i++) size += enc.encode(RESPONSE_NAMES, values[k++ % 10]!, 6, out, 0);
  });
}

await bench.run();
for (const t of bench.tasks) {
  const r = t.result;
  if (r.state !== "completed") throw new Error(`${t.name}: ${r.state}`);
  console.log(`${t.name.padEnd(70)} ${((r.latency.mean * 1e6) / BATCH).toFixed(0).padStart(6)} ns/block`);
}
if (sink < 0) console.log(sink);

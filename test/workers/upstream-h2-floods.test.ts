// The own HTTP/2 client codec (workers/http/h2/client-*.ts) against hostile
// upstreams, through a real worker: an upstream that makes us answer more
// than we may keep (a PING flood) is cut, one announcing a
// SETTINGS_MAX_HEADER_LIST_SIZE below our request never gets it (the try
// fails here), a response head decoding to a huge header list fails its
// stream. The client always gets an answer, never a hang.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { block, DATA, END_HEADERS, END_STREAM, frame, HEADERS } from "./edge/h2-raw.ts";
import { rawH2Upstream, type RawUpstreamState } from "./h2/raw-upstream.ts";
import { settings } from "./h2/raw-client.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

const PING = 6;
let w: WorkerHarness;
let gw = 0;
let upstream: TCPSocketListener<RawUpstreamState>;
let small: TCPSocketListener<RawUpstreamState>;
/** Requests each upstream saw. */
const seen = { up: 0, small: 0 };

const ok = (id: number) => Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "200"]])), frame(DATA, END_STREAM, id, Buffer.from("fine"))]);
const ping = frame(PING, 0, 0, Buffer.alloc(8));

beforeAll(async () => {
  upstream = rawH2Upstream((sock, id, payload) => {
    seen.up++;
    const text = payload.toString("latin1");
    if (text.includes("/ping-flood")) {
      // 20000 PINGs (each owed an acknowledgement), then the answer
      sock.write(Buffer.concat([...Array.from({ length: 20_000 }, () => ping), ok(id)]));
    } else if (text.includes("/huge-list")) {
      // a 4 kB field added to the dynamic table, then referenced 16000 times (one octet each): a 64 MB header list
      const big = "v".repeat(4000);
      const lit = Buffer.from([0x40, 5, ...Buffer.from("x-big"), 0x7f, ...[4000 - 127].flatMap((v) => [0x80 | (v & 0x7f), v >> 7]), ...Buffer.from(big)]);
      sock.write(frame(HEADERS, END_HEADERS | END_STREAM, id, Buffer.concat([Buffer.from([0x88]), lit, Buffer.alloc(16_000, 0x80 | 62)])));
    } else sock.write(ok(id));
  });
  // announces SETTINGS_MAX_HEADER_LIST_SIZE 1000
  small = rawH2Upstream((sock, id) => {
    seen.small++;
    sock.write(ok(id));
  }, undefined, settings([[6, 1000]]));
  gw = freePort();
  const entry = (name: string, port: number) => loopbackServiceEntry({ name, host: `${name}.internal`, port: 8080, targetPort: port, portName: "http2", protocol: "HTTP2" });
  const routes = `  - match: [{uri: {prefix: /small}}]
    route: [{destination: {host: small.internal, port: {number: 8080}}}]
  - route: [{destination: {host: up.internal, port: {number: 8080}}}]
`;
  const yaml = `${gatewayWithRoutes(routes)}${entry("up", upstream.port)}${entry("small", small.port)}`;
  w = new WorkerHarness();
  await w.apply(compileYaml(yaml, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" }));
});

afterAll(() => {
  w?.stop();
  upstream?.stop(true);
  small?.stop(true);
});

const get = (path: string, extra = "", ms = 5000) => raw(gw, `GET ${path} HTTP/1.1\r\nHost: example.com\r\n${extra}\r\n`, (b) => b.includes("\r\n\r\n") && (b.includes("fine") || !b.includes(" 200 ")), ms);
const status = (text: string) => Number(text.slice(9, 12));

test("an upstream flooding PINGs (20000 acknowledgements owed at once): the connection is cut, the client gets a 5xx", async () => {
  const r = await get("/ping-flood");
  expect(status(r.text)).toBeGreaterThanOrEqual(502);
  expect(status(r.text)).toBeLessThanOrEqual(503);
  // the next request gets a new connection and is served
  const r2 = await get("/after");
  expect(status(r2.text)).toBe(200);
});

test("a response head decoding to a 64 MB header list: that stream fails (5xx), the connection goes on", async () => {
  const r = await get("/huge-list");
  expect(status(r.text)).toBeGreaterThanOrEqual(502);
  expect(status(r.text)).toBeLessThanOrEqual(503);
  expect(status((await get("/after")).text)).toBe(200);
});

test("SETTINGS_MAX_HEADER_LIST_SIZE 1000 and a request head over it: failed here, the upstream never sees it", async () => {
  expect(status((await get("/small/ok")).text)).toBe(200);
  const before = seen.small;
  const r = await get("/small/big", `x-big: ${"b".repeat(2000)}\r\n`);
  // as the upstream resetting it would: 503, reset before the response head
  expect(status(r.text)).toBe(503);
  expect(seen.small).toBe(before);
  expect(status((await get("/small/ok")).text)).toBe(200);
});

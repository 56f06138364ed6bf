// Slow HTTP/2 clients on gangway's own codec, on a real worker with short
// timeouts (request head 300 ms, stream idle 500 ms): a header block left
// open across CONTINUATION frames ends the connection at the request head
// timeout (as a partial head does on HTTP/1.1); a request body that stalls
// gets 408 and a response the client never opens a window for is reset, at
// the stream idle timeout, as on HTTP/1.1 (also once the exchange is over and
// the response waits whole on the stream); the connection goes on; a slow
// reader making progress is not reset.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { DATA, HEADERS, WINDOW_UPDATE, block, frame, request } from "../edge/h2-raw.ts";
import { RawH2, u32 } from "./raw-client.ts";
import { h2TestUpstream } from "./test-upstream.ts";

const ENHANCE_YOUR_CALM = 11;
const CONTINUATION = 9;

const up = h2TestUpstream();
let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness({ requestHeadersTimeoutMs: 300, streamIdleTimeoutMs: 500 });
  port = freePort();
  const routes = [{ name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) }];
  await w.apply(snapshot([listener(port, [virtualHost(["x"], routes)])], [cluster("up", [["127.0.0.1", up.port]])]));
});
afterAll(() => {
  w.stop();
  up.stop();
});

const GET: [string, string][] = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "x"]];

test("a header block left open (HEADERS without END_HEADERS, then nothing): GOAWAY ENHANCE_YOUR_CALM at the request head timeout", async () => {
  const c = await RawH2.open(port);
  c.send(frame(HEADERS, 1, 1, block(GET))); // END_STREAM, no END_HEADERS
  expect(await c.until(() => c.closed, 5000)).toBe(true);
  expect(c.goaway).toBe(ENHANCE_YOUR_CALM);
});

test("a header block completed by a CONTINUATION in time: served, the connection stays past the timeout", async () => {
  const c = await RawH2.open(port);
  const b = block(GET);
  c.send(frame(HEADERS, 1, 1, b.subarray(0, 3)));
  await Bun.sleep(100);
  c.send(frame(CONTINUATION, 4, 1, b.subarray(3)));
  expect(await c.until(() => c.over(1))).toBe(true);
  expect(c.status(1)).toBe(200);
  await Bun.sleep(700);
  expect(c.closed).toBe(false);
  c.send(request(3));
  expect(await c.until(() => c.over(3))).toBe(true);
  expect(c.status(3)).toBe(200);
  c.close();
});

test("a request body that stalls: 408 at the stream idle timeout", async () => {
  const c = await RawH2.open(port);
  c.send(request(1, "/echo", [], "POST", false), frame(DATA, 0, 1, Buffer.from("part")));
  expect(await c.until(() => c.over(1), 5000)).toBe(true);
  expect(c.status(1)).toBe(408);
  c.close();
});

test("a response the client opens no window for: the stream is reset at the stream idle timeout, the connection goes on", async () => {
  const c = await RawH2.open(port);
  c.send(request(1, "/bytes/1000000"));
  expect(await c.until(() => c.over(1), 5000)).toBe(true);
  expect(c.stream(1).rst).toBeGreaterThanOrEqual(0);
  expect(c.body(1).length).toBe(65_535);
  c.send(request(3));
  expect(await c.until(() => c.over(3))).toBe(true);
  expect(c.status(3)).toBe(200);
  c.close();
});

test("a slow reader (20 kB of window every 300 ms, under the stream idle timeout): its response is not reset", async () => {
  const c = await RawH2.open(port);
  c.send(request(1, "/bytes/200000"));
  expect(await c.until(() => c.body(1).length === 65_535)).toBe(true);
  for (let i = 0; i < 12 && !c.over(1); i++) {
    await Bun.sleep(300);
    c.send(frame(WINDOW_UPDATE, 0, 1, u32(20_000)), frame(WINDOW_UPDATE, 0, 0, u32(20_000)));
  }
  expect(await c.until(() => c.over(1))).toBe(true);
  expect(c.stream(1).rst).toBe(-1);
  expect(c.body(1).length).toBe(200_000);
  c.close();
}, 10_000);

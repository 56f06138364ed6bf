// Hostile HTTP/2 traffic on gangway's own codec (workers/http/h2/), on a real
// worker over loopback, driven with raw frames: floods of frames we must
// answer from a client that does not read (the output stays bounded: the
// connection is cut), floods of frames that cost us work and carry nothing
// (empty DATA / HEADERS / CONTINUATION, PRIORITY, WINDOW_UPDATE: GOAWAY
// ENHANCE_YOUR_CALM), as Envoy's HTTP/2 protocol constraints do.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { DATA, END_STREAM, GOAWAY, HEADERS, PING, SETTINGS, WINDOW_UPDATE, frame, request } from "../edge/h2-raw.ts";
import { RawH2, settings, u32 } from "./raw-client.ts";
import { h2TestUpstream } from "./test-upstream.ts";

// more than the socket buffers on both sides and the gateway's queues hold (with loopback
// autotuning they took all of 24 MiB once, under load): the response that backs the connection up
const BACKLOG = 256 * 1024 * 1024;

const ENHANCE_YOUR_CALM = 11;
const PRIORITY = 2;
const CONTINUATION = 9;

const up = h2TestUpstream();
let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness({ streamIdleTimeoutMs: 60_000 });
  port = freePort();
  const routes = [{ name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) }];
  await w.apply(snapshot([listener(port, [virtualHost(["x"], routes)])], [cluster("up", [["127.0.0.1", up.port]])]));
});
afterAll(() => {
  w.stop();
  up.stop();
});

const ping = (i: number) => {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(i, 4);
  return frame(PING, 0, 0, p);
};

/**
 * A client that stops reading once the gateway's output has backed up (a
 * 24 MB response with every window open fills the kernel's buffers), then
 * sends `frames`; it reads again and returns what came.
 */
async function backedUp(...frames: Buffer[]): Promise<RawH2> {
  const c = await RawH2.open(port);
  c.send(frame(SETTINGS, 0, 0, settings([[4, 0x7fffffff]])), frame(WINDOW_UPDATE, 0, 0, u32(0x7fffffff - 65535)));
  c.pause();
  c.send(request(1, `/endless/${BACKLOG}`));
  // the upstream stops being read once the gateway's socket and the stream's queue are full
  let last = -1;
  for (let i = 0, same = 0; i < 100 && same < 3; i++) {
    same = up.produced() === last && up.produced() > 0 ? same + 1 : 0;
    last = up.produced();
    await Bun.sleep(150);
  }
  expect(up.produced()).toBeLessThan(BACKLOG);
  c.send(...frames);
  await Bun.sleep(300);
  c.resume();
  return c;
}

describe("frames we must answer, from a client that does not read", () => {
  test("a PING flood: cut after 1000 acknowledgements wait, not all 5000 answered", async () => {
    const pings = Array.from({ length: 5000 }, (_, i) => ping(i));
    const c = await backedUp(...pings);
    expect(await c.until(() => c.closed, 10_000)).toBe(true);
    expect(c.count(PING)).toBeLessThan(5000);
    expect(c.body(1).length).toBeLessThan(BACKLOG);
  }, 30_000);

  test("a SETTINGS flood: cut after 1000 acknowledgements wait", async () => {
    const s = Array.from({ length: 5000 }, () => frame(SETTINGS, 0, 0));
    const c = await backedUp(...s);
    expect(await c.until(() => c.closed, 10_000)).toBe(true);
    expect(c.count(SETTINGS)).toBeLessThan(5000);
  }, 30_000);

  test("requests answered by headers alone (400), never read: cut after 10000 frames wait", async () => {
    // a non-zero content-length on a request whose HEADERS end it: 400, headers only, no upstream
    const one = await RawH2.open(port);
    one.send(request(1, "/", [["content-length", "5"]]));
    expect(await one.until(() => one.over(1))).toBe(true);
    expect(one.status(1)).toBe(400);
    one.close();
    const reqs = Array.from({ length: 12_000 }, (_, i) => request(3 + 2 * i, "/", [["content-length", "5"]]));
    const c = await backedUp(...reqs);
    expect(await c.until(() => c.closed, 10_000)).toBe(true);
    expect(c.count(HEADERS)).toBeLessThan(12_000);
  }, 30_000);

  test("a client that reads: 900 PINGs at a time, five times, all answered", async () => {
    const c = await RawH2.open(port);
    for (let k = 0; k < 5; k++) {
      c.send(...Array.from({ length: 900 }, (_, i) => ping(i)));
      if (!(await c.until(() => c.count(PING) === 900 * (k + 1)))) console.log("DBG", k, c.count(PING), c.closed, c.goaway, c.frames.length);
      expect(c.count(PING)).toBe(900 * (k + 1));
    }
    c.send(request(1, "/bytes/40000"));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.status(1)).toBe(200);
    expect(c.closed).toBe(false);
    c.close();
  });
});

/** Send `frames` after the preface and SETTINGS; expect GOAWAY(ENHANCE_YOUR_CALM) and the connection closed. */
async function calmed(...frames: Buffer[]): Promise<void> {
  const c = await RawH2.open(port);
  c.send(...frames);
  expect(await c.until(() => c.closed, 5000)).toBe(true);
  expect(c.goaway).toBe(ENHANCE_YOUR_CALM);
}

/** Send `frames`, then a GET on `next`: it is served and the connection stays. */
async function served(next: number, ...frames: Buffer[]): Promise<RawH2> {
  const c = await RawH2.open(port);
  c.send(...frames, request(next, "/bytes/40000"));
  expect(await c.until(() => c.over(next))).toBe(true);
  expect(c.status(next)).toBe(200);
  expect(c.closed).toBe(false);
  expect(c.goaway).toBe(-1);
  return c;
}

const post = (id: number, path = "/echo") => request(id, path, [], "POST", false);
const data = (id: number, n: number, end = false) => frame(DATA, end ? END_STREAM : 0, id, Buffer.alloc(n, 0x61));
const padded = (id: number) => frame(DATA, 0x8, id, Buffer.from([3, 0, 0, 0])); // no data, 3 bytes of padding
const prio = (id: number, dep: number) => frame(PRIORITY, 0, id, Buffer.from([0, 0, 0, dep, 15]));
const win = (id: number, n: number) => frame(WINDOW_UPDATE, 0, id, u32(n));

describe("frames that carry nothing (Envoy's protocol constraints)", () => {
  test("two empty DATA frames in a row: GOAWAY ENHANCE_YOUR_CALM", () => calmed(post(1), data(1, 0), data(1, 0)));

  test("DATA frames of padding only count as empty", () => calmed(post(1), padded(1), padded(1)));

  test("an empty HEADERS (no END_STREAM) then empty CONTINUATIONs: GOAWAY ENHANCE_YOUR_CALM", () =>
    calmed(frame(HEADERS, 0, 1), frame(CONTINUATION, 0, 1)));

  test("an empty DATA between payloads, and an empty DATA with END_STREAM: served", async () => {
    const c = await served(3, post(1), data(1, 0), data(1, 5), data(1, 0), data(1, 0, true));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.body(1)).toBe("aaaaa");
    c.close();
  });

  test("PRIORITY frames past 100 per stream opened: GOAWAY ENHANCE_YOUR_CALM", () =>
    calmed(...Array.from({ length: 101 }, (_, i) => prio(2 * i + 1, 0))));

  test("100 PRIORITY frames, then a request: served", async () => (await served(1, ...Array.from({ length: 100 }, (_, i) => prio(2 * i + 3, 0)))).close());

  test("WINDOW_UPDATE frames with no DATA sent: past 1 + 2 per stream, GOAWAY ENHANCE_YOUR_CALM", () =>
    calmed(post(1, "/silent"), ...Array.from({ length: 4 }, () => win(0, 1))));

  test("a client that reads a large response, giving back each DATA frame's bytes on the stream and the connection: served to the end", async () => {
    const c = await RawH2.open(port);
    c.send(request(3, "/bytes/40000"));
    let given = 0;
    expect(
      await c.until(() => {
        // a WINDOW_UPDATE per DATA frame, on the stream and on the connection, as some clients do
        for (; given < c.count(DATA); given++) c.send(win(3, 16_384), win(0, 16_384));
        return c.over(3);
      }, 10_000),
    ).toBe(true);
    expect(c.body(3).length).toBe(40_000);
    expect(c.goaway).toBe(-1);
    c.close();
  });
});

/** An HPACK integer with a `bits`-bit prefix whose first octet carries `mask`. */
function hpackInt(mask: number, bits: number, v: number): number[] {
  const max = (1 << bits) - 1;
  if (v < max) return [mask | v];
  const out = [mask | max];
  v -= max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A literal field with incremental indexing and a new name (RFC 7541 §6.2.1). */
function indexed(name: string, value: string): Buffer {
  return Buffer.from([0x40, ...hpackInt(0, 7, name.length), ...Buffer.from(name), ...hpackInt(0, 7, value.length), ...Buffer.from(value)]);
}

// GET http / with :authority x (a literal never indexed, so the dynamic table keeps its order)
const PSEUDO = Buffer.from([0x82, 0x86, 0x84, 0x01, 0x01, 0x78]);

describe("HPACK", () => {
  test("a block of one-octet references to a 4 kB dynamic entry (a 64 MB header list): 431 on that stream, the connection goes on", async () => {
    const c = await RawH2.open(port);
    const big = "v".repeat(4000);
    c.send(frame(HEADERS, END_STREAM | 4, 1, Buffer.concat([PSEUDO, indexed("x-big", big)])));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.status(1)).toBe(200);
    // index 62: the newest dynamic entry, x-big, 16000 times
    c.send(frame(HEADERS, END_STREAM | 4, 3, Buffer.concat([PSEUDO, Buffer.alloc(16_000, 0x80 | 62)])));
    expect(await c.until(() => c.over(3))).toBe(true);
    expect(c.status(3)).toBe(431);
    c.send(request(5, "/bytes/40000"));
    expect(await c.until(() => c.over(5))).toBe(true);
    expect(c.status(5)).toBe(200);
    c.close();
  });

  test("a block of 16000 dynamic table size updates: the stream is refused (no fields), the connection goes on", async () => {
    const c = await RawH2.open(port);
    c.send(frame(HEADERS, END_STREAM | 4, 1, Buffer.alloc(16_000, 0x20)));
    expect(await c.until(() => c.over(1))).toBe(true);
    expect(c.stream(1).rst).toBe(1);
    c.send(request(3, "/bytes/40000"));
    expect(await c.until(() => c.over(3))).toBe(true);
    expect(c.status(3)).toBe(200);
    c.close();
  });
});

describe("resets the client makes us send (MadeYouReset, CVE-2025-8671)", () => {
  test("streams reset by us for a WINDOW_UPDATE of 0 while their exchange runs: past 100 (and half the streams), GOAWAY ENHANCE_YOUR_CALM", async () => {
    const c = await RawH2.open(port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 150; i++) frames.push(request(2 * i + 1, "/silent"), win(2 * i + 1, 0));
    c.send(...frames);
    expect(await c.until(() => c.closed, 5000)).toBe(true);
    expect(c.goaway).toBe(ENHANCE_YOUR_CALM);
  });

  test("streams reset by us for DATA past their content-length: the same", async () => {
    const c = await RawH2.open(port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 150; i++) frames.push(request(2 * i + 1, "/echo", [["content-length", "1"]], "POST", false), data(2 * i + 1, 5));
    c.send(...frames);
    expect(await c.until(() => c.closed, 5000)).toBe(true);
    expect(c.goaway).toBe(ENHANCE_YOUR_CALM);
  });

  test("110 such resets among twice as many streams answered: the connection goes on", async () => {
    const c = await RawH2.open(port);
    const frames: Buffer[] = [];
    // each reset stream between two answered at once (400: a content-length on a request without a body)
    const answered = (id: number) => request(id, "/", [["content-length", "5"]]);
    for (let i = 0; i < 110; i++) frames.push(answered(6 * i + 1), request(6 * i + 3, "/silent"), win(6 * i + 3, 0), answered(6 * i + 5));
    c.send(...frames, request(661, "/bytes/40000"));
    expect(await c.until(() => c.over(661), 5000)).toBe(true);
    expect(c.status(661)).toBe(200);
    expect(c.stream(3).rst).toBe(1);
    expect(c.goaway).toBe(-1);
    c.close();
  });
});

describe("RST_STREAM churn beyond rapid reset", () => {
  test("RST_STREAM on 150 streams already answered, twice each: ignored (not premature), nothing sent back, the connection goes on", async () => {
    const c = await RawH2.open(port);
    for (let k = 0; k < 3; k++) {
      const ids = Array.from({ length: 50 }, (_, i) => 100 * k + 2 * i + 1);
      c.send(...ids.map((id) => request(id, "/")));
      expect(await c.until(() => ids.every((id) => c.over(id)))).toBe(true);
    }
    const sentBefore = c.frames.length;
    const resets: Buffer[] = [];
    for (let k = 0; k < 3; k++) for (let i = 0; i < 50; i++) resets.push(frame(3, 0, 100 * k + 2 * i + 1, u32(8)), frame(3, 0, 100 * k + 2 * i + 1, u32(8)));
    c.send(...resets, request(301, "/bytes/40000"));
    expect(await c.until(() => c.over(301))).toBe(true);
    expect(c.status(301)).toBe(200);
    expect(c.goaway).toBe(-1);
    // only stream 301's response came after the resets
    expect(c.frames.slice(sentBefore).every((f) => f.id === 301)).toBe(true);
    c.close();
  });

  test("RST_STREAM on an idle stream: GOAWAY PROTOCOL_ERROR (§5.1)", async () => {
    const c = await RawH2.open(port);
    c.send(frame(3, 0, 7, u32(8)));
    expect(await c.until(() => c.closed)).toBe(true);
    expect(c.goaway).toBe(1);
  });
});

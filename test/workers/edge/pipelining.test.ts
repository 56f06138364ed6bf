// Issue 13 A1: a client that pipelines requests and never reads must not grow
// the worker's memory: the gateway stops starting its requests while the
// responses wait in the outbox, stops reading, and the client's writes block.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { raw, WorkerHarness } from "../harness.ts";
import { freePort, listener, snapshot, virtualHost } from "../snapshot-fixture.ts";

// every request gets a 16 KiB local reply: ~600x the request's size
const BODY = "x".repeat(16 * 1024);
const REQ = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const BLOCK = Buffer.from(REQ.repeat(Math.floor(64 * 1024 / REQ.length)), "latin1");
/** Request bytes sent at most (the worker would owe ~600x this in responses). */
const MAX_SENT = 16 * 1024 * 1024;

let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  await w.apply(snapshot([listener(port, [virtualHost(["*"], [{ name: "big", action: { kind: "direct", status: 200, body: BODY } }])])], []));
});

afterAll(() => w.stop());

const rss = () => process.memoryUsage().rss;

describe("pipelining without reading", () => {
  test("the client's writes block and the worker's memory stays bounded", async () => {
    // warm up (code paths, buffers) before the baseline
    for (let i = 0; i < 20; i++) await raw(port, REQ.repeat(5), (b) => b.length >= 5 * BODY.length);
    Bun.gc(true);
    const before = rss();
    let drained: () => void = () => {};
    const s: Socket<undefined> = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(sock) {
          sock.pause(); // never read: the kernel's receive buffer fills, then the gateway's send buffer
        },
        data() {},
        drain() {
          drained();
        },
      },
    });
    s.pause();
    let sent = 0;
    let blocked = false;
    const deadline = Date.now() + 20_000;
    let pending: Buffer = BLOCK;
    // bounded: stop early once the worker has clearly grown (a broken gateway would take GBs)
    while (sent < MAX_SENT && Date.now() < deadline && rss() - before < 200 * 1024 * 1024) {
      const n = s.write(pending);
      sent += Math.max(n, 0);
      if (n === pending.length) {
        pending = BLOCK;
        continue;
      }
      pending = pending.subarray(Math.max(n, 0));
      // the kernel did not take it all: blocked for good if no drain comes within 1.5 s
      const drainedInTime = await Promise.race([new Promise<boolean>((r) => (drained = () => r(true))), Bun.sleep(1500).then(() => false)]);
      if (!drainedInTime) {
        blocked = true;
        break;
      }
    }
    Bun.gc(true);
    const grown = (rss() - before) / (1024 * 1024);
    s.terminate();
    if (process.env.DEBUG_LOGS) console.log({ sent, grown });
    expect(blocked).toBe(true);
    expect(sent).toBeLessThan(MAX_SENT);
    expect(grown).toBeLessThan(50);
  }, 30_000);

  test("a client that reads late gets every pipelined response, in order", async () => {
    const n = 300;
    let got = 0;
    let resolve: () => void = () => {};
    const all = new Promise<void>((r) => (resolve = r));
    const s: Socket<undefined> = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(sock) {
          sock.pause();
        },
        data(_s, d) {
          got += d.length;
          if (got >= n * BODY.length) resolve();
        },
      },
    });
    s.pause();
    s.write(REQ.repeat(n));
    await Bun.sleep(300); // the gateway is held back by the full buffers now
    s.resume();
    await Promise.race([all, Bun.sleep(10_000)]);
    s.terminate();
    expect(got).toBeGreaterThanOrEqual(n * BODY.length);
  }, 20_000);

  test("HTTP/2: a client that opens streams with huge windows and never reads is held back too", async () => {
    Bun.gc(true);
    const before = rss();
    let drained: () => void = () => {};
    const s: Socket<undefined> = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (sock) => sock.pause(),
        data() {},
        drain: () => drained(),
      },
    });
    s.pause();
    const max = 2 ** 31 - 1;
    const inc = max - 65535;
    // preface, SETTINGS_INITIAL_WINDOW_SIZE = 2^31-1, connection WINDOW_UPDATE to 2^31-1: flow control never stops the gateway
    s.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), frame(4, 0, 0, be32(max, [0, 4])), frame(8, 0, 0, be32(inc))]));
    // HEADERS (END_STREAM|END_HEADERS): GET / http, :authority x, from the HPACK static table
    const headers = [0x82, 0x84, 0x86, 0x41, 0x01, 0x78];
    let id = 1;
    let blocked = false;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && id < 400_000 && rss() - before < 200 * 1024 * 1024) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 100; i++, id += 2) frames.push(frame(1, 5, id, headers));
      const b = Buffer.concat(frames);
      const n = s.write(b);
      if (n < b.length) {
        const drainedInTime = await Promise.race([new Promise<boolean>((r) => (drained = () => r(true))), Bun.sleep(1500).then(() => false)]);
        if (!drainedInTime) {
          blocked = true;
          break;
        }
      }
      await Bun.sleep(1);
    }
    Bun.gc(true);
    const grown = (rss() - before) / (1024 * 1024);
    s.terminate();
    expect(blocked).toBe(true);
    expect(grown).toBeLessThan(50);
  }, 30_000);
});

function frame(type: number, flags: number, stream: number, payload: number[]): Buffer {
  const n = payload.length;
  return Buffer.from([n >> 16, (n >> 8) & 255, n & 255, type, flags, (stream >>> 24) & 127, (stream >> 16) & 255, (stream >> 8) & 255, stream & 255, ...payload]);
}

function be32(v: number, prefix: number[] = []): number[] {
  return [...prefix, (v >>> 24) & 127, (v >> 16) & 255, (v >> 8) & 255, v & 255];
}

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
});

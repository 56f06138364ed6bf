// An upstream response head that arrives over many reads (an upstream dripping it a byte
// per send): it is gathered in a backing that grows by doubling, not copied whole per read,
// and searched for its end only in the bytes new since the last read; what the client gets
// is the same as for a head in one read, 1xx heads before it included.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as net from "node:net";
import { appendHead } from "../../workers/http/response.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "./snapshot-fixture.ts";

const HEAD = "HTTP/1.1 200 OK\r\nx-big: " + "a".repeat(20 * 1024) + "\r\ncontent-length: 5\r\n\r\n";

describe("appendHead", () => {
  test("a 60 KiB head a byte at a time: the bytes as sent, in a few backings (grown in place), not one per read", () => {
    const src = Buffer.from("HTTP/1.1 200 OK\r\nx: " + "b".repeat(60 * 1024 - 30) + "\r\n\r\n", "latin1");
    let buf: Buffer = src.subarray(0, 1);
    const backings = new Set<ArrayBufferLike>();
    for (let i = 1; i < src.length; i++) {
      buf = appendHead(buf, src.subarray(i, i + 1));
      backings.add(buf.buffer);
    }
    expect(buf.equals(src)).toBe(true);
    expect(backings.size).toBeLessThanOrEqual(8);
  });

  test("a view of a buffer not made here is copied, never written past", () => {
    const outer = Buffer.from("abcdefgh", "latin1");
    const prev = outer.subarray(0, 3);
    const out = appendHead(prev, Buffer.from("XY", "latin1"));
    expect(out.toString("latin1")).toBe("abcXY");
    expect(outer.toString("latin1")).toBe("abcdefgh");
  });
});

// sends `text` one byte per send (no Nagle, a turn of the loop between sends)
const drip = net.createServer((s) => {
  s.setNoDelay(true);
  s.on("error", () => {});
  s.once("data", () => {
    const t = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n" + HEAD + "hello", "latin1");
    let i = 0;
    const step = () => {
      if (s.destroyed || i >= t.length) return;
      s.write(t.subarray(i, ++i));
      setImmediate(step);
    };
    step();
  });
});

let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  await new Promise<void>((r) => drip.listen(0, "127.0.0.1", r));
  w = new WorkerHarness();
  port = freePort();
  await w.apply(
    snapshot(
      [listener(port, [virtualHost(["*"], [{ name: "drip", match: [uriMatch(prefix("/"))], action: forward([dest("drip")]) }])])],
      [cluster("drip", [["127.0.0.1", (drip.address() as net.AddressInfo).port]])],
    ),
  );
});

afterAll(() => {
  w.stop();
  drip.close();
});

test("a 1xx and a 20 KiB head dripped a byte per send reach the client whole, the 1xx dropped", async () => {
  const r = await raw(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", (b) => b.toString("latin1").endsWith("hello"), 20_000);
  expect(r.text).toStartWith("HTTP/1.1 200 OK\r\n");
  expect(r.text).toContain("x-big: " + "a".repeat(20 * 1024) + "\r\n");
  expect(r.text).toEndWith("\r\n\r\nhello");
  expect(r.text).not.toContain(" 100 ");
}, 30_000);

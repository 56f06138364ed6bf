// A request body cut into many tiny pieces, on a real socket: the gateway frames
// again what one read decoded as one chunk (as Envoy's codec passes on what one
// dispatch decoded), not one buffer and one upstream write per client chunk — a
// million one-byte chunks (6 MB on the wire) cost a worker 3.7 s of CPU that way;
// the same for an HTTP/2 body sent as many tiny DATA frames (200 000 one-byte
// frames: 0.9 s). Counted here by the chunks the upstream receives, not by time.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { WorkerHarness, raw } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { converse, DATA, END_STREAM, frame, headers, streamsOver } from "./h2-raw.ts";

/** The upstream's last count. */
let last = "";

/** Reads one chunked request, answers with how many chunks (last chunk excluded) and data bytes it got. */
function chunkCounter(): TCPSocketListener<{ buf: string }> {
  return Bun.listen<{ buf: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: "" };
      },
      data(s, d) {
        s.data.buf += d.toString("latin1");
        const b = s.data.buf;
        const at = b.indexOf("\r\n\r\n");
        if (at < 0 || !b.endsWith("\r\n0\r\n\r\n")) return;
        let p = at + 4;
        let chunks = 0;
        let bytes = 0;
        for (;;) {
          const eol = b.indexOf("\r\n", p);
          const n = parseInt(b.slice(p, eol), 16);
          if (!(n > 0)) break;
          chunks++;
          bytes += n;
          p = eol + 2 + n + 2;
        }
        const out = `chunks=${chunks} bytes=${bytes}`;
        last = out;
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${out.length}\r\n\r\n${out}`);
        s.data.buf = "";
      },
    },
  });
}

const up = chunkCounter();
let w: WorkerHarness;
let port = 0;
beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  const r = { name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) };
  await w.apply(snapshot([listener(port, [virtualHost(["a"], [r])])], [cluster("up", [["127.0.0.1", up.port]])]));
});
afterAll(() => {
  w.stop();
  up.stop(true);
});

test("2000 one-byte chunks in one write reach the upstream as a few chunks, every byte kept", async () => {
  const body = "1\r\nx\r\n".repeat(2000) + "0\r\n\r\n";
  const r = await raw(port, `POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`, (b) => b.includes("bytes="), 5000);
  const m = /chunks=(\d+) bytes=(\d+)/.exec(r.text);
  expect(m).not.toBeNull();
  expect(Number(m![2])).toBe(2000);
  // one chunk per read the gateway made of the 12 KB write (was: one per client chunk, 2000)
  expect(Number(m![1])).toBeLessThan(50);
});

test("chunk extensions between the tiny chunks are dropped, the data joined in order", async () => {
  const body = Array.from({ length: 300 }, (_, i) => `1;i=${i}\r\n${String.fromCharCode(97 + (i % 26))}\r\n`).join("") + "0\r\n\r\n";
  const r = await raw(port, `POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`, (b) => b.includes("bytes="), 5000);
  expect(r.text).toContain("bytes=300");
  expect(Number(/chunks=(\d+)/.exec(r.text)![1])).toBeLessThan(50);
});

test("HTTP/2: 2000 one-byte DATA frames in one write reach the upstream as a few chunks, every byte kept", async () => {
  last = "";
  const one = frame(DATA, 0, 1, Buffer.from("x"));
  const c = await converse(port, [headers(1, [[":method", "POST"], [":scheme", "http"], [":path", "/p"], [":authority", "a"]], false), Buffer.concat(Array.from({ length: 2000 }, () => one)), frame(DATA, END_STREAM, 1)], streamsOver(1));
  expect(c.streams.get(1)?.status).toBe(200);
  const m = /chunks=(\d+) bytes=(\d+)/.exec(last);
  expect(m).not.toBeNull();
  expect(Number(m![2])).toBe(2000);
  // one chunk per read of the frames (was: one per DATA frame, 2000)
  expect(Number(m![1])).toBeLessThan(50);
});

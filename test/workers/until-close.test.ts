// An upstream response that ends by closing its connection (no content-length, not chunked):
// an HTTP/1.1 client gets it chunked, the last chunk sent when the upstream closes cleanly, and
// keeps its connection (Envoy's codec and nginx re-frame it so); an upstream reset mid-body cuts
// it (no last chunk, the client connection closed; an HTTP/2 client's stream reset, not ended);
// an HTTP/1.0 client reads it to the close.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as net from "node:net";
import type { TCPSocketListener } from "bun";
import { countResponses, headerOf, raw, WorkerHarness } from "./harness.ts";
import { converse, request, streamsOver } from "./edge/h2-raw.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "./snapshot-fixture.ts";

let w: WorkerHarness;
let port = 0;
// answers every request head with a close-delimited body in two reads, then ends cleanly
const clean: TCPSocketListener = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(s, d) {
      if (!Buffer.from(d).includes("\r\n\r\n")) return;
      s.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nhello ");
      setTimeout(() => {
        s.write("world");
        s.end();
      }, 30);
    },
  },
});
// the same head and a first part, then a reset (RST) instead of a FIN
const reset = net.createServer((s) => {
  s.on("data", () => {
    s.write("HTTP/1.1 200 OK\r\n\r\npart");
    setTimeout(() => s.resetAndDestroy(), 30);
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => reset.listen(0, "127.0.0.1", r));
  w = new WorkerHarness();
  port = freePort();
  const s = snapshot(
    [
      listener(port, [
        virtualHost(
          ["*"],
          [
            { name: "clean", match: [uriMatch(prefix("/clean"))], action: forward([dest("clean")]) },
            { name: "reset", match: [uriMatch(prefix("/reset"))], action: forward([dest("reset")]) },
          ],
        ),
      ]),
    ],
    [cluster("clean", [["127.0.0.1", clean.port]]), cluster("reset", [["127.0.0.1", (reset.address() as net.AddressInfo).port]])],
  );
  await w.apply(s);
});

afterAll(() => {
  w.stop();
  clean.stop(true);
  reset.close();
});

const LAST = "0\r\n\r\n";

describe("a response that ends when the upstream closes", () => {
  test("HTTP/1.1: chunked, the last chunk at the upstream's close, the connection kept for the next request", async () => {
    const req = "GET /clean HTTP/1.1\r\nHost: x\r\n\r\n";
    const r = await raw(port, [req, req], (b) => b.toString("latin1").split(LAST).length === 3, 3000);
    expect(r.closed).toBe(false);
    expect(countResponses(r.text)).toBe(2);
    const first = r.text.slice(0, r.text.indexOf(LAST) + LAST.length);
    expect(first).toStartWith("HTTP/1.1 200 ");
    expect(headerOf(first, "transfer-encoding")).toBe("chunked");
    expect(headerOf(first, "connection")).toBeUndefined();
    expect(headerOf(first, "content-type")).toBe("text/plain");
    const body = first.slice(first.indexOf("\r\n\r\n") + 4);
    expect(body).toBe("6\r\nhello \r\n5\r\nworld\r\n" + LAST);
  });

  test("a fetch client reads the whole body", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/clean`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello world");
  });

  test("HTTP/1.0: read to the close, as it came", async () => {
    const r = await raw(port, "GET /clean HTTP/1.0\r\nHost: x\r\n\r\n", () => false, 3000);
    expect(r.closed).toBe(true);
    expect(headerOf(r.text, "transfer-encoding")).toBeUndefined();
    expect(headerOf(r.text, "connection")).toBe("close");
    expect(r.text).toEndWith("\r\n\r\nhello world");
  });

  test("an upstream reset mid-body: no last chunk, the client connection closed", async () => {
    const r = await raw(port, "GET /reset HTTP/1.1\r\nHost: x\r\n\r\n", () => false, 3000);
    expect(r.closed).toBe(true);
    expect(headerOf(r.text, "transfer-encoding")).toBe("chunked");
    expect(r.text).toEndWith("\r\n\r\n4\r\npart\r\n");
    expect(r.text).not.toContain(LAST);
  });

  test("HTTP/2: the stream ends (END_STREAM) at a clean close, and is reset when the upstream resets mid-body", async () => {
    const c = await converse(port, [request(1, "/clean"), request(3, "/reset")], streamsOver(1, 3));
    const clean = c.streams.get(1)!;
    expect([clean.status, clean.ended, clean.rst, clean.data]).toEqual([200, true, -1, 11]);
    const cut = c.streams.get(3)!;
    expect(cut.ended).toBe(false);
    expect(cut.rst).toBeGreaterThanOrEqual(0);
    expect(cut.data).toBe(4);
  });
});

// Issue 13 B5: a chunked request body is decoded and framed again on its way
// to an HTTP/1.1 upstream: chunk extensions and trailers (a `Content-Length:`
// trailer included) never reach it; the data does, byte for byte.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, snapshot, virtualHost } from "../snapshot-fixture.ts";
import { h2Request } from "./helpers.ts";

/** Every request's bytes as the upstream received them; answers once a chunked body ended. */
const received: string[] = [];
const up = Bun.listen<{ got: string }>({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(s) {
      s.data = { got: "" };
    },
    data(s: Socket<{ got: string }>, d) {
      s.data.got += d.toString("latin1");
      const head = s.data.got.indexOf("\r\n\r\n");
      if (head < 0) return;
      const chunked = /transfer-encoding: chunked/i.test(s.data.got.slice(0, head));
      if (chunked && !s.data.got.endsWith("\r\n0\r\n\r\n") && s.data.got.slice(head + 4) !== "0\r\n\r\n") return;
      received.push(s.data.got);
      s.data.got = "";
      s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    },
  },
});

let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  await w.apply(snapshot([listener(port, [virtualHost(["*"], [{ name: "up", action: forward([dest("up")]) }])])], [cluster("up", [["127.0.0.1", up.port]])]));
});

afterAll(() => {
  w.stop();
  up.stop(true);
});

/** Send the pieces (a pause between them), resolve with the response text once it is complete (bounded). */
async function send(pieces: string[]): Promise<string> {
  let got = "";
  const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void (got += d.toString("latin1")) } });
  for (const p of pieces) {
    s.write(p);
    await Bun.sleep(30);
  }
  const end = Date.now() + 3000;
  while (!got.endsWith("ok") && Date.now() < end) await Bun.sleep(10);
  s.end();
  return got;
}

const body = (req: string) => req.slice(req.indexOf("\r\n\r\n") + 4);
const HEAD = "POST /c HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n";

describe("chunked request bodies are framed again", () => {
  test("extensions and trailers are dropped; the data arrives in clean chunks", async () => {
    received.length = 0;
    const r = await send([HEAD + "5;ext=1\r\nhello\r\n6;a=b\r\n world\r\n0\r\nContent-Length: 5\r\nx-trailer: y\r\n\r\n"]);
    expect(r.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(received.length).toBe(1);
    // both chunks came in one read: they go on as one (tiny-chunks.test.ts)
    expect(body(received[0]!)).toBe("b\r\nhello world\r\n0\r\n\r\n");
  });

  test("a chunk split over reads stays the same data, validly framed", async () => {
    received.length = 0;
    const r = await send([HEAD + "a;x=\"q\"\r\n01234", "56789\r\n3\r\nab", "c\r\n0\r\nx-t: 1\r\n", "\r\n"]);
    expect(r.startsWith("HTTP/1.1 200 ")).toBe(true);
    const b = body(received[0]!);
    expect(b).not.toContain(";");
    expect(b).not.toContain("x-t");
    // decode what the upstream got
    let data = "";
    let rest = b;
    for (;;) {
      const nl = rest.indexOf("\r\n");
      const n = parseInt(rest.slice(0, nl), 16);
      expect(rest.slice(0, nl)).toMatch(/^[0-9a-f]+$/);
      if (n === 0) {
        expect(rest.slice(nl)).toBe("\r\n\r\n");
        break;
      }
      data += rest.slice(nl + 2, nl + 2 + n);
      expect(rest.slice(nl + 2 + n, nl + 4 + n)).toBe("\r\n");
      rest = rest.slice(nl + 4 + n);
    }
    expect(data).toBe("0123456789abc");
  });

  test("an HTTP/2 body of unknown length arrives as clean chunks", async () => {
    received.length = 0;
    const r = await h2Request(port, "/h2", 5000, "POST", Buffer.from("from-h2"));
    expect(r.status).toBe(200);
    expect(body(received[0]!)).toBe("7\r\nfrom-h2\r\n0\r\n\r\n");
  });
});

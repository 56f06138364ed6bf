// A response that starts before the request body is whole ends an HTTP/1.1 connection
// (`connection: close`, then the close), as Envoy's connection manager does; unless the rest
// of a content-length body was read with the head: that request completes in the same turn.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { countResponses, headerOf, raw, WorkerHarness } from "./harness.ts";
import { cluster, dest, exact, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "./snapshot-fixture.ts";

let w: WorkerHarness;
let port = 0;
// answers 401 as soon as a request head arrives, without waiting for its body
const early: TCPSocketListener = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(s, d) {
      if (Buffer.from(d).includes("\r\n\r\n")) s.write("HTTP/1.1 401 Unauthorized\r\ncontent-length: 4\r\n\r\nnope");
    },
  },
});

beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  const s = snapshot(
    [
      listener(port, [
        virtualHost(
          ["*"],
          [
            { name: "direct", match: [uriMatch(exact("/direct"))], action: { kind: "direct", status: 200, body: "hello direct" } },
            { name: "early", match: [uriMatch(prefix("/early"))], action: forward([dest("early")]) },
          ],
        ),
      ]),
    ],
    [cluster("early", [["127.0.0.1", early.port]])],
  );
  await w.apply(s);
});

afterAll(() => {
  w.stop();
  early.stop(true);
});

const ends = (b: Buffer) => b.toString("latin1").endsWith("hello direct");

describe("a response before the request body is whole", () => {
  test("local reply to a head whose body has not come: connection: close, then closed", async () => {
    const r = await raw(port, "POST /direct HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", () => false, 3000);
    expect(r.text).toStartWith("HTTP/1.1 200 ");
    expect(headerOf(r.text, "connection")).toBe("close");
    expect(r.text).toEndWith("hello direct");
    expect(r.closed).toBe(true);
  });

  test("part of a content-length body read with the head: closed too", async () => {
    const r = await raw(port, "POST /direct HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello", () => false, 3000);
    expect(headerOf(r.text, "connection")).toBe("close");
    expect(r.closed).toBe(true);
  });

  test("a chunked body not ended: closed", async () => {
    const r = await raw(port, "POST /direct HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", () => false, 3000);
    expect(headerOf(r.text, "connection")).toBe("close");
    expect(r.closed).toBe(true);
  });

  test("a local answer to a client waiting for 100-continue: no 100, connection: close, closed", async () => {
    const r = await raw(port, "POST /direct HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n", () => false, 3000);
    expect(r.text).toStartWith("HTTP/1.1 200 ");
    expect(headerOf(r.text, "connection")).toBe("close");
    expect(r.closed).toBe(true);
  });

  test("the whole body read with the head: kept alive, the pipelined request answered", async () => {
    const send = "POST /direct HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /direct HTTP/1.1\r\nHost: x\r\n\r\n";
    const r = await raw(port, send, (b) => countResponses(b.toString("latin1")) === 2, 3000);
    expect(countResponses(r.text)).toBe(2);
    expect(r.text).not.toContain("connection: close");
    expect(r.closed).toBe(false);
  });

  test("a request without a body: kept alive", async () => {
    const r = await raw(port, "GET /direct HTTP/1.1\r\nHost: x\r\n\r\n", ends, 3000);
    expect(headerOf(r.text, "connection")).toBeUndefined();
    expect(r.closed).toBe(false);
  });

  test("an upstream answering before the upload ends: its response says close, the connection ends", async () => {
    const r = await raw(port, "POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000), () => false, 3000);
    expect(r.text).toStartWith("HTTP/1.1 401 ");
    expect(headerOf(r.text, "connection")).toBe("close");
    expect(r.text).toEndWith("nope");
    expect(r.closed).toBe(true);
  });
});

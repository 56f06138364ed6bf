// CONNECT as Envoy answers it on an Istio gateway (no connect_matcher route):
// 404 on HTTP/1.1 and on HTTP/2, even on a catch-all route, and what explain says.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { trace } from "../../src/trace.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { cluster, dest, forward, freePort, listener, snapshot, virtualHost } from "./snapshot-fixture.ts";

let w: WorkerHarness;
let s: Snapshot;
const port = freePort();

beforeAll(async () => {
  w = new WorkerHarness();
  s = snapshot([listener(port, [virtualHost(["*"], [{ action: forward([dest("c")]) }])])], [cluster("c", [["127.0.0.1", 1]])]);
  await w.apply(s);
});
afterAll(() => w.stop());

test("HTTP/1.1 CONNECT: 404, as explain says", async () => {
  const r = await raw(port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", (b) => b.includes("\r\n\r\n"));
  expect(r.text).toStartWith("HTTP/1.1 404 ");
  expect([trace(s, { port: 80, host: "example.com:443", path: "/", method: "CONNECT" }).status]).toEqual([404]);
});

test("HTTP/2 CONNECT (stream left open, as a tunnel client does): 404 at once", async () => {
  const c = http2.connect(`http://127.0.0.1:${port}`);
  c.on("error", () => {});
  try {
    const st = c.request({ ":method": "CONNECT", ":authority": "example.com:443" });
    const status = await new Promise((resolve) => st.on("response", (h) => resolve(h[":status"])));
    expect(status).toBe(404);
  } finally {
    c.destroy();
  }
});

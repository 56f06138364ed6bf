// Issue 13 B8: a client that disconnects mid-request leaves exactly one
// access-log line (flag DC) and no error in the worker's log: mid-head,
// mid-body, waiting for the upstream, mid-response.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, snapshot, virtualHost } from "../snapshot-fixture.ts";
import { logLines, rawUpstream, tempLog } from "./helpers.ts";

// /silent: never answers; /partial: a head and 3 of 100 body bytes, then nothing
const up = rawUpstream((s, req) => {
  if (req.startsWith("GET /partial")) s.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc");
});

let w: WorkerHarness;
let port = 0;
const log = tempLog();

beforeAll(async () => {
  w = new WorkerHarness({ accessLog: log });
  port = freePort();
  await w.apply(snapshot([listener(port, [virtualHost(["*"], [{ name: "all", action: forward([dest("up")]) }])])], [cluster("up", [["127.0.0.1", up.port]])]));
});

afterAll(() => {
  w.stop();
  up.stop(true);
});

/** Send `bytes`, wait until `ready` says so (or `ms`), then close the connection. */
async function sendAndLeave(bytes: string, ready: (got: string) => boolean = () => false, ms = 150): Promise<string> {
  let got = "";
  const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void (got += d.toString("latin1")) } });
  s.write(bytes);
  const end = Date.now() + (ready(got) ? 0 : 3000);
  const start = Date.now();
  while (Date.now() < end && !ready(got) && (ready.length === 0 ? Date.now() - start < ms : true)) await Bun.sleep(10);
  s.end();
  return got;
}

describe("a client that leaves mid-request is logged exactly once", () => {
  test("mid-head: 0 DC", async () => {
    await sendAndLeave("GET /mid-head HTTP/1.1\r\nHost: x\r\nx-a: ");
    const lines = await logLines(log, (l) => l.includes(" DC "));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/" 0 DC downstream_remote_disconnect /);
  });

  test("mid-body: 0 DC", async () => {
    await sendAndLeave("POST /mid-body HTTP/1.1\r\nHost: x\r\ncontent-length: 100\r\n\r\n0123456789");
    const lines = await logLines(log, (l) => l.includes("/mid-body"));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain('"POST /mid-body HTTP/1.1" 0 DC downstream_remote_disconnect');
  });

  test("waiting for the upstream: 0 DC", async () => {
    await sendAndLeave("GET /silent HTTP/1.1\r\nHost: x\r\n\r\n");
    const lines = await logLines(log, (l) => l.includes("/silent"));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain('"GET /silent HTTP/1.1" 0 DC downstream_remote_disconnect');
  });

  test("mid-response: the status sent, DC", async () => {
    const got = await sendAndLeave("GET /partial HTTP/1.1\r\nHost: x\r\n\r\n", (g) => g.endsWith("abc"));
    expect(got.startsWith("HTTP/1.1 200 ")).toBe(true);
    const lines = await logLines(log, (l) => l.includes("/partial"));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain('"GET /partial HTTP/1.1" 200 DC downstream_remote_disconnect');
  });

  test("no line is logged twice and the worker reported no error", async () => {
    await Bun.sleep(300);
    const all = await logLines(log, () => true, 4);
    expect(all.length).toBe(4);
    expect(w.logs.filter((l) => l.startsWith("error:"))).toEqual([]);
  });
});

// Issue 13 A3: a malformed response body right after the head must not hang
// the client. Before the head went out: 502 UPE; after it: the stream is reset
// (HTTP/1.1: the connection closes; HTTP/2: RST_STREAM), and one log line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { raw, WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { h2Request, logLines, rawUpstream, tempLog } from "./helpers.ts";

const CHUNKED_HEAD = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
const LENGTH_HEAD = "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n";

const ups: Record<string, TCPSocketListener<any>> = {
  // head and a bad chunk size in one write
  chunkSame: rawUpstream((s) => s.write(CHUNKED_HEAD + "zz\r\n")),
  // head, then the bad chunk size in a later write
  chunkLater: rawUpstream((s) => {
    s.write(CHUNKED_HEAD);
    setTimeout(() => s.write("zz\r\n"), 50);
  }),
  // a good chunk, then garbage where the next size belongs
  chunkMid: rawUpstream((s) => {
    s.write(CHUNKED_HEAD + "3\r\nabc\r\n");
    setTimeout(() => s.write("q\r\n"), 50);
  }),
  // an invalid content-length
  lengthBad: rawUpstream((s) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 1x\r\n\r\nabc")),
  // 3 of 10 bytes then FIN, in one write
  lengthShortSame: rawUpstream((s) => {
    s.write(LENGTH_HEAD + "abc");
    s.end();
  }),
  // 3 of 10 bytes, FIN later
  lengthShortLater: rawUpstream((s) => {
    s.write(LENGTH_HEAD);
    setTimeout(() => {
      s.write("abc");
      s.end();
    }, 50);
  }),
};

let w: WorkerHarness;
let port = 0;
const log = tempLog();

beforeAll(async () => {
  w = new WorkerHarness({ accessLog: log });
  port = freePort();
  const names = Object.keys(ups);
  await w.apply(
    snapshot(
      [listener(port, [virtualHost(["*"], names.map((n) => ({ name: n, match: [uriMatch(prefix("/" + n))], action: forward([dest(n)]) })))])],
      names.map((n) => cluster(n, [["127.0.0.1", ups[n]!.port]])),
    ),
  );
});

afterAll(() => {
  if (process.env.DEBUG_LOGS) console.log(w.logs.join("\n"));
  w.stop();
  for (const l of Object.values(ups)) l.stop(true);
});

/** A request; done when the connection closes, or a local reply's body arrived. */
const get = (path: string) => raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, (b) => b.toString().endsWith("protocol error"), 3000);

describe("a malformed response body (HTTP/1.1 client)", () => {
  test("a bad chunk size in the head's write → 502 UPE, logged", async () => {
    const r = await get("/chunkSame");
    expect(r.text.startsWith("HTTP/1.1 502 ")).toBe(true);
    expect(r.text).toContain("reset reason: protocol error");
    const lines = await logLines(log, (l) => l.includes("/chunkSame"));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(" 502 UPE ");
  });

  test("an invalid content-length → 502 UPE", async () => {
    const r = await get("/lengthBad");
    expect(r.text.startsWith("HTTP/1.1 502 ")).toBe(true);
  });

  for (const [path, sent] of [
    ["/chunkLater", ""],
    ["/chunkMid", "abc"],
    ["/lengthShortSame", "abc"],
    ["/lengthShortLater", "abc"],
  ] as const) {
    test(`${path}: after the head went out, the connection is closed (no hang) and one line is logged`, async () => {
      const r = await get(path);
      expect(r.closed).toBe(true);
      expect(r.text.startsWith("HTTP/1.1 200 ")).toBe(true);
      if (sent !== "") expect(r.text).toContain(sent);
      expect(r.text.endsWith("0\r\n\r\n")).toBe(false); // never made to look complete
      const lines = await logLines(log, (l) => l.includes(`"GET ${path} `));
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(/ 200 (UPE|UC) /);
    });
  }
});

describe("a malformed response body (HTTP/2 client)", () => {
  test("a bad chunk size in the head's write → 502 on the stream", async () => {
    const r = await h2Request(port, "/chunkSame");
    expect(r.status).toBe(502);
    expect(r.how).toBe("end");
  });

  for (const path of ["/chunkLater", "/chunkMid", "/lengthShortSame", "/lengthShortLater"]) {
    test(`${path}: after the head went out, the stream is reset (no hang, not a clean end)`, async () => {
      const r = await h2Request(port, path);
      expect(r.status).toBe(200);
      expect(r.how).toBe("reset");
    });
  }
});

// The same requests through both HTTP/2 server codecs a worker can run —
// node:http2 (GANGWAY_H2=node) and gangway's own (the default) — from a
// node:http2 client: GET, POST with a body (sized and unsized), a chunked
// upstream body, upstream trailers, a 404 local reply, a response larger than
// the client's windows, and a client that stops reading for a while. Status,
// headers (less date and timing) and bodies must be the same.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { rawUpstream } from "../edge/helpers.ts";
import { RawH2 } from "./raw-client.ts";

const BIG = 1_500_000;
const HUGE = 6_000_000;

const up = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/big") return new Response("b".repeat(BIG), { headers: { "x-kind": "big" } });
    if (path === "/huge") return new Response(Buffer.alloc(HUGE, 0x68));
    if (path === "/echo") return new Response(await req.arrayBuffer(), { headers: { "x-got": req.headers.get("content-length") ?? "none" } });
    if (path === "/chunked") {
      const parts = ["one,", "two,", "three"];
      return new Response(new ReadableStream({ async pull(c) { const p = parts.shift(); if (p === undefined) c.close(); else { await Bun.sleep(5); c.enqueue(new TextEncoder().encode(p)); } } }));
    }
    return new Response("hello", { headers: { "x-a": "1", "set-cookie": "a=1" } });
  },
});
const trailing = rawUpstream((s) => {
  s.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n3\r\nabc\r\n0\r\nx-sum: 42\r\n\r\n");
});

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  body: string;
}

const workers: WorkerHarness[] = [];
const ports: number[] = [];

beforeAll(async () => {
  const snap = (port: number) =>
    snapshot(
      [listener(port, [virtualHost(["x"], [{ name: "t", match: [uriMatch(prefix("/trailers"))], action: forward([dest("trailing")]) }, { name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) }])])],
      [cluster("up", [["127.0.0.1", up.port!]]), cluster("trailing", [["127.0.0.1", trailing.port]])],
    );
  const env = { ...process.env } as Record<string, string>;
  delete env.GANGWAY_H2;
  for (const codec of ["node", "own"]) {
    const w = new WorkerHarness({}, codec === "node" ? { ...env, GANGWAY_H2: "node" } : env);
    const port = freePort();
    await w.apply(snap(port));
    workers.push(w);
    ports.push(port);
  }
});
afterAll(() => {
  for (const w of workers) w.stop();
  up.stop(true);
  trailing.stop(true);
});

function ask(port: number, headers: http2.OutgoingHttpHeaders, body: Buffer | null, pauseMs = 0): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on("error", reject);
    const req = s.request({ ":authority": "x", ...headers }, { endStream: body === null });
    const chunks: Buffer[] = [];
    const a: Answer = { status: 0, headers: {}, trailers: {}, body: "" };
    req.on("response", (h) => {
      a.status = Number(h[":status"]);
      for (const [k, v] of Object.entries(h)) if (k !== ":status" && k !== "date" && k !== "x-envoy-upstream-service-time") a.headers[k] = v;
      if (pauseMs > 0) {
        req.pause();
        setTimeout(() => req.resume(), pauseMs);
      }
    });
    req.on("trailers", (t) => (a.trailers = { ...t }));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      a.body = Buffer.concat(chunks).toString("latin1");
      s.close();
      resolve(a);
    });
    req.on("error", reject);
    if (body !== null) req.end(body);
  });
}

async function both(headers: http2.OutgoingHttpHeaders, body: Buffer | null = null, pauseMs = 0): Promise<Answer> {
  const [viaNode, viaOwn] = await Promise.all(ports.map((p) => ask(p, headers, body, pauseMs)));
  expect(viaOwn).toEqual(viaNode!);
  return viaOwn!;
}

describe("node:http2 and gangway's codec answer alike", () => {
  test("the two workers run different codecs (our SETTINGS announce a 1 MiB stream window, node's do not)", async () => {
    const windows: number[] = [];
    for (const port of ports) {
      const c = await RawH2.open(port);
      await c.until(() => c.frames.length > 0);
      const p = c.frames[0]!.payload;
      let win = 65535;
      for (let i = 0; i < p.length; i += 6) if (p.readUInt16BE(i) === 4) win = p.readUInt32BE(i + 2);
      windows.push(win);
      c.close();
    }
    expect(windows[0]).not.toBe(windows[1]);
    expect(windows[1]).toBe(1 << 20);
  });

  test("GET", async () => {
    const a = await both({ ":path": "/" });
    expect(a.status).toBe(200);
    expect(a.body).toBe("hello");
  });

  test("POST with a content-length", async () => {
    const a = await both({ ":method": "POST", ":path": "/echo", "content-length": "5" }, Buffer.from("abcde"));
    expect(a.body).toBe("abcde");
  });

  test("POST without a length (sent on chunked), larger than a window", async () => {
    const a = await both({ ":method": "POST", ":path": "/echo" }, Buffer.alloc(200_000, 0x62));
    expect(a.body.length).toBe(200_000);
  });

  test("a chunked upstream body", async () => {
    const a = await both({ ":path": "/chunked" });
    expect(a.body).toBe("one,two,three");
  });

  test("upstream trailers", async () => {
    const a = await both({ ":path": "/trailers", te: "trailers" });
    expect(a.body).toBe("abc");
    expect(a.trailers["x-sum"]).toBe("42");
  });

  test("404 local reply", async () => {
    const a = await both({ ":path": "/", ":authority": "nohost" });
    expect(a.status).toBe(404);
  });

  test("a response larger than the client's windows", async () => {
    const a = await both({ ":path": "/big" });
    expect(a.body.length).toBe(BIG);
  });

  test("a client that stops reading for a while, then reads all", async () => {
    const a = await both({ ":path": "/huge" }, null, 300);
    expect(a.body.length).toBe(HUGE);
  });
});

// Snapshot swaps, listener binding and unbinding, drain, stats and the access log.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logLines } from "../helpers/access-log.ts";
import { startBackend } from "./backend.ts";
import { WorkerHarness } from "./harness.ts";
import { cluster, dest, forward, freePort, listener, snapshot, virtualHost } from "./snapshot-fixture.ts";

const b1 = startBackend("b1");
const b2 = startBackend("b2");
afterAll(() => {
  b1.stop(true);
  b2.stop(true);
});

const clusters = () => [cluster("c1", [["127.0.0.1", b1.port!]]), cluster("c2", [["127.0.0.1", b2.port!]])];
const table = (c: string) => [virtualHost(["*"], [{ name: `to-${c}`, action: forward([dest(c)]) }])];

/** Resolves once a connection to `port` is refused (bounded: 5 s). */
async function refusing(port: number): Promise<void> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
    } catch {
      return;
    }
    await Bun.sleep(5);
  }
  throw new Error(`port ${port} still accepts`);
}

/** A kept-alive connection: `answered` once its one response arrived, `closed` (true) once the server closed it (false 20 s after it was opened: the drain that closes it comes after a slow request reached its upstream, seconds on a loaded machine). */
function idleConnection(port: number): { answered: Promise<void>; closed: Promise<boolean> } {
  let answer!: () => void;
  const answered = new Promise<void>((r) => (answer = r));
  let close!: (v: boolean) => void;
  const closed = new Promise<boolean>((r) => (close = r));
  let got = "";
  void Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        s.write("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
      },
      data(_s, d) {
        got += Buffer.from(d).toString("latin1");
        const head = got.indexOf("\r\n\r\n");
        const len = /content-length: *(\d+)/i.exec(got);
        if (head >= 0 && len !== null && got.length >= head + 4 + Number(len[1])) answer();
      },
      close: () => close(true),
      error: () => close(true),
    },
  });
  setTimeout(() => close(false), 20_000).unref?.();
  return { answered, closed };
}

async function backendOf(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/echo`);
  return ((await r.json()) as { backend: string }).backend;
}

describe("snapshots", () => {
  test("listener statuses: HTTP bound, TLS/TCP not served yet, a taken port reported", async () => {
    const w = new WorkerHarness();
    const [p1, p2, p3] = [freePort(), freePort(), freePort()];
    const blocker = Bun.listen({ hostname: "127.0.0.1", port: p3, socket: { data() {} } });
    const st = await w.apply(snapshot([listener(p1, table("c1")), listener(p2, [], "TLS", 443), listener(p3, table("c1"), "HTTP", 8080)], clusters()));
    expect(st[0]!.error).toBe("");
    expect(st[1]!.error).toBe("protocol TLS not served yet");
    expect(st[2]!.error).not.toBe("");
    blocker.stop(true);
    w.stop();
  });

  test("a swap changes routing for new requests, also on kept-alive connections; removed ports close", async () => {
    const w = new WorkerHarness();
    const [p1, p2] = [freePort(), freePort()];
    await w.apply(snapshot([listener(p1, table("c1"))], clusters()));
    expect(await backendOf(p1)).toBe("b1");
    await w.apply(snapshot([listener(p1, table("c2")), listener(p2, table("c1"), "HTTP", 81)], clusters()));
    expect(await backendOf(p1)).toBe("b2");
    expect(await backendOf(p2)).toBe("b1");
    await w.apply(snapshot([listener(p2, table("c1"), "HTTP", 81)], clusters()));
    let refused = false;
    try {
      await fetch(`http://127.0.0.1:${p1}/echo`);
    } catch {
      refused = true;
    }
    expect(refused).toBe(true);
    w.stop();
  });

  test("no request fails while snapshots are swapped under load", async () => {
    const w = new WorkerHarness();
    const p = freePort();
    await w.apply(snapshot([listener(p, table("c1"))], clusters()));
    let stop = false;
    let okCount = 0;
    const failures: string[] = [];
    const loop = async () => {
      while (!stop) {
        try {
          const r = await fetch(`http://127.0.0.1:${p}/echo`, { method: okCount % 3 === 0 ? "POST" : "GET", body: okCount % 3 === 0 ? "x".repeat(1000) : undefined });
          await r.arrayBuffer();
          if (r.status === 200) okCount++;
          else failures.push(String(r.status));
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    /** Let the load run for `n` more answers (bounded in time). */
    const answers = async (n: number) => {
      const target = okCount + failures.length + n;
      const end = Date.now() + 10_000;
      while (okCount + failures.length < target && Date.now() < end) await Bun.sleep(5);
    };
    for (let i = 0; i < 10; i++) {
      await answers(10);
      await w.apply(snapshot([listener(p, table(i % 2 ? "c1" : "c2"))], i % 3 ? clusters() : clusters().reverse()));
    }
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(okCount).toBeGreaterThan(50);
    w.stop();
  });
});

describe("drain", () => {
  test("in-flight requests finish, idle connections close, new connections are refused", async () => {
    // an upstream that says when the request reached it and answers when told to
    let arrived!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const gate = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: async () => (arrived(), await released, new Response("late")) });
    const w = new WorkerHarness();
    const [p, slowPort] = [freePort(), freePort()];
    const gated = [...clusters(), cluster("gate", [["127.0.0.1", gate.port!]])];
    await w.apply(snapshot([listener(p, table("c1")), listener(slowPort, table("gate"), "HTTP", 81)], gated));
    const idle = idleConnection(p);
    await idle.answered; // kept alive, nothing in flight
    const slow = fetch(`http://127.0.0.1:${slowPort}/slow`);
    await reached; // in flight
    // a grace far longer than the test may run: drain must end when the in-flight request is done, not at the deadline
    const drained = w.drain(60_000);
    await refusing(slowPort); // the worker stopped accepting: draining has begun
    release();
    await drained;
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.headers.get("connection")).toBe("close");
    expect(await idle.closed).toBe(true);
    gate.stop(true);
    let refused = false;
    try {
      await fetch(`http://127.0.0.1:${p}/echo`);
    } catch {
      refused = true;
    }
    expect(refused).toBe(true);
    w.stop();
  }, 30_000);
});

describe("stats and access log", () => {
  test("counters per response code, flags, route and destination; histogram; bytes; upstream connections", async () => {
    const w = new WorkerHarness();
    const p = freePort();
    await w.apply(snapshot([listener(p, [virtualHost(["app"], [{ name: "r1", action: forward([dest("c1")]) }])])], clusters()));
    for (let i = 0; i < 3; i++) await (await fetch(`http://127.0.0.1:${p}/echo`, { headers: { host: "app" } })).text();
    await (await fetch(`http://127.0.0.1:${p}/echo`, { headers: { host: "other" } })).text();
    const s = await w.stats();
    const ok = 'response_code="200",response_flags="-",route="r1",destination_service="c1"';
    expect(s[`istio_requests_total{${ok}}`]).toBe(3);
    expect(s[`istio_request_duration_milliseconds_count{${ok}}`]).toBe(3);
    expect(s[`istio_request_duration_milliseconds_bucket{${ok},le="+Inf"}`]).toBe(3);
    expect(s[`istio_response_bytes_total{${ok}}`]).toBeGreaterThan(100);
    expect(s['istio_requests_total{response_code="404",response_flags="NR",route="-",destination_service="unknown"}']).toBe(1);
    expect(s['gangway_upstream_cx_total{cluster="c1"}']).toBe(1);
    expect(s['gangway_upstream_cx_active{cluster="c1"}']).toBe(1);
    w.stop();
  });

  for (const format of ["text", "json"] as const) {
    test(`access log lines (${format})`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), "gangway-log-")), "access.log");
      const w = new WorkerHarness({ accessLog: file, logFormat: format });
      const p = freePort();
      await w.apply(snapshot([listener(p, [virtualHost(["app"], [{ name: "r1", action: forward([dest("c1")]) }])])], clusters()));
      await (await fetch(`http://127.0.0.1:${p}/echo?x=1`, { headers: { host: "app", "user-agent": "ua/1", "x-request-id": "rid-1" } })).text();
      await (await fetch(`http://127.0.0.1:${p}/nope`, { headers: { host: "zzz", "x-forwarded-for": "10.0.0.1", "x-request-id": "rid-2" } })).text();
      const lines = await logLines(file, undefined, 2);
      expect(lines.length).toBe(2);
      if (format === "text") {
        expect(lines[0]).toMatch(
          /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "GET \/echo\?x=1 HTTP\/1\.1" 200 - via_upstream - "-" 0 \d+ \d+ \d+ "127\.0\.0\.1" "ua\/1" "rid-1" "app" "127\.0\.0\.1:\d+" c1 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ - r1$/,
        );
        // a local reply logs the x-forwarded-for and x-request-id Envoy sets before routing
        expect(lines[1]).toContain('"GET /nope HTTP/1.1" 404 NR route_not_found - "-" 0 ');
        expect(lines[1]).toMatch(/ "10\.0\.0\.1, 127\.0\.0\.1" "[^"]*" "rid-2" "zzz" /);
      } else {
        const j = JSON.parse(lines[0]!) as Record<string, unknown>;
        expect(j.method).toBe("GET");
        expect(j.path).toBe("/echo?x=1");
        expect(j.response_code).toBe(200);
        expect(j.request_id).toBe("rid-1");
        expect(j.upstream_cluster).toBe("c1");
        expect(j.route_name).toBe("r1");
        const nr = JSON.parse(lines[1]!) as Record<string, unknown>;
        expect(nr.response_flags).toBe("NR");
        expect(nr.x_forwarded_for).toBe("10.0.0.1, 127.0.0.1");
        expect(nr.request_id).toBe("rid-2");
      }
      w.stop();
    });
  }
});

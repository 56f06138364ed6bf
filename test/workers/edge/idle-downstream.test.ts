// What an idle keep-alive client connection keeps (issue 15, memory per idle connection): once
// its exchange is over a plain HTTP/1.1 Downstream holds no exchange, no bytes, no outbox, no
// parse scratch and no side object (DownstreamExtras: TLS, HTTP/2, PROXY, addresses). The data
// plane runs in this process so the connections can be looked at. Also the port's connection
// list (ConnList: links through the connections, not a Set) as a table test.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { setPost, startClock } from "../../../workers/context.ts";
import { applyClusters } from "../../../workers/http/clusters.ts";
import { Downstream, downstreamExtrasMade } from "../../../workers/http/downstream.ts";
import { abortAll, applyListeners, openConnections, stopAll } from "../../../workers/listeners.ts";
import { ConnList, type PortConnection } from "../../../workers/port-state.ts";
import { cluster, dest, forward, freePort, listener, snapshot, virtualHost } from "../snapshot-fixture.ts";

function fakeConn(): PortConnection {
  return { idle: true, ending: false, lastActive: 0, tunnelled: false, end() {}, abort() {}, prevConn: null, nextConn: null };
}

describe("ConnList", () => {
  test("add, delete (twice, or never added), size, iteration order (newest first)", () => {
    const l = new ConnList<PortConnection>();
    const [a, b, c] = [fakeConn(), fakeConn(), fakeConn()];
    l.delete(a); // never added: nothing
    expect(l.size).toBe(0);
    l.add(a);
    l.add(b);
    l.add(c);
    l.add(b); // already in: nothing
    expect(l.size).toBe(3);
    expect([...l]).toEqual([c, b, a]);
    const cases: [PortConnection, PortConnection[]][] = [
      [b, [c, a]], // middle
      [c, [a]], // first
      [a, []], // last and only
    ];
    for (const [gone, left] of cases) {
      l.delete(gone);
      l.delete(gone);
      expect([...l]).toEqual(left);
      expect(l.size).toBe(left.length);
      expect(l.has(gone)).toBe(false);
      expect(gone.prevConn).toBeNull();
      expect(gone.nextConn).toBeNull();
    }
    l.add(b); // back in after leaving
    expect([...l]).toEqual([b]);
  });

  test("the connection handed out may leave while the loop runs (a sweep closing it)", () => {
    const l = new ConnList<PortConnection>();
    const all = Array.from({ length: 6 }, fakeConn);
    for (const c of all) l.add(c);
    const seen: PortConnection[] = [];
    for (const c of l) {
      seen.push(c);
      if (seen.length % 2 === 1) l.delete(c);
    }
    expect(seen).toEqual([...all].reverse());
    expect(l.size).toBe(3);
    expect([...l]).toEqual([all[4], all[2], all[0]]);
  });
});

/** Answers every request with a 200 and a 5-byte body; keeps its connections. */
function upstream(): TCPSocketListener<{ pending: string }> {
  return Bun.listen<{ pending: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { pending: "" };
      },
      data(s: Socket<{ pending: string }>, d: Buffer) {
        s.data.pending += d.toString("latin1");
        for (let at = s.data.pending.indexOf("\r\n\r\n"); at >= 0; at = s.data.pending.indexOf("\r\n\r\n")) {
          const head = s.data.pending.slice(0, at + 4);
          const len = /content-length: *(\d+)/i.exec(head);
          const body = len === null ? 0 : Number(len[1]);
          if (s.data.pending.length < at + 4 + body) break;
          s.data.pending = s.data.pending.slice(at + 4 + body);
          s.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
        }
      },
    },
  });
}

let up: TCPSocketListener<{ pending: string }>;
let port = 0;

beforeAll(() => {
  up = upstream();
  port = freePort();
  setPost(() => {});
  startClock();
  applyListeners(
    applyClusters(snapshot([listener(port, [virtualHost(["*"], [{ action: forward([dest("up")]) }])])], [cluster("up", [["127.0.0.1", up.port]])])),
  );
});

afterAll(() => {
  abortAll();
  stopAll();
  up.stop(true);
});

/** A client connection; `wait(n)` resolves once n responses (5-byte bodies) have come back in all. */
async function client(): Promise<{ s: Socket<undefined>; wait(n: number): Promise<string> }> {
  let got = "";
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, d) {
        got += d.toString("latin1");
      },
    },
  });
  return {
    s,
    async wait(n) {
      for (let i = 0; i < 500 && got.split("hello").length - 1 < n; i++) await Bun.sleep(10);
      return got;
    },
  };
}

/** The gateway's side of the newest connection (the list puts it first). */
function newestDownstream(): Downstream {
  const d = openConnections().find((c) => c instanceof Downstream);
  if (!(d instanceof Downstream)) throw new Error("no downstream");
  return d;
}

describe("an idle keep-alive connection", () => {
  test("holds nothing of its finished exchanges and made no side object", async () => {
    const extras = downstreamExtrasMade();
    const c = await client();
    // a GET; a POST whose head and body come in separate reads (joined bytes); two pipelined GETs
    c.s.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.wait(1);
    c.s.write("POST /b HTTP/1.1\r\nHost: x\r\nContent-Le");
    await Bun.sleep(20);
    c.s.write("ngth: 4\r\n\r\nab");
    await Bun.sleep(20);
    c.s.write("cdGET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n");
    const text = await c.wait(4);
    expect(text.split("HTTP/1.1 200 OK").length - 1).toBe(4);
    await Bun.sleep(20); // the last exchange's end runs after its bytes went out
    const d = newestDownstream();
    expect(d.idle).toBe(true);
    expect(d.holdsNothing).toBe(true);
    expect(d.hasExtras).toBe(false);
    // 12 own fields at most: JSC keeps up to 12 inline in a 112-byte object, a 13th makes it 160 (measured: +48 B per idle connection)
    expect(Object.keys(d).length).toBeLessThanOrEqual(12);
    expect(d.tls).toBeNull();
    expect(d.drainStart).toBe(0);
    expect(d.remoteIp).toBe("127.0.0.1");
    expect(d.peerIp).toBe("127.0.0.1");
    expect(downstreamExtrasMade()).toBe(extras);
    // its addresses are there when asked (the side object is made then)
    expect(d.remoteAddress).toBe(`127.0.0.1:${c.s.localPort}`);
    expect(d.localAddress).toBe(`127.0.0.1:${port}`);
    expect(d.hasExtras).toBe(true);
    // and it still serves
    c.s.write("GET /e HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await c.wait(5)).split("HTTP/1.1 200 OK").length - 1).toBe(5);
    const n = openConnections().length;
    c.s.end();
    for (let i = 0; i < 200 && openConnections().length === n; i++) await Bun.sleep(10);
    expect(openConnections()).not.toContain(d);
  });
});

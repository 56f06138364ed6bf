// WebSocket tunnels at their edges, on real sockets (the hostile8 probe round beside nginx
// 1.22): what a client sends behind its upgrade head, an upgrade with a body, and a client
// that half-closes its tunnel. Envoy's codec passes everything after an upgrade head as the
// upgrade's payload and ends the whole connection at a client's FIN; gangway does the same.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, snapshot, virtualHost } from "../snapshot-fixture.ts";

interface Conn {
  head: string;
  tunnel: boolean;
  got: string;
  /** The connection ended (a FIN, or closed by the gateway). */
  gone: boolean;
}

/** Every connection the upstream accepted, in order. */
const conns: Conn[] = [];

// /plain: 200 with the request line as the body; anything else: 101, then each read echoed as
// [bytes] (bytes that came behind the head too); its end is written down
const up = Bun.listen<Conn>({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(s) {
      s.data = { head: "", tunnel: false, got: "", gone: false };
      conns.push(s.data);
    },
    data(s: Socket<Conn>, d) {
      const c = s.data;
      if (c.tunnel) {
        c.got += d.toString("latin1");
        s.write(`[${d.toString("latin1")}]`);
        return;
      }
      c.head += d.toString("latin1");
      const end = c.head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const line = c.head.slice(0, c.head.indexOf("\r\n"));
      if (line.includes(" /plain")) {
        c.head = c.head.slice(end + 4); // a pooled connection's next request starts afresh
        return void s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${line.length}\r\n\r\n${line}`);
      }
      // the rest of a content-length body, when one was announced, is read as body
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(c.head.slice(0, end))?.[1] ?? 0);
      if (c.head.length < end + 4 + length) return;
      const rest = c.head.slice(end + 4 + length);
      c.head = c.head.slice(0, end + 4 + length);
      c.tunnel = true;
      s.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n");
      if (rest !== "") {
        c.got += rest;
        s.write(`[${rest}]`);
      }
    },
    end(s) {
      s.data.gone = true;
      s.end();
    },
    close(s) {
      s.data.gone = true;
    },
  },
});

let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  await w.apply(snapshot([listener(port, [virtualHost(["*"], [{ name: "all", action: forward([dest("up")]) }])])], [cluster("up", [["127.0.0.1", up.port]])]));
});

afterAll(() => {
  w.stop();
  up.stop(true);
});

const UPGRADE = "upgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n";

/** A client connection: what it received, whether the gateway closed it. */
async function client(): Promise<{ s: Socket<undefined>; text: () => string; closed: () => boolean }> {
  let text = "";
  let closed = false;
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, d) => void (text += d.toString("latin1")),
      close: () => void (closed = true),
      error: () => void (closed = true),
    },
  });
  return { s, text: () => text, closed: () => closed };
}

async function until(ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await Bun.sleep(10);
}

describe("WebSocket tunnels at their edges", () => {
  test("a request pipelined behind an upgrade is tunnel payload: the upstream gets its bytes after the 101, it is never routed", async () => {
    const before = conns.length;
    const c = await client();
    c.s.write("GET /plain HTTP/1.1\r\nHost: a\r\n\r\n" + `GET /ws HTTP/1.1\r\nHost: a\r\n${UPGRADE}\r\n` + "GET /plain?smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
    await until(() => c.text().includes("smuggled HTTP/1.1\r\nHost: a\r\n\r\n]"));
    c.s.end();
    const t = c.text();
    expect(t).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(t).toContain("GET /plain HTTP/1.1");
    expect(t).toContain("HTTP/1.1 101 Switching Protocols\r\n");
    expect(t).toEndWith("[GET /plain?smuggled HTTP/1.1\r\nHost: a\r\n\r\n]");
    // no upstream read the pipelined request as a request: it came as the tunnel's payload
    const mine = conns.slice(before);
    expect(mine.filter((m) => m.head.includes("smuggled"))).toEqual([]);
    expect(mine.map((m) => m.got).join("")).toBe("GET /plain?smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
  });

  test("an upgrade with a content-length body: the body goes with the head, what follows is payload after the 101", async () => {
    const before = conns.length;
    const c = await client();
    c.s.write(`POST /ws HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\n${UPGRADE}\r\nhelloAFTER`);
    await until(() => c.text().endsWith("[AFTER]"));
    c.s.end();
    expect(c.text()).toStartWith("HTTP/1.1 101 ");
    expect(c.text()).toEndWith("\r\n\r\n[AFTER]");
    const tunnel = conns.slice(before).filter((m) => m.tunnel);
    expect(tunnel.length).toBe(1);
    expect(tunnel[0]!.head).toEndWith("\r\n\r\nhello");
    expect(tunnel[0]!.got).toBe("AFTER");
  });

  test("a client's FIN ends its tunnel at once: the upstream connection ends, the client is closed (no hang)", async () => {
    const c = await client();
    c.s.write(`GET /ws HTTP/1.1\r\nHost: a\r\n${UPGRADE}\r\n`);
    await until(() => c.text().includes("\r\n\r\n"));
    c.s.write("abc");
    await until(() => c.text().endsWith("[abc]"));
    c.s.end();
    await until(() => c.closed() && conns.at(-1)?.gone === true);
    expect(c.text()).toStartWith("HTTP/1.1 101 ");
    expect(c.text()).toEndWith("[abc]");
    expect(c.closed()).toBe(true);
    expect(conns.at(-1)!.gone).toBe(true);
  });
});

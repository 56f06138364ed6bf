// Request-head scratch (field spans and kinds): one per worker (workers/http/head-scratch.ts);
// each head keeps copies of its fields (exactly its size, or in the room of a made-again head), so neither an idle keep-alive connection nor an
// exchange in flight holds the scratch. The data plane runs in this process; an echo upstream
// answers each request with the head it received, which shows what the gateway parsed and
// forwarded (and that no bytes of one request reach another's).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { setPost, startClock } from "../../../workers/context.ts";
import { applyClusters } from "../../../workers/http/clusters.ts";
import { parseHead } from "../../../workers/http/head-scratch.ts";
import { MAX_REQUEST_HEAD, RequestHead } from "../../../workers/http/parse-request.ts";
import { abortAll, applyListeners, stopAll } from "../../../workers/listeners.ts";
import { countResponses, raw } from "../harness.ts";
import { cluster, dest, forward, freePort, listener, snapshot, virtualHost } from "../snapshot-fixture.ts";

/** Answers every request head with `200` and the head it received as the body; `/slow` after 150 ms. */
function echoUpstream(): TCPSocketListener<{ pending: string }> {
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
          s.data.pending = s.data.pending.slice(at + 4);
          const reply = `HTTP/1.1 200 OK\r\ncontent-length: ${head.length}\r\n\r\n${head}`;
          if (head.startsWith("GET /slow")) setTimeout(() => s.write(Buffer.from(reply, "latin1")), 150);
          else s.write(Buffer.from(reply, "latin1"));
        }
      },
    },
  });
}

let up: TCPSocketListener<{ pending: string }>;
let port = 0;

/** Every response in `text` complete (content-length framed)? */
function complete(text: string, n: number): boolean {
  let at = 0;
  for (let k = 0; k < n; k++) {
    const h = text.indexOf("\r\n\r\n", at);
    if (h < 0) return false;
    const m = /content-length: *(\d+)/i.exec(text.slice(at, h));
    at = h + 4 + (m === null ? 0 : Number(m[1]));
    if (at > text.length) return false;
  }
  return true;
}

/** Bodies (the echoed heads) of the responses in `text`, in order. */
function bodies(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < text.length) {
    const h = text.indexOf("\r\n\r\n", at);
    if (h < 0) break;
    const m = /content-length: *(\d+)/i.exec(text.slice(at, h));
    const len = m === null ? 0 : Number(m[1]);
    out.push(text.slice(h + 4, h + 4 + len));
    at = h + 4 + len;
  }
  return out;
}

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

beforeAll(() => {
  up = echoUpstream();
  port = freePort();
  setPost(() => {});
  startClock();
  applyListeners(
    applyClusters(snapshot([listener(port, [virtualHost(["*"], [{ action: forward([dest("echo")]) }])])], [cluster("echo", [["127.0.0.1", up.port]])])),
  );
});

afterAll(() => {
  abortAll();
  stopAll();
  up.stop(true);
});

/** parseHead of `text` (one whole head): its status and the head. */
function parsed(text: string): { status: number; h: RequestHead } {
  const b = Buffer.from(text, "latin1");
  const h = new RequestHead();
  return { status: parseHead(b, 0, b.length, h), h };
}

describe("head scratch: one per worker, each head keeps its own fields", () => {
  test("a head's spans and kinds are its own, exactly its fields, and stay put when the next head is parsed", () => {
    const a = parsed(get("/a", "X-One: 1\r\nX-Two: 22\r\n"));
    expect(a.status).toBe(0);
    expect(a.h.count).toBe(3);
    expect(a.h.spans.length).toBe(4 * 3 + 1); // + the offset where the fields end
    expect(a.h.kinds.length).toBe(3);
    const spans = Array.from(a.h.spans);
    const kinds = Array.from(a.h.kinds);
    // a head with many more fields parsed next (the scratch is written again)
    const many = Array.from({ length: 60 }, (_, i) => `X-F${i}: v${i}\r\n`).join("");
    const b = parsed(get("/b", many));
    expect(b.status).toBe(0);
    expect(b.h.count).toBe(61);
    expect(b.h.spans.length).toBe(4 * 61 + 1);
    expect(b.h.spans.buffer).not.toBe(a.h.spans.buffer);
    expect(Array.from(a.h.spans)).toEqual(spans);
    expect(Array.from(a.h.kinds)).toEqual(kinds);
    expect([a.h.name(0), a.h.value(0), a.h.name(1), a.h.value(1), a.h.name(2), a.h.value(2)]).toEqual(["Host", "x", "X-One", "1", "X-Two", "22"]);
    expect(a.h.header("x-two")).toBe("22");
    expect(b.h.value(60)).toBe("v59");
  });

  test("a made-again head (reset) parses into the arrays of its last parse when they are long enough, and reads only its own fields", () => {
    const b1 = Buffer.from(get("/one", "X-A: 1\r\nX-B: 2\r\nX-C: 3\r\n"), "latin1");
    const h = new RequestHead();
    expect(parseHead(b1, 0, b1.length, h)).toBe(0);
    const [spans, kinds] = [h.spans, h.kinds];
    expect([spans.length, kinds.length]).toEqual([4 * 4 + 1, 4]);
    // fewer fields: the same arrays, nothing of the first head read
    h.reset();
    const b2 = Buffer.from(get("/two", "Content-Length: 0\r\n"), "latin1");
    expect(parseHead(b2, 0, b2.length, h)).toBe(0);
    expect(h.spans).toBe(spans);
    expect(h.kinds).toBe(kinds);
    expect(h.count).toBe(2);
    expect([h.name(0), h.value(0), h.name(1), h.value(1)]).toEqual(["Host", "x", "Content-Length", "0"]);
    expect(h.header("x-a")).toBeUndefined();
    expect(h.contentLength).toBe(0);
    expect(h.spans[4 * 2]).toBe(b2.length - 2); // where the fields end: this head's
    // a fresh head parsed into the same spans gives the same answers
    const fresh = new RequestHead();
    expect(parseHead(b2, 0, b2.length, fresh)).toBe(0);
    expect(Array.from(h.spans.subarray(0, 4 * 2 + 1))).toEqual(Array.from(fresh.spans));
    expect(Array.from(h.kinds.subarray(0, 2))).toEqual(Array.from(fresh.kinds));
    // more fields than the room holds: new arrays of exactly its size
    h.reset();
    const many = Array.from({ length: 10 }, (_, i) => `X-F${i}: v${i}\r\n`).join("");
    const b3 = Buffer.from(get("/three", many), "latin1");
    expect(parseHead(b3, 0, b3.length, h)).toBe(0);
    expect(h.spans).not.toBe(spans);
    expect([h.spans.length, h.kinds.length]).toEqual([4 * 11 + 1, 11]);
    expect(h.value(10)).toBe("v9");
    // a head without fields on a new head: no room written into, spans of its own
    const none = new RequestHead();
    const b4 = Buffer.from("GET / HTTP/1.0\r\n\r\n", "latin1");
    const other = new RequestHead();
    expect(parseHead(b4, 0, b4.length, none)).toBe(0);
    expect(parseHead(b4, 0, b4.length, other)).toBe(0);
    expect(none.spans).not.toBe(other.spans);
  });

  test("a head with no fields, and a refused one, are parsed without reading the scratch later", () => {
    const none = parsed("GET / HTTP/1.0\r\n\r\n");
    expect(none.status).toBe(0);
    expect(none.h.count).toBe(0);
    expect(none.h.spans.length).toBe(1);
    expect(none.h.kinds.length).toBe(0);
    expect(parsed("GET / HTTP/2.0\r\nHost: x\r\n\r\n").status).toBe(505);
    expect(parsed("G@T / HTTP/1.1\r\nHost: x\r\n\r\n").status).toBe(400);
  });

  test("pipelined requests are each parsed and forwarded with their own fields", async () => {
    const send = get("/a", "X-Test: one\r\n") + get("/b", "X-Test: two\r\nX-Other: 2\r\n") + get("/c");
    const r = await raw(port, send, (b) => complete(b.toString("latin1"), 3));
    expect(countResponses(r.text)).toBe(3);
    const [a, b, c] = bodies(r.text);
    expect(a).toStartWith("GET /a ");
    expect(a).toContain("X-Test: one\r\n");
    expect(b).toStartWith("GET /b ");
    expect(b).toContain("X-Test: two\r\n");
    expect(b).toContain("X-Other: 2\r\n");
    expect(c).toStartWith("GET /c ");
    expect(c).not.toContain("X-Test");
    expect(c).not.toContain("X-Other");
  });

  test("a head split across many reads", async () => {
    const head = Buffer.from(get("/split", "X-One: 1111111111\r\nX-Two: 2222222222\r\nUser-Agent: slow-writer/1.0\r\n"), "latin1");
    const parts: Buffer[] = [];
    for (let i = 0; i < head.length; i += 9) parts.push(head.subarray(i, i + 9));
    const r = await raw(port, parts, (b) => complete(b.toString("latin1"), 1));
    const [body] = bodies(r.text);
    expect(r.text).toStartWith("HTTP/1.1 200");
    expect(body).toStartWith("GET /split ");
    expect(body).toContain("X-One: 1111111111\r\nX-Two: 2222222222\r\nUser-Agent: slow-writer/1.0\r\n");
  });

  /** A head of exactly `size` bytes (request line through the final CRLF). */
  function headOf(size: number): string {
    const start = "GET /big HTTP/1.1\r\nHost: x\r\n";
    const fields: string[] = [];
    let len = start.length + 2;
    const line = (v: string) => `X-Big: ${v}\r\n`;
    while (len + line("v".repeat(1000)).length + line("v").length <= size) {
      fields.push(line("v".repeat(1000)));
      len += fields[fields.length - 1]!.length;
    }
    fields.push(line("w".repeat(size - len - line("").length)));
    const h = start + fields.join("") + "\r\n";
    expect(h.length).toBe(size);
    return h;
  }

  test("a head of the full limit is served; one byte more is 431", async () => {
    const full = await raw(port, headOf(MAX_REQUEST_HEAD), (b) => complete(b.toString("latin1"), 1), 10_000);
    expect(full.text).toStartWith("HTTP/1.1 200");
    expect(bodies(full.text)[0]).toContain("www\r\n");
    const over = await raw(port, headOf(MAX_REQUEST_HEAD + 1), (b) => complete(b.toString("latin1"), 1), 10_000);
    expect(over.text).toStartWith("HTTP/1.1 431");
  });

  test("a keep-alive connection served, idle while others are served, is served again with its own fields", async () => {
    await raw(port, get("/warm"), (b) => complete(b.toString("latin1"), 1));
    // a keep-alive connection that has been served and now sits idle
    let got = "";
    const idle = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, d) {
          got += d.toString("latin1");
        },
      },
    });
    idle.write(get("/idle", "X-Mine: first\r\n"));
    for (let i = 0; i < 250 && !complete(got, 1); i++) await Bun.sleep(20);
    expect(got).toStartWith("HTTP/1.1 200");
    // many more exchanges, sequential, on other connections, then the idle one again
    for (let i = 0; i < 20; i++) await raw(port, get(`/n${i}`, `X-Other: ${i}\r\n`), (b) => complete(b.toString("latin1"), 1));
    got = "";
    idle.write(get("/again", "X-Mine: second\r\n"));
    for (let i = 0; i < 250 && !complete(got, 1); i++) await Bun.sleep(20);
    const again = bodies(got)[0]!;
    expect(again).toStartWith("GET /again ");
    expect(again).toContain("X-Mine: second\r\n");
    expect(again).not.toContain("first");
    expect(again).not.toContain("X-Other");
    idle.end();
  });

  test("no bytes of one connection's head reach another's request", async () => {
    // a head with many fields, then a bare one on another connection that reuses its scratch
    const secrets = Array.from({ length: 40 }, (_, i) => `X-Secret-${i}: s${i}-${"z".repeat(50)}\r\n`).join("");
    const a = await raw(port, get("/secret", secrets), (b) => complete(b.toString("latin1"), 1));
    expect(bodies(a.text)[0]).toContain("X-Secret-39: s39-");
    const b = await raw(port, get("/bare"), (x) => complete(x.toString("latin1"), 1));
    const bb = bodies(b.text)[0]!;
    expect(bb).toStartWith("GET /bare ");
    expect(bb).not.toContain("Secret");
    expect(bb).not.toContain("zzz");
    // two exchanges in flight at once (each head holds its own fields), answered out of order
    const [slow, fast] = await Promise.all([
      raw(port, get("/slow", "X-Who: slow\r\n"), (x) => complete(x.toString("latin1"), 1)),
      Bun.sleep(30).then(() => raw(port, get("/fast", "X-Who: fast\r\nX-Extra: e\r\n"), (x) => complete(x.toString("latin1"), 1))),
    ]);
    const sb = bodies(slow.text)[0]!;
    const fb = bodies(fast.text)[0]!;
    expect(sb).toContain("X-Who: slow\r\n");
    expect(sb).not.toContain("fast");
    expect(sb).not.toContain("X-Extra");
    expect(fb).toContain("X-Who: fast\r\nX-Extra: e\r\n");
    expect(fb).not.toContain("slow");
  });
});

// One client connection carrying many exchanges, pipelined and one after the
// other, on different routes (header operations, authority/path rewrites, a
// retried 503, a mirror, a POST body, a local reply in between): each upstream
// head must be exactly its own request's, and each response its own. Guards
// any per-connection reuse of exchange state (heads, ids, tries, mirrors).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { defaultRetryPolicy } from "../../src/compile/policies.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { cluster, dest, exact, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "./snapshot-fixture.ts";

interface Seen {
  head: string;
  body: string;
}

/** An upstream recording each request (head text and body) and answering with `x-up` and a body naming it. */
function recorder(name: string, failFirst: (target: string) => boolean) {
  const seen: Seen[] = [];
  const tried = new Set<string>();
  const server: TCPSocketListener<{ buf: Buffer }> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: Buffer.alloc(0) };
      },
      data(s, d) {
        s.data.buf = Buffer.concat([s.data.buf, d]);
        for (;;) {
          const b = s.data.buf;
          const end = b.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = b.subarray(0, end + 4).toString("latin1");
          const m = /\r\ncontent-length: *(\d+)/i.exec(head);
          const len = m === null ? 0 : Number(m[1]);
          if (b.length < end + 4 + len) return;
          const body = b.subarray(end + 4, end + 4 + len).toString("latin1");
          s.data.buf = b.subarray(end + 4 + len);
          seen.push({ head, body });
          const target = head.slice(0, head.indexOf("\r\n")).split(" ")[1]!;
          if (failFirst(target) && !tried.has(target)) {
            tried.add(target);
            s.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nfail");
            continue;
          }
          const text = `${name}:${target}`;
          s.write(`HTTP/1.1 200 OK\r\nx-up: ${name}\r\ncontent-length: ${text.length}\r\n\r\n${text}`);
        }
      },
    },
  });
  return { server, port: server.port, seen };
}

const up = recorder("a", (t) => t.startsWith("/retry/"));
const shadow = recorder("m", () => false);
let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  const vh = virtualHost(
    ["app.example.com"],
    [
      { name: "plain", match: [uriMatch(prefix("/plain/"))], action: forward([dest("a")]) },
      {
        name: "ops",
        match: [uriMatch(prefix("/ops/"))],
        action: forward([dest("a")], { rewriteAuthority: "internal.svc" }),
        requestHeaders: { set: [["x-set", "route-ops"]], add: [["x-add", "2"]], remove: ["x-drop"] },
      },
      { name: "retry", match: [uriMatch(prefix("/retry/"))], action: forward([dest("a")]) },
      { name: "mirror", match: [uriMatch(prefix("/mirror/"))], action: forward([dest("a")]) },
      { name: "rewrite", match: [uriMatch(prefix("/old/"))], action: forward([dest("a")], { rewriteUri: "/new/" }) },
      { name: "direct", match: [uriMatch(exact("/direct"))], action: { kind: "direct", status: 200, body: "local" } },
    ],
  );
  vh.routes[2]!.retry = { ...defaultRetryPolicy(), isDefault: false, retryOn: ["5xx"], backoffBaseMs: 1, backoffMaxMs: 2 };
  vh.routes[3]!.mirrors = [{ cluster: "m", host: "m", port: 80, subset: "", perMillion: 1_000_000 }];
  const other = virtualHost(["other.example.com"], [{ name: "other", action: forward([dest("a")]) }]);
  await w.apply(snapshot([listener(port, [vh, other])], [cluster("a", [["127.0.0.1", up.port]]), cluster("m", [["127.0.0.1", shadow.port]])]));
});

afterAll(() => {
  w.stop();
  up.server.stop(true);
  shadow.server.stop(true);
});

interface Req {
  id: string;
  text: string;
  /** Body the client sees. */
  expect: string;
}

/** The requests, each marked by its own x-req header (and its target's id). */
function requests(tag: string): Req[] {
  const r = (id: string, method: string, path: string, host: string, extra: string, body = ""): Req => ({
    id: `${tag}${id}`,
    text:
      `${method} ${path}?id=${tag}${id} HTTP/1.1\r\nHost: ${host}\r\nx-req: ${tag}${id}\r\n${extra}` +
      (body !== "" ? `content-length: ${body.length}\r\n` : "") +
      `\r\n${body}`,
    expect: "",
  });
  const list = [
    r("1", "GET", "/plain/x", "app.example.com", "x-drop: keep-me-1\r\nx-request-id: rid-1\r\n"),
    r("2", "GET", "/ops/y", "app.example.com", "x-drop: gone\r\nx-forwarded-for: 10.0.0.2\r\n"),
    r("3", "POST", "/retry/z", "app.example.com", "x-only-3: yes\r\n", `body-${tag}-3`),
    r("4", "GET", "/direct", "app.example.com", "x-only-4: yes\r\n"),
    r("5", "GET", "/mirror/w", "app.example.com", "x-request-id: rid-5\r\n"),
    r("6", "GET", "/old/v", "app.example.com", "user-agent: six\r\n"),
    r("7", "GET", "/any", "other.example.com", ""),
    r("8", "GET", "/plain/last", "app.example.com", ""),
  ];
  const path = (q: Req) => q.text.slice(q.text.indexOf(" ") + 1, q.text.indexOf(" HTTP/1.1"));
  for (const q of list) q.expect = q.id.endsWith("4") ? "local" : "a:" + path(q).replace("/old/", "/new/");
  return list;
}

/** Bodies of the responses in `text`, in order (content-length framed). */
function bodies(text: string): string[] {
  const out: string[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) return out;
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(rest.slice(0, end + 2))?.[1] ?? 0);
    out.push(rest.slice(end + 4, end + 4 + len));
    rest = rest.slice(end + 4 + len);
  }
}

const field = (head: string, name: string): string[] =>
  head
    .split("\r\n")
    .slice(1)
    .filter((l) => l.toLowerCase().startsWith(name + ":"))
    .map((l) => l.slice(l.indexOf(":") + 1).trim());

/** Each upstream head carries its own request's fields and none of another's. */
function checkHeads(list: Req[], from: number) {
  const heads = up.seen.slice(from);
  // 7 forwarded (the direct reply is local) plus the retried one's first try
  expect(heads.length).toBe(8);
  for (const q of list) {
    const mine = heads.filter((s) => s.head.includes(`?id=${q.id} `));
    if (q.id.endsWith("4")) {
      expect(mine.length).toBe(0);
      continue;
    }
    expect(mine.length).toBe(q.id.endsWith("3") ? 2 : 1);
    // the retry's head is the first try's, byte for byte, but its attempt count (the first try's is
    // written from a worker scratch, the retry's made again from the request's bytes)
    if (mine.length === 2) expect(mine[1]!.head).toBe(mine[0]!.head.replace("\r\nx-envoy-attempt-count: 1\r\n", "\r\nx-envoy-attempt-count: 2\r\n"));
    for (const [i, { head, body }] of mine.entries()) {
      expect(field(head, "x-req")).toEqual([q.id]);
      expect(field(head, "x-envoy-attempt-count")).toEqual([String(i + 1)]);
      const n = q.id.at(-1);
      expect(field(head, "host")).toEqual([n === "2" ? "internal.svc" : n === "7" ? "other.example.com" : "app.example.com"]);
      expect(field(head, "x-set")).toEqual(n === "2" ? ["route-ops"] : []);
      expect(field(head, "x-add")).toEqual(n === "2" ? ["2"] : []);
      expect(field(head, "x-drop")).toEqual(n === "1" ? ["keep-me-1"] : []);
      expect(field(head, "x-only-3")).toEqual(n === "3" ? ["yes"] : []);
      expect(field(head, "user-agent")).toEqual(n === "6" ? ["six"] : []);
      expect(field(head, "x-forwarded-for")).toEqual([n === "2" ? "10.0.0.2, 127.0.0.1" : "127.0.0.1"]);
      expect(field(head, "x-envoy-original-path")).toEqual(n === "6" ? [`/old/v?id=${q.id}`] : []);
      expect(field(head, "content-length")).toEqual(n === "3" ? [String(body.length)] : []);
      expect(body).toBe(n === "3" ? `body-${q.id.slice(0, -1)}-3` : "");
      const rid = field(head, "x-request-id");
      expect(rid.length).toBe(1);
      if (n === "1") expect(rid[0]).toBe("rid-1");
      if (n === "5") expect(rid[0]).toBe("rid-5");
    }
  }
  // fresh ids are not handed on: every exchange that had none got its own (a retry keeps its id)
  const fresh = heads.filter((s) => !/x-request-id: rid-/.test(s.head)).map((s) => field(s.head, "x-request-id")[0]);
  expect(new Set(fresh).size).toBe(fresh.length - 1);
}

async function mirrored(id: string): Promise<Seen> {
  for (let i = 0; i < 100; i++) {
    const s = shadow.seen.find((x) => x.head.includes(`?id=${id} `));
    if (s !== undefined) return s;
    await Bun.sleep(20);
  }
  throw new Error(`no mirror copy of ${id}`);
}

describe("many exchanges on one connection", () => {
  test("pipelined in one write: each upstream head and each response is its own request's", async () => {
    const list = requests("p");
    const from = up.seen.length;
    const mFrom = shadow.seen.length;
    const got = await raw(port, list.map((q) => q.text).join(""), (b) => bodies(b.toString("latin1")).length >= list.length);
    expect(bodies(got.text)).toEqual(list.map((q) => q.expect));
    checkHeads(list, from);
    const m = await mirrored("p5");
    expect(field(m.head, "x-req")).toEqual(["p5"]);
    expect(field(m.head, "x-request-id")).toEqual(["rid-5"]);
    expect(shadow.seen.length - mFrom).toBe(1);
  });

  test("keep-alive, one request after the other's response: the same", async () => {
    const list = requests("k");
    const from = up.seen.length;
    const got: string[] = [];
    let wake: () => void = () => {};
    let text = "";
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, d) {
          text += Buffer.from(d).toString("latin1");
          wake();
        },
      },
    });
    for (const q of list) {
      const want = got.length + 1;
      const done = new Promise<void>((r) => (wake = () => bodies(text).length >= want && r()));
      sock.write(q.text);
      await Promise.race([done, Bun.sleep(3000)]);
      got.splice(0, got.length, ...bodies(text));
    }
    sock.end();
    expect(got).toEqual(list.map((q) => q.expect));
    checkHeads(list, from);
    const m = await mirrored("k5");
    expect(field(m.head, "x-req")).toEqual(["k5"]);
  });
});

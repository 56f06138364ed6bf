// Finished HTTP/1.1 exchanges are made again for later requests (Exchange.make, their heads
// through Exchange.head): a made-again exchange has every field a new one has (each field of a
// dirtied exchange, its body readers, its upstream request and its head is compared with a new
// one's), and requests of two client
// connections taking turns on routes with header operations, a rewrite, a retry and a local
// reply each see only their own head, response and response headers while exchanges are made
// again. The data plane runs in this process so the count of exchanges made again is seen.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { defaultRetryPolicy } from "../../src/compile/policies.ts";
import { setPost, startClock } from "../../workers/context.ts";
import { applyClusters } from "../../workers/http/clusters.ts";
import { Exchange, exchangesRenewed } from "../../workers/http/exchange.ts";
import { RequestHead } from "../../workers/http/parse-request.ts";
import { abortAll, applyListeners, stopAll } from "../../workers/listeners.ts";
import { echoTargetUpstream } from "./echo-target-upstream.ts";
import { cluster, dest, exact, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "./snapshot-fixture.ts";

// --- a made-again exchange = a new one, field by field ---

const SUB = ["reqBody", "respBody", "up"];

/** Every own field of `o` set to a value no constructor gives. */
function dirty(o: Record<string, unknown>): void {
  for (const k of Object.keys(o)) {
    if (k === "head" || k === "ds") continue;
    if (SUB.includes(k)) dirty(o[k] as Record<string, unknown>);
    else o[k] = { dirty: k };
  }
}

function headFor(path: string, query: string, minor: number): RequestHead {
  const h = new RequestHead();
  h.path = path;
  h.query = query;
  h.minor = minor;
  return h;
}

describe("Exchange made again", () => {
  test.each([
    ["/a", "", 1],
    ["/b", "x=1", 0],
  ])("every field as a new exchange's (%s ? %s, HTTP/1.%d)", (path, query, minor) => {
    const ds1 = { h2Stream: false } as never;
    const ds2 = { h2Stream: false } as never;
    const ex = new Exchange(ds1, headFor("/old", "q=old", 1)) as unknown as Record<string, unknown>;
    const subs = SUB.map((k) => ex[k]);
    dirty(ex);
    const h = headFor(path, query, minor);
    (ex as unknown as { renew(ds: unknown, h: RequestHead): void }).renew(ds2, h);
    const fresh = new Exchange(ds2, h) as unknown as Record<string, unknown>;
    expect(Object.keys(ex).sort()).toEqual(Object.keys(fresh).sort());
    for (const k of Object.keys(fresh)) {
      if (k === "t0") expect(typeof ex[k]).toBe("number");
      else if (k === "ownTries") expect(fresh[k]).toBeNull(); // kept: reset when forwarding begins (tries.test.ts shows a reset one equals a new one)
      else if (k === "ownResp") expect(fresh[k]).toBeNull(); // kept: reset for each response head (parse-response.test.ts)
      else if (k === "ownDecision") expect(fresh[k]).toBeNull(); // kept: dispatch resets it (dispatch.test.ts shows it decides as a new one)
      else if (k === "head" || k === "ds" || k === "responseOps") expect(ex[k]).toBe(fresh[k]);
      else if (SUB.includes(k)) {
        const a = ex[k] as Record<string, unknown>;
        const b = fresh[k] as Record<string, unknown>;
        expect(a as unknown).toBe(subs[SUB.indexOf(k)]); // its own parts, kept
        expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
        for (const j of Object.keys(b)) expect([k, j, a[j]]).toEqual([k, j, b[j]]);
      } else expect([k, ex[k]]).toEqual([k, fresh[k]]);
    }
  });
});

describe("RequestHead reset (a made-again exchange's head, parsed into again)", () => {
  test("every field as a new head's", () => {
    const h = new RequestHead() as unknown as Record<string, unknown>;
    for (const k of Object.keys(h)) h[k] = { dirty: k };
    const room = [h.roomSpans, h.roomKinds];
    (h as unknown as RequestHead).reset();
    const fresh = new RequestHead() as unknown as Record<string, unknown>;
    expect(Object.keys(h).sort()).toEqual(Object.keys(fresh).sort());
    // the room parseHead copies fields into is kept (head-scratch.test.ts shows it is never read as fields)
    for (const k of Object.keys(fresh)) if (!k.startsWith("room")) expect([k, h[k]]).toEqual([k, fresh[k]]);
    expect([h.roomSpans, h.roomKinds]).toEqual(room);
  });
});

// --- two client connections taking turns while exchanges are made again ---

const up = echoTargetUpstream();
let port = 0;

beforeAll(() => {
  port = freePort();
  setPost(() => {});
  startClock();
  const vh = virtualHost(
    ["app.example.com"],
    [
      { name: "plain", match: [uriMatch(prefix("/plain/"))], action: forward([dest("a")]) },
      {
        name: "ops",
        match: [uriMatch(prefix("/ops/"))],
        action: forward([dest("a")], { rewriteAuthority: "internal.svc" }),
        requestHeaders: { set: [["x-set", "route-ops"]], add: [], remove: ["x-drop"] },
        responseHeaders: { set: [["x-resp", "ops"]], add: [], remove: [] },
      },
      { name: "retry", match: [uriMatch(prefix("/retry/"))], action: forward([dest("a")]) },
      { name: "rewrite", match: [uriMatch(prefix("/old/"))], action: forward([dest("a")], { rewriteUri: "/new/" }) },
      { name: "direct", match: [uriMatch(exact("/direct"))], action: { kind: "direct", status: 200, body: "local" } },
    ],
  );
  vh.routes[2]!.retry = { ...defaultRetryPolicy(), isDefault: false, retryOn: ["5xx"], backoffBaseMs: 1, backoffMaxMs: 2 };
  applyListeners(applyClusters(snapshot([listener(port, [vh])], [cluster("a", [["127.0.0.1", up.server.port]])])));
});

afterAll(() => {
  abortAll();
  stopAll();
  up.server.stop(true);
});

async function client(): Promise<{ s: Socket<undefined>; next(): Promise<string> }> {
  let got = "";
  let used = 0;
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
    /** The next whole response (content-length framed). */
    async next() {
      for (let i = 0; i < 500; i++) {
        const rest = got.slice(used);
        const end = rest.indexOf("\r\n\r\n");
        if (end >= 0) {
          const len = Number(/\r\ncontent-length: *(\d+)/i.exec(rest.slice(0, end + 2))?.[1] ?? 0);
          if (rest.length >= end + 4 + len) {
            used += end + 4 + len;
            return rest.slice(0, end + 4 + len);
          }
        }
        await Bun.sleep(5);
      }
      throw new Error("no response");
    },
  };
}

const field = (head: string, name: string): string[] =>
  head
    .split("\r\n")
    .slice(1)
    .filter((l) => l.toLowerCase().startsWith(name + ":"))
    .map((l) => l.slice(l.indexOf(":") + 1).trim());

describe("requests of two connections taking turns, exchanges made again", () => {
  test("each upstream head, response and response header is its own request's", async () => {
    const a = await client();
    const b = await client();
    const before = exchangesRenewed();
    const kinds = ["plain", "ops", "retry", "old", "direct", "plain"];
    const ids = new Set<string>();
    for (let round = 0; round < 4; round++) {
      for (const [ci, c] of [a, b].entries()) {
        for (const [ki, kind] of kinds.entries()) {
          const id = `r${round}c${ci}k${ki}`;
          const path = kind === "direct" ? `/direct?id=${id}` : `/${kind}/p?id=${id}`;
          const rid = ki === 0 ? `x-request-id: rid-${id}\r\n` : "";
          const from = up.seen.length;
          c.s.write(`GET ${path} HTTP/1.1\r\nHost: app.example.com\r\nx-req: ${id}\r\nx-drop: d-${id}\r\n${rid}\r\n`);
          const res = await c.next();
          const [head, body] = [res.slice(0, res.indexOf("\r\n\r\n") + 4), res.slice(res.indexOf("\r\n\r\n") + 4)];
          expect(head.startsWith("HTTP/1.1 200 ")).toBe(true);
          expect(field(head, "connection")).toEqual([]);
          expect(field(head, "x-resp")).toEqual(kind === "ops" ? ["ops"] : []);
          if (kind === "direct") {
            expect(body).toBe("local");
            expect(up.seen.length).toBe(from);
            expect(field(head, "x-envoy-upstream-service-time")).toEqual([]);
            continue;
          }
          expect(field(head, "x-envoy-upstream-service-time").length).toBe(1);
          const target = kind === "old" ? `/new/p?id=${id}` : path;
          expect(body).toBe(`up:${target}`);
          const mine = up.seen.slice(from);
          expect(mine.length).toBe(kind === "retry" ? 2 : 1);
          for (const [i, s] of mine.entries()) {
            expect(s.target).toBe(target);
            expect(field(s.head, "x-req")).toEqual([id]);
            expect(field(s.head, "x-envoy-attempt-count")).toEqual([String(i + 1)]);
            expect(field(s.head, "host")).toEqual([kind === "ops" ? "internal.svc" : "app.example.com"]);
            expect(field(s.head, "x-set")).toEqual(kind === "ops" ? ["route-ops"] : []);
            expect(field(s.head, "x-drop")).toEqual(kind === "ops" ? [] : [`d-${id}`]);
            expect(field(s.head, "x-envoy-original-path")).toEqual(kind === "old" ? [path] : []);
            const r = field(s.head, "x-request-id");
            expect(r.length).toBe(1);
            if (ki === 0) expect(r[0]).toBe(`rid-${id}`);
            else if (i === 0) {
              expect(ids.has(r[0]!)).toBe(false); // a fresh id, not one handed on
              ids.add(r[0]!);
            }
          }
        }
      }
    }
    a.s.end();
    b.s.end();
    // most exchanges were made again (not the retried one or the local reply, nor the first few)
    expect(exchangesRenewed() - before).toBeGreaterThan(20);
  });
});

// Finished HTTP/2 streams' exchanges are made again for later streams (Exchange.make, their heads
// through Exchange.head, as HTTP/1.1 connections' are): requests of two client connections, many
// streams of each in flight at once, on routes with header operations, a rewrite, a retry, a local
// reply and a chunked response with trailers, each see only their own upstream head, response,
// response headers and trailers while exchanges are made again (a chunked response's trailers are
// read by its stream from a scanner made for that response, so they stay its own even once the
// exchange is made again). The data plane runs in this process so the count of exchanges made
// again is seen; without HTTP/2 streams' exchanges made again that count stays 0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { defaultRetryPolicy } from "../../src/compile/policies.ts";
import { setPost, startClock } from "../../workers/context.ts";
import { applyClusters } from "../../workers/http/clusters.ts";
import { exchangesRenewed } from "../../workers/http/exchange.ts";
import { abortAll, applyListeners, stopAll } from "../../workers/listeners.ts";
import { echoTargetUpstream } from "./echo-target-upstream.ts";
import { cluster, dest, exact, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "./snapshot-fixture.ts";

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
      { name: "chunked", match: [uriMatch(prefix("/chunked/"))], action: forward([dest("a")]) },
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

interface Got {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: string;
}

function get(c: http2.ClientHttp2Session, path: string, extra: Record<string, string>): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = c.request({ ":path": path, ":authority": "app.example.com", te: "trailers", ...extra });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let body = "";
    req.setEncoding("latin1");
    req.on("response", (h) => (headers = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (d: string) => (body += d));
    req.on("end", () => resolve({ headers, trailers, body }));
    req.on("error", reject);
    req.end();
  });
}

describe("HTTP/2 streams of two connections, many in flight, exchanges made again", () => {
  test("each upstream head, response, response header and trailer is its own request's", async () => {
    const a = http2.connect(`http://127.0.0.1:${port}`);
    const b = http2.connect(`http://127.0.0.1:${port}`);
    const before = exchangesRenewed();
    const kinds = ["plain", "ops", "retry", "old", "chunked", "direct", "plain"];
    const ids = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const work: Promise<void>[] = [];
      for (const [ci, c] of [a, b].entries()) {
        for (const [ki, kind] of kinds.entries()) {
          const id = `r${round}c${ci}k${ki}`;
          const path = kind === "direct" ? `/direct?id=${id}` : `/${kind}/p?id=${id}`;
          const extra: Record<string, string> = { "x-req": id, "x-drop": `d-${id}` };
          if (ki === 0) extra["x-request-id"] = `rid-${id}`;
          work.push(
            get(c, path, extra).then((res) => {
              expect(res.headers[":status"] as unknown).toBe(200);
              expect(res.headers["x-resp"]).toBe(kind === "ops" ? "ops" : undefined);
              if (kind === "direct") {
                expect(res.body).toBe("local");
                expect(res.headers["x-envoy-upstream-service-time"]).toBeUndefined();
                return;
              }
              expect(typeof res.headers["x-envoy-upstream-service-time"]).toBe("string");
              const target = kind === "old" ? `/new/p?id=${id}` : path;
              expect(res.body).toBe(`up:${target}`);
              expect(res.trailers["x-trailer"]).toBe(kind === "chunked" ? `t:${target}` : undefined);
              const mine = up.seen.filter((s) => s.target === target);
              expect(mine.length).toBe(kind === "retry" ? 2 : 1);
              for (const [i, s] of mine.entries()) {
                const field = (name: string): string[] =>
                  s.head
                    .split("\r\n")
                    .slice(1)
                    .filter((l) => l.toLowerCase().startsWith(name + ":"))
                    .map((l) => l.slice(l.indexOf(":") + 1).trim());
                expect(field("x-req")).toEqual([id]);
                expect(field("x-envoy-attempt-count")).toEqual([String(i + 1)]);
                expect(field("host")).toEqual([kind === "ops" ? "internal.svc" : "app.example.com"]);
                expect(field("x-set")).toEqual(kind === "ops" ? ["route-ops"] : []);
                expect(field("x-drop")).toEqual(kind === "ops" ? [] : [`d-${id}`]);
                expect(field("x-envoy-original-path")).toEqual(kind === "old" ? [path] : []);
                const r = field("x-request-id");
                expect(r.length).toBe(1);
                if (ki === 0) expect(r[0]).toBe(`rid-${id}`);
                else if (i === 0) {
                  expect(ids.has(r[0]!)).toBe(false); // a fresh id, not one handed on
                  ids.add(r[0]!);
                }
              }
            }),
          );
        }
      }
      await Promise.all(work);
    }
    a.close();
    b.close();
    // most exchanges were made again (not the retried ones, the local replies, nor the first few)
    expect(exchangesRenewed() - before).toBeGreaterThan(20);
  });
});

describe("more streams in flight than 64", () => {
  test("a connection's 120 concurrent streams, again: nearly all made again", async () => {
    const c = http2.connect(`http://127.0.0.1:${port}`);
    const round = async (r: number) => {
      const got = await Promise.all(Array.from({ length: 120 }, (_, i) => get(c, `/plain/many?r=${r}&i=${i}`, {})));
      for (const [i, g] of got.entries()) expect(g.body).toBe(`up:/plain/many?r=${r}&i=${i}`);
    };
    await round(0);
    await round(1); // the first round's exchanges become spare at the data callbacks of this one
    const before = exchangesRenewed();
    await round(2);
    c.close();
    expect(exchangesRenewed() - before).toBeGreaterThan(100); // at most 64 with 64 spares kept
  });
});

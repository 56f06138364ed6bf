// Issue 13 A2: a route bypass through percent-encoding, dot segments and
// backslashes. With `prefix: /private` → 403 and a catch-all, every spelling of
// /private hits the 403; the upstream receives the normalized path (query as
// sent); %00 and broken escapes get 400. Real worker, real sockets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { PathNormalization } from "../../src/route/normalize-path.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { startRawUpstream } from "./raw-upstream.ts";
import { applyRoutesOnFreePort } from "./apply-config.ts";
import { cluster, dest, forward, prefix, uriMatch } from "./snapshot-fixture.ts";

const upstream = startRawUpstream();
const workers: WorkerHarness[] = [];
const ports = new Map<PathNormalization, number>();

async function start(mode: PathNormalization | undefined): Promise<number> {
  const w = new WorkerHarness(mode === undefined ? {} : { pathNormalization: mode });
  workers.push(w);
  return applyRoutesOnFreePort(
    w,
    [
      { name: "private", match: [uriMatch(prefix("/private"))], action: { kind: "direct", status: 403, body: "private" } },
      { name: "rest", action: forward([dest("up")]) },
    ],
    [cluster("up", [["127.0.0.1", upstream.port]])],
  );
}

beforeAll(async () => {
  ports.set("BASE", await start(undefined)); // the default
  ports.set("NONE", await start("NONE"));
  ports.set("DECODE_AND_MERGE_SLASHES", await start("DECODE_AND_MERGE_SLASHES"));
});

afterAll(() => {
  for (const w of workers) w.stop();
  upstream.server.stop(true);
});

async function get(mode: PathNormalization, target: string): Promise<{ status: number; body: string }> {
  const r = await raw(ports.get(mode)!, `GET ${target} HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n`);
  const status = Number(r.text.slice(9, 12));
  return { status, body: r.text.slice(r.text.indexOf("\r\n\r\n") + 4) };
}

describe("BASE (default): every spelling of /private is the 403 route", () => {
  for (const target of ["/private", "/%70rivate", "/%70%72%69vate/x", "/x/../private", "/x\\..\\private", "/x/%2e%2E/private", "/./private", "/a/b/../../private?x=1"]) {
    test(target, async () => expect(await get("BASE", target)).toEqual({ status: 403, body: "private" }));
  }
});

describe("BASE: the upstream receives the path that was matched, the query as sent", () => {
  const cases: [string, string][] = [
    ["/public/%41b/../c?q=%2e%2e/x&y=%70", "/public/c?q=%2e%2e/x&y=%70"],
    ["/a%2Fb/%2fc", "/a%2Fb/%2fc"], // escaped slashes kept
    ["/a//b", "/a//b"],
    ["/x\\y", "/x/y"],
    ["/q{1}", "/q%7B1%7D"],
  ];
  for (const [target, want] of cases) {
    test(`${target} → ${want}`, async () => {
      const before = upstream.lines.length;
      expect(await get("BASE", target)).toEqual({ status: 200, body: want });
      expect(upstream.lines.slice(before)).toEqual([`GET ${want} HTTP/1.1`]);
    });
  }
});

describe("invalid paths: 400 before routing, nothing sent upstream", () => {
  for (const target of ["/a%00", "/private%00", "/a%zz", "/a%4", "/a%"]) {
    test(target, async () => {
      const before = upstream.lines.length;
      expect((await get("BASE", target)).status).toBe(400);
      expect(upstream.lines.length).toBe(before);
    });
  }
});

describe("--path-normalization NONE: Istio's NONE forwards the path as received", () => {
  test("/%70rivate reaches the catch-all, unchanged", async () => {
    expect(await get("NONE", "/%70rivate")).toEqual({ status: 200, body: "/%70rivate" });
  });
});

describe("--path-normalization DECODE_AND_MERGE_SLASHES", () => {
  test("escaped and doubled slashes are decoded and merged before routing", async () => {
    expect((await get("DECODE_AND_MERGE_SLASHES", "//%2Fprivate")).status).toBe(403);
    expect(await get("DECODE_AND_MERGE_SLASHES", "/a%2F%2fb//c")).toEqual({ status: 200, body: "/a/b/c" });
  });
});

// An HTTP/2 request carrying a `host` field beside `:authority` (RFC 9113 §8.3.1: a
// client must not send one that differs; a recipient must not use `host` when
// `:authority` is there). Envoy's request header map files `host` under
// `:authority`, and its HTTP/2 codec drops `host` when `:authority` came (runtime
// flag http2_discard_host_header, on by default since 1.28): routing, authority
// matches and what the upstream is sent all follow `:authority`; a lone `host` is
// the authority. Sent as raw frames so nothing normalises them on the way.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { WorkerHarness } from "../harness.ts";
import { cluster, dest, exact, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";
import { converse, headers, streamsOver } from "./h2-raw.ts";
import { rawUpstream } from "./helpers.ts";

const seen: string[] = [];
const up = rawUpstream((s, req) => {
  seen.push(req.slice(0, req.indexOf("\r\n\r\n")));
  s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
});
let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  const fwd = { name: "fwd", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) };
  const deny = { kind: "direct" as const, status: 403, body: "admin only" };
  await w.apply(
    snapshot(
      [
        listener(port, [
          virtualHost(["public.example"], [fwd]),
          virtualHost(["admin.example"], [{ name: "admin", match: [uriMatch(prefix("/"))], action: deny }]),
          // a route-level guard: an authority match in front of a catch-all
          virtualHost(["*.guarded.example"], [{ name: "guard", match: [uriMatch(null, { authority: exact("root.guarded.example") })], action: deny }, fwd]),
        ]),
      ],
      [cluster("up", [["127.0.0.1", up.port]])],
    ),
  );
});
afterAll(() => {
  w.stop();
  up.stop(true);
});

const GET: [string, string][] = [[":method", "GET"], [":scheme", "http"], [":path", "/p"]];

/** The stream's end and what the upstream was sent for it (null: nothing reached it). */
async function send(fields: [string, string][]): Promise<{ status: number; upstream: string | null }> {
  const before = seen.length;
  const c = await converse(port, [headers(1, fields)], streamsOver(1));
  const s = c.streams.get(1)!;
  expect(s.ended).toBe(true);
  return { status: s.status, upstream: seen.length > before ? seen[before]! : null };
}

describe("HTTP/2 `host` beside `:authority`: `:authority` decides, `host` is dropped (Envoy's codec)", () => {
  test("a host naming an open virtual host does not open a guarded one: :authority admin → its 403", async () => {
    const r = await send([...GET, [":authority", "admin.example"], ["host", "public.example"]]);
    expect(r).toEqual({ status: 403, upstream: null });
  });

  test("a host naming a served virtual host does not route an unknown :authority: 404, nothing upstream", async () => {
    const r = await send([...GET, [":authority", "nowhere.example"], ["host", "public.example"]]);
    expect(r).toEqual({ status: 404, upstream: null });
  });

  test("a route's authority match sees :authority, not host", async () => {
    expect(await send([...GET, [":authority", "root.guarded.example"], ["host", "other.guarded.example"]])).toEqual({ status: 403, upstream: null });
    const r = await send([...GET, [":authority", "other.guarded.example"], ["host", "root.guarded.example"]]);
    expect(r.status).toBe(200);
    expect(r.upstream).not.toContain("root.guarded.example");
  });

  test(":authority public with host admin: served by public, the upstream is sent host: public and never the client's host", async () => {
    const r = await send([...GET, [":authority", "public.example"], ["host", "admin.example"]]);
    expect(r.status).toBe(200);
    const lines = r.upstream!.toLowerCase().split("\r\n");
    expect(lines.filter((l) => l.startsWith("host:"))).toEqual(["host: public.example"]);
    expect(r.upstream).not.toContain("admin.example");
  });

  test("host twice beside :authority: both dropped, :authority routes", async () => {
    const r = await send([...GET, [":authority", "public.example"], ["host", "admin.example"], ["x-a", "1"], ["host", "admin.example"]]);
    expect(r.status).toBe(200);
    expect(r.upstream).not.toContain("admin.example");
  });
});

describe("HTTP/2 `host` without `:authority`: it is the authority (Envoy files it as :authority)", () => {
  test("host public: served, the upstream is sent it as host", async () => {
    const r = await send([...GET, ["host", "public.example"]]);
    expect(r.status).toBe(200);
    expect(r.upstream!.toLowerCase().split("\r\n").filter((l) => l.startsWith("host:"))).toEqual(["host: public.example"]);
  });

  test("host admin: the guarded virtual host's answer", async () => {
    expect(await send([...GET, ["host", "admin.example"]])).toEqual({ status: 403, upstream: null });
  });
});

// Mirror copies: what a copy writes, when it lets go of its connection, and
// the bound on copies in flight (a dead or slow mirror cannot pile up memory).
import { describe, expect, test } from "bun:test";
import type { MirrorPolicy } from "../../src/snapshot/types.ts";
import { MIRROR_MAX_IN_FLIGHT } from "../../src/traffic/mirror.ts";
import type { Generation } from "../../workers/http/clusters.ts";
import { mirrorsInFlight, sendMirrors } from "../../workers/http/mirror.ts";
import type { UpstreamConn, UpstreamUser } from "../../workers/http/upstream-conn.ts";

interface FakeConn {
  writes: Buffer[];
  destroyed: boolean;
}

/** A generation whose one cluster `m` hands out connections that never open by themselves. */
function fakeGeneration(users: UpstreamUser[], conns: FakeConn[]): Generation {
  const pool = {
    connect(user: UpstreamUser) {
      users.push(user);
      const c: FakeConn & { write(b: Uint8Array): boolean; destroy(): void } = {
        writes: [],
        destroyed: false,
        write(b) {
          this.writes.push(Buffer.from(b));
          return true;
        },
        destroy() {
          this.destroyed = true;
        },
      };
      conns.push(c);
      return c as unknown as UpstreamConn;
    },
  };
  return { snapshot: {} as never, clusters: new Map([["m", { pick: () => pool } as never]]) } as Generation;
}

const MIRROR: MirrorPolicy = { cluster: "m", host: "m", port: 80, subset: "", perMillion: 1_000_000 };
const HEAD_TEXT = "POST /x HTTP/1.1\r\nhost: shop.example.com\r\ncontent-length: 5\r\n\r\n";
const HEAD = Buffer.from(HEAD_TEXT, "latin1");

describe("mirror copies", () => {
  test("on open: the head (Host unchanged) then the body; at the first answer byte the connection is dropped", () => {
    const users: UpstreamUser[] = [];
    const conns: FakeConn[] = [];
    const before = mirrorsInFlight();
    sendMirrors(fakeGeneration(users, conns), [MIRROR], HEAD, "shop.example.com", [Buffer.from("he"), Buffer.from("llo")]);
    expect(mirrorsInFlight()).toBe(before + 1);
    const conn = conns[0]! as unknown as UpstreamConn;
    users[0]!.onUpstreamOpen(conn);
    expect(Buffer.concat(conns[0]!.writes).toString("latin1")).toBe(HEAD_TEXT + "hello");
    users[0]!.onUpstreamData(conn, Buffer.from("HTTP/1.1 200 OK\r\n"));
    expect(conns[0]!.destroyed).toBe(true);
    expect(mirrorsInFlight()).toBe(before);
  });

  test(`at most ${MIRROR_MAX_IN_FLIGHT} copies in flight: more are dropped, and a closed copy frees its place`, () => {
    const users: UpstreamUser[] = [];
    const conns: FakeConn[] = [];
    const gen = fakeGeneration(users, conns);
    const before = mirrorsInFlight();
    for (let i = 0; i < MIRROR_MAX_IN_FLIGHT + 50; i++) sendMirrors(gen, [MIRROR], HEAD, "shop.example.com", []);
    expect(mirrorsInFlight()).toBe(MIRROR_MAX_IN_FLIGHT);
    expect(users.length).toBe(MIRROR_MAX_IN_FLIGHT - before);
    for (const u of users) u.onUpstreamClose(conns[0] as unknown as UpstreamConn, { code: "connect_failure", errno: "ECONNREFUSED" });
    expect(mirrorsInFlight()).toBe(before);
    sendMirrors(gen, [MIRROR], HEAD, "shop.example.com", []);
    expect(mirrorsInFlight()).toBe(before + 1);
    users.at(-1)!.onUpstreamClose(conns.at(-1) as unknown as UpstreamConn, { code: "connect_failure", errno: "ECONNREFUSED" });
  });
});

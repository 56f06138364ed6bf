// An HTTP/2 client connection with no stream open stays idle however many
// PING / SETTINGS / WINDOW_UPDATE frames it sends: OwnH2Conn (h2/conn.ts)
// puts its parent's lastActive (which every read refreshes, and the idle
// close in listeners.ts reads) back to when its last stream ended, as
// Envoy's idle_timeout counts. Without sockets: a fake connection under it.
import { expect, test } from "bun:test";
import type { RawConn } from "../../../workers/http/h2-duplex.ts";
import type { H2Parent } from "../../../workers/http/h2-stream.ts";
import { OwnH2Conn } from "../../../workers/http/h2/conn.ts";
import { frame, PING, PREFACE, SETTINGS, WINDOW_UPDATE } from "../edge/h2-raw.ts";
import { u32 } from "./raw-client.ts";

const wire: RawConn = { write: (b) => b.length, pause() {}, resume() {}, end() {}, terminate() {} };

test("PINGs, SETTINGS and WINDOW_UPDATEs on a connection with no stream do not make it active", () => {
  const parent = { socket: wire, lastActive: 0 } as unknown as H2Parent;
  const c = new OwnH2Conn(parent);
  const born = parent.lastActive;
  // what Downstream.onData does before each feed
  const READ = 4_000_000_000_000;
  parent.lastActive = READ;
  c.feed(Buffer.concat([Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0)]));
  expect(parent.lastActive).not.toBe(READ);
  const since = parent.lastActive;
  expect(since).toBeGreaterThan(born);
  for (const f of [frame(PING, 0, 0, Buffer.alloc(8)), frame(SETTINGS, 0, 0), frame(WINDOW_UPDATE, 0, 0, u32(1))]) {
    parent.lastActive = READ;
    c.feed(f);
    expect(parent.lastActive).toBe(since);
  }
});

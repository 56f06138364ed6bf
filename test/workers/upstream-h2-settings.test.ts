// SETTINGS with values RFC 9113 §6.5.2 forbids, from an HTTP/2 upstream, through a
// real worker: ENABLE_PUSH other than 0/1 and MAX_FRAME_SIZE outside [2^14, 2^24-1]
// are a connection error PROTOCOL_ERROR, INITIAL_WINDOW_SIZE above 2^31-1 one of
// FLOW_CONTROL_ERROR: the gateway sends GOAWAY with that code and closes, and the
// client gets 503 (connection failure), never a hang. (From clients the same
// values are checked by the h2spec sweep, h2/conformance.test.ts 6.5.2/1-4.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { block, DATA, END_HEADERS, END_STREAM, frame, GOAWAY, HEADERS } from "./edge/h2-raw.ts";
import { rawH2Upstream, type RawUpstreamState } from "./h2/raw-upstream.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

const PROTOCOL_ERROR = 1, FLOW_CONTROL_ERROR = 3;
const CASES: [string, number, number, number][] = [
  ["enable-push", 2, 2, PROTOCOL_ERROR],
  ["window", 4, 2 ** 31, FLOW_CONTROL_ERROR],
  ["frame-small", 5, 16383, PROTOCOL_ERROR],
  ["frame-big", 5, 2 ** 24, PROTOCOL_ERROR],
];

interface Up {
  srv: TCPSocketListener<RawUpstreamState>;
  /** GOAWAY error codes received. */
  goaways: number[];
  closed: number;
}

/** An upstream whose SETTINGS carry `id = value`; it answers any request "fine" (which must never reach the client). */
function badSettingsUpstream(id: number, value: number): Up {
  const up: Up = { srv: null as never, goaways: [], closed: 0 };
  const pair = Buffer.alloc(6);
  pair.writeUInt16BE(id, 0);
  pair.writeUInt32BE(value, 2);
  up.srv = rawH2Upstream(
    (s, sid) => s.write(Buffer.concat([frame(HEADERS, END_HEADERS, sid, block([[":status", "200"]])), frame(DATA, END_STREAM, sid, Buffer.from("fine"))])),
    undefined,
    pair,
    { onFrame: (type, _id, p) => void (type === GOAWAY && up.goaways.push(p.readUInt32BE(4))), onClose: () => void up.closed++ },
  );
  return up;
}

let w: WorkerHarness;
let gw = 0;
const ups = new Map<string, Up>();

beforeAll(async () => {
  let routes = "";
  let entries = "";
  for (const [name, id, value] of CASES) {
    const up = badSettingsUpstream(id, value);
    ups.set(name, up);
    routes += `  - match: [{uri: {prefix: /${name}}}]\n    route: [{destination: {host: ${name}.internal, port: {number: 8080}}}]\n`;
    entries += loopbackServiceEntry({ name, host: `${name}.internal`, port: 8080, targetPort: up.srv.port, portName: "http2", protocol: "HTTP2" });
  }
  gw = freePort();
  w = new WorkerHarness();
  await w.apply(compileYaml(gatewayWithRoutes(routes) + entries, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" }));
});

afterAll(() => {
  w?.stop();
  for (const u of ups.values()) u.srv.stop(true);
});

test.each(CASES)("SETTINGS %s (id %i = %i): GOAWAY with code %i, the connection closed, the client gets 503", async (name, _id, _value, code) => {
  const up = ups.get(name)!;
  const r = await raw(gw, `GET /${name} HTTP/1.1\r\nHost: example.com\r\nconnection: close\r\n\r\n`);
  expect(r.text.slice(0, 12)).toBe("HTTP/1.1 503");
  expect(r.text).not.toContain("fine");
  for (let i = 0; i < 500 && up.closed === 0; i++) await Bun.sleep(10);
  expect(up.goaways).toContain(code);
  expect(up.closed).toBeGreaterThan(0);
});

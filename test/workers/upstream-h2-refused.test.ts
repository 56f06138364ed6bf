// HTTP/2 streams an upstream refused, through a real worker on the own client
// codec: a stream above a GOAWAY's last stream id, or reset with
// REFUSED_STREAM, was never processed, so Istio's default retry policy
// (refused-stream) sends the request again, as Envoy does, and the client
// gets the answer of the next try instead of a 503.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { block, DATA, END_HEADERS, END_STREAM, frame, GOAWAY, HEADERS, rst } from "./edge/h2-raw.ts";
import { rawH2Upstream, type RawUpstreamState, u32 } from "./h2/raw-upstream.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

let w: WorkerHarness;
let gw = 0;
let upstream: TCPSocketListener<RawUpstreamState>;
/** Requests the upstream saw, per path, and the connections it accepted. */
const seen = new Map<string, number>();
let connections = 0;


/** The :path of a request header block our client sent (literals only matter here: the path is never indexed). */
function pathOf(p: Buffer): string {
  const s = p.toString("latin1");
  const m = /\/(goaway|refuse)/.exec(s);
  return m === null ? "" : m[0];
}

beforeAll(async () => {
  upstream = rawH2Upstream(
    (sock, id, payload) => {
      const path = pathOf(payload);
      const n = (seen.get(path) ?? 0) + 1;
      seen.set(path, n);
      if (n === 1 && path === "/goaway") sock.write(frame(GOAWAY, 0, 0, u32(0, 0))); // takes none of our streams
      else if (n === 1 && path === "/refuse") sock.write(rst(id, 7));
      else sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "200"]])), frame(DATA, END_STREAM, id, Buffer.from(`try ${n}`))]));
    },
    () => connections++,
  );
  gw = freePort();
  const yaml = `${gatewayWithRoutes("  - route: [{destination: {host: up.internal, port: {number: 8080}}}]\n")}${loopbackServiceEntry({ name: "up", host: "up.internal", port: 8080, targetPort: upstream.port, portName: "http2", protocol: "HTTP2" })}`;
  w = new WorkerHarness();
  await w.apply(compileYaml(yaml, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" }));
});

afterAll(() => {
  w?.stop();
  upstream?.stop(true);
});

const get = (path: string) => raw(gw, `GET ${path} HTTP/1.1\r\nHost: example.com\r\n\r\n`, (b) => b.includes("try 2") || (b.includes("\r\n\r\n") && !b.includes(" 200 ")), 3000);

test("a stream above the upstream's GOAWAY last-stream-id is retried on a new connection (refused-stream): 200 from the second try", async () => {
  const before = connections;
  const r = await get("/goaway");
  expect(r.text).toStartWith("HTTP/1.1 200 ");
  expect(r.text).toContain("try 2");
  expect(seen.get("/goaway")).toBe(2);
  expect(connections).toBe(before + 2); // the first try's connection, retired by its GOAWAY, then a new one for the retry
});

test("a stream reset with REFUSED_STREAM is retried (refused-stream): 200 from the second try", async () => {
  const r = await get("/refuse");
  expect(r.text).toStartWith("HTTP/1.1 200 ");
  expect(r.text).toContain("try 2");
  expect(seen.get("/refuse")).toBe(2);
});

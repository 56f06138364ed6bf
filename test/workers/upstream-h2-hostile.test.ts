// The own HTTP/2 client codec (workers/http/h2/client-*.ts) against upstreams
// that break the protocol, through a real worker: whatever the upstream does,
// the client gets an answer (a 5xx, or the retry's 200), never a hang. A raw
// frame server acts per request path; a second one takes connections and
// never sends its SETTINGS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { block, converse, DATA, END_HEADERS, END_STREAM, frame, GOAWAY, HEADERS, request, SETTINGS, streamsOver } from "./edge/h2-raw.ts";
import { rawH2Upstream, type RawUpstreamState, u32 } from "./h2/raw-upstream.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

let w: WorkerHarness;
let gw = 0;
let upstream: TCPSocketListener<RawUpstreamState>;
let mute: TCPSocketListener<undefined>;
/** Requests the upstream saw, per path. */
const seen = new Map<string, number>();


const PATHS = /\/(long-data-one|long-data-two|big-frame|even-stream|unknown-stream|goaway-close|refuse-close|continuation-flood|window-overflow|status-204-length|status-204-zero|status-100-length|bad-field-[0-9]+)/;

/** Response fields RFC 9113 §8.2 makes malformed, each answered by the upstream on /bad-field-<index>; the trailers' on the last one. */
const BAD_FIELDS: [string, [string, string][]][] = [
  ["CR LF in a value (an HTTP/1.1 client's head would get a set-cookie of the upstream's making)", [["x-a", "a\r\nset-cookie: injected=1"]]],
  ["LF in a value", [["x-a", "a\nset-cookie: injected=1"]]],
  ["a bare CR in a value", [["x-a", "a\rb"]]],
  ["NUL in a value", [["x-a", "a\0b"]]],
  ["a space in a name", [["set-cookie injected", "1"]]],
  ["a colon inside a name", [["x:set-cookie", "1"]]],
  ["content-length twice, different", [["content-length", "2"], ["content-length", "3"]]],
  ["101 fields (an HTTP/1.1 head may carry 100, Envoy's max_headers_count)", Array.from({ length: 101 }, (_, i): [string, string] => [`x-f${i}`, "v"])],
];
const BAD_TRAILER = BAD_FIELDS.length;
const ok = (id: number, n: number) => Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "200"]])), frame(DATA, END_STREAM, id, Buffer.from(`try ${n}`))]);

beforeAll(async () => {
  upstream = rawH2Upstream(
    (sock, id, payload) => {
      const path = PATHS.exec(payload.toString("latin1"))?.[0] ?? "";
      const n = (seen.get(path) ?? 0) + 1;
      seen.set(path, n);
      // content-length 2, then 8 bytes of DATA: in the frame that ends the stream, or after a first frame of 2
      if (path === "/long-data-one")
        sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "200"], ["content-length", "2"]])), frame(DATA, END_STREAM, id, Buffer.from("okPOISON"))]));
      else if (path === "/long-data-two")
        sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "200"], ["content-length", "2"]])), frame(DATA, 0, id, Buffer.from("ok")), frame(DATA, END_STREAM, id, Buffer.from("POISON"))]));
      else if (path === "/status-204-length" || path === "/status-204-zero")
        sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "204"], ["content-length", path === "/status-204-zero" ? "0" : "5"]])), frame(DATA, END_STREAM, id)]));
      else if (path === "/status-100-length")
        sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "100"], ["content-length", "5"]])), ok(id, n)]));
      else if (path === "/big-frame") sock.write(frame(HEADERS, END_HEADERS | END_STREAM, id, block([[":status", "200"], ["x-big", "b".repeat(16_400)]]))); // past our MAX_FRAME_SIZE
      else if (path.startsWith("/bad-field-")) {
        const k = Number(path.slice(11));
        if (k === BAD_TRAILER)
          sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "200"]])), frame(DATA, 0, id, Buffer.from("ok")), frame(HEADERS, END_HEADERS | END_STREAM, id, block([["x-t", "1\r\n\r\nHTTP/1.1 200 OK"]]))]));
        else sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, id, block([[":status", "200"], ...BAD_FIELDS[k]![1]])), frame(DATA, END_STREAM, id, Buffer.from("ok"))]));
      } else if (path === "/even-stream") sock.write(frame(HEADERS, END_HEADERS | END_STREAM, id + 1, block([[":status", "200"]])));
      else if (path === "/unknown-stream") sock.write(frame(HEADERS, END_HEADERS | END_STREAM, id + 200, block([[":status", "200"]])));
      else if (path === "/goaway-close") {
        // took the stream (last-stream-id = it), then went away without answering
        sock.write(frame(GOAWAY, 0, 0, u32(id, 2)));
        sock.end();
      } else if (path === "/refuse-close" && n === 1) {
        // took none of our streams, and closed at once
        sock.write(frame(GOAWAY, 0, 0, u32(0, 0)));
        sock.end();
      } else if (path === "/continuation-flood") {
        // a head that never ends: empty CONTINUATION frames, without END_HEADERS, for ever (here 20k of them)
        const empty = frame(9, 0, id);
        sock.write(Buffer.concat([frame(HEADERS, 0, id, block([[":status", "200"]])), ...Array.from({ length: 20_000 }, () => empty)]));
      } else if (path === "/window-overflow") {
        // the stream's send window raised to 2^31-1, then SETTINGS_INITIAL_WINDOW_SIZE raised under it (§6.9.2: FLOW_CONTROL_ERROR)
        sock.write(Buffer.concat([frame(8, 0, id, u32(0x7fffffff - 65535)), frame(SETTINGS, 0, 0, Buffer.from([0, 4, 0, 1, 0, 0]))]));
      } else sock.write(ok(id, n));
    },
  );
  mute = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  gw = freePort();
  const entry = (name: string, port: number) => `${loopbackServiceEntry({ name, host: `${name}.internal`, port: 8080, targetPort: port, portName: "http2", protocol: "HTTP2" })}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${name}.internal
  trafficPolicy: {connectionPool: {tcp: {connectTimeout: 300ms}}}
---
`;
  const routes = `  - match: [{uri: {prefix: /mute}}]
    route: [{destination: {host: mute.internal, port: {number: 8080}}}]
  - route: [{destination: {host: up.internal, port: {number: 8080}}}]
`;
  const yaml = `${gatewayWithRoutes(routes)}${entry("up", upstream.port)}${entry("mute", mute.port)}`;
  w = new WorkerHarness();
  await w.apply(compileYaml(yaml, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" }));
});

afterAll(() => {
  w?.stop();
  upstream?.stop(true);
  mute?.stop(true);
});

/** One request; the whole response (the head and, for a 200, its body) within `ms`. */
const get = (path: string, ms = 3000) => raw(gw, `GET ${path} HTTP/1.1\r\nHost: example.com\r\n\r\n`, (b) => b.includes("try ") || (b.includes("\r\n\r\n") && !b.includes(" 200 ")), ms);
const status = (text: string) => Number(text.slice(9, 12));


test("a frame larger than our MAX_FRAME_SIZE: the connection fails, the client gets a 5xx", async () => {
  const r = await get("/big-frame");
  expect(status(r.text)).toBeGreaterThanOrEqual(502);
  expect(status(r.text)).toBeLessThanOrEqual(503);
});

test("HEADERS on an even stream id: the connection fails, the client gets a 5xx", async () => {
  const r = await get("/even-stream");
  expect(status(r.text)).toBeGreaterThanOrEqual(502);
  expect(status(r.text)).toBeLessThanOrEqual(503);
});

test("HEADERS on a stream id we never opened: the connection fails, the client gets a 5xx", async () => {
  const r = await get("/unknown-stream");
  expect(status(r.text)).toBeGreaterThanOrEqual(502);
  expect(status(r.text)).toBeLessThanOrEqual(503);
});

test("an upstream that never sends its SETTINGS: the try ends at the connect timeout (503/504), no hang", async () => {
  const r = await get("/mute", 5000);
  expect([503, 504]).toContain(status(r.text));
});

test("GOAWAY naming our stream, then the connection closed with it unanswered: 503, no hang", async () => {
  const r = await get("/goaway-close");
  expect(status(r.text)).toBe(503);
});

test("GOAWAY taking none of our streams, then the connection closed: retried (refused-stream), 200 from the second try", async () => {
  const r = await get("/refuse-close");
  expect(r.text).toStartWith("HTTP/1.1 200 ");
  expect(r.text).toContain("try 2");
});

test("a head continued for ever (empty CONTINUATION frames): the connection fails, the client gets a 5xx", async () => {
  const r = await get("/continuation-flood");
  expect(status(r.text)).toBeGreaterThanOrEqual(502);
  expect(status(r.text)).toBeLessThanOrEqual(503);
});

test("SETTINGS_INITIAL_WINDOW_SIZE taking a stream's send window past 2^31-1: the connection fails, the client gets a 5xx", async () => {
  const r = await get("/window-overflow");
  expect(status(r.text)).toBeGreaterThanOrEqual(502);
  expect(status(r.text)).toBeLessThanOrEqual(503);
});

describe("response fields RFC 9113 §8.2 makes malformed: the stream fails (502 UPE, as a malformed HTTP/1.1 head), nothing of them reaches the client", () => {
  for (const [k, [name]] of BAD_FIELDS.entries()) {
    test(`${name}: an HTTP/1.1 client gets 502 UPE`, async () => {
      const r = await get(`/bad-field-${k}`);
      expect(status(r.text)).toBe(502);
      expect(r.text).toEndWith("reset reason: protocol error");
      expect(r.text).not.toContain("injected");
    });
  }
  test("an HTTP/2 client gets 502 too (the fields are not sent on in HPACK)", async () => {
    // one connection each: the raw client reads a :status only when it is not a dynamic-table reference
    for (const k of BAD_FIELDS.keys()) {
      const c = await converse(gw, [request(1, `/bad-field-${k}`)], streamsOver(1));
      expect([k, c.streams.get(1)?.status]).toEqual([k, 502]);
    }
  });
  test("a CR LF in a trailer value: the stream fails after the body started; the HTTP/1.1 client's chunked body is cut, not ended by the injected blank line", async () => {
    const r = await get(`/bad-field-${BAD_TRAILER}`);
    expect(r.text).toStartWith("HTTP/1.1 200 ");
    expect(r.text).not.toContain("\r\n0\r\n");
    expect(r.text).not.toContain("HTTP/1.1 200 OK\r\n\r\n");
  });
});

describe("DATA past the response's content-length (RFC 9113 §8.1.1 malformed): the stream fails, as Envoy's codec fails it, never ends cleanly cut to its length", () => {
  test("in the frame that ends the stream: the HTTP/1.1 client gets the head and no body, its connection closed", async () => {
    const r = await get("/long-data-one");
    expect(r.text).toStartWith("HTTP/1.1 200 ");
    expect(r.text).toEndWith("\r\n\r\n");
    expect(r.text).not.toContain("POISON");
    expect(r.closed).toBe(true);
  });
  test("an HTTP/2 client's stream is reset, not ended, and gets none of the excess", async () => {
    const c = await converse(gw, [request(1, "/long-data-one")], streamsOver(1));
    const s = c.streams.get(1);
    // the head had not left yet when the excess came with it (one write): the reset alone, or the head then the reset
    expect([s?.status === 200 || s?.status === 0, s?.ended, (s?.rst ?? -1) > 0]).toEqual([true, false, true]);
    expect(s?.data).toBe(0);
  });
  test("excess in a later frame, after DATA that completed the length: the client already had the whole response and its end (the gateway ends a stream at its length); the excess never reaches it", async () => {
    const c = await converse(gw, [request(1, "/long-data-two")], streamsOver(1));
    expect(c.streams.get(1)?.data).toBe(2);
    const r = await raw(gw, "GET /long-data-two HTTP/1.1\r\nHost: example.com\r\n\r\n", (b) => b.includes("\r\n\r\nok"), 3000);
    expect(r.text).toEndWith("\r\n\r\nok");
  });
});

describe("a content-length other than 0 on a 1xx or a 204: malformed, as nghttp2 (Envoy's codec) takes it — 502, as for an HTTP/1.1 upstream", () => {
  test("204 with content-length 5: 502 UPE (was: the 204 passed on)", async () => {
    const r = await get("/status-204-length");
    expect(status(r.text)).toBe(502);
    expect(r.text).toEndWith("reset reason: protocol error");
  });
  test("100 with a content-length, then a 200: 502 UPE (was: the 200 passed on)", async () => {
    const r = await get("/status-100-length");
    expect(status(r.text)).toBe(502);
  });
  test("204 with content-length 0: passed on", async () => {
    const r = await get("/status-204-zero");
    expect(status(r.text)).toBe(204);
  });
});

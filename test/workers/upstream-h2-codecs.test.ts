// The two HTTP/2 upstream codecs side by side: the same requests through a
// worker on gangway's own client codec (the default) and one started with
// GANGWAY_H2_UPSTREAM=node, against the same upstreams. Status, fields
// (without date and service time), bodies, trailers (gRPC status) and resets
// must match, for h2 clients and, byte for byte, for HTTP/1.1 clients.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { call, grpcBackend, type GrpcBackend } from "./grpc-backend.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

let own: WorkerHarness;
let node: WorkerHarness;
const ports = { own: 0, node: 0 };
let grpc: GrpcBackend;
let web: http2.Http2Server;
const clients: http2.ClientHttp2Session[] = [];

/** An HTTP/2 upstream with fields node:http2 and our codec could shape differently. */
function webHandler(st: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders): void {
  st.on("error", () => {});
  const path = String(h[":path"]);
  if (path === "/fields") {
    st.respond({ ":status": 200, "set-cookie": ["a=1", "b=2"], "x-dup": ["one", "two"], "content-type": "text/plain", "x-echo-ua": String(h["user-agent"] ?? ""), "x-echo-te": String(h.te ?? "") });
    return void st.end("fields");
  }
  if (path === "/sized") {
    st.respond({ ":status": 200, "content-length": "5" });
    return void st.end("sized");
  }
  if (path === "/empty") return void st.respond({ ":status": 204 }, { endStream: true });
  if (path === "/big") {
    st.respond({ ":status": 200 });
    return void st.end(Buffer.alloc(700 * 1024, 0x61));
  }
  if (path === "/trailers") {
    st.respond({ ":status": 200, "content-type": "text/plain" }, { waitForTrailers: true });
    st.on("wantTrailers", () => st.sendTrailers({ "x-checksum": "abc" }));
    return void st.end("with trailers");
  }
  if (path === "/upload") {
    let n = 0;
    st.on("data", (d: Buffer) => (n += d.length));
    st.on("end", () => {
      st.respond({ ":status": 200 });
      st.end(`got ${n}`);
    });
    return;
  }
  if (path === "/reset") {
    st.respond({ ":status": 200 });
    st.write("part");
    return void setTimeout(() => st.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 10);
  }
  st.respond({ ":status": 404 });
  st.end();
}

const se = (name: string, port: number, portName: string, protocol: string, targetPort: number): string =>
  loopbackServiceEntry({ name, host: `${name}.internal`, port, targetPort, portName, protocol });


beforeAll(async () => {
  grpc = await grpcBackend();
  web = http2.createServer();
  web.on("session", (s) => s.on("error", () => {}));
  web.on("stream", webHandler);
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
  const webPort = (web.address() as AddressInfo).port;
  const routes =
    "  - match: [{uri: {prefix: /test.Echo/}}]\n    route: [{destination: {host: grpc.internal, port: {number: 50051}}}]\n" +
    "  - route: [{destination: {host: web.internal, port: {number: 8080}}}]\n";
  const yaml = `${gatewayWithRoutes(routes)}${se("grpc", 50051, "grpc", "GRPC", grpc.port)}${se("web", 8080, "http2", "HTTP2", webPort)}`;
  ports.own = freePort();
  ports.node = freePort();
  own = new WorkerHarness();
  node = new WorkerHarness({}, { ...(process.env as Record<string, string>), GANGWAY_H2_UPSTREAM: "node" });
  await own.apply(compileYaml(yaml, { portMap: new Map([[80, ports.own]]), bindAddress: "127.0.0.1" }));
  await node.apply(compileYaml(yaml, { portMap: new Map([[80, ports.node]]), bindAddress: "127.0.0.1" }));
});

afterAll(() => {
  for (const c of clients) c.close();
  own?.stop();
  node?.stop();
  grpc?.close();
  web?.close();
});

function h2client(port: number): http2.ClientHttp2Session {
  const c = http2.connect(`http://127.0.0.1:${port}`);
  c.on("error", () => {});
  clients.push(c);
  return c;
}

const VOLATILE = new Set(["date", "x-envoy-upstream-service-time"]);
function stable(h: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(h).sort()) if (!VOLATILE.has(k)) out[k] = h[k];
  return out;
}

interface H2Result {
  headers: Record<string, unknown>;
  body: string;
  trailers: Record<string, unknown>;
  reset: boolean;
}

function h2get(c: http2.ClientHttp2Session, method: string, path: string, body: Buffer | null, extra: Record<string, string> = {}): Promise<H2Result> {
  return new Promise((resolve) => {
    const st = c.request({ ":method": method, ":path": path, ":authority": "example.com", ...extra }, { endStream: body === null });
    const r: H2Result = { headers: {}, body: "", trailers: {}, reset: false };
    const parts: Buffer[] = [];
    st.on("response", (h) => (r.headers = stable({ ...h })));
    st.on("trailers", (t) => (r.trailers = stable({ ...t })));
    st.on("data", (d: Buffer) => parts.push(d));
    st.on("error", () => (r.reset = true));
    st.on("close", () => {
      r.body = Buffer.concat(parts).toString("latin1");
      r.reset ||= (st.rstCode ?? 0) !== 0;
      resolve(r);
    });
    if (body !== null) st.end(body);
  });
}

/** An HTTP/1.1 exchange's bytes without the lines that change from run to run. */
async function h1(port: number, request: string): Promise<string> {
  const done = (b: Buffer) => {
    const t = b.toString("latin1");
    const m = /content-length: (\d+)\r\n/i.exec(t);
    const head = t.indexOf("\r\n\r\n");
    if (m !== null && head >= 0) return t.length >= head + 4 + Number(m[1]);
    return /\r\n0\r\n([^\r\n]+\r\n)*\r\n$/.test(t); // the last chunk and its trailer section
  };
  const r = await raw(port, request, done, 2000);
  return r.text.replace(/^(date|x-envoy-upstream-service-time): .*\r\n/gim, "");
}

describe("own codec and node:http2 give the same answers", () => {
  const cases: [string, string, Buffer | null, Record<string, string>][] = [
    ["GET", "/fields", null, { "user-agent": "ua-1", te: "trailers" }],
    ["GET", "/sized", null, {}],
    ["HEAD", "/sized", null, {}],
    ["GET", "/empty", null, {}],
    ["GET", "/big", null, {}],
    ["GET", "/trailers", null, {}],
    ["POST", "/upload", Buffer.alloc(600 * 1024, 1), {}],
    ["GET", "/reset", null, {}],
    ["GET", "/missing", null, {}],
  ];
  for (const [method, path, body, extra] of cases) {
    test(`h2 client: ${method} ${path}`, async () => {
      const a = await h2get(h2client(ports.own), method, path, body, extra);
      const b = await h2get(h2client(ports.node), method, path, body, extra);
      expect(a).toEqual(b);
    });
  }

  const grpcCalls: [string, string[], Record<string, string> | null][] = [
    ["/test.Echo/Unary", ["ping"], null],
    ["/test.Echo/ServerStream", ["20"], null],
    ["/test.Echo/ClientStream", ["a", "bb", "ccc"], { "x-req-trailer": "t1" }],
    ["/test.Echo/Fail", ["x"], null],
    ["/test.Echo/Reset", ["x"], null],
  ];
  for (const [path, msgs, trailers] of grpcCalls) {
    test(`gRPC over h2: ${path}`, async () => {
      const a = await call(h2client(ports.own), path, msgs, {}, trailers);
      const b = await call(h2client(ports.node), path, msgs, {}, trailers);
      expect(stable(a.headers)).toEqual(stable(b.headers));
      expect(a.messages.map(String)).toEqual(b.messages.map(String));
      expect(stable(a.trailers)).toEqual(stable(b.trailers));
      expect(a.rst !== 0).toBe(b.rst !== 0);
    });
  }

  const h1cases = [
    "GET /fields HTTP/1.1\r\nHost: example.com\r\nUser-Agent: a\r\nUser-Agent: b\r\n\r\n",
    "GET /sized HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET /trailers HTTP/1.1\r\nHost: example.com\r\nTE: trailers\r\n\r\n",
    "POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n",
    "POST /test.Echo/Unary HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/grpc\r\nTE: trailers\r\nContent-Length: 9\r\n\r\n\x00\x00\x00\x00\x04ping",
    "POST /test.Echo/Unary HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/grpc-web-text\r\nContent-Length: 12\r\n\r\nAAAAAARwaW5n",
  ];
  for (const req of h1cases) {
    test(`HTTP/1.1 client, byte for byte: ${req.split("\r\n")[0]} (${req.length} bytes)`, async () => {
      const a = await h1(ports.own, req);
      const b = await h1(ports.node, req);
      expect(a).toStartWith("HTTP/1.1 ");
      expect(a).toBe(b);
    });
  }
});

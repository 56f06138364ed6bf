// Distributed tracing through the real gateway: a loopback backend that echoes
// the headers it gets, and loopback collectors (Zipkin JSON, OTLP/HTTP
// protobuf, OTLP/gRPC) that record what they receive. One worker, so that the
// spans of a run arrive in one order. The Telemetry is changed without a
// restart: provider, sampling, off.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer as createH2, type ServerHttp2Stream } from "node:http2";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { HTTP_GATEWAY, serviceEntry } from "../helpers/config.ts";
import { startGateway, writeAndReload, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { readExport, type OtlpSpan } from "../helpers/otlp.ts";

interface ZipkinSpan {
  traceId: string;
  parentId?: string;
  id: string;
  kind: string;
  name: string;
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
}

let backend: Backend;
const zipkinSpans: ZipkinSpan[] = [];
const zipkinHeaders: Headers[] = [];
const otlpHttp: OtlpSpan[] = [];
const otlpGrpc: OtlpSpan[] = [];
let zipkin: ReturnType<typeof Bun.serve>;
let otelHttp: ReturnType<typeof Bun.serve>;
const grpc = createH2();
/** An HTTP/2 (h2c) upstream that answers with the request's headers as JSON. */
const h2echo = createH2((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ headers: req.headers }));
});
const sockets: Socket[] = [];
const hanging = createServer((s) => void sockets.push(s));

beforeAll(async () => {
  backend = startHttpbin({ name: "app" });
  zipkin = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      zipkinHeaders.push(req.headers);
      zipkinSpans.push(...((await req.json()) as ZipkinSpan[]));
      return new Response(null, { status: 202 });
    },
  });
  otelHttp = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.headers.get("content-type") !== "application/x-protobuf" || new URL(req.url).pathname !== "/v1/traces") return new Response("", { status: 400 });
      for (const rs of readExport(Buffer.from(await req.arrayBuffer()))) otlpHttp.push(...rs.spans);
      return new Response("");
    },
  });
  grpc.on("stream", (stream: ServerHttp2Stream) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const b = Buffer.concat(chunks);
      for (const rs of readExport(b.subarray(5, 5 + b.readUInt32BE(1)))) otlpGrpc.push(...rs.spans);
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end();
    });
  });
  await new Promise<void>((r) => grpc.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => h2echo.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  zipkin.stop(true);
  otelHttp.stop(true);
  grpc.close();
  for (const s of sockets) s.destroy();
  hanging.close();
  h2echo.close();
  await backend.stop();
});

const port = (s: { address(): unknown }) => (s.address() as { port: number }).port;

function routes(): string {
  return `${HTTP_GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /headers}}, {uri: {prefix: /status}}]
    route: [{destination: {host: app.local, port: {number: 80}}}]
  - match: [{uri: {prefix: /anything}}]
    headers: {request: {set: {x-b3-sampled: "7", x-extra: "1"}}}
    route: [{destination: {host: app.local, port: {number: 80}}}]
  - match: [{uri: {prefix: /h2}}]
    route: [{destination: {host: h2echo.local, port: {number: 81}}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: h2echo}
spec:
  hosts: [h2echo.local]
  ports: [{number: 81, name: http2, protocol: HTTP2}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http2: ${port(h2echo)}}}]
---${serviceEntry("app", "app.local", 80, backend.port)}---${serviceEntry("zipkin", "zipkin.local", 9411, zipkin.port!)}---${serviceEntry("otel-http", "otel-http.local", 4318, otelHttp.port!)}---${serviceEntry("otel-grpc", "otel-grpc.local", 4317, port(grpc))}---${serviceEntry("hang", "hang.local", 9411, port(hanging))}`;
}

const MESH = `extensionProviders:
- name: zipkin
  zipkin: {service: zipkin.local, port: 9411, headers: [{name: x-collector-token, value: secret}]}
- name: otel-http
  opentelemetry: {service: otel-http.local, port: 4318, http: {path: /v1/traces}}
- name: otel-grpc
  opentelemetry: {service: otel-grpc.local, port: 4317, grpc: {}}
- name: hang
  zipkin: {service: hang.local, port: 9411, timeout: 0.3s}
`;

const telemetry = (provider: string, pct: number) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: ${provider}}]
    randomSamplingPercentage: ${pct}
    customTags:
      team: {literal: {value: edge}}
      user: {header: {name: x-user, defaultValue: anonymous}}
`;

async function headersVia(gw: GatewayProcess, path: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const r = await fetch(gw.url(80, path), { headers });
  expect(r.status).toBe(200);
  const body = (await r.json()) as { headers: Record<string, string> };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body.headers)) out[k.toLowerCase()] = v;
  return out;
}

async function until<T>(read: () => T[], n: number, what: string, ms = 8000): Promise<T[]> {
  const end = Date.now() + ms;
  while (read().length < n) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${read().length} of ${n}`);
    await Bun.sleep(20);
  }
  return read();
}

async function counter(gw: GatewayProcess, name: string): Promise<number> {
  const text = await (await gw.admin("/stats/prometheus")).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

let gw: GatewayProcess;
let config: string;
beforeAll(async () => {
  const mesh = writeTree({ "mesh.yaml": MESH });
  config = writeTree({ "routes.yaml": routes(), "telemetry.yaml": telemetry("zipkin", 100) });
  gw = await startGateway({ configDirs: [config], workers: 1, args: ["--mesh-config", join(mesh, "mesh.yaml"), "--access-log", "off"] });
});
afterAll(async () => {
  await gw.stop();
});

describe("tracing", () => {
  test("Zipkin: a new trace, its context upstream with the decorator operation, the sampled id, the spans at the collector", async () => {
    const h = await headersVia(gw, "/headers?q=1", { "x-user": "ann", "x-envoy-force-trace": "true" });
    expect(h["x-b3-traceid"]).toMatch(/^[0-9a-f]{32}$/);
    expect(h["x-b3-spanid"]).toMatch(/^[0-9a-f]{16}$/);
    expect(h["x-b3-parentspanid"]).toMatch(/^[0-9a-f]{16}$/); // the gateway's span: the upstream's context is its child's
    expect(h["x-b3-sampled"]).toBe("1");
    expect(h["x-envoy-decorator-operation"]).toBe("app.local:80/headers*");
    expect(h["x-request-id"]![14]).toBe("9"); // sampled, as Envoy marks it
    expect(h["x-envoy-force-trace"]).toBeUndefined(); // still stripped
    const both = await until(() => zipkinSpans.filter((z) => z.traceId === h["x-b3-traceid"]), 2, "the spans");
    const s = both.find((z) => z.id === h["x-b3-parentspanid"]);
    expect(s).toMatchObject({ kind: "CLIENT", name: "app.local:80/headers*", localEndpoint: { serviceName: "istio-ingressgateway.istio-system" } });
    expect(s!.parentId).toBeUndefined();
    // the upstream request's span (istiod's spawn_upstream_span for gateways)
    const up = both.find((z) => z.id === h["x-b3-spanid"]);
    expect(up).toMatchObject({ parentId: s!.id, kind: "CLIENT", name: "router outbound|80||app.local egress" });
    expect(up!.tags).toMatchObject({ "http.status_code": "200", "peer.address": `127.0.0.1:${backend.port}`, "upstream_cluster": "outbound|80||app.local", "http.protocol": "HTTP/1.1", team: "edge" });
    expect(up!.timestamp).toBeGreaterThanOrEqual(s!.timestamp);
    expect(s!.duration).toBeGreaterThan(0);
    expect(s!.tags).toMatchObject({
      "guid:x-request-id": h["x-request-id"],
      "http.url": `http://${new URL(gw.url(80)).host}/headers?q=1`,
      "http.method": "GET",
      "http.protocol": "HTTP/1.1",
      "http.status_code": "200",
      "peer.address": "127.0.0.1",
      "upstream_cluster": "outbound|80||app.local",
      "upstream_address": `127.0.0.1:${backend.port}`,
      "response_flags": "-",
      "component": "proxy",
      "istio.namespace": "istio-system",
      team: "edge",
      user: "ann",
    });
    expect(s!.tags.error).toBeUndefined();
    expect(zipkinHeaders[0]!.get("x-collector-token")).toBe("secret");
    // what applies shows in /config_dump
    const dump = (await (await gw.admin("/config_dump")).json()) as { tracing: { source: string; samplingPercent: number; collector: { kind: string; cluster: string } } };
    expect(dump.tracing).toMatchObject({ source: "Telemetry/istio-system/mesh-default", samplingPercent: 100, collector: { kind: "zipkin", cluster: "outbound|9411||zipkin.local" } });
    expect(zipkinHeaders[0]!.get("content-type")).toBe("application/json");
  });

  test("Zipkin: a client's B3 context is continued, its sampled flag honoured; a context that does not parse goes on untouched", async () => {
    const h = await headersVia(gw, "/headers", { "x-b3-traceid": "463ac35c9f6413ad48485a3953bb6124", "x-b3-spanid": "a2fb4a1d1a96d312", "x-b3-sampled": "0" });
    expect(h["x-b3-traceid"]).toBe("463ac35c9f6413ad48485a3953bb6124");
    expect(h["x-b3-parentspanid"]).not.toBe("a2fb4a1d1a96d312"); // the gateway's span, itself under the client's
    expect(h["x-b3-spanid"]).not.toBe("a2fb4a1d1a96d312");
    expect(h["x-b3-sampled"]).toBe("0"); // not reported, though sampling is 100 %
    const single = await headersVia(gw, "/headers", { b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1" });
    expect(single["x-b3-traceid"]).toBe("80f198ee56343ba864fe8b2a57d3eff7");
    const bad = await headersVia(gw, "/headers", { "x-b3-traceid": "nothex", "x-b3-spanid": "a2fb4a1d1a96d312" });
    expect(bad["x-b3-traceid"]).toBe("nothex");
    expect(bad["x-envoy-decorator-operation"]).toBe("app.local:80/headers*");
    const spans = await until(() => zipkinSpans.filter((z) => z.traceId === "80f198ee56343ba864fe8b2a57d3eff7"), 2, "the continued spans");
    const gwSpan = spans.find((z) => z.id === single["x-b3-parentspanid"]);
    expect(gwSpan!.parentId).toBe("e457b5a2e4d86bd1");
    expect(zipkinSpans.some((z) => z.traceId === "463ac35c9f6413ad48485a3953bb6124")).toBe(false);
  });

  test("a route's header operations stay, but never set a trace header twice (the span's wins)", async () => {
    const h = await headersVia(gw, "/anything");
    expect(h["x-extra"]).toBe("1");
    expect(h["x-b3-sampled"]).toBe("1");
    expect(h["x-envoy-decorator-operation"]).toBe("app.local:80/anything*");
  });

  test("an HTTP/2 upstream gets the same context and id as the span reports", async () => {
    const h = await headersVia(gw, "/h2", { "x-request-id": "0000270f-1111-4222-8333-444455556666" });
    expect(h["x-request-id"]).toBe("0000270f-1111-9222-8333-444455556666"); // the client's id, marked sampled
    expect(h["x-envoy-decorator-operation"]).toBe("h2echo.local:81/h2*");
    const spans = await until(() => zipkinSpans.filter((z) => z.traceId === h["x-b3-traceid"]), 2, "the HTTP/2 upstream's spans");
    expect(spans.find((z) => z.id === h["x-b3-spanid"])!.tags["http.protocol"]).toBe("HTTP/2");
    expect(spans.find((z) => z.id === h["x-b3-parentspanid"])!.tags["guid:x-request-id"]).toBe("0000270f-1111-9222-8333-444455556666");
  });

  test("a request no route serves is traced too: egress <host>, its status", async () => {
    const r = await fetch(gw.url(80, "/missing"), { headers: { "x-b3-traceid": "0000000000000000000000000000beef", "x-b3-spanid": "00000000000000aa" } });
    expect(r.status).toBe(404);
    await r.arrayBuffer();
    const [s] = await until(() => zipkinSpans.filter((z) => z.traceId === "0000000000000000000000000000beef"), 1, "the 404's span");
    expect(s!.name).toBe(`egress ${new URL(gw.url(80)).host}`);
    expect(s!.tags["http.status_code"]).toBe("404");
    expect(s!.tags["response_flags"]).toBe("NR");
    const five = await fetch(gw.url(80, "/status/503"), { headers: { "x-b3-traceid": "0000000000000000000000000000cafe", "x-b3-spanid": "00000000000000aa" } });
    await five.arrayBuffer();
    const e = await until(() => zipkinSpans.filter((z) => z.traceId === "0000000000000000000000000000cafe"), 2, "the 503's spans");
    expect(e.map((z) => z.tags.error)).toEqual(["true", "true"]);
  });

  test("0 %: nothing sampled, the context still propagated; x-client-trace-id forces a trace", async () => {
    await writeAndReload(gw, join(config, "telemetry.yaml"), telemetry("zipkin", 0));
    const h = await headersVia(gw, "/headers", { "x-envoy-force-trace": "true" });
    expect(h["x-b3-sampled"]).toBe("0");
    expect(h["x-request-id"]![14]).toBe("4"); // gangway's own id, not marked
    const forced = await headersVia(gw, "/headers", { "x-client-trace-id": "abc" });
    expect(forced["x-b3-sampled"]).toBe("1");
    expect(forced["x-request-id"]![14]).toBe("b");
    const forcedSpans = await until(() => zipkinSpans.filter((z) => z.traceId === forced["x-b3-traceid"]), 2, "the forced spans");
    expect(forcedSpans.find((z) => z.id === forced["x-b3-parentspanid"])!.tags["guid:x-client-trace-id"]).toBe("abc");
    expect(zipkinSpans.some((z) => z.traceId === h["x-b3-traceid"])).toBe(false);
  });

  test("OTLP/HTTP: traceparent continued with its tracestate, the span in protobuf", async () => {
    await writeAndReload(gw, join(config, "telemetry.yaml"), telemetry("otel-http", 100));
    const h = await headersVia(gw, "/headers", { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "congo=t61rcWkgMzE" });
    expect(h["traceparent"]).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(h["tracestate"]).toBe("congo=t61rcWkgMzE");
    expect(h["x-b3-traceid"]).toBeUndefined();
    const childId = h["traceparent"]!.split("-")[2];
    const spans = await until(() => otlpHttp.filter((x) => x.traceId === "0af7651916cd43dd8448eb211c80319c"), 2, "the OTLP/HTTP spans");
    const s = spans.find((x) => x.parentId === "b7ad6b7169203331");
    expect(s).toMatchObject({ traceState: "congo=t61rcWkgMzE", kind: 3, name: "app.local:80/headers*" });
    expect(spans.find((x) => x.spanId === childId)).toMatchObject({ parentId: s!.spanId, name: "router outbound|80||app.local egress" });
    expect(s!.endNs).toBeGreaterThan(s!.startNs);
    expect(s!.attributes).toMatchObject({ "http.status_code": "200", "guid:x-request-id": h["x-request-id"], user: "anonymous" });
  });

  test("OTLP/gRPC: a new trace's span arrives by an Export call", async () => {
    await writeAndReload(gw, join(config, "telemetry.yaml"), telemetry("otel-grpc", 100));
    const h = await headersVia(gw, "/headers");
    const traceId = h["traceparent"]!.split("-")[1];
    const spans = await until(() => otlpGrpc.filter((x) => x.traceId === traceId), 2, "the OTLP/gRPC spans");
    expect(spans.map((x) => x.parentId === "").sort()).toEqual([false, true]); // the gateway's root span and its upstream child
  });

  test("a collector that hangs: requests are served as ever; failed reports are counted", async () => {
    await writeAndReload(gw, join(config, "telemetry.yaml"), telemetry("hang", 100));
    const before = await counter(gw, "gangway_tracing_reports_failed_total");
    for (let i = 0; i < 70; i++) expect((await headersVia(gw, "/headers"))["x-b3-sampled"]).toBe("1"); // past one batch (64)
    const end = Date.now() + 10_000;
    while ((await counter(gw, "gangway_tracing_reports_failed_total")) <= before) {
      if (Date.now() > end) throw new Error("no failed report counted");
      await Bun.sleep(100);
    }
    expect(sockets.length).toBeGreaterThan(0); // the reports did reach it
  });

  test("tracing off (the Telemetry deleted): no trace headers, the client's go on untouched", async () => {
    await writeAndReload(gw, join(config, "telemetry.yaml"), "");
    const h = await headersVia(gw, "/headers", { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "x-b3-sampled": "1" });
    expect(h["traceparent"]).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    expect(h["x-b3-sampled"]).toBe("1");
    expect(h["x-b3-traceid"]).toBeUndefined();
    expect(h["x-envoy-decorator-operation"]).toBeUndefined();
    expect(h["x-request-id"]![14]).toBe("4");
  });
});

// The span exporter against collectors on loopback that misbehave: down
// (refused), hanging (accepts, never answers), slow to answer a gRPC call. A
// report fails and is counted; a full queue drops spans and counts them;
// nothing waits on the collector. Small limits stand in for the real ones.
import { afterAll, describe, expect, test } from "bun:test";
import { createServer, type Socket } from "node:net";
import { createServer as createH2, type ServerHttp2Stream } from "node:http2";
import type { TraceCollector } from "../../src/snapshot/tracing.ts";
import type { FinishedSpan } from "../../src/tracing/encode.ts";
import { stats } from "../../workers/stats.ts";
import { SpanExporter } from "../../workers/tracing-export.ts";
import { readExport } from "../helpers/otlp.ts";

const SPAN: FinishedSpan = { traceId: "463ac35c9f6413ad48485a3953bb6124", spanId: "a2fb4a1d1a96d312", parentId: "", tracestate: "", name: "op", startUs: 1e15, durationUs: 10, tags: [["k", "v"]] };

function collector(kind: TraceCollector["kind"], port: number, timeoutMs = 300): TraceCollector {
  return { name: "test", kind, cluster: "", address: `127.0.0.1:${port}`, authority: "collector", path: kind === "otlp-grpc" ? "/opentelemetry.proto.collector.trace.v1.TraceService/Export" : "/api/v2/spans", timeoutMs, headers: [["x-token", "t"]] };
}

const counter = (name: string): number => stats.sample()[name] ?? 0;

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(10);
  }
}

const sockets: Socket[] = [];
const hanging = createServer((s) => void sockets.push(s)); // accepts, reads nothing, answers nothing
await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
const hangPort = (hanging.address() as { port: number }).port;

afterAll(() => {
  for (const s of sockets) s.destroy();
  hanging.close();
});

describe("span export", () => {
  test("a collector that is down: the report fails and is counted", async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const port = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const before = counter("gangway_tracing_reports_failed_total");
    const e = new SpanExporter(collector("zipkin", port), "svc", { batch: 2, maxQueue: 100, flushMs: 50 });
    e.add(SPAN);
    e.add(SPAN);
    await until(() => counter("gangway_tracing_reports_failed_total") > before, "a failed report");
    e.close();
  });

  test("a collector that hangs: add() returns at once, reports time out, a full queue drops spans and counts them", async () => {
    const dropped = counter("gangway_tracing_spans_dropped_total");
    const failed = counter("gangway_tracing_reports_failed_total");
    const e = new SpanExporter(collector("zipkin", hangPort, 200), "svc", { batch: 5, maxQueue: 20, flushMs: 10_000 });
    for (let i = 0; i < 100; i++) e.add(SPAN); // synchronous: 2 reports of 5 in flight, 20 queued, the rest dropped
    expect(counter("gangway_tracing_spans_dropped_total") - dropped).toBe(70);
    await until(() => counter("gangway_tracing_reports_failed_total") - failed >= 2, "the hanging reports time out");
    e.close();
  });

  test("OTLP/gRPC: one Export call per batch with the metadata; a call that hangs times out and the next goes on a new connection", async () => {
    const calls: { path: string; token: string; body: Buffer }[] = [];
    let hang = false;
    const server = createH2();
    server.on("stream", (stream: ServerHttp2Stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const b = Buffer.concat(chunks);
        calls.push({ path: String(headers[":path"]), token: String(headers["x-token"]), body: b.subarray(5, 5 + b.readUInt32BE(1)) });
        if (hang) return;
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const sent = counter("gangway_tracing_spans_sent_total");
    const failed = counter("gangway_tracing_reports_failed_total");
    const e = new SpanExporter(collector("otlp-grpc", port, 300), "gw.istio-system", { batch: 3, maxQueue: 100, flushMs: 50 });
    for (let i = 0; i < 3; i++) e.add(SPAN);
    await until(() => counter("gangway_tracing_spans_sent_total") - sent === 3, "3 spans sent");
    expect(calls.length).toBe(1);
    expect(calls[0]!.path).toBe("/opentelemetry.proto.collector.trace.v1.TraceService/Export");
    expect(calls[0]!.token).toBe("t");
    const [rs] = readExport(calls[0]!.body);
    expect(rs!.resource).toEqual({ "service.name": "gw.istio-system" });
    expect(rs!.spans.map((s) => s.name)).toEqual(["op", "op", "op"]);
    hang = true;
    for (let i = 0; i < 3; i++) e.add(SPAN);
    await until(() => counter("gangway_tracing_reports_failed_total") > failed, "the hanging call fails");
    hang = false;
    for (let i = 0; i < 3; i++) e.add(SPAN);
    await until(() => counter("gangway_tracing_spans_sent_total") - sent === 6, "sent again after the timeout");
    e.close();
    server.close();
  });

  // config fuzz (test/fuzz-seeds/mesh/tracing on a worker): a provider with a long timeout on a collector that hangs
  // held both report slots, and reports stopped for good, also after the configuration named another collector
  test("a new collector gets reports while the old one still hangs on reports with a long timeout", async () => {
    let got = 0;
    const good = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (got++, new Response(null, { status: 202 })) });
    const e = new SpanExporter(collector("zipkin", hangPort, 3_600_000), "svc", { batch: 1, maxQueue: 100, flushMs: 10 });
    for (let i = 0; i < 3; i++) e.add(SPAN); // 2 reports hang for an hour, 1 queued
    e.update(collector("zipkin", Number(good.port)), "svc");
    e.add(SPAN);
    await until(() => got >= 2, "the queued span and the new one reach the new collector");
    e.close();
    good.stop(true);
  });

  test("a timeout above the timer limit (~24.8 days) waits for the answer: the gRPC call is not failed at once", async () => {
    const server = createH2();
    server.on("stream", (stream: ServerHttp2Stream) => {
      stream.on("data", () => undefined);
      stream.on("end", () =>
        setTimeout(() => {
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
          stream.end();
        }, 50),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const sent = counter("gangway_tracing_spans_sent_total");
    const failed = counter("gangway_tracing_reports_failed_total");
    const e = new SpanExporter(collector("otlp-grpc", port, 315_360_000_000), "svc", { batch: 1, maxQueue: 100, flushMs: 10 }); // 87600h
    e.add(SPAN);
    await until(() => counter("gangway_tracing_spans_sent_total") > sent || counter("gangway_tracing_reports_failed_total") > failed, "the call ends");
    expect(counter("gangway_tracing_reports_failed_total") - failed).toBe(0);
    e.close();
    server.close();
  });
});

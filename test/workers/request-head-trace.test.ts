// A traced request's head (workers/tracing.ts inject → request-head-bytes.ts): the trace fields
// classified at parse, their values read in one pass (trace-fields.ts), and the trace lines written
// by the head builder with the client's replaced fields left out — the same header lines as the
// same headers given as leading `set` operations (how they were passed before), in any head.
import { describe, expect, test } from "bun:test";
import type { TracingConfig } from "../../src/snapshot/tracing.ts";
import type { HeaderOperations, Snapshot } from "../../src/snapshot/types.ts";
import { fieldKindsScratch, fieldSpansScratch, R_OTHER, R_TRACE, requestKind, TRACE_NAMES } from "../../workers/http/fields.ts";
import type { ForwardIds, TraceLines } from "../../workers/http/heads-out.ts";
import { parseRequestHead, RequestHead } from "../../workers/http/parse-request.ts";
import { intoFrom, upstreamHeadAgain, upstreamHeadBytes, upstreamHeadInto } from "../../workers/http/request-head-bytes.ts";
import { readTraceFields, traceField } from "../../workers/http/trace-fields.ts";
import { type Traced, Tracer } from "../../workers/tracing.ts";

const NONE: HeaderOperations = { set: [], add: [], remove: [] };

function parse(text: string): RequestHead {
  const pre = "xx\r\n";
  const b = Buffer.from(pre + text, "latin1");
  const h = new RequestHead();
  expect(parseRequestHead(b, pre.length, pre.length + text.length, h, fieldSpansScratch(), fieldKindsScratch())).toBe(0);
  h.scheme = "http";
  return h;
}

function kindOf(name: string): number {
  const b = Buffer.from(name, "latin1");
  return requestKind(b, 0, b.length);
}

/** The trace lines for `pairs`, replacing the client's fields of those names. */
function traceLines(pairs: [string, string][]): TraceLines {
  let drop = 0;
  for (const [n] of pairs) {
    const i = (TRACE_NAMES as readonly string[]).indexOf(n);
    if (i >= 0) drop |= 1 << i;
  }
  const lines = pairs.map(([n, v]) => `${n}: ${v}\r\n`).join("");
  return { lines, drop, utf8: /[^\x00-\x7f]/.test(lines) };
}

/** The header lines of a head, sorted (the request line first). */
function lines(head: Buffer): string[] {
  const all = head.toString("latin1").split("\r\n");
  return [all[0]!, ...all.slice(1).sort()];
}

describe("trace fields classified at parse", () => {
  test("each trace name, in any case, has its kind; names beside them stay as they were", () => {
    TRACE_NAMES.forEach((n, i) => {
      expect(kindOf(n)).toBe(R_TRACE + i);
      expect(kindOf(n.toUpperCase())).toBe(R_TRACE + i);
    });
    for (const n of ["b4", "x-b3-traceix", "x-b3-spanix", "traceparenx", "tracestatx", "x-b3-parentspanix", "x-client-trace-ix", "user-agent", "x-request-ix"]) expect(kindOf(n)).toBe(R_OTHER);
  });

  test("their values read in one pass are RequestHead.header's (repeated ones joined)", () => {
    const h = parse(
      "GET / HTTP/1.1\r\nHost: a\r\nX-B3-TraceId: t1\r\nb3: s\r\nx-b3-spanid: s1\r\nX-B3-Sampled: 1\r\nx-b3-traceid: t2\r\ntraceparent: p\r\nTraceState: a=1\r\ntracestate: b=2\r\nX-Client-Trace-Id: c\r\nX-Other: o\r\n\r\n",
    );
    readTraceFields(h);
    for (const n of TRACE_NAMES) expect(traceField(n)).toBe(h.header(n));
    expect(traceField("x-b3-traceid")).toBe("t1,t2");
    expect(traceField("x-b3-parentspanid")).toBeUndefined();
    expect(traceField("x-other")).toBeUndefined();
    // another head read after: nothing of the first left
    readTraceFields(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    for (const n of TRACE_NAMES) expect(traceField(n)).toBeUndefined();
  });
});

const CLIENT =
  "GET /t HTTP/1.1\r\nHost: a.example\r\nX-B3-TraceId: 463ac35c9f6413ad\r\nX-B3-SpanId: a2fb4a1d1a96d312\r\nb3: 1\r\nx-b3-parentspanid: 0000000000000001\r\n" +
  "X-B3-Sampled: 0\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\ntracestate: congo=t61\r\nX-Client-Trace-Id: abc\r\nUser-Agent: u\r\n\r\n";

const B3: [string, string][] = [
  ["x-envoy-decorator-operation", "svc.ns.svc.cluster.local:80/*"],
  ["x-b3-traceid", "1111111111111111"],
  ["x-b3-spanid", "2222222222222222"],
  ["x-b3-sampled", "1"],
];
const CASES: [string, [string, string][]][] = [
  ["b3, no parent", B3],
  ["b3 with a parent", [...B3.slice(0, 3), ["x-b3-parentspanid", "3333333333333333"], B3[3]!]],
  ["w3c with tracestate", [B3[0]!, ["traceparent", "00-0af7651916cd43dd8448eb211c80319c-4444444444444444-01"], ["tracestate", "congo=t61"]]],
  ["the operation alone (a context that did not parse)", [B3[0]!]],
  ["a configured operation beyond ASCII", [["x-envoy-decorator-operation", "café.ns:80/*"], ...B3.slice(1)]],
  ["a client's tracestate with obs-text", [B3[0]!, ["traceparent", "00-0af7651916cd43dd8448eb211c80319c-4444444444444444-01"], ["tracestate", "k=\xe9"]]],
];
const OPS: [string, HeaderOperations][] = [
  ["no operations", NONE],
  ["operations", { set: [["X-Set", "s"]], add: [["x-b3-sampled", "added"]], remove: ["user-agent", "x-b3-parentspanid"] }],
];

describe("trace lines in the head", () => {
  for (const [name, pairs] of CASES) {
    for (const [opsName, ops] of OPS) {
      for (const text of [CLIENT, "GET /t HTTP/1.1\r\nHost: a.example\r\nConnection: x-b3-spanid, b3\r\nX-B3-SpanId: 1\r\nb3: 0\r\n\r\n"]) {
        test(`${name}, ${opsName}, ${text.includes("Connection") ? "nominated by the client" : "a client's context"}: the lines of the same headers as set operations`, () => {
          const h = parse(text);
          const asOps: HeaderOperations = { set: [...pairs, ...ops.set], add: ops.add, remove: ops.remove };
          const before = upstreamHeadBytes(h, "/t", "a.example", "192.0.2.7", "", asOps, { xff: "", requestId: "" });
          const rid = /x-request-id: ([^\r]*)\r\n/.exec(before.toString("latin1"))![1]!;
          const ids: ForwardIds = { xff: "192.0.2.7", requestId: rid, trace: traceLines(pairs) };
          const now = upstreamHeadAgain(h, "/t", "a.example", "", "", ops, ids, "", 2500);
          const asOpsTimed = upstreamHeadAgain(h, "/t", "a.example", "", "", asOps, { xff: "192.0.2.7", requestId: rid }, "", 2500);
          expect(lines(now)).toEqual(lines(asOpsTimed));
          // written where the timeout's line is (before it, the attempt count last), whatever the path
          const text2 = now.toString("latin1");
          expect(text2.indexOf(pairs[pairs.length - 1]![0] + ":")).toBeLessThan(text2.indexOf("x-envoy-expected-rq-timeout-ms:"));
          const scratch = Buffer.alloc(8192);
          const n = upstreamHeadInto(scratch, h, "/t", "a.example", "", "", ops, ids, "", 2500);
          expect(scratch.subarray(intoFrom, intoFrom + n).equals(now)).toBe(true);
        });
      }
    }
  }

  test("the client's replaced fields are not copied, those not replaced are (b3, a parent the span has not)", () => {
    const h = parse(CLIENT);
    const out = upstreamHeadAgain(h, "/t", "a.example", "", "", NONE, { xff: "192.0.2.7", requestId: "r", trace: traceLines(B3) }, "").toString("latin1");
    expect(out).not.toContain("X-B3-TraceId");
    expect(out).not.toContain("X-B3-Sampled");
    expect(out).toContain("\r\nb3: 1\r\nx-b3-parentspanid: 0000000000000001\r\n");
    expect(out).toContain("\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n");
    expect(out).toContain("x-request-id: r\r\nx-envoy-decorator-operation: svc.ns.svc.cluster.local:80/*\r\nx-b3-traceid: 1111111111111111\r\n");
  });

  test("a configured operation beyond ASCII goes as UTF-8", () => {
    const out = upstreamHeadAgain(parse(CLIENT), "/t", "a.example", "", "", NONE, { xff: "x", requestId: "r", trace: traceLines([["x-envoy-decorator-operation", "café:80/*"]]) }, "");
    expect(out.includes(Buffer.from("x-envoy-decorator-operation: café:80/*\r\n", "utf8"))).toBe(true);
  });
});

describe("Tracer.inject", () => {
  const headsIn = [
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nx-b3-traceid: 463ac35c9f6413ad48485a3953bb6124\r\nx-b3-spanid: a2fb4a1d1a96d312\r\nx-b3-sampled: 1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\ntracestate: congo=t61\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nx-b3-traceid: nothex\r\nx-b3-spanid: a2fb4a1d1a96d312\r\n\r\n",
  ];
  for (const propagation of ["b3", "w3c", "b3+w3c"] as const) {
    for (const spawnUpstreamSpan of [false, true]) {
      test(`${propagation}${spawnUpstreamSpan ? ", upstream span" : ""}: the lines are headers()' pairs, the fields dropped their trace names`, () => {
        const tracer = new Tracer();
        const config: TracingConfig = {
          propagation, collector: null, samplingPercent: 50, useRequestIdForSampling: true, traceId128: true, spawnUpstreamSpan,
          maxPathTagLength: 256, customTags: [], serviceName: "gw", namespace: "ns", source: "test",
        };
        tracer.apply({ tracing: config, listeners: [] } as unknown as Snapshot);
        expect(tracer.enabled).toBe(true);
        for (const text of headsIn) {
          for (const op of ["", "svc:80/*"]) {
            const h = parse(text);
            readTraceFields(h);
            const ex = { requestId: "0000270f-1111-4222-8333-444455556666", reqHeader: (n: string) => h.header(n) } as unknown as Traced;
            const t = tracer.start(ex, false, "192.0.2.1", "http", traceField);
            t.operation = op;
            tracer.inject(t);
            const pairs = tracer.headers(t);
            expect(t.lines).toBe(pairs.map(([n, v]) => `${n}: ${v}\r\n`).join(""));
            expect(t.drop).toBe(traceLines(pairs).drop);
            expect(t.utf8).toBe(false);
          }
        }
      });
    }
  }
});

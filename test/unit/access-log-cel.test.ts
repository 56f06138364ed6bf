// Telemetry filter expressions: the CEL subset compiled once, evaluated per line
// as Envoy's CEL access-log filter does (true writes; an error counts as false).
import { describe, expect, test } from "bun:test";
import { compileCel } from "../../src/compile/access-log-cel.ts";
import type { AccessRecord } from "../../workers/access-log.ts";
import { filterOf } from "../../workers/access-log-filter.ts";

const HTTP: AccessRecord = {
  startMs: Date.UTC(2026, 11, 7, 12, 0, 0),
  method: "GET",
  logPath: "/api/v1/items?page=2",
  protocol: "HTTP/1.1",
  status: 503,
  flags: "UF",
  details: "upstream_reset_before_response_started{connection_failure}",
  termination: "",
  transportFailure: "",
  bytesReceived: 0,
  bytesSent: 91,
  durationMs: 3,
  upstreamServiceTime: -1,
  xff: "10.0.0.9",
  userAgent: "curl/8.5",
  requestId: "id-1",
  authority: "shop.example.com",
  upstreamHost: "10.1.2.3:8080",
  upstreamCluster: "outbound|80||shop.default.svc.cluster.local",
  upstreamLocal: "",
  downstreamLocal: "10.0.0.1:443",
  downstreamRemote: "10.0.0.9:50000",
  sni: "shop.example.com",
  routeName: "shop.0",
  reqHeader: (n) => ({ "x-debug": "true", "x-tier": "gold", ":scheme": "https", referer: "https://shop.example.com/" })[n],
  mtls: true,
  respHeader: (n) => ({ "content-type": "text/plain", server: "istio-envoy" })[n] ?? null,
  respTrailer: () => null,
};
const OK: AccessRecord = {
  ...HTTP,
  status: 200,
  flags: "-",
  details: "via_upstream",
  mtls: false,
  durationMs: 1500,
  upstreamServiceTime: 1200,
  upstreamLocal: "10.0.0.1:41000",
  reqHeader: (n) => ({ "x-debug": "true", "x-tier": "gold", ":scheme": "https", "content-type": "application/grpc" })[n],
  respHeader: (n) => ({ "content-type": "application/grpc", "x-shard": "7" })[n] ?? null,
  respTrailer: (n) => ({ "grpc-status": "14", "x-checksum": "ab12" })[n] ?? null,
};
const TCP: AccessRecord = { ...HTTP, details: "", method: "", logPath: "", protocol: "-", status: 0, authority: "", requestId: "", userAgent: "", reqHeader: undefined, mtls: false };

function run(expr: string, r: AccessRecord): boolean {
  const c = compileCel(expr);
  if (!("node" in c)) throw new Error(`${expr}: ${c.message}`);
  return filterOf(c.node)(r);
}

describe("evaluating", () => {
  test.each([
    ["response.code >= 400", [true, false, false]],
    ["response.code >= 400 || request.headers['x-debug'] == 'true'", [true, true, false]],
    ["response.code == 200", [false, true, false]],
    ["response.code != 200", [true, false, false]], // TCP: no response.code, an error: not logged
    ["!(response.code < 500)", [true, false, false]],
    ["connection.mtls", [true, false, false]],
    ["connection.mtls && request.headers['x-tier'] == 'gold'", [true, false, false]],
    ["!connection.mtls", [false, true, true]],
    ["request.headers['x-missing'] == 'a'", [false, false, false]],
    ["request.headers['x-missing'] == 'a' || response.code >= 500", [true, false, false]], // error || true is true
    ["request.headers['x-missing'] == 'a' && response.code >= 500", [false, false, false]],
    ["'x-debug' in request.headers", [true, true, false]],
    ["!('x-missing' in request.headers)", [true, true, false]],
    ["request.method in ['POST', 'PUT']", [false, false, false]],
    ["response.code in [200, 204]", [false, true, false]],
    ["request.url_path.startsWith('/api/') && !request.path.endsWith('.css')", [true, true, false]],
    ["request.host.contains('shop')", [true, true, false]],
    ["request.url_path == '/api/v1/items'", [true, true, false]],
    ["connection.requested_server_name == 'shop.example.com'", [true, true, true]],
    ["source.address == '10.0.0.9' && destination.port == 443", [true, true, true]],
    ["upstream.address == '10.1.2.3' && upstream.port == 8080", [true, true, true]],
    ["xds.route_name == 'shop.0'", [true, true, true]],
    ["response.code_details.startsWith('upstream_reset')", [true, false, false]],
    ["response.code >= 500 ? true : request.headers['x-tier'] == 'gold'", [true, true, false]],
    ["response.code == '503'", [false, false, false]], // an int is not a string
    ["response.code > 'a'", [false, false, false]], // no ordering across types: an error
    ["request.scheme == 'https'", [true, true, false]],
    ["request.headers['X-Tier'] == \"gold\"", [true, true, false]],
    ["true", [true, true, true]],
    ["response.code", [false, false, false]], // not a boolean
    ["-response.code < -400", [true, false, false]],
    // response.flags: Envoy's bitmask (UF is bit 5); 0 without flags
    ["response.flags != 0", [true, false, true]],
    ["response.flags == 32u", [true, false, true]],
    ["response.flags == 0", [false, true, false]],
    // gRPC status: trailers, else headers, else the HTTP status mapped; not a gRPC request: an error
    ["response.grpc_status == 14", [false, true, false]],
    ["response.grpc_status != 0", [false, true, false]],
    ["response.headers['content-type'] == 'text/plain'", [true, false, false]],
    ["response.headers['X-Shard'] == '7'", [false, true, false]],
    ["response.headers['server'] == 'istio-envoy' || response.trailers['x-checksum'] == 'ab12'", [true, true, false]],
    // durations and times
    ["request.duration > duration('1s')", [false, true, false]],
    ["request.duration <= duration('3ms')", [true, false, true]],
    ["response.backend_latency >= duration('1.2s')", [false, true, false]],
    ["response.backend_latency < duration('1h')", [false, true, false]], // none (a local reply, TCP): an error
    ["request.time >= timestamp('2026-12-07T12:00:00Z') && request.time < timestamp('2026-12-07T13:00:00+01:00')", [false, false, false]],
    ["request.time == timestamp('2026-12-07T12:00:00Z')", [true, true, true]],
    ["request.duration > 1000", [false, false, false]], // a duration is not an int
    ["request.size == 0 && response.size == 91", [true, true, false]],
    ["request.query == 'page=2'", [true, true, false]],
    ["request.referer.startsWith('https://shop')", [true, false, false]],
    ["upstream.local_address == '10.0.0.1:41000'", [false, true, false]],
    ["connection.tls_version == 'TLSv1.3'", [false, false, false]], // no TLS on these records: an error
  ])("%s", (expr, want) => {
    expect([HTTP, OK, TCP].map((r) => run(expr, r))).toEqual(want as boolean[]);
  });
});

describe("what is not evaluated", () => {
  test.each([
    ["response.code >=", "Error", "not a CEL expression: unexpected the end"],
    ["response.code >= 400 &&", "Error", "not a CEL expression"],
    ["(response.code == 200", "Error", 'expected ")"'],
    ["request.headers['a] == 'b'", "Error", "unterminated string"],
    ["response.code # 3", "Error", 'unexpected "#"'],
    ["response.total_size > 10", "Warning", "gangway cannot evaluate the attribute response.total_size"],
    ["duration('soon') > request.duration", "Error", "not a duration"],
    ["request.time > timestamp('yesterday')", "Error", "not a RFC 3339 timestamp"],
    ["request.duration > duration(request.path)", "Warning", "duration() of anything but a string literal"],
    ["response.headers['a'] == response.headers", "Warning", "gangway cannot evaluate the attribute response.headers"],
    ["request.url_path.matches('^/api')", "Warning", "the function matches()"],
    ["size(request.path) > 3", "Warning", "the function size()"],
    ["response.code + 1 > 3", "Warning", "the operator +"],
    ["request.headers", "Warning", "request.headers as a whole"],
    ["request.headers[1] == 'a'", "Warning", "an index other than request.headers['name']"],
    ["response.duration > duration('1s')", "Warning", "gangway cannot evaluate"],
    ["{'a': 1}['a'] == 1", "Warning", "map literals"],
    ["response.code > 1.5", "Warning", "the number 1.5"],
  ])("%s: %s", (expr, level, message) => {
    const c = compileCel(expr);
    expect("node" in c).toBe(false);
    if ("node" in c) return;
    expect(c.level).toBe(level as "Error" | "Warning");
    expect(c.message).toContain(message);
  });
});

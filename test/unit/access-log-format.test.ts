// Access-log formats: Envoy command operators compiled once into parts, and the
// parts written for a record. Istio's two default formats must come out byte for
// byte as the hand-written fast paths (formatText / formatJson) write them.
import { describe, expect, test } from "bun:test";
import { compileJsonFormat, compileMeshFormat, compileTextFormat, ISTIO_JSON_FORMAT, ISTIO_TEXT_FORMAT, parseFormat } from "../../src/compile/access-log-format.ts";
import { OPS, type OpPart } from "../../src/snapshot/access-log.ts";
import { formatJson, formatText, type AccessRecord } from "../../workers/access-log.ts";
import { formatterOf, renderJson, renderText, strftime } from "../../workers/access-log-format.ts";

const HTTP: AccessRecord = {
  startMs: Date.UTC(2026, 11, 7, 15, 4, 5, 67),
  method: "GET",
  logPath: "/status/200?x=1",
  protocol: "HTTP/1.1",
  status: 200,
  flags: "-",
  details: "via_upstream",
  termination: "",
  transportFailure: "",
  bytesReceived: 12,
  bytesSent: 345,
  durationMs: 6,
  upstreamServiceTime: 5,
  xff: "10.0.0.9",
  userAgent: "curl/8.5",
  requestId: "abc-123",
  authority: "httpbin.example.com",
  upstreamHost: "127.0.0.1:8000",
  upstreamCluster: "outbound|8000||httpbin.default.svc.cluster.local",
  upstreamLocal: "127.0.0.1:40000",
  downstreamLocal: "127.0.0.1:8080",
  downstreamRemote: "[::1]:50000",
  sni: "",
  routeName: "default",
  reqHeader: (n) => ({ "x-tenant": "blue", "x-long": "abcdefghij", ":scheme": "http" })[n],
  mtls: false,
};

const TCP: AccessRecord = {
  ...HTTP,
  method: "",
  logPath: "",
  protocol: "-",
  status: 0,
  flags: "UF",
  details: "",
  termination: "connection_refused",
  upstreamServiceTime: -1,
  xff: "",
  userAgent: "",
  requestId: "",
  authority: "",
  sni: "tcp.example.com",
  reqHeader: undefined,
};

const LOCAL_REPLY: AccessRecord = { ...HTTP, status: 404, flags: "NR", details: "route_not_found", upstreamServiceTime: -1, upstreamHost: "", upstreamCluster: "", upstreamLocal: "", routeName: "" };

const parts = (text: string) => parseFormat(text).parts;
const opName = (p: unknown) => OPS[(p as OpPart).op];

describe("parseFormat", () => {
  test.each([
    ["%START_TIME%", ["START_TIME"]],
    ["[%START_TIME%] %REQ(:METHOD)%", ["[", "START_TIME", "] ", "REQ"]],
    ["100%% %RESPONSE_CODE%", ["100% ", "RESPONSE_CODE"]],
    ["%REQ(X-TENANT?X-ORG):8%|", ["REQ", "|"]],
    ["%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)% x", ["START_TIME", " x"]],
    ["%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %HOSTNAME%", ["DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", " ", "HOSTNAME"]],
  ])("%s", (text, want) => {
    const r = parseFormat(text);
    expect(r.problems).toEqual([]);
    expect(r.parts.map((p) => (typeof p === "string" ? p : opName(p)))).toEqual(want);
  });

  test("REQ names: lower case, alternative, length", () => {
    expect(parts("%REQ(X-Tenant?X-ORG):8%")[0]).toEqual({ op: OPS.indexOf("REQ"), names: ["x-tenant", "x-org"], max: 8 });
    expect(parts("%START_TIME(%s)%")[0]).toEqual({ op: OPS.indexOf("START_TIME"), names: ["%s"], max: -1 });
  });

  test("ENVIRONMENT(X) is read once, into the literal", () => {
    expect(parseFormat("pod=%ENVIRONMENT(POD_NAME)% ns=%ENVIRONMENT(NOPE)%", (n) => (n === "POD_NAME" ? "gw-1" : undefined)).parts).toEqual(["pod=gw-1 ns=-"]);
  });

  test.each([
    ["%RESPONSE_COD%", "Error", "RESPONSE_COD is not an Envoy command operator"],
    ["%REQ%", "Error", "REQ needs an argument"],
    ["%REQ()%", "Error", "REQ needs an argument"],
    ["%REQ(A?B?C)%", "Error", "expected REQ(HEADER) or REQ(HEADER?ALTERNATIVE)"],
    ["%DURATION(x)%", "Error", "DURATION takes no argument"],
    ["50% off", "Error", "not a command operator at position 2"],
    ["%REQ(x-a", "Error", "unterminated command operator"],
    ["%UPSTREAM_REQUEST_ATTEMPT_COUNT%", "Warning", "gangway does not produce it; it writes -"],
    ["%DYNAMIC_METADATA(istio.mixer:status)%", "Warning", "gangway does not produce it"],
    ["%DOWNSTREAM_PEER_CERT%", "Warning", "gangway does not produce it; it writes -"],
    ["%UPSTREAM_TLS_VERSION%", "Warning", "gangway does not produce it; it writes -"],
    ["%DOWNSTREAM_TLS_VERSION(x)%", "Error", "DOWNSTREAM_TLS_VERSION takes no argument"],
    ["%TRAILER()%", "Error", "TRAILER needs an argument"],
  ])("%s: %s", (text, level, message) => {
    const r = parseFormat(text);
    expect(r.problems.map((p) => p.level)).toEqual([level as "Error" | "Warning"]);
    expect(r.problems[0]!.message).toContain(message);
    if (level === "Warning") expect(r.parts.map(opName)).toEqual(["EMPTY"]);
  });
});

describe("Istio's default formats", () => {
  test("the default text format (current and older spelling) is the fast path", () => {
    expect(compileTextFormat("").format).toEqual({ kind: "text-default" });
    expect(compileTextFormat(ISTIO_TEXT_FORMAT).format).toEqual({ kind: "text-default" });
    expect(compileTextFormat(ISTIO_TEXT_FORMAT.replace("%UPSTREAM_CLUSTER_RAW%", "%UPSTREAM_CLUSTER%").trimEnd()).format).toEqual({ kind: "text-default" });
    expect(compileJsonFormat(null).format).toEqual({ kind: "json-default" });
    expect(compileJsonFormat({}).format).toEqual({ kind: "json-default" });
  });

  test.each([
    ["an HTTP request", HTTP],
    ["a TCP connection", TCP],
    ["a local reply", LOCAL_REPLY],
  ])("interpreted, it writes what formatText / formatJson write: %s", (_, r) => {
    const text = parseFormat(ISTIO_TEXT_FORMAT);
    expect(text.problems).toEqual([]);
    expect(renderText(text.parts, false, r)).toBe(formatText(r));
    expect(formatterOf({ kind: "text", parts: text.parts, omitEmpty: false })(r)).toBe(formatText(r));
    const json = compileJsonFormat(ISTIO_JSON_FORMAT, true); // omitEmpty forces the interpreter
    const root = json.format.kind === "json" ? json.format.root : null;
    expect(JSON.parse(renderJson(root!, false, r))).toEqual(JSON.parse(formatJson(r)));
  });
});

describe("writing a custom format", () => {
  test.each([
    ["%REQ(X-TENANT)% %REQ(X-NONE)% %REQ(X-NONE?X-TENANT)%", HTTP, "blue - blue\n"],
    ["%REQ(X-LONG):4% %REQ(:PATH)% %REQ_WITHOUT_QUERY(:PATH)%", HTTP, "abcd /status/200?x=1 /status/200\n"],
    ["%REQ(X-TENANT)% %REQ(:METHOD)% %PROTOCOL% %RESPONSE_CODE%", TCP, "- - - 0\n"],
    ["%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT% %DOWNSTREAM_LOCAL_PORT%", HTTP, "::1 50000 8080\n"],
    ["%UPSTREAM_HOST% %UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_LOCAL_PORT%", LOCAL_REPLY, "- - -\n"],
    ["%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %RESPONSE_FLAGS% %REQUESTED_SERVER_NAME%", TCP, "- UF tcp.example.com\n"],
    ["%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)% %START_TIME(%s)%", HTTP, "2026-12-07T15:04:05.067Z 1796655845\n"],
    ["%RESP(CONTENT-TYPE)%", HTTP, "-\n"],
  ])("%s", (format, r, want) => {
    const c = compileTextFormat(format);
    expect(formatterOf(c.format)(r)).toBe(want);
  });

  test("omitEmptyValues writes nothing for an empty value", () => {
    expect(formatterOf(compileTextFormat("[%REQ(X-NONE)%]", true).format)(HTTP)).toBe("[]\n");
  });

  test("JSON: one operator keeps its type, empty is null; mixed text is a string; constants and nesting stay", () => {
    const c = compileJsonFormat({ code: "%RESPONSE_CODE%", none: "%REQ(X-NONE)%", mix: "%REQ(:METHOD)% %REQ(X-NONE)%", n: 7, nested: { tenant: "%REQ(X-TENANT)%", lit: "plain" } });
    expect(c.problems).toEqual([]);
    const line = formatterOf(c.format)(HTTP);
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({ code: 200, none: null, mix: "GET -", n: 7, nested: { tenant: "blue", lit: "plain" } });
    const omit = compileJsonFormat({ code: "%RESPONSE_CODE%", none: "%REQ(X-NONE)%" }, true);
    expect(JSON.parse(formatterOf(omit.format)(HTTP))).toEqual({ code: 200 });
  });

  test("JSON problems name the key", () => {
    expect(compileJsonFormat({ a: { b: "%NOPE%" } }).problems).toEqual([{ level: "Error", message: "a.b: %NOPE%: NOPE is not an Envoy command operator (Envoy refuses the format)" }]);
  });

  test("the mesh config's format: TEXT as it is (a newline added), JSON as an object; not JSON: a Warning and the default keys, as istiod", () => {
    expect(formatterOf(compileMeshFormat("TEXT", "%RESPONSE_CODE%").format)(HTTP)).toBe("200\n");
    expect(JSON.parse(formatterOf(compileMeshFormat("JSON", '{"c":"%RESPONSE_CODE%"}').format)(HTTP))).toEqual({ c: 200 });
    const bad = compileMeshFormat("JSON", "%RESPONSE_CODE%");
    expect(bad.format).toEqual({ kind: "json-default" });
    expect(bad.problems[0]!.level).toBe("Warning");
    expect(compileMeshFormat("JSON", "").format).toEqual({ kind: "json-default" });
  });

  test("strftime: UTC fields, %s, fractions", () => {
    const ms = Date.UTC(2001, 1, 3, 4, 5, 6, 789);
    expect(strftime("%Y%m%d %H:%M:%S %f %1f %6f %z %Z %% %q", ms)).toBe("20010203 04:05:06 789000000 7 789000 +0000 UTC % %q");
  });
});

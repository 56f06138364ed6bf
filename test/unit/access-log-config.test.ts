// The snapshot's access-log sinks from the mesh config (accessLogFile,
// accessLogEncoding, accessLogFormat) and the flags: an explicit --access-log /
// --log-format wins; `accessLogFile: ""` is off, as in Istio; without
// accessLogFile gangway's default stdout log takes the mesh config's format.
import { describe, expect, test } from "bun:test";
import type { AccessLogFlags } from "../../src/compile/access-log.ts";
import { decodeMeshConfig } from "../../src/decode/meshconfig.ts";
import type { AccessLogConfig } from "../../src/snapshot/access-log.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;

const FLAGS: AccessLogFlags = { target: "stdout", targetExplicit: false, format: "text", formatExplicit: false };

function mesh(yaml: string) {
  const r = decodeMeshConfig("mesh.yaml", yaml);
  expect(r.errors).toEqual([]);
  return r;
}

function compiled(meshYaml: string, flags: Partial<AccessLogFlags> = {}, config = GATEWAY) {
  const s = compileYaml(config, { mesh: mesh(meshYaml).mesh, accessLog: { ...FLAGS, ...flags } });
  return { log: s.accessLog!, lines: findingLines(s).filter((l) => / GW095/.test(l)) };
}

/** [name, path, format kind] per sink. */
const sinks = (c: AccessLogConfig) => c.sinks.map((s) => [s.name, s.path, s.format.kind]);

describe("mesh config accessLogFile / accessLogEncoding / accessLogFormat against the flags", () => {
  test.each([
    ["nothing set: gangway's default stdout, text", "", {}, [["--access-log", "stdout", "text-default"]]],
    ["nothing set, --access-log off", "", { target: "off", targetExplicit: true }, []],
    ["--log-format json (not given explicitly counts the same without a mesh setting)", "", { format: "json" as const }, [["--access-log", "stdout", "json-default"]]],
    ["accessLogFile /dev/stdout", "accessLogFile: /dev/stdout\n", {}, [["meshConfig", "/dev/stdout", "text-default"]]],
    ['accessLogFile "" is off, as in Istio', 'accessLogFile: ""\n', {}, []],
    ['accessLogFile "", an explicit --access-log wins', 'accessLogFile: ""\n', { target: "/tmp/a.log", targetExplicit: true }, [["meshConfig", "/tmp/a.log", "text-default"]]],
    ["accessLogFile, an explicit --access-log off wins", "accessLogFile: /var/log/a\n", { target: "off", targetExplicit: true }, []],
    ["accessLogFile, an explicit --access-log PATH wins", "accessLogFile: /var/log/a\n", { target: "/tmp/b", targetExplicit: true }, [["meshConfig", "/tmp/b", "text-default"]]],
    ["accessLogFile, --access-log not explicit: the mesh config's", "accessLogFile: /var/log/a\n", { target: "/tmp/b" }, [["meshConfig", "/var/log/a", "text-default"]]],
    ["accessLogEncoding JSON", "accessLogFile: /dev/stdout\naccessLogEncoding: JSON\n", {}, [["meshConfig", "/dev/stdout", "json-default"]]],
    ["accessLogEncoding JSON, explicit --log-format text wins", "accessLogFile: /dev/stdout\naccessLogEncoding: JSON\n", { formatExplicit: true }, [["meshConfig", "/dev/stdout", "text-default"]]],
    ["accessLogEncoding TEXT, explicit --log-format json wins", "accessLogEncoding: TEXT\n", { format: "json" as const, formatExplicit: true }, [["--access-log", "stdout", "json-default"]]],
    ["accessLogEncoding JSON beats a --log-format not given", "accessLogEncoding: JSON\n", {}, [["--access-log", "stdout", "json-default"]]],
    ["accessLogFormat without accessLogFile: gangway's stdout log takes it", "accessLogFormat: '%RESPONSE_CODE%'\n", {}, [["--access-log", "stdout", "text"]]],
  ])("%s", (_, yaml, flags, want) => {
    expect(sinks(compiled(yaml, flags).log)).toEqual(want as string[][]);
  });

  test("an explicit --access-log over the mesh config's file is said (Info GW0954)", () => {
    expect(compiled("accessLogFile: /var/log/a\n", { target: "/tmp/b", targetExplicit: true }).lines).toEqual([
      "Info GW0954 -: meshConfig accessLogFile writes to /var/log/a; the explicit --access-log /tmp/b wins",
    ]);
    expect(compiled('accessLogFile: ""\n', { target: "stdout", targetExplicit: true }).lines).toEqual([
      "Info GW0954 -: meshConfig accessLogFile turns the access log off; the explicit --access-log stdout wins",
    ]);
    expect(compiled("accessLogFile: /tmp/b\n", { target: "/tmp/b", targetExplicit: true }).lines).toEqual([]);
  });

  test("accessLogFormat/accessLogEncoding without accessLogFile: Istio logs nothing, gangway's default log uses them (Info GW0955)", () => {
    expect(compiled("accessLogFormat: '%RESPONSE_CODE%'\n").lines).toEqual([
      'Info GW0955 -: accessLogFormat without accessLogFile: Istio writes no access log then; gangway\'s default log (--access-log stdout) uses it (accessLogFile: "" turns it off, as in Istio)',
    ]);
    expect(compiled("accessLogEncoding: JSON\naccessLogFormat: '{}'\n").lines).toEqual([
      'Info GW0955 -: accessLogFormat and accessLogEncoding without accessLogFile: Istio writes no access log then; gangway\'s default log (--access-log stdout) uses them (accessLogFile: "" turns it off, as in Istio)',
    ]);
    // a file set, the log off, or an explicit --access-log: nothing to say
    expect(compiled("accessLogFile: /dev/stdout\naccessLogFormat: '%RESPONSE_CODE%'\n").lines).toEqual([]);
    expect(compiled('accessLogFile: ""\naccessLogFormat: \'%RESPONSE_CODE%\'\n').lines).toEqual([]);
    expect(compiled("accessLogFormat: '%RESPONSE_CODE%'\n", { target: "stdout", targetExplicit: true }).lines).toEqual([]);
    expect(compiled("accessLogFormat: '%RESPONSE_CODE%'\n", { target: "off" }).lines).toEqual([]);
  });

  test("a JSON accessLogFormat: the keys, compiled", () => {
    const c = compiled("accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: '{\"code\": \"%RESPONSE_CODE%\", \"tenant\": \"%REQ(X-TENANT)%\"}'\n").log;
    expect(c.sinks[0]!.format.kind).toBe("json");
  });

  test("a text accessLogFormat read as JSON by an explicit --log-format json: a Warning, Istio's default JSON keys", () => {
    const c = compiled("accessLogFormat: '%RESPONSE_CODE%'\n", { format: "json", formatExplicit: true });
    expect(sinks(c.log)).toEqual([["--access-log", "stdout", "json-default"]]);
    const w = c.lines.filter((l) => l.includes("GW0950"));
    expect(w).toHaveLength(1);
    expect(w[0]).toStartWith("Warning GW0950 -: accessLogFormat read as JSON (--log-format json): accessLogFormat is not a JSON object");
  });

  test("no access-log flags in the compile options (unit compiles): no configuration, the workers keep theirs", () => {
    expect(compileYaml(GATEWAY).accessLog).toBeUndefined();
  });
});

describe("decoding the access-log fields", () => {
  test("an operator Envoy does not know is an Error naming the field; one gangway cannot produce a Warning", () => {
    const bad = decodeMeshConfig("mesh.yaml", "accessLogFormat: '%START_TIME% %RESPONSE_COD%'\n");
    expect(bad.errors.map((e) => [e.code, e.field, e.message])).toEqual([["GW0950", "accessLogFormat", "%RESPONSE_COD%: RESPONSE_COD is not an Envoy command operator (Envoy refuses the format)"]]);
    const warn = decodeMeshConfig("mesh.yaml", "accessLogFormat: '%UPSTREAM_REQUEST_ATTEMPT_COUNT%'\n");
    expect(warn.errors).toEqual([]);
    expect(warn.notRead.map((f) => [f.level, f.code, f.field])).toEqual([["Warning", "GW0950", "accessLogFormat"]]);
  });

  test("accessLogEncoding other than TEXT/JSON is an Error", () => {
    expect(decodeMeshConfig("mesh.yaml", "accessLogEncoding: XML\n").errors.map((e) => [e.field, e.message])).toEqual([["accessLogEncoding", 'expected TEXT or JSON, got "XML"']]);
  });

  test("the access-log fields are read, not reported as unread (GW0009)", () => {
    const r = mesh("accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: ''\ndefaultProviders:\n  accessLogging: [envoy]\n  tracing: [zipkin]\n");
    expect(r.notRead.map((f) => f.field)).toEqual([]); // defaultProviders.tracing is read too (meshconfig-tracing.ts)
    expect(r.mesh.accessLog).toMatchObject({ file: "/dev/stdout", encoding: "JSON", format: "", defaultProviders: ["envoy"] });
  });

  test("envoyFileAccessLog providers: path (default /dev/stdout), logFormat text or labels; the built-in envoy takes the mesh format", () => {
    const r = mesh(
      [
        "extensionProviders:",
        "- name: file",
        "  envoyFileAccessLog: {path: /var/log/gw.log, logFormat: {text: '%RESPONSE_CODE%'}}",
        "- name: json",
        "  envoyFileAccessLog: {logFormat: {labels: {code: '%RESPONSE_CODE%'}}}",
        "- name: plain",
        "  envoyFileAccessLog: {}",
        "- name: otel",
        "  envoyOtelAls: {service: otel.svc, port: 4317}",
        "",
      ].join("\n"),
    );
    expect(r.mesh.accessLog.fileProviders.map((p) => [p.name, p.path, p.format?.kind ?? null])).toEqual([
      ["envoy", "/dev/stdout", null],
      ["file", "/var/log/gw.log", "text"],
      ["json", "/dev/stdout", "json"],
      ["plain", "/dev/stdout", "text-default"],
    ]);
    expect(r.mesh.accessLog.otherProviders.get("otel")).toBe("envoyOtelAls");
    expect(r.notRead).toEqual([]);
  });
});

// Telemetry accessLogging → the snapshot's access-log sinks, as istiod computes
// them for a gateway (pilot/pkg/model/telemetry_logging_test.go TestAccessLogging's
// cases, seen from a CLIENT workload), which Telemetry objects apply (root and
// gateway namespace, selector, targetRef), and what is reported.
import { describe, expect, test } from "bun:test";
import type { AccessLogFlags } from "../../src/compile/access-log.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import { decodeMeshConfig } from "../../src/decode/meshconfig.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
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

const MESH = `
extensionProviders:
- name: envoy-json
  envoyFileAccessLog: {path: /var/log/json.log, logFormat: {labels: {code: "%RESPONSE_CODE%"}}}
- name: otel
  envoyOtelAls: {service: otel.observability.svc.cluster.local, port: 4317}
`;

/** A Telemetry document. */
function tel(ns: string, name: string, body: string, created = ""): string {
  return `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ${name}, namespace: ${ns}${created === "" ? "" : `, creationTimestamp: "${created}"`}}
spec:
${body}`;
}

const ENVOY = "  accessLogging: [{providers: [{name: envoy}]}]\n";
const DISABLED = "  accessLogging: [{disabled: true}]\n";

function compile(yaml: string, o: { mesh?: string; flags?: Partial<AccessLogFlags>; namespace?: string; labels?: Record<string, string> } = {}): Snapshot {
  const mesh = decodeMeshConfig("mesh.yaml", o.mesh ?? MESH);
  expect(mesh.errors).toEqual([]);
  const over: Parameters<typeof compileYaml>[1] = { mesh: mesh.mesh, accessLog: { ...FLAGS, ...o.flags } };
  if (o.namespace !== undefined) over.namespace = o.namespace;
  if (o.labels !== undefined) over.labels = o.labels;
  return compileYaml(GATEWAY + yaml, over);
}

/** name path format-kind filter? per sink, and what decided. */
function sinks(s: Snapshot): string[] {
  return s.accessLog!.sinks.map((k) => `${k.name} ${k.path} ${k.format.kind}${k.filter === null ? "" : " filtered"}`);
}
const source = (s: Snapshot) => s.accessLog!.source;
const lines = (s: Snapshot, code: string) => findingLines(s).filter((l) => l.includes(` ${code} `));

describe("which providers log (istiod's mergeLogs for a CLIENT workload)", () => {
  test.each([
    ["no Telemetry: the flags' default", "", "", ["--access-log stdout text-default"]],
    ["root namespace: the built-in envoy provider, in the mesh format", tel("istio-system", "mesh-default", ENVOY), "", ["envoy /dev/stdout text-default"]],
    ["match.mode CLIENT applies to a gateway", tel("istio-system", "t", "  accessLogging: [{match: {mode: CLIENT}, providers: [{name: envoy}]}]\n"), "", ["envoy /dev/stdout text-default"]],
    ["match.mode SERVER does not: the mesh config decides", tel("istio-system", "t", "  accessLogging: [{match: {mode: SERVER}, providers: [{name: envoy}]}]\n"), "", ["--access-log stdout text-default"]],
    ["disabled in the gateway namespace over the root's envoy: off", tel("istio-system", "root", ENVOY) + tel("apps", "off", DISABLED), "", []],
    ["defaultProviders alone", "", "defaultProviders: {accessLogging: [envoy]}\n", ["envoy /dev/stdout text-default"]],
    ["defaultProviders, disabled by a namespace Telemetry", tel("apps", "off", DISABLED), "defaultProviders: {accessLogging: [envoy]}\n", []],
    ["disabled with neither providers nor defaultProviders changes nothing (as in Istio)", tel("apps", "off", DISABLED), "", ["--access-log stdout text-default"]],
    ["a provider with its own path and JSON labels", tel("apps", "json", "  accessLogging: [{providers: [{name: envoy-json}]}]\n"), "", ["envoy-json /var/log/json.log json"]],
    ["a namespace level overrides the root's providers", tel("istio-system", "root", ENVOY) + tel("apps", "json", "  accessLogging: [{providers: [{name: envoy-json}]}]\n"), "", ["envoy-json /var/log/json.log json"]],
    ["an empty entry inherits the parent's providers", tel("istio-system", "root", ENVOY) + tel("apps", "empty", "  accessLogging: [{}]\n"), "", ["envoy /dev/stdout text-default"]],
    ["two entries, two providers", tel("apps", "two", "  accessLogging: [{providers: [{name: envoy}]}, {providers: [{name: envoy-json}]}]\n"), "", ["envoy /dev/stdout text-default", "envoy-json /var/log/json.log json"]],
    ["a filter applies to the providers it names", tel("apps", "f", "  accessLogging: [{providers: [{name: envoy}], filter: {expression: 'response.code >= 400'}}]\n"), "", ["envoy /dev/stdout text-default filtered"]],
    ["a later entry for the same provider sets its filter", tel("apps", "f", "  accessLogging: [{providers: [{name: envoy}], filter: {expression: 'response.code >= 500'}}, {providers: [{name: envoy}]}]\n"), "", ["envoy /dev/stdout text-default"]],
    ["an otel provider: istiod configures it, gangway cannot write it", tel("apps", "o", "  accessLogging: [{providers: [{name: otel}]}]\n"), "", []],
    ["a provider the mesh config does not define: the mesh config decides", tel("apps", "n", "  accessLogging: [{providers: [{name: nope}]}]\n"), "accessLogFile: /var/log/mesh.log\n", ["meshConfig /var/log/mesh.log text-default"]],
    ["the built-in envoy takes the mesh config's encoding", tel("istio-system", "root", ENVOY), "accessLogEncoding: JSON\n", ["envoy /dev/stdout json-default"]],
  ])("%s", (_, yaml, mesh, want) => {
    const s = compile(yaml, { mesh: MESH + mesh, namespace: "apps" });
    expect(sinks(s)).toEqual(want);
  });

  test("an explicit --access-log takes the providers' paths (Info GW0954); off turns them off", () => {
    const yaml = tel("apps", "two", "  accessLogging: [{providers: [{name: envoy}]}, {providers: [{name: envoy-json}]}]\n");
    const s = compile(yaml, { namespace: "apps", flags: { target: "/tmp/x.log", targetExplicit: true } });
    expect(sinks(s)).toEqual(["envoy /tmp/x.log text-default", "envoy-json /tmp/x.log json"]);
    expect(lines(s, "GW0954")).toEqual(["Info GW0954 -: Telemetry/apps/two writes to /dev/stdout, /var/log/json.log; the explicit --access-log /tmp/x.log wins"]);
    expect(sinks(compile(yaml, { namespace: "apps", flags: { target: "off", targetExplicit: true } }))).toEqual([]);
  });

  test("the sources are named", () => {
    expect(source(compile(tel("istio-system", "root", ENVOY) + tel("apps", "json", "  accessLogging: [{providers: [{name: envoy-json}]}]\n"), { namespace: "apps" }))).toBe("Telemetry/istio-system/root, Telemetry/apps/json");
    expect(source(compile("", { mesh: MESH + "defaultProviders: {accessLogging: [envoy]}\n" }))).toBe("meshConfig defaultProviders.accessLogging");
  });
});

describe("which Telemetry applies to this gateway", () => {
  const sel = (labels: string) => `  selector: {matchLabels: {${labels}}}\n  accessLogging: [{providers: [{name: envoy-json}]}]\n`;

  test.each([
    ["a selector matching the gateway's labels, in its namespace", tel("apps", "s", sel("istio: ingressgateway")), ["envoy-json /var/log/json.log json"], ""],
    ["a selector that does not match", tel("apps", "s", sel("app: other")), ["--access-log stdout text-default"], "Info GW0952 Telemetry/apps/s: not applied to this gateway: selector app=other does not match this gateway's labels"],
    ["a selector in the root namespace, gateway elsewhere", tel("istio-system", "s", sel("istio: ingressgateway")), ["--access-log stdout text-default"], "Info GW0952 Telemetry/istio-system/s: not applied to this gateway: a Telemetry with a selector applies in its own namespace only (istio-system, the gateway's is apps)"],
    ["another namespace", tel("other", "t", ENVOY), ["--access-log stdout text-default"], "Info GW0952 Telemetry/other/t: not applied to this gateway: namespace other is neither the root namespace istio-system nor the gateway namespace apps"],
  ])("%s", (_, yaml, want, info) => {
    const s = compile(yaml, { namespace: "apps" });
    expect(sinks(s)).toEqual(want);
    expect(lines(s, "GW0952")).toEqual(info === "" ? [] : [info]);
  });

  test("a targetRef naming this Gateway API gateway applies", () => {
    const yaml = tel("apps", "t", "  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]\n  accessLogging: [{providers: [{name: envoy-json}]}]\n");
    expect(sinks(compile(yaml, { namespace: "apps", labels: { istio: "ingressgateway", "gateway.networking.k8s.io/gateway-name": "edge" } }))).toEqual(["envoy-json /var/log/json.log json"]);
    expect(sinks(compile(yaml, { namespace: "apps", labels: { istio: "ingressgateway", "gateway.networking.k8s.io/gateway-name": "other" } }))).toEqual(["--access-log stdout text-default"]);
  });

  test("two without selector in one namespace: the older applies, the other is a Warning", () => {
    const s = compile(tel("apps", "b-new", DISABLED, "2026-02-01T00:00:00Z") + tel("apps", "a-old", "  accessLogging: [{providers: [{name: envoy-json}]}]\n", "2026-01-01T00:00:00Z"), { namespace: "apps" });
    expect(sinks(s)).toEqual(["envoy-json /var/log/json.log json"]);
    expect(lines(s, "GW0952")).toEqual(["Warning GW0952 Telemetry/apps/b-new: not applied: Telemetry/apps/a-old is older, and Istio applies one Telemetry without selector or targetRef per namespace"]);
  });
});

describe("what is reported", () => {
  test("metrics stay not applied (GW0116, naming the field); accessLogging and tracing are read", () => {
    const s = compile(tel("istio-system", "t", `${ENVOY}  tracing: [{randomSamplingPercentage: 10}]\n  metrics: [{providers: [{name: prometheus}]}]\n`));
    expect(s.findings.filter((f) => f.code === "GW0116").map((f) => [f.level, f.resource, f.field])).toEqual([["Warning", "Telemetry/istio-system/t", "spec.metrics"]]);
    // a tracing entry without a provider (none in defaultProviders either): nothing traced, said once
    expect(s.findings.filter((f) => f.code === "GW0970").map((f) => [f.level, f.resource, f.field])).toEqual([["Warning", "Telemetry/istio-system/t", "spec.tracing"]]);
    expect(s.tracing).toBeUndefined();
    expect(sinks(s)).toEqual(["envoy /dev/stdout text-default"]);
  });

  test("a filter gangway cannot evaluate: a Warning naming the field, every line written", () => {
    const s = compile(tel("istio-system", "t", "  accessLogging: [{providers: [{name: envoy}], filter: {expression: \"request.url_path.matches('^/api')\"}}]\n"));
    expect(sinks(s)).toEqual(["envoy /dev/stdout text-default"]);
    expect(s.findings.filter((f) => f.code === "GW0951").map((f) => [f.level, f.field, f.message])).toEqual([
      ["Warning", "spec.accessLogging[0].filter.expression", "gangway cannot evaluate the function matches(): the filter is not applied, every line is written"],
    ]);
  });

  test("a filter on an entry without providers is not applied, as in Istio: a Warning", () => {
    const s = compile(tel("istio-system", "root", ENVOY) + tel("apps", "f", "  accessLogging: [{filter: {expression: 'response.code >= 400'}}]\n"), { namespace: "apps" });
    expect(sinks(s)).toEqual(["envoy /dev/stdout text-default"]);
    expect(lines(s, "GW0951")).toEqual(["Warning GW0951 Telemetry/apps/f: a filter applies to the providers its entry names, and this entry names none (as in Istio): not applied"]);
  });

  test("providers gangway cannot write to, or not defined: a Warning", () => {
    expect(lines(compile(tel("istio-system", "o", "  accessLogging: [{providers: [{name: otel}]}]\n")), "GW0953")).toEqual([
      'Warning GW0953 Telemetry/istio-system/o: provider "otel" is envoyOtelAls, which gangway cannot write to (it writes envoyFileAccessLog providers): no access log for it',
    ]);
    expect(lines(compile(tel("istio-system", "n", "  accessLogging: [{providers: [{name: nope}]}]\n")), "GW0953")).toEqual([
      'Warning GW0953 Telemetry/istio-system/n: provider "nope" is not defined in the mesh config\'s extensionProviders: no access log for it',
    ]);
  });

  test("decode: a filter that is not CEL is refused (Istio's webhook), naming the field; v1alpha1 is read; a version the CRD does not serve is GW0114", () => {
    const bad = decodeFiles([{ path: "t.yaml", text: tel("istio-system", "t", "  accessLogging: [{providers: [{name: envoy}], filter: {expression: 'response.code >='}}]\n") }]);
    expect(bad.errors.map((e) => [e.code, e.field])).toEqual([["GW0951", "spec.accessLogging[0].filter.expression"]]);
    const alpha = decodeFiles([{ path: "t.yaml", text: tel("istio-system", "t", ENVOY).replace("telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1") }]);
    expect([alpha.errors, alpha.resources.map((r) => r.kind)]).toEqual([[], ["Telemetry"]]);
    expect(alpha.warnings).toEqual([]);
    const beta = decodeFiles([{ path: "t.yaml", text: tel("istio-system", "t", ENVOY).replace("telemetry.istio.io/v1", "telemetry.istio.io/v2") }]);
    expect(beta.warnings.map((w) => [w.code, w.message])).toEqual([["GW0114", "Telemetry is not served in telemetry.istio.io/v2 (versions: v1, v1alpha1): skipped"]]);
  });

  test("validation: an unknown field of accessLogging is an Error naming it, with did-you-mean (Istio's published Telemetry schema)", () => {
    const text = tel("istio-system", "t", "  accessLogging: [{providers: [{name: envoy}], disable: true, filter: {expresion: 'true'}, match: {mode: CLIENT, port: 1}}]\n");
    const r = decodeFiles([{ path: "t.yaml", text }]);
    expect(r.errors.map((e) => [e.code, e.field, e.message])).toEqual([
      ["GW0112", "spec.accessLogging[0].disable", 'unknown field "disable"; did you mean "disabled"?'],
      ["GW0112", "spec.accessLogging[0].filter.expresion", 'unknown field "expresion"; did you mean "expression"?'],
      ["GW0112", "spec.accessLogging[0].match.port", 'unknown field "port"'],
    ]);
    const wrongMode = decodeFiles([{ path: "t.yaml", text: tel("istio-system", "t", "  accessLogging: [{providers: [{name: envoy}], match: {mode: BOTH}}]\n") }]);
    expect(wrongMode.errors.map((e) => e.field)).toEqual(["spec.accessLogging[0].match.mode"]);
  });
});

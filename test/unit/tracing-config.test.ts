// The snapshot's tracing part (src/compile/tracing.ts) from the mesh config and
// Telemetry, as istiod configures a gateway's connection manager
// (pilot/pkg/model/telemetry.go Tracing, pilot/pkg/networking/core/tracing.go):
// which provider, sampling, tags, where spans go, and what is reported.
import { describe, expect, test } from "bun:test";
import { decodeFiles } from "../../src/decode/index.ts";
import { decodeMeshConfig } from "../../src/decode/meshconfig.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { routeOperation } from "../../workers/tracing.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: zipkin, namespace: observability}
spec:
  hosts: [zipkin.observability.svc.cluster.local]
  ports: [{number: 9411, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: otel, namespace: observability}
spec:
  hosts: [otel.observability.svc.cluster.local]
  ports: [{number: 4317, name: grpc, protocol: GRPC}, {number: 4318, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.2}]
`;

const PROVIDERS = `
extensionProviders:
- name: zipkin
  zipkin: {service: zipkin.observability.svc.cluster.local, port: 9411}
- name: zipkin64
  zipkin: {service: zipkin.observability.svc.cluster.local, port: 9411, enable64bitTraceId: true, traceContextOption: USE_B3_WITH_W3C_PROPAGATION, path: /custom, timeout: 2s, headers: [{name: X-Token, value: abc}], maxTagLength: 99}
- name: otel-grpc
  opentelemetry: {service: otel.observability.svc.cluster.local, port: 4317, grpc: {timeout: 3s, initialMetadata: [{name: authorization, value: Bearer t}]}}
- name: otel-http
  opentelemetry: {service: otel.observability.svc.cluster.local, port: 4318, http: {path: v1/spans, headers: [{name: x-k, value: v}]}}
- name: otel-default
  opentelemetry: {service: otel.observability.svc.cluster.local, port: 4317}
- name: nowhere
  zipkin: {service: nowhere.observability.svc.cluster.local, port: 9411}
- name: dd
  datadog: {service: datadog.observability.svc.cluster.local, port: 8126}
- name: als
  envoyOtelAls: {service: otel.observability.svc.cluster.local, port: 4317}
`;

function tel(ns: string, name: string, body: string, extra = ""): string {
  return `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ${name}, namespace: ${ns}}
spec:
${extra}  tracing:
${body}`;
}

function compile(yaml: string, mesh = PROVIDERS, over: { namespace?: string; labels?: Record<string, string> } = {}): Snapshot {
  const m = decodeMeshConfig("mesh.yaml", mesh);
  expect(m.errors).toEqual([]);
  return compileYaml(GATEWAY + yaml, { mesh: m.mesh, ...over });
}

const codes = (s: Snapshot, ...cs: string[]) => findingLines(s).filter((l) => cs.some((c) => l.includes(` ${c} `)));

describe("when tracing is on", () => {
  test("no mesh config tracing and no Telemetry: off (nothing in the snapshot)", () => {
    expect(compile("").tracing).toBeUndefined();
    expect(compile("", "enableTracing: false\n").tracing).toBeUndefined();
  });

  test("enableTracing: the bootstrap Zipkin tracer, 1 % by default, Istio's tags, B3", () => {
    const t = compile("", "enableTracing: true\n").tracing!;
    expect(t).toMatchObject({
      propagation: "b3",
      samplingPercent: 1,
      useRequestIdForSampling: true,
      traceId128: true,
      spawnUpstreamSpan: false, // the legacy path: no provider config, no upstream span
      maxPathTagLength: 256,
      serviceName: "istio-ingressgateway.istio-system",
      source: "meshConfig enableTracing",
      // zipkin.istio-system is no Service here: the address itself, as Envoy's bootstrap cluster resolves it
      collector: { kind: "zipkin", cluster: "", address: "zipkin.istio-system:9411", authority: "zipkin.istio-system", path: "/api/v2/spans", timeoutMs: 5000 },
    });
    expect(t.customTags.map((c) => c.tag)).toEqual(["istio.canonical_revision", "istio.canonical_service", "istio.cluster_id", "istio.mesh_id", "istio.namespace"]);
  });

  test("defaultConfig.tracing: a known Service as address, sampling, custom tags (both spellings), path tag length; over 100 % is 1 %", () => {
    const mesh = `enableTracing: true
defaultConfig:
  tracing:
    sampling: 50
    zipkin: {address: zipkin.observability:9411}
    max_path_tag_length: 64
    custom_tags:
      env: {environment: {name: POD_NAME, defaultValue: none}}
      lit: {literal: {value: v}}
      hdr: {header: {name: X-User}}
`;
    const t = compile("", mesh).tracing!;
    expect(t.collector).toMatchObject({ cluster: "outbound|9411||zipkin.observability.svc.cluster.local", address: "", authority: "zipkin.observability.svc.cluster.local" });
    expect(t.samplingPercent).toBe(50);
    expect(t.maxPathTagLength).toBe(64);
    expect(t.customTags.filter((c) => !c.tag.startsWith("istio."))).toEqual([
      { tag: "env", kind: "environment", name: "POD_NAME", defaultValue: "none" },
      { tag: "hdr", kind: "header", name: "x-user", defaultValue: "" },
      { tag: "lit", kind: "literal", value: "v" },
    ]);
    expect(compile("", "enableTracing: true\ndefaultConfig: {tracing: {sampling: 150}}\n").tracing!.samplingPercent).toBe(1);
    expect(compile("", "enableTracing: true\ndefaultConfig: {tracing: {enableIstioTags: false}}\n").tracing!.customTags).toEqual([]);
  });

  test("defaultProviders.tracing alone: that provider, the mesh sampling", () => {
    const t = compile("", PROVIDERS + "defaultProviders: {tracing: [zipkin]}\ndefaultConfig: {tracing: {sampling: 10}}\n").tracing!;
    expect(t).toMatchObject({ propagation: "b3", samplingPercent: 10, spawnUpstreamSpan: true, source: "meshConfig defaultProviders.tracing", collector: { name: "zipkin", kind: "zipkin", cluster: "outbound|9411||zipkin.observability.svc.cluster.local" } });
  });
});

describe("Telemetry levels (istiod merges field by field; a gateway takes the CLIENT spec)", () => {
  test("root sets the provider and sampling, the namespace level overrides the sampling only", () => {
    const s = compile(tel("istio-system", "root", "  - providers: [{name: zipkin}]\n    randomSamplingPercentage: 10\n") + tel("istio-system", "gw", "  - randomSamplingPercentage: 25\n", "  selector: {matchLabels: {istio: ingressgateway}}\n"));
    expect(s.tracing).toMatchObject({ samplingPercent: 25, collector: { name: "zipkin" }, source: "Telemetry/istio-system/root, Telemetry/istio-system/gw" });
  });

  test("a later entry's provider wins; only the first of an entry's providers is used (Info)", () => {
    const s = compile(tel("istio-system", "root", "  - providers: [{name: zipkin}]\n  - providers: [{name: otel-http}, {name: zipkin}]\n"));
    expect(s.tracing!.collector!.name).toBe("otel-http");
    expect(codes(s, "GW0971")).toEqual(["Info GW0971 Telemetry/istio-system/root: only the first provider (otel-http) is used, as istiod supports one tracing provider per workload"]);
  });

  test("match.mode SERVER does not apply to a gateway (Info); CLIENT does", () => {
    const s = compile(tel("istio-system", "root", "  - providers: [{name: zipkin}]\n  - match: {mode: SERVER}\n    disableSpanReporting: true\n  - match: {mode: CLIENT}\n    randomSamplingPercentage: 3\n"));
    expect(s.tracing!.samplingPercent).toBe(3);
    expect(codes(s, "GW0952")).toEqual(["Info GW0952 Telemetry/istio-system/root: match.mode SERVER: a gateway is a CLIENT workload to istiod, this entry does not apply"]);
  });

  test("disableSpanReporting turns it off; a later level turns it on again", () => {
    expect(compile(tel("istio-system", "root", "  - providers: [{name: zipkin}]\n    disableSpanReporting: true\n")).tracing).toBeUndefined();
    const on = compile(tel("istio-system", "root", "  - providers: [{name: zipkin}]\n    disableSpanReporting: true\n") + tel("istio-system", "gw", "  - disableSpanReporting: false\n", "  selector: {matchLabels: {istio: ingressgateway}}\n"));
    expect(on.tracing).toBeDefined();
  });

  test("Telemetry customTags replace the mesh config's; a formatter tag is a Warning and left out; enableIstioTags false drops Istio's", () => {
    const mesh = PROVIDERS + "defaultConfig: {tracing: {customTags: {meshtag: {literal: {value: m}}}}}\n";
    const s = compile(tel("istio-system", "root", "  - providers: [{name: zipkin}]\n    enableIstioTags: false\n    customTags:\n      a: {literal: {value: x}}\n      f: {formatter: {value: '%REQ(:PATH)%'}}\n"), mesh);
    expect(s.tracing!.customTags).toEqual([{ tag: "a", kind: "literal", value: "x" }]);
    expect(codes(s, "GW0971")).toEqual([expect.stringContaining('Warning GW0971 Telemetry/istio-system/root: custom tag "f" is a formatter')]);
    // no Telemetry customTags: the mesh config's (with Istio's)
    expect(compile(tel("istio-system", "root", "  - providers: [{name: zipkin}]\n"), mesh).tracing!.customTags.map((t) => t.tag)).toContain("meshtag");
  });

  test("a Telemetry of another namespace does not apply", () => {
    expect(compile(tel("apps", "t", "  - providers: [{name: zipkin}]\n")).tracing).toBeUndefined();
  });

  test("labels name the service and Istio's canonical tags", () => {
    const t = compile(tel("istio-system", "root", "  - providers: [{name: zipkin}]\n"), PROVIDERS, { labels: { istio: "ingressgateway", app: "edge", "service.istio.io/canonical-revision": "v2" } }).tracing!;
    expect(t.serviceName).toBe("edge.istio-system");
    expect(t.customTags.filter((c) => c.tag === "istio.canonical_service" || c.tag === "istio.canonical_revision")).toEqual([
      { tag: "istio.canonical_revision", kind: "literal", value: "v2" },
      { tag: "istio.canonical_service", kind: "literal", value: "edge" },
    ]);
  });
});

describe("providers", () => {
  const with_ = (p: string) => compile(tel("istio-system", "root", `  - providers: [{name: ${p}}]\n`));
  test("zipkin options: 64-bit ids, B3 with W3C, path, timeout, headers, tag length", () => {
    expect(with_("zipkin64").tracing).toMatchObject({
      propagation: "b3+w3c",
      traceId128: false,
      maxPathTagLength: 99,
      collector: { kind: "zipkin", path: "/custom", timeoutMs: 2000, headers: [["x-token", "abc"]] },
    });
  });

  test("opentelemetry: gRPC (the default) with initial metadata, HTTP with its path and headers; W3C", () => {
    expect(with_("otel-grpc").tracing).toMatchObject({ propagation: "w3c", collector: { kind: "otlp-grpc", path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export", timeoutMs: 3000, headers: [["authorization", "Bearer t"]], cluster: "outbound|4317||otel.observability.svc.cluster.local" } });
    expect(with_("otel-default").tracing).toMatchObject({ collector: { kind: "otlp-grpc", timeoutMs: 5000 } });
    expect(with_("otel-http").tracing).toMatchObject({ collector: { kind: "otlp-http", path: "/v1/spans", headers: [["x-k", "v"]], cluster: "outbound|4318||otel.observability.svc.cluster.local" } });
  });

  test.each([
    ["undefined", "missing", 'tracing provider "missing" is not defined in the mesh config\'s extensionProviders: no tracing, as istiod configures none'],
    ["datadog", "dd", 'tracing provider "dd" is datadog, which gangway cannot trace to (it serves zipkin and opentelemetry): no tracing, as istiod configures none'],
    ["an access-log provider", "als", 'tracing provider "als" is envoyOtelAls, which gangway cannot trace to (it serves zipkin and opentelemetry): no tracing, as istiod configures none'],
    ["a collector that is no service", "nowhere", 'service "nowhere.observability.svc.cluster.local" of tracing provider "nowhere" is no Service or ServiceEntry (istiod: could not find cluster for tracing provider): no tracing, as istiod configures none'],
  ])("%s: a Warning naming it, no tracing", (_n, p, msg) => {
    const s = with_(p);
    expect(s.tracing).toBeUndefined();
    expect(codes(s, "GW0970")).toEqual([`Warning GW0970 Telemetry/istio-system/root: ${msg}`]);
  });

  test("fields not served are a Warning naming them; the provider is served", () => {
    const s = compile(tel("istio-system", "root", "  - providers: [{name: o}]\n"), "extensionProviders:\n- name: o\n  opentelemetry: {service: otel.observability.svc.cluster.local, port: 4317, resourceDetectors: {environment: {}}}\n");
    expect(s.tracing).toBeDefined();
    expect(codes(s, "GW0971")).toEqual(['Warning GW0971 -: extensionProviders[0].opentelemetry.resourceDetectors is not applied by gangway (tracing provider "o" is served without it)']);
    const b = compile("", "enableTracing: true\ndefaultConfig: {tracing: {lightstep: {address: x:1}}}\n");
    expect(codes(b, "GW0971")).toEqual(["Warning GW0971 -: defaultConfig.tracing.lightstep is a tracer gangway cannot serve (it serves zipkin and opentelemetry): not applied"]);
  });

  test("the mesh config's tracing fields are read, not GW0009", () => {
    const m = decodeMeshConfig("mesh.yaml", PROVIDERS + "enableTracing: true\ndefaultProviders: {tracing: [zipkin]}\ndefaultConfig: {tracing: {sampling: 2}}\n");
    expect(m.notRead).toEqual([]);
    expect(decodeMeshConfig("m.yaml", "enableTracing: 3\n").errors.map((e) => [e.field, e.message])).toEqual([["enableTracing", "must be a boolean"]]);
  });

  test("Telemetry: randomSamplingPercentage out of range is refused (the webhook's check)", () => {
    const { errors } = decodeFiles([{ path: "t.yaml", text: tel("istio-system", "root", "  - randomSamplingPercentage: 101\n    customTags: {x: {literal: {value: a}, header: {name: b}}}\n") }]);
    // Istio's CRD schema refuses both (validate/), before the decoder's own checks
    expect(errors.map((e) => [e.field, e.message]).sort()).toEqual([
      ["spec.tracing[0].customTags.x", "only one of literal, environment, header, formatter may be set"],
      ["spec.tracing[0].randomSamplingPercentage", "must be <= 100, got number 101"],
    ]);
  });
});

describe("decorator operation (istiod's GetRouteOperation)", () => {
  const s = compileYaml(`${GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: istio-system}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{uri: {exact: /login}}]
    route: [{destination: {host: zipkin.observability.svc.cluster.local, port: {number: 9411}}}]
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: zipkin.observability.svc.cluster.local, port: {number: 9411}}, weight: 50}, {destination: {host: otel.observability.svc.cluster.local, port: {number: 4318}}, weight: 50}]
  - match: [{uri: {regex: "/r/[0-9]+"}}]
    redirect: {uri: /x}
  - route: [{destination: {host: zipkin.observability.svc.cluster.local, port: {number: 9411}}}]
`);
  const routes = s.listeners[0]!.routeTable!.virtualHosts.flatMap((v) => v.routes);
  test("one destination: host:port and the path; several, or none: the VirtualService's name and the gateway port", () => {
    expect(routes.map((r) => routeOperation(r, 80))).toEqual([
      "zipkin.observability.svc.cluster.local:9411/login",
      "shop:80/api*",
      "shop:80/r/[0-9]+",
      "zipkin.observability.svc.cluster.local:9411/*",
    ]);
  });

  test("control characters of a configured regex never reach the header value", () => {
    const r = { ...routes[2]!, matches: [{ ...routes[2]!.matches[0]!, uri: { kind: "regex" as const, source: "/a\r\nx-evil: 1", regex: routes[2]!.matches[0]!.uri!.kind === "regex" ? routes[2]!.matches[0]!.uri!.regex : (null as never) } }] };
    expect(routeOperation(r, 80)).toBe("shop:80/ax-evil: 1");
  });
});

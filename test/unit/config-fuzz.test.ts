// Seeded structural mutations of every shipped and fixture configuration
// (test/helpers/config-mutate.ts) through the pure pipeline, with the invariants
// of test/helpers/config-invariants.ts: never a throw, each finding says where it
// is, the snapshot survives postMessage and a delta, trace/explain/dump/status
// answer, the same input gives the same findings, and the last good
// configuration compiles as before after a bad one.
//
// CI runs FUZZ_COUNT structural cases (default 1200) from FUZZ_FROM (default 1),
// and FUZZ_SEMANTIC_COUNT semantic ones (default 400: values the schema lets
// through at odd points, test/helpers/config-mutate-semantic.ts). Longer runs:
//   FUZZ_FROM=5000 FUZZ_COUNT=20000 bun test test/unit/config-fuzz.test.ts
//   bun bench/config-fuzz.ts --from 1 --count 50000 --seconds 600 [--mode semantic]
// Accepted cases applied to a real worker with traffic: test/workers/config-fuzz-worker.test.ts.
// A failing case prints its number; `bun bench/config-fuzz.ts --show N` prints its
// files and problems. Minimise it into a row of PINNED below.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildFiles, invariantProblems, seedState, type FuzzSeen, type SeedState } from "../helpers/config-invariants.ts";
import { forgetSemanticSeeds, semanticCase } from "../helpers/config-mutate-semantic.ts";
import { formatFinding } from "../../src/primary/pipeline.ts";
import { loadFuzzPki } from "../helpers/config-fuzz-pki.ts";
import { forgetParsedSeeds, mutatedCase, seedGroups, type SeedGroup } from "../helpers/config-mutate.ts";

const FROM = Number(process.env.FUZZ_FROM ?? 1);
const COUNT = Number(process.env.FUZZ_COUNT ?? 1200);
const SEMANTIC = Number(process.env.FUZZ_SEMANTIC_COUNT ?? 400);

let groups: SeedGroup[];
const states = new Map<string, SeedState>();
function stateOf(name: string): SeedState {
  let s = states.get(name);
  if (s === undefined) states.set(name, (s = seedState(groups.find((g) => g.name === name)!.files)));
  return s;
}

beforeAll(async () => {
  groups = seedGroups();
  await loadFuzzPki();
});
// the seeds' caches and snapshots (~150 of them) are not kept for the tests after these in the same process
afterAll(() => {
  states.clear();
  groups = [];
  forgetParsedSeeds();
  forgetSemanticSeeds();
  Bun.gc(true);
});

describe("configuration fuzz: mutated seeds keep every invariant", () => {
  test("the seeds: walkthrough, quickstart, golden and Gateway API cases, each loading", () => {
    expect(groups.length).toBeGreaterThan(100);
    for (const g of groups) expect(() => stateOf(g.name)).not.toThrow();
  }, 60_000);

  test("case numbers are deterministic", () => {
    const a = mutatedCase(groups, 4242);
    const b = mutatedCase(groups, 4242);
    expect(a).toEqual(b);
    expect(a.mutations.length).toBeGreaterThan(0);
  });

  test(`${COUNT} mutated configurations from case ${FROM}`, async () => {
    const broken: string[] = [];
    let loaded = 0;
    for (let seed = FROM; seed < FROM + COUNT; seed++) {
      const c = mutatedCase(groups, seed);
      const problems = await invariantProblems(c.files, stateOf(c.group));
      if (problems.length > 0) broken.push(`case ${seed} (${c.group}; bun bench/config-fuzz.ts --show ${seed})\n  ${c.mutations.join("\n  ")}\n  => ${problems.slice(0, 5).join("\n  => ")}`);
      if (c.files.some((f) => f.text.includes("no-such-thing"))) loaded++;
    }
    expect(broken.slice(0, 10).join("\n")).toBe("");
    if (COUNT >= 500) expect(loaded).toBeGreaterThan(0); // the mutations do reach names that do not exist
  }, 120_000);

  test(`${SEMANTIC} semantic mutations from case ${FROM}: most reach compile, none breaks an invariant`, async () => {
    const broken: string[] = [];
    const seen: FuzzSeen = { compiled: 0, loaded: 0 };
    for (let seed = FROM; seed < FROM + SEMANTIC; seed++) {
      const c = semanticCase(groups, seed);
      const problems = await invariantProblems(c.files, stateOf(c.group), seen);
      if (problems.length > 0) broken.push(`semantic case ${seed} (${c.group}; bun bench/config-fuzz.ts --mode semantic --show ${seed})\n  ${c.mutations.join("\n  ")}\n  => ${problems.slice(0, 5).join("\n  => ")}`);
    }
    expect(broken.slice(0, 10).join("\n")).toBe("");
    // the point of the mode: the structural one reaches compile for ~37 % of its cases, this one for ~75 %
    if (SEMANTIC >= 200) expect(seen.compiled / SEMANTIC).toBeGreaterThan(0.6);
  }, 120_000);
});

/** A Gateway and a VirtualService routing to Service `httpbin`, which has no endpoints. */
const NO_ENDPOINTS = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: httpbin, port: {number: 8000}}}]}]
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: httpbin}
spec:
  ports: [{name: http, port: 8000}]
`;

/** The walkthrough's SIMPLE TLS server (its RSA certificate in the Secret beside it) with `extra` TLS settings. */
const TLS_SECRET = readFileSync(join(import.meta.dir, "..", "..", "config", "walkthrough", "05-tls-simple", "httpbin-credential.yaml"), "utf8");
const tlsGateway = (extra: string) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: [httpbin.example.com], tls: {mode: SIMPLE, credentialName: httpbin-credential, ${extra}}}]
`;

/** A VirtualService on a Gateway, to `host` port 8080. */
const routeTo = (host: string) => NO_ENDPOINTS.replace("host: httpbin, port: {number: 8000}", `host: ${host}, port: {number: 8080}`);
const RESOLUTION_NONE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [ext.example]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: NONE
`;
/** A namespace-wide Telemetry in istio-system logging to `provider` (`day`: its creation day; the older one applies). */
const telemetry = (name: string, day: number, provider: string) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ${name}, namespace: istio-system, creationTimestamp: "2026-01-0${day}T00:00:00Z"}
spec:
  accessLogging: [{providers: [{name: ${provider}}]}]
`;

/**
 * What the fuzzer found, minimised: each row is a configuration and the finding
 * it must give (formatFinding), naming the file, document, object and field.
 */
const PINNED: { name: string; files: { path: string; text: string }[]; ok: boolean; finding: string }[] = [
  {
    // case 145 and 52 more of the first 2,000: the Service's name alone, no file or document
    name: "a Service without endpoints is named with its file and document",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: `# the backend\n---\n${SERVICE}` }],
    ok: true,
    finding: "Warning: svc.yaml: document 0: Service/default/httpbin: cluster outbound|8000||httpbin.default.svc.cluster.local: no ready endpoint in its Endpoints/EndpointSlices (or selected WorkloadEntries) for this port: requests get 503 [GW0405]",
  },
  {
    // mutations written as JSON, cut: Bun's JSON.parse says "Unable to parse JSON string", no position
    name: "a truncated JSON file is refused naming the line and column",
    files: [{ path: "app.json", text: '{"apiVersion": "v1",\n "kind": "Service",\n "metadata": {"name": "x"' }],
    ok: false,
    finding: "Error: app.json: document 0: not JSON: expected ',' or '}' at line 3, column 26 [GW0101]",
  },
  {
    // JSON.parse lets the later key win silently; the YAML reader refuses a duplicate key, and so does kubectl's strict validation
    name: "a duplicate key in a JSON file is refused as in YAML",
    files: [{ path: "svc.json", text: '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "name": "b"}, "spec": {"ports": [{"port": 80}]}}' }],
    ok: false,
    finding: 'Error: svc.json: document 0: not JSON: duplicate key "name" at line 1, column 67 [GW0101]',
  },
  {
    // case 25225: a key "" at the top of a document: the schema's "unknown field" named no field
    name: "an empty key is named in the field path",
    files: [{ path: "svc.yaml", text: `${SERVICE}"": x\n` }],
    ok: false,
    finding: 'Error: svc.yaml: document 0: Service/default/httpbin: [""]: unknown field "" [GW0112]',
  },
  {
    // a case from 300000: a quoted key inside a List item read "items[0].[\"k\"]"
    name: "a quoted key inside a List item joins its prefix without a dot",
    files: [{ path: "list.json", text: JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "Service", metadata: { name: "httpbin" }, spec: { ports: [{ port: 80 }] }, "a b": 1 }] }) }],
    ok: false,
    finding: 'Error: list.json: document 0: Service/default/httpbin: items[0]["a b"]: unknown field "a b" [GW0112]',
  },
  {
    // a newline or an ANSI escape in a name, a key or a value ended the log line and could forge the next one
    name: "control characters from the file are escaped in the finding's line",
    files: [{ path: "svc.yaml", text: SERVICE.replace("{name: httpbin}", '{name: httpbin, namespace: "a\\nError: forged\\u001b[31m"}') }],
    ok: false,
    finding: 'Error: svc.yaml: document 0: Service/a\\nError: forged\\u001b[31m/httpbin: metadata.namespace: invalid namespace "a\\nError: forged\\u001b[31m" [GW0106]',
  },
  {
    // semantic fuzz on a worker: the suite went into the cipher list, which then selected no TLS 1.2 cipher: every handshake failed, no finding
    name: "a TLS 1.3 suite in cipherSuites is dropped with a Warning, as istiod ignores it",
    files: [{ path: "gw.yaml", text: tlsGateway("maxProtocolVersion: TLSV1_2, cipherSuites: [TLS_AES_128_GCM_SHA256]") }, { path: "cred.yaml", text: TLS_SECRET }],
    ok: true,
    finding: "Warning: gw.yaml: document 0: Gateway/istio-system/gw: spec.servers[0].tls.cipherSuites: cipher suite TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite, which a cipher list cannot name (TLS 1.3's suites are always on): dropped [GW0604]",
  },
  {
    // semantic fuzz on a worker: only ECDSA suites, an RSA certificate, TLS 1.2 at most: every handshake failed, no finding
    name: "cipherSuites with no cipher for the certificate's key type below TLS 1.3 are a Warning",
    files: [{ path: "gw.yaml", text: tlsGateway("maxProtocolVersion: TLSV1_2, cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256]") }, { path: "cred.yaml", text: TLS_SECRET }],
    ok: true,
    finding: "Warning: gw.yaml: document 0: Gateway/istio-system/gw: spec.servers[0].tls.cipherSuites: cipherSuites ECDHE-ECDSA-AES128-GCM-SHA256 have no cipher for the certificate's RSA key and maxProtocolVersion is below TLS 1.3: its hosts fail the handshake [GW0208]",
  },
  {
    // semantic fuzz (test/fuzz-seeds/kinds, case 330): a ServiceEntry with resolution NONE named no field
    name: "a ServiceEntry with resolution NONE names spec.resolution",
    files: [{ path: "app.yaml", text: routeTo("ext.example") }, { path: "se.yaml", text: RESOLUTION_NONE }],
    ok: true,
    finding: "Warning: se.yaml: document 0: ServiceEntry/default/ext: spec.resolution: resolution NONE has no address a gateway can send to: outbound|8080||ext.example gets 503 (use STATIC or DNS) [GW0407]",
  },
  {
    // structural fuzz (test/fuzz-seeds/kinds): an access log provider the mesh config lacks named no field
    name: "a Telemetry's unknown access log provider names the provider's field",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "tel.yaml", text: telemetry("a", 1, "missing") }],
    ok: true,
    finding: 'Warning: tel.yaml: document 0: Telemetry/istio-system/a: spec.accessLogging[0].providers[0].name: provider "missing" is not defined in the mesh config\'s extensionProviders: no access log for it [GW0953]',
  },
  {
    // semantic fuzz (test/fuzz-seeds/kinds, case 458): a second namespace-wide Telemetry, not applied, named no field
    name: "a second namespace-wide Telemetry, not applied, names its spec",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "tel.yaml", text: `${telemetry("a", 1, "envoy")}---\n${telemetry("b", 2, "envoy")}` }],
    ok: true,
    finding: "Warning: tel.yaml: document 1: Telemetry/istio-system/b: spec: not applied: Telemetry/istio-system/a is older, and Istio applies one Telemetry without selector or targetRef per namespace [GW0952]",
  },
  {
    // semantic fuzz (cases 102556, 107942): a Gateway's HTTPS server on 80 drops the Ingresses' HTTP server there; the Error named no field
    name: "an Ingress whose port-80 server a Gateway's HTTPS server drops names spec.rules",
    files: [
      { path: "gw.yaml", text: tlsGateway("").replace("number: 443", "number: 80") },
      { path: "cred.yaml", text: TLS_SECRET },
      { path: "ing.yaml", text: "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ing, annotations: {kubernetes.io/ingress.class: istio}}\nspec:\n  rules: [{host: a.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: httpbin, port: {number: 8000}}}}]}}]\n" },
      { path: "svc.yaml", text: SERVICE },
    ],
    ok: true,
    finding: "Error: ing.yaml: document 0: Ingress/default/ing: spec.rules: port 80 HTTP conflicts with Gateway/istio-system/gw server 0 (HTTPS on the same port): server dropped [GW0201]",
  },
  // the fuzzer's mesh config (test/fuzz-seeds/mesh): findings about it named no file, no document, or a field path with an empty part
  {
    // structural fuzz (test/fuzz-seeds/mesh/locality, 68 of the first 3,000): a field the mesh config does not read named no document
    name: "a mesh config field gangway does not read names the file's document",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "mesh-config.yaml", text: "enableTracing: false\ntrustDomain: x\n" }],
    ok: true,
    finding: "Warning: mesh-config.yaml: document 0: trustDomain: trustDomain is not read by gangway, which reads only extensionProviders[].envoyExtAuthzHttp/envoyFileAccessLog/zipkin/opentelemetry, accessLogFile, accessLogEncoding, accessLogFormat, defaultProviders.accessLogging/tracing, enableTracing, defaultConfig.tracing, defaultConfig.gatewayTopology.numTrustedProxies/proxyProtocol, localityLbSetting and the Ingress settings ingressClass, ingressControllerMode, ingressService, ingressSelector: it changes nothing here (gangway's --trust-domain option does that) [GW0009]",
  },
  {
    // structural fuzz (test/fuzz-seeds/mesh/tracing, case 1829): the mesh config `{"": ""}` named the field ""
    name: "an empty key in the mesh config is a quoted field",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "mesh-config.yaml", text: '"": ""\n' }],
    ok: true,
    finding: 'Warning: mesh-config.yaml: document 0: [""]: [""] is not read by gangway, which reads only extensionProviders[].envoyExtAuthzHttp/envoyFileAccessLog/zipkin/opentelemetry, accessLogFile, accessLogEncoding, accessLogFormat, defaultProviders.accessLogging/tracing, enableTracing, defaultConfig.tracing, defaultConfig.gatewayTopology.numTrustedProxies/proxyProtocol, localityLbSetting and the Ingress settings ingressClass, ingressControllerMode, ingressService, ingressSelector: it changes nothing here [GW0009]',
  },
  {
    // semantic fuzz (test/fuzz-seeds/mesh/locality, case 600): defaultProviders.tracing naming an undefined provider named no file or field
    name: "an undefined provider in the mesh config's defaultProviders.tracing names that field",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "mesh-config.yaml", text: "defaultProviders: {tracing: [otel-grpc]}\n" }],
    ok: true,
    finding: 'Warning: mesh-config.yaml: document 0: defaultProviders.tracing: tracing provider "otel-grpc" is not defined in the mesh config\'s extensionProviders: no tracing, as istiod configures none [GW0970]',
  },
  {
    // structural fuzz (test/fuzz-seeds/mesh/tracing): a provider's service that is no Service, reached by defaultProviders, named no file
    name: "a default tracing provider whose service is unknown names defaultProviders.tracing",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "mesh-config.yaml", text: "defaultProviders: {tracing: [z]}\nextensionProviders: [{name: z, zipkin: {service: nowhere.example, port: 9411}}]\n" }],
    ok: true,
    finding: 'Warning: mesh-config.yaml: document 0: defaultProviders.tracing: service "nowhere.example" of tracing provider "z" is no Service or ServiceEntry (istiod: could not find cluster for tracing provider): no tracing, as istiod configures none [GW0970]',
  },
  {
    // structural fuzz (test/fuzz-seeds/mesh/tracing, case 2344): a provider field gangway does not serve named no file
    name: "a tracing provider field gangway does not serve names the mesh config file",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "mesh-config.yaml", text: "defaultProviders: {tracing: [o]}\nextensionProviders: [{name: o, opentelemetry: {service: httpbin.default.svc.cluster.local, port: 8000, por: 1}}]\n" }],
    ok: true,
    finding: 'Warning: mesh-config.yaml: document 0: extensionProviders[0].opentelemetry.por: extensionProviders[0].opentelemetry.por is not applied by gangway (tracing provider "o" is served without it) [GW0971]',
  },
  {
    // semantic fuzz (test/fuzz-seeds/mesh/tracing, case 645): a bootstrap tracer gangway does not serve named no file
    name: "a bootstrap tracer gangway does not serve names the mesh config file",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "mesh-config.yaml", text: "enableTracing: true\ndefaultConfig: {tracing: {lightstep: {address: 'ls:8080'}}}\n" }],
    ok: true,
    finding: "Warning: mesh-config.yaml: document 0: defaultConfig.tracing.lightstep: defaultConfig.tracing.lightstep is a tracer gangway cannot serve (it serves zipkin and opentelemetry): not applied [GW0971]",
  },
  {
    // the same place for access logging: defaultProviders.accessLogging naming an undefined provider, no Telemetry
    name: "an undefined provider in the mesh config's defaultProviders.accessLogging names that field",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "mesh-config.yaml", text: "defaultProviders: {accessLogging: [nope]}\n" }],
    ok: true,
    finding: 'Warning: mesh-config.yaml: document 0: defaultProviders.accessLogging: provider "nope" is not defined in the mesh config\'s extensionProviders: no access log for it [GW0953]',
  },
  {
    // semantic fuzz (case 22011): a distribute weight for the locality "" named the field `...to.` (an empty part)
    name: "a DestinationRule's distribute weight for an empty locality is a quoted field",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "dr.yaml", text: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr}\nspec:\n  host: httpbin\n  trafficPolicy: {loadBalancer: {localityLbSetting: {distribute: [{from: eu-west1, to: {'': 0, '*/us-east1-a': 100}}]}}}\n" }],
    ok: false,
    finding: 'Error: dr.yaml: document 0: DestinationRule/default/dr: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to[""]: locality weight must be from 1 to 100, got 0 [GW0106]',
  },
  {
    // semantic fuzz (case 21892): the same in the mesh config's localityLbSetting
    name: "the mesh config's distribute weight for an empty locality is a quoted field",
    files: [{ path: "app.yaml", text: NO_ENDPOINTS }, { path: "svc.yaml", text: SERVICE }, { path: "mesh-config.yaml", text: "localityLbSetting: {distribute: [{from: eu-west1, to: {us-east1: 1, '': 2147483647}}]}\n" }],
    ok: false,
    finding: 'Error: mesh-config.yaml: document 0: localityLbSetting.distribute[0].to[""]: locality weight must be from 1 to 100, got 2147483647 [GW0106]',
  },
];

describe("configuration fuzz: pinned regressions", () => {
  for (const row of PINNED) {
    test(row.name, async () => {
      const b = buildFiles(row.files);
      expect(b.ok).toBe(row.ok);
      const findings = (b.ok ? b.snapshot.findings : b.errors).map(formatFinding);
      expect(findings).toContain(row.finding);
    });
  }
});

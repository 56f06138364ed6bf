// Schema validation at scale (src/validate): what it adds to loading 10,000
// VirtualServices × 10 routes (the route-lookup bench's configuration). Run:
//   node_modules/.bin/bun bench/validate.bench.ts
// Prints: reading the vendored schemas, loading the VirtualService validator
// (the committed standalone code) against compiling it with ajv, validating the
// 10,000 documents, and the whole decode. Figures are printed, never asserted.
import { parse } from "yaml";
import { decodeFiles } from "../src/decode/index.ts";
import { schemaProblems } from "../src/validate/index.ts";
import { AJV_OPTIONS, configSchemas } from "../src/validate/registry.ts";

const N = 10_000;
const ms = (t: number) => `${t.toFixed(0)} ms`;

function vs(i: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs-${i}, namespace: default}
spec:
  hosts: [svc${i}.example.com]
  gateways: [gw]
  http:
  - match: [{uri: {exact: /healthz}}]
    directResponse: {status: 200}
  - match: [{uri: {prefix: /api/v1/users}}]
    route: [{destination: {host: users, port: {number: 80}}}]
  - match: [{uri: {prefix: /api/v2/}, headers: {x-version: {exact: "2"}}}]
    route: [{destination: {host: api-v2, port: {number: 80}}, weight: 90}, {destination: {host: api-v1, port: {number: 80}}, weight: 10}]
  - match: [{uri: {regex: "/items/[0-9]+"}}]
    route: [{destination: {host: items, port: {number: 80}}}]
    timeout: 5s
  - match: [{uri: {exact: /login}, method: {exact: POST}}]
    route: [{destination: {host: auth, port: {number: 80}}}]
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, redirectCode: 308}
  - match: [{uri: {prefix: /svc${i}/}}]
    rewrite: {uri: /}
    route: [{destination: {host: svc${i % 100}, port: {number: 80}}}]
  - match: [{uri: {prefix: /docs}}]
    headers: {response: {set: {cache-control: max-age=60}}}
    route: [{destination: {host: docs, port: {number: 80}}}]
  - match: [{uri: {prefix: /static/}}]
    route: [{destination: {host: static, port: {number: 80}}}]
  - route: [{destination: {host: web, port: {number: 80}}}]`;
}

const text = Array.from({ length: N }, (_, i) => vs(i)).join("\n---\n");
const docs = text.split("\n---\n").map((d) => parse(d) as Record<string, unknown>);

let t0 = performance.now();
const registry = configSchemas();
const loadMs = performance.now() - t0;
t0 = performance.now();
registry.validator("networking.istio.io/v1", "VirtualService");
const loadVsMs = performance.now() - t0;
const uncompiled = configSchemas(null);
t0 = performance.now();
const ajv = uncompiled.newAjv(AJV_OPTIONS.fast);
const ajvMs = performance.now() - t0;
const vsSchema = uncompiled.entries().find((e) => e.id.startsWith("networking.istio.io_VirtualService_"))!.schema;
t0 = performance.now();
ajv.compile(vsSchema);
const compileMs = performance.now() - t0;

const rounds: number[] = [];
for (let round = 0; round < 5; round++) {
  t0 = performance.now();
  let problems = 0;
  for (const d of docs) problems += schemaProblems(d, "networking.istio.io/v1", "VirtualService", registry).length;
  rounds.push(performance.now() - t0);
  if (problems !== 0) throw new Error(`bench documents should be valid, got ${problems} problems`);
}

t0 = performance.now();
const { resources, errors } = decodeFiles([{ path: "bench.yaml", text }]);
const decodeMs = performance.now() - t0;
if (errors.length > 0 || resources.length !== N) throw new Error(`decode: ${errors[0]?.message}`);

console.log(`read vendored schemas: ${ms(loadMs)}`);
console.log(`load the generated VirtualService validator: ${ms(loadVsMs)}`);
console.log(`instead: load ajv and the Kubernetes definitions ${ms(ajvMs)}, compile the VirtualService validator ${ms(compileMs)}`);
console.log(`validate ${N} VirtualServices × 10 routes: ${rounds.map(ms).join(", ")} (min ${ms(Math.min(...rounds))})`);
console.log(`decodeFiles (${(text.length / 1e6).toFixed(1)} MB YAML, validation included): ${ms(decodeMs)}`);

// Shared by the pipeline's unit tests: YAML in → decoded resources / snapshot.
import { expect } from "bun:test";
import { compileSnapshot, type CompileOptions } from "../../src/compile/index.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import type { Resource } from "../../src/model/index.ts";
import type { Finding, Snapshot } from "../../src/snapshot/types.ts";
import { trace, type TraceRequest, type TraceResult } from "../../src/trace.ts";

export function options(over: Partial<CompileOptions> = {}): CompileOptions {
  return { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map(), bindAddress: "0.0.0.0", ...over };
}

/** Decode one YAML text that must be valid. */
export function decodeOk(yaml: string, path = "test.yaml"): Resource[] {
  const { resources, errors } = decodeFiles([{ path, text: yaml }]);
  expect(errors).toEqual([]);
  return resources;
}

/** Decode and compile; fails the test on decode errors. */
export function compileYaml(yaml: string, over: Partial<CompileOptions> = {}): Snapshot {
  return compileSnapshot(decodeOk(yaml), options(over), 1);
}

/** Findings as `LEVEL CODE resource: message` lines, for compact assertions. */
export function findingLines(s: { findings: Finding[] }): string[] {
  return s.findings.map((f) => `${f.level} ${f.code} ${f.resource ?? "-"}: ${f.message}`);
}

/** Shorthand: trace a GET on port 80. */
export function get(s: Snapshot, host: string, path: string, extra: Partial<TraceRequest> = {}): TraceResult {
  return trace(s, { port: 80, host, path, ...extra });
}

export const HTTPBIN_SERVICE = `
apiVersion: v1
kind: Service
metadata:
  name: httpbin
spec:
  ports:
  - name: http
    port: 8000
    targetPort: 8080
  selector:
    app: httpbin
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: httpbin-1
  labels:
    kubernetes.io/service-name: httpbin
addressType: IPv4
ports:
- name: http
  port: 8080
endpoints:
- addresses: ["10.0.0.1"]
`;

/** A Gateway on port 80 for `hosts` plus a VirtualService `name` with `http` (YAML list text, indented 2). */
export function gatewayAndVS(opts: { hosts?: string[]; vsHosts?: string[]; http: string; gateway?: string }): string {
  const hosts = opts.hosts ?? ["*"];
  return `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: ${opts.gateway ?? "gw"}
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ${JSON.stringify(hosts)}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs
spec:
  hosts: ${JSON.stringify(opts.vsHosts ?? ["*"])}
  gateways: [${opts.gateway ?? "gw"}]
  http:
${opts.http}
---${HTTPBIN_SERVICE}`;
}

// For the Gateway API end-to-end tests: the conformance base (test/gatewayapi/base.yaml)
// with its EndpointSlices replaced by real echo backends on loopback, which
// answer like the conformance echo server (JSON with path, host, method,
// headers, namespace, pod), and a request helper that does not follow redirects.
import type { Server } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { GatewayProcess } from "../helpers/gateway.ts";

const DIR = join(import.meta.dir, "..", "gatewayapi");

export interface EchoBody {
  path: string;
  query: string;
  host: string;
  method: string;
  headers: Record<string, string>;
  namespace: string;
  pod: string;
}

export interface Backend {
  namespace: string;
  service: string;
  port: number;
  server: Server<undefined>;
}

/** An echo backend for Service `namespace/service`: every answer names it. */
export function startBackend(namespace: string, service: string): Backend {
  const pod = `${service}-0`;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    development: false,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.body) await req.arrayBuffer();
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => (headers[k] = v));
      const body: EchoBody = { path: url.pathname, query: url.search, host: req.headers.get("host") ?? "", method: req.method, headers, namespace, pod };
      // as the conformance echo server: `X-Echo-Set-Header: Name:value,Name2:value2` sets response headers
      const out = new Headers({ "x-pod": pod });
      for (const kv of (req.headers.get("x-echo-set-header") ?? "").split(",")) {
        const i = kv.indexOf(":");
        if (i > 0) out.append(kv.slice(0, i).trim(), kv.slice(i + 1).trim());
      }
      return Response.json(body, { headers: out });
    },
  });
  return { namespace, service, port: server.port!, server };
}

/**
 * base.yaml without its EndpointSlices, plus one slice per backend (port named as
 * the Service's first port, "" when unnamed) and the case files.
 */
export function configFiles(backends: Backend[], cases: string[]): Record<string, string> {
  const base = readFileSync(join(DIR, "base.yaml"), "utf8");
  const docs = parseAllDocuments(base).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string }; spec?: { ports?: { name?: string }[] } });
  const kept = docs.filter((d) => d.kind !== "EndpointSlice");
  const services = new Map(kept.filter((d) => d.kind === "Service").map((d) => [`${d.metadata.namespace}/${d.metadata.name}`, d]));
  const slices = backends.map((b) => {
    const svc = services.get(`${b.namespace}/${b.service}`);
    if (svc === undefined) throw new Error(`no Service ${b.namespace}/${b.service} in base.yaml`);
    return {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${b.service}-e2e`, namespace: b.namespace, labels: { "kubernetes.io/service-name": b.service } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["127.0.0.1"] }],
      ports: [{ name: svc.spec?.ports?.[0]?.name ?? "", port: b.port }],
    };
  });
  const files: Record<string, string> = { "base.yaml": [...kept, ...slices].map((d) => stringify(d)).join("---\n") };
  for (const c of cases) files[`${c}.yaml`] = readFileSync(join(DIR, "cases", c, "input.yaml"), "utf8");
  return files;
}

export const INFRA = "gateway-conformance-infra";

/** The usual backends: infra v1..v3 and the web backend. */
export function startBackends(): Backend[] {
  return [
    startBackend(INFRA, "infra-backend-v1"),
    startBackend(INFRA, "infra-backend-v2"),
    startBackend(INFRA, "infra-backend-v3"),
    startBackend("gateway-conformance-web-backend", "web-backend"),
  ];
}

export interface Answer {
  status: number;
  pod: string | null;
  echo: EchoBody | null;
  headers: Headers;
  location: string | null;
}

/** One request through the gateway's port (default 80), redirects not followed. */
export async function send(gw: GatewayProcess, path: string, opts: { host?: string; method?: string; headers?: Record<string, string>; port?: number } = {}): Promise<Answer> {
  const headers: Record<string, string> = { host: opts.host ?? "example.com", ...(opts.headers ?? {}) };
  const r = await fetch(gw.url(opts.port ?? 80, path), { method: opts.method ?? "GET", headers, redirect: "manual" });
  const text = await r.text();
  const pod = r.headers.get("x-pod");
  return { status: r.status, pod, echo: pod === null ? null : (JSON.parse(text) as EchoBody), headers: r.headers, location: r.headers.get("location") };
}

/** A header's values as a list (a proxy may join repeated headers with ", "). */
export function values(v: string | undefined): string[] {
  return v === undefined ? [] : v.split(/,\s*/);
}

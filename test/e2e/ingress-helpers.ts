// For the Ingress end-to-end tests: echo backends that say who answered (the
// conformance suite's echoserver: service, pod, and the request it saw), their
// Service + EndpointSlice YAML, and a request helper.
import type { Server } from "bun";
import type { GatewayProcess } from "../helpers/gateway.ts";

export interface EchoBody {
  service: string;
  pod: string;
  method: string;
  path: string;
  host: string;
  headers: Record<string, string>;
}

export interface Echo {
  service: string;
  pod: string;
  port: number;
  stop(): Promise<void>;
}

/** A backend answering 200 to every request with what it saw; `x-pod` names it. */
export function startEcho(service: string, pod = `${service}-0`): Echo {
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    development: false,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.body) await req.arrayBuffer();
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => (headers[k] = v));
      const body: EchoBody = { service, pod, method: req.method, path: url.pathname, host: req.headers.get("host") ?? "", headers };
      return Response.json(body, { headers: { "x-pod": pod } });
    },
  });
  return { service, pod, port: server.port!, stop: () => server.stop(true) };
}

/** A Service (port 8080, named http) in `namespace` whose endpoints are the echo pods (one EndpointSlice each). */
export function serviceYaml(namespace: string, service: string, pods: Echo[], port = 8080): string {
  const slices = pods.map(
    (p, i) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${service}-${i}, namespace: ${namespace}, labels: {kubernetes.io/service-name: ${service}}}
addressType: IPv4
ports: [{name: http, port: ${p.port}}]
endpoints: [{addresses: [127.0.0.1]}]
`,
  );
  return `---
apiVersion: v1
kind: Service
metadata: {name: ${service}, namespace: ${namespace}}
spec: {ports: [{name: http, port: ${port}}]}
${slices.join("")}`;
}

export interface Answer {
  status: number;
  /** The pod that answered, or null when the gateway answered itself. */
  pod: string | null;
  /** The Service that answered, or null. */
  service: string | null;
  echo: EchoBody | null;
  headers: Headers;
}

/** `METHOD http://host/path` through the gateway's port 80 (host "" sends the address as host). */
export async function send(gw: GatewayProcess, host: string, path: string, method = "GET", port = 80): Promise<Answer> {
  const headers: Record<string, string> = { "user-agent": "Go-http-client/1.1" };
  if (host !== "") headers.host = host;
  const r = await fetch(gw.url(port, path), { method, headers, body: method === "POST" || method === "PUT" || method === "PATCH" ? "{}" : undefined });
  const text = await r.text();
  const pod = r.headers.get("x-pod");
  const echo = pod === null ? null : (JSON.parse(text) as EchoBody);
  return { status: r.status, pod, service: echo?.service ?? null, echo, headers: r.headers };
}

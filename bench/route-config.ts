// The route-lookup configuration at scale (the shape of bench/route-lookup.bench.ts), for
// bench/reload-config.ts: one Gateway `gw` (port 80, hosts *), 108 Services with
// EndpointSlices (10.1.x.y: never dialled by the benches), and HOSTS VirtualServices
// svc<i>.example.com with ten routes each, of the kinds real configurations mix.

import { GATEWAY_DOC } from "./lib/route-lookup-workload.ts";

export const BACKENDS = ["users", "orders", "api-v2", "items", "static", "auth", "docs", "web", ...Array.from({ length: 100 }, (_, i) => `svc${i}`)];

/** Ten routes per host. */
export function routesYaml(i: number): string {
  return `  - match: [{uri: {exact: /healthz}}]
    directResponse: {status: 200}
  - match: [{uri: {prefix: /api/v1/users}}]
    route: [{destination: {host: users, port: {number: 80}}}]
  - match: [{uri: {prefix: /api/v1/orders}}]
    route: [{destination: {host: orders, port: {number: 80}}}]
  - match: [{uri: {prefix: /api/v2/}, headers: {x-version: {exact: "2"}}}]
    route: [{destination: {host: api-v2, port: {number: 80}}}]
  - match: [{uri: {regex: "/items/[0-9]+"}}]
    route: [{destination: {host: items, port: {number: 80}}}]
  - match: [{uri: {prefix: /static/}}]
    route: [{destination: {host: static, port: {number: 80}}}]
  - match: [{uri: {exact: /login}, method: {exact: POST}}]
    route: [{destination: {host: auth, port: {number: 80}}}]
  - match: [{uri: {prefix: /svc${i}/}}]
    route: [{destination: {host: svc${i % 100}, port: {number: 80}}}]
  - match: [{uri: {prefix: /docs}}]
    route: [{destination: {host: docs, port: {number: 80}}}]
  - route: [{destination: {host: web, port: {number: 80}}}]`;
}

/** The whole configuration as one multi-document YAML text. */
export function routeConfigYaml(hosts: number): string {
  const docs = [GATEWAY_DOC];
  BACKENDS.forEach((b, k) => {
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: ${b}}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${b}-1, labels: {kubernetes.io/service-name: ${b}}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.1.${k >> 8}.${k & 255}]}]`);
  });
  for (let i = 0; i < hosts; i++) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs-${i}}
spec:
  hosts: [svc${i}.example.com]
  gateways: [gw]
  http:
${routesYaml(i)}`);
  }
  return docs.join("\n---\n");
}

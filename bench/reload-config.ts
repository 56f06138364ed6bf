// Writes the reload-at-scale configuration into DIR: routes-*.yaml (the route-lookup
// configuration, HOSTS VirtualServices, from bench/route-config.ts), load.yaml (host
// load.local → the loopback upstream on UPSTREAM_PORT, what the load hits), and
// churn.yaml (version V: a VirtualService whose direct response changes with V).
// Usage: bun bench/reload-config.ts DIR UPSTREAM_PORT [hosts=10000]   (everything)
//        bun bench/reload-config.ts DIR --churn V                      (churn.yaml only, atomically)
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { routeConfigYaml } from "./route-config.ts";

const dir = process.argv[2]!;

function churn(v: number): void {
  const tmp = join(dir, ".churn.tmp");
  writeFileSync(
    tmp,
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: churn}
spec:
  hosts: [churn.example.com]
  gateways: [gw]
  http: [{directResponse: {status: 200, body: {string: "version ${v}"}}}]
`,
  );
  renameSync(tmp, join(dir, "churn.yaml")); // one rename: the watch never sees half a file
}

if (process.argv[3] === "--churn") churn(Number(process.argv[4]));
else {
  const upstream = Number(process.argv[3]);
  // in files of 2,000 documents: one file may not exceed the gateway's 8 MiB limit
  const docs = routeConfigYaml(Number(process.argv[4] ?? 10_000)).split("\n---\n");
  for (let i = 0; i * 2000 < docs.length; i++) writeFileSync(join(dir, `routes-${i}.yaml`), docs.slice(i * 2000, (i + 1) * 2000).join("\n---\n"));
  writeFileSync(
    join(dir, "load.yaml"),
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: hello}
spec:
  hosts: [hello.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${upstream}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: load}
spec:
  hosts: [load.local]
  gateways: [gw]
  http: [{route: [{destination: {host: hello.local, port: {number: 80}}}]}]
`,
  );
  churn(0);
}

// The passthrough benchmarks' gateway configuration: a TLS PASSTHROUGH server on 443 for
// `hosts`, one TLS route for the SNI `sni` to a ServiceEntry at 127.0.0.1:`backPort`, and with
// `rawPort` a second one for the SNI raw.bench to 127.0.0.1:`rawPort` (bench/passthrough-bulk.ts).
// From a shell: bun bench/lib/passthrough-config.ts HOSTS SNI BACK_PORT [RAW_PORT] > gateway.yaml
/** A TLS route for `sni` to `name`.bench.internal, and that host's STATIC ServiceEntry at 127.0.0.1:`port`. */
function route(sni: string, name: string): string {
  return `  - match: [{sniHosts: [${sni}]}]
    route: [{destination: {host: ${name}.bench.internal, port: {number: 443}}}]
`;
}
function serviceEntry(name: string, port: number): string {
  return `---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.bench.internal]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tls: ${port}}}]
`;
}

export function passthroughConfig(hosts: string, sni: string, backPort: number, rawPort = 0): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: bench}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ["${hosts}"]
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: bench}
spec:
  hosts: ["${hosts}"]
  gateways: [bench]
  tls:
${route(sni, "backend")}${rawPort === 0 ? "" : route("raw.bench", "raw")}${serviceEntry("backend", backPort)}${rawPort === 0 ? "" : serviceEntry("raw", rawPort)}`;
}

if (import.meta.main) {
  const [hosts, sni, back, raw] = process.argv.slice(2);
  if (hosts === undefined || sni === undefined || back === undefined) {
    console.error("usage: bun bench/lib/passthrough-config.ts HOSTS SNI BACK_PORT [RAW_PORT]");
    process.exit(2);
  }
  process.stdout.write(passthroughConfig(hosts, sni, Number(back), Number(raw ?? 0)));
}

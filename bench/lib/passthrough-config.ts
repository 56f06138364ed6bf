// The passthrough benchmarks' gateway configuration: a TLS PASSTHROUGH server on 443 for
// `hosts`, one TLS route for the SNI `sni` to a ServiceEntry at 127.0.0.1:`backPort`.
// From a shell: bun bench/lib/passthrough-config.ts HOSTS SNI BACK_PORT > gateway.yaml
export function passthroughConfig(hosts: string, sni: string, backPort: number): string {
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
  - match: [{sniHosts: [${sni}]}]
    route: [{destination: {host: backend.bench.internal, port: {number: 443}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: backend}
spec:
  hosts: [backend.bench.internal]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tls: ${backPort}}}]
`;
}

if (import.meta.main) {
  const [hosts, sni, back] = process.argv.slice(2);
  if (hosts === undefined || sni === undefined || back === undefined) {
    console.error("usage: bun bench/lib/passthrough-config.ts HOSTS SNI BACK_PORT");
    process.exit(2);
  }
  process.stdout.write(passthroughConfig(hosts, sni, Number(back)));
}

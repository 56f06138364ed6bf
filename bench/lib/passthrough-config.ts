// The passthrough benchmarks' gateway configuration: a TLS PASSTHROUGH server on 443 for
// `hosts`, one TLS route for the SNI `sni` to a ServiceEntry at 127.0.0.1:`backPort`, and with
// `rawPort` a second one for the SNI raw.bench to 127.0.0.1:`rawPort` (bench/passthrough-bulk.ts).
// From a shell: bun bench/lib/passthrough-config.ts HOSTS SNI BACK_PORT [RAW_PORT] > gateway.yaml
export function passthroughConfig(hosts: string, sni: string, backPort: number, rawPort = 0): string {
  const raw =
    rawPort === 0
      ? ""
      : `  - match: [{sniHosts: [raw.bench]}]
    route: [{destination: {host: raw.bench.internal, port: {number: 443}}}]
`;
  const rawEntry =
    rawPort === 0
      ? ""
      : `---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: raw}
spec:
  hosts: [raw.bench.internal]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tls: ${rawPort}}}]
`;
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
${raw}---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: backend}
spec:
  hosts: [backend.bench.internal]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tls: ${backPort}}}]
${rawEntry}`;
}

if (import.meta.main) {
  const [hosts, sni, back, raw] = process.argv.slice(2);
  if (hosts === undefined || sni === undefined || back === undefined) {
    console.error("usage: bun bench/lib/passthrough-config.ts HOSTS SNI BACK_PORT [RAW_PORT]");
    process.exit(2);
  }
  process.stdout.write(passthroughConfig(hosts, sni, Number(back), Number(raw ?? 0)));
}

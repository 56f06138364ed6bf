// Small configuration documents the end-to-end tests share.

/** A STATIC ServiceEntry: `host` on `port`, served by 127.0.0.1:`backendPort`. */
export function serviceEntry(name: string, host: string, port: number, backendPort: number): string {
  return `
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${host}]
  ports: [{number: ${port}, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${backendPort}}}]
`;
}

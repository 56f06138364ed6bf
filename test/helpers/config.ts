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

/** Gateway `gw`: port 80, HTTP, every host (the workers' and compile tests' usual front door). */
export const HTTP_GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;

/**
 * HTTP_GATEWAY and a VirtualService `vs` bound to it for `hosts` (YAML flow
 * list); `http` is the value of its http field: a flow list `[...]`, or block
 * lines `  - ...` (indented 2). Ends with a document separator.
 */
export function gatewayWithRoutes(http: string, hosts = `["*"]`): string {
  return `${HTTP_GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ${hosts}
  gateways: [gw]
  http:${http.startsWith("[") ? " " : "\n"}${http}
---
`;
}

/** gatewayWithRoutes sending every request to `be.internal:80`. */
export const TO_BE_INTERNAL = gatewayWithRoutes("[{route: [{destination: {host: be.internal, port: {number: 80}}}]}]");

/** ServiceEntry `be`: host `be.internal`, port 80 (http), STATIC, with `endpoints` (block lines `  - {...}`). Ends with a document separator. */
export function beInternalEntry(endpoints: string[]): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: be}
spec:
  hosts: [be.internal]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
${endpoints.join("\n")}
---
`;
}

/** DestinationRule `be` for `be.internal` with `trafficPolicy` (block lines indented 4). */
export function beInternalRule(trafficPolicy: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be}
spec:
  host: be.internal
  trafficPolicy:
${trafficPolicy}
`;
}

/** Gateway `gw` with one TCP server on `port` and a VirtualService `vs` sending every connection to `host`:`destPort`. Ends with a document separator. */
export function tcpGatewayWithRoute(port: number, host: string, destPort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: ${port}, name: tcp, protocol: TCP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ["*"]
  gateways: [gw]
  tcp: [{route: [{destination: {host: ${host}, port: {number: ${destPort}}}}]}]
---
`;
}

/**
 * Gateway `gw` with one HTTPS server for httpbin.example.com per [port, name, TLS mode,
 * credentialName], a VirtualService `app` routing it to svc-a:8000, and svc-a's
 * ServiceEntry on 127.0.0.1:`backendPort` (documents joined by separators; add the Secrets).
 */
export function httpbinHttpsApp(servers: [number, string, string, string][], backendPort: number): string {
  const lines = servers.map(([port, name, mode, cred]) => `  - port: {number: ${port}, name: ${name}, protocol: HTTPS}
    tls: {mode: ${mode}, credentialName: ${cred}}
    hosts: [httpbin.example.com]`);
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
${lines.join("\n")}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: [httpbin.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: svc-a.default.svc.cluster.local, port: {number: 8000}}}]
---
${serviceEntry("svc-a", "svc-a.default.svc.cluster.local", 8000, backendPort)}`;
}

/** A STATIC ServiceEntry `host`:`port` whose one endpoint is 127.0.0.1:`targetPort`. Ends with a document separator. */
export function loopbackServiceEntry(o: { name: string; host: string; port: number; targetPort: number; portName?: string; protocol?: string }): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${o.name}}
spec:
  hosts: [${o.host}]
  ports: [{number: ${o.port}, name: ${o.portName ?? "http"}, protocol: ${o.protocol ?? "HTTP"}, targetPort: ${o.targetPort}}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
`;
}

/** A Secret `name` in `ns` whose data are `data`, base64-encoded. Ends with a document separator. */
export function secret(name: string, data: Record<string, string>, ns = "istio-system"): string {
  const lines = Object.entries(data).map(([k, v]) => `  ${k}: ${Buffer.from(v).toString("base64")}`);
  return `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${ns}}\ndata:\n${lines.join("\n")}\n---\n`;
}

/**
 * Gateway `gw` (port 80, app.example.com) and VirtualService `app` whose http
 * routes are `http` (block lines, indented 2), plus the ServiceEntry app.local:80
 * served by 127.0.0.1:`backendPort` (apiVersion v1beta1, as a user writes it).
 */
export function appConfig(backendPort: number, http = "  - route: [{destination: {host: app.local, port: {number: 80}}}]"): string {
  return (
    `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [app.example.com]}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: [app.example.com]
  gateways: [gw]
  http:
${http}
---` + serviceEntry("app", "app.local", 80, backendPort)
  );
}

/** Gateway gw and VirtualService app in istio-system: port 80, every host, all to httpbin.default:8000 (the security tests' front). */
export const HTTPBIN_FRONT = `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: app, namespace: istio-system}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: httpbin.default.svc.cluster.local, port: {number: 8000}}}]}]
`;

/** The ServiceEntries httpbin.default:8000 and ext-authz.istio-system:9000 (the ext_authz provider), on loopback ports. */
export function httpbinAndExtAuthz(httpbinPort: number, extAuthzPort: number): string {
  return `${serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbinPort)}
---
${serviceEntry("ext-authz", "ext-authz.istio-system.svc.cluster.local", 9000, extAuthzPort)}
`;
}

/** The GatewayClass `istio` of istiod's controller (gangway also serves the class without it, as istiod's built-in one). */
export const ISTIO_GATEWAY_CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio}
spec: {controllerName: istio.io/gateway-controller}
`;

/** A Service `name` in `namespace` with port 80 named http, and its EndpointSlice: 127.0.0.1:`backendPort`. Ends with a newline. */
export function kubeService(name: string, namespace: string, backendPort: number): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: ${namespace}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1]}]
ports: [{name: http, port: ${backendPort}}]
`;
}

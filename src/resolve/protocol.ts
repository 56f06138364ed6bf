// The application protocol of a service port, as Istio reads it
// (pkg/config/kube ConvertProtocol, pkg/config/protocol): a Kubernetes
// `appProtocol` wins (with its standard names kubernetes.io/h2c, ws, wss),
// else the port name up to its first `-` (`grpc-web...` is gRPC-Web, whole);
// a ServiceEntry port states it in `protocol`. Upper case, "" when unknown.

const KNOWN = new Set(["GRPC", "GRPC-WEB", "HTTP", "HTTP_PROXY", "HTTP2", "HTTPS", "TCP", "TLS", "UDP", "MONGO", "REDIS", "MYSQL"]);

function parse(name: string): string {
  const u = name.toUpperCase();
  return KNOWN.has(u) ? u : "";
}

/** Kubernetes Service port: `appProtocol`, else the name's prefix. */
export function kubePortProtocol(name: string, appProtocol: string, l4: string): string {
  if (l4.toUpperCase() === "UDP") return "UDP";
  let n = name;
  if (appProtocol !== "") {
    switch (appProtocol) {
      case "kubernetes.io/h2c":
        return "HTTP2";
      case "kubernetes.io/ws":
        return "HTTP";
      case "kubernetes.io/wss":
        return "HTTPS";
    }
    n = appProtocol;
  }
  if (n.toLowerCase().startsWith("grpc-web")) return "GRPC-WEB";
  const i = n.indexOf("-");
  return parse(i >= 0 ? n.slice(0, i) : n);
}

/** ServiceEntry port `protocol`. */
export function serviceEntryPortProtocol(protocol: string): string {
  return parse(protocol);
}

/** Istio's protocol.IsHTTP2: the upstream speaks HTTP/2. */
export function isHttp2Protocol(p: string): boolean {
  return p === "GRPC" || p === "HTTP2";
}

/** Istio's protocol.IsHTTP (what h2UpgradePolicy may upgrade when the mesh default says so). */
export function isHttpProtocol(p: string): boolean {
  return p === "HTTP" || p === "HTTP2" || p === "GRPC" || p === "GRPC-WEB" || p === "HTTP_PROXY";
}
